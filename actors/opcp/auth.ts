/**
 * OAuth2 client credentials for the OPCP gateway (OPCP `docs/04_authentication.md`,
 * `accessToken.v1.json`). Clients live in the Store with their secret only as an scrypt hash;
 * tokens are ES256 JWTs whose claims carry the role and the ID prefixes (an OEM's WMIs, an MO's
 * EMAID prefixes), in the claim layout Hubject's tokens use (`<namespace>role`, `…pcid`, `…emaid`).
 * The signing key is kept in the Store too, so `openpnc opcp client add` and every gateway process
 * on the same store agree.
 */
import { randomBytes, randomUUID, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { webcrypto } from 'node:crypto';
import { SignJWT, jwtVerify, exportJWK, generateKeyPair, importJWK, type JWK, type JWTPayload, errors as joseErrors } from 'jose';
import { PncError } from '../../protocols/errors.ts';
import { caller as callerSchema, requireRole, type Caller, type CallerRole } from '../../protocols/catalogue/caller.ts';
import { opcpClientRoles, opcpInterface } from '../../protocols/catalogue/opcp.ts';
import type { Bus, Subscription } from '../bus/bus.ts';
import { serveSubject } from '../bus/typed.ts';
import { callerOf } from '../bus/identity.ts';
import type { Logger } from '../host/participant.ts';
import type { Store, StoredDoc } from '../store/store.ts';

type CryptoKey = webcrypto.CryptoKey;

const scrypt = promisify(scryptCallback) as (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number }) => Promise<Buffer>;

/** Roles a token can carry; `pool` is internal to the pool participants and never issued. */
export const OAUTH_ROLES = opcpClientRoles satisfies readonly CallerRole[];
export type OAuthRole = (typeof OAUTH_ROLES)[number];

/** OPCP tokens are valid for 24 h. */
export const DEFAULT_TOKEN_TTL_SECONDS = 86_400;
export const DEFAULT_ISSUER = 'urn:openpnc:opcp';
/** The scope string of Hubject's tokens. */
export const OPCP_SCOPE = 'rcpservice pcpservice ccpservice cpservice pkigateway';

const CLIENTS = 'opcp.clients';
const KEYS = 'opcp.keys';
const SIGNING_KEY_ID = 'token-signing';
const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 } as const;
/** Verified tokens remembered per gateway process (the oldest go first). */
const VERIFIED_TOKENS_KEPT = 10_000;

export interface OAuthClientDoc extends StoredDoc {
  readonly role: OAuthRole;
  readonly prefixes: string[];
  /** `scrypt$N$r$p$<salt b64>$<hash b64>`; the secret itself is never stored. */
  readonly secretHash: string;
  readonly createdAt: string;
}

interface SigningKeyDoc extends StoredDoc {
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
}

async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(secret, salt, SCRYPT.keylen, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

async function secretMatches(secret: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scrypt(secret, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p) });
  return timingSafeEqual(actual, expected);
}

/** Checks the prefixes a role needs: OEM 3-character WMIs, MO 5-character EMAID prefixes, none otherwise. */
export function normalizePrefixes(role: OAuthRole, prefixes: readonly string[]): string[] {
  const upper = [...new Set(prefixes.map((p) => p.trim().toUpperCase()).filter(Boolean))];
  const want = role === 'oem' ? 3 : role === 'mo' ? 5 : 0;
  if (want === 0) {
    if (upper.length) throw new PncError('InvalidClient', `role ${role} takes no prefix`);
    return [];
  }
  if (!upper.length) throw new PncError('InvalidClient', `role ${role} needs --prefix (${role === 'oem' ? 'the WMI, 3 characters' : 'the EMAID prefix: country code + provider ID, 5 characters'})`);
  for (const p of upper) {
    if (!new RegExp(`^[A-Z0-9]{${want}}$`).test(p)) throw new PncError('InvalidClient', `prefix ${p} is not ${want} letters or digits`);
  }
  return upper;
}

export interface IssuedToken {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly scope: string;
}

export interface OAuthOptions {
  readonly issuer?: string;
  readonly tokenTtlSeconds?: number;
}

/** Client registry and token service over one Store. */
export class OAuthService {
  readonly issuer: string;
  readonly tokenTtlSeconds: number;
  private signingKey?: Promise<{ privateKey: CryptoKey; publicKey: CryptoKey }>;
  private readonly verified = new Map<string, { caller: Caller & { clientId: string }; expiresAt: number }>();

  constructor(private readonly store: Store, options: OAuthOptions = {}) {
    this.issuer = options.issuer ?? DEFAULT_ISSUER;
    this.tokenTtlSeconds = options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  }

  /** The claim namespace, as in Hubject's tokens (`https://eu.plugncharge-test.hubject.com/role`). */
  get claimNamespace(): string {
    return this.issuer.endsWith('/') ? this.issuer : `${this.issuer}/`;
  }

  /** Registers a client; the secret is returned once and stored only as a hash. */
  async addClient(role: OAuthRole, prefixes: readonly string[]): Promise<{ client_id: string; client_secret: string; role: OAuthRole; prefixes: string[] }> {
    if (!OAUTH_ROLES.includes(role)) throw new PncError('InvalidClient', `role must be one of ${OAUTH_ROLES.join(', ')}`);
    const normalized = normalizePrefixes(role, prefixes);
    const clientId = `${role}-${randomBytes(8).toString('hex')}`;
    const secret = randomBytes(32).toString('base64url');
    await this.store.collection<OAuthClientDoc>(CLIENTS).insert({ _id: clientId, role, prefixes: normalized, secretHash: await hashSecret(secret), createdAt: new Date().toISOString() });
    return { client_id: clientId, client_secret: secret, role, prefixes: normalized };
  }

  /** RFC 6749 §4.4: checks the credentials and issues a token. Throws `invalid_client` (401) or `unsupported_grant_type` (400). */
  async issueToken(request: { client_id?: string; client_secret?: string; grant_type?: string; audience?: string }, now = new Date()): Promise<IssuedToken> {
    if ((request.grant_type ?? 'client_credentials') !== 'client_credentials') throw new PncError('unsupported_grant_type', 'only grant_type client_credentials is supported');
    if (!request.client_id || !request.client_secret) throw new PncError('invalid_client', 'client_id and client_secret are required');
    const client = await this.store.collection<OAuthClientDoc>(CLIENTS).get(request.client_id);
    if (!client || !(await secretMatches(request.client_secret, client.secretHash))) throw new PncError('invalid_client', 'unknown client or wrong secret');
    const ns = this.claimNamespace;
    const claims: JWTPayload = {
      gty: 'client-credentials',
      scope: OPCP_SCOPE,
      [`${ns}role`]: [client.role.toUpperCase()],
      [`${ns}pcid`]: client.role === 'oem' ? client.prefixes : [],
      [`${ns}emaid`]: client.role === 'mo' ? client.prefixes : [],
    };
    const iat = Math.floor(now.getTime() / 1000);
    const { privateKey } = await this.key();
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: SIGNING_KEY_ID })
      .setIssuer(this.issuer)
      .setSubject(client._id)
      .setJti(randomUUID())
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.tokenTtlSeconds);
    if (request.audience) jwt.setAudience(request.audience);
    return { access_token: await jwt.sign(privateKey), token_type: 'Bearer', expires_in: this.tokenTtlSeconds, scope: OPCP_SCOPE };
  }

  /** Verifies a bearer token and returns the caller identity. Throws `Unauthorized` (401). */
  async verifyToken(token: string, now = new Date()): Promise<Caller & { clientId: string }> {
    // A token is immutable: once its signature checked out, only its expiry needs checking again.
    const known = this.verified.get(token);
    if (known && known.expiresAt > now.getTime()) return known.caller;
    const { expiresAt, ...caller } = await this.checkToken(token, now);
    if (this.verified.size >= VERIFIED_TOKENS_KEPT) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, { caller, expiresAt });
    return caller;
  }

  private async checkToken(token: string, now: Date): Promise<Caller & { clientId: string; expiresAt: number }> {
    const { publicKey } = await this.key();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, publicKey, { issuer: this.issuer, algorithms: ['ES256'], currentDate: now }));
    } catch (error) {
      const why = error instanceof joseErrors.JWTExpired ? 'token expired' : 'invalid token';
      throw new PncError('Unauthorized', why);
    }
    const ns = this.claimNamespace;
    const roles = payload[`${ns}role`];
    const role = Array.isArray(roles) && typeof roles[0] === 'string' ? roles[0].toLowerCase() : undefined;
    const prefixes = role === 'oem' ? payload[`${ns}pcid`] : role === 'mo' ? payload[`${ns}emaid`] : [];
    const parsed = callerSchema.safeParse({ role, prefixes });
    if (!parsed.success || parsed.data.role === 'pool') throw new PncError('Unauthorized', 'token carries no valid role');
    return { ...parsed.data, clientId: String(payload.sub), expiresAt: Number(payload.exp) * 1000 };
  }

  /** The public signing key as a JWK set, for verifiers outside the gateway. */
  async jwks(): Promise<{ keys: JWK[] }> {
    const doc = await this.keyDoc();
    return { keys: [{ ...doc.publicJwk, kid: SIGNING_KEY_ID, alg: 'ES256', use: 'sig' }] };
  }

  private key(): Promise<{ privateKey: CryptoKey; publicKey: CryptoKey }> {
    this.signingKey ??= this.keyDoc().then(async (doc) => ({
      privateKey: (await importJWK(doc.privateJwk, 'ES256')) as CryptoKey,
      publicKey: (await importJWK(doc.publicJwk, 'ES256')) as CryptoKey,
    }));
    return this.signingKey;
  }

  /** Loads the signing key, creating it once; two processes racing to create it end up with the same one. */
  private async keyDoc(): Promise<SigningKeyDoc> {
    const keys = this.store.collection<SigningKeyDoc>(KEYS);
    const existing = await keys.get(SIGNING_KEY_ID);
    if (existing) return existing;
    const pair = await generateKeyPair('ES256', { extractable: true });
    const doc: SigningKeyDoc = { _id: SIGNING_KEY_ID, privateJwk: await exportJWK(pair.privateKey), publicJwk: await exportJWK(pair.publicKey) };
    try {
      return await keys.insert(doc);
    } catch (error) {
      if (PncError.is(error, 'DuplicateKey')) return (await keys.get(SIGNING_KEY_ID))!;
      throw error;
    }
  }
}

/**
 * Serves `opcp.client.add` for the gateway: registers the client through {@link OAuthService.addClient},
 * the same function the CLI's local path calls, so the secret is generated and hashed here and
 * travels only in the reply. One gateway of a queue group answers each request.
 */
export function serveClientRegistration(bus: Bus, oauth: OAuthService, log: Logger): Promise<Subscription> {
  return serveSubject(bus, opcpInterface.requests.addClient, async ({ role, prefixes }, delivery) => {
    requireRole(callerOf(delivery), 'admin');
    const client = await oauth.addClient(role, prefixes);
    log.info('opcp.client.added', { clientId: client.client_id, role: client.role, prefixes: client.prefixes });
    return { clientId: client.client_id, clientSecret: client.client_secret, role: client.role, prefixes: client.prefixes };
  }, { queue: 'opcp' });
}
