/**
 * OAuth2 client credentials for the OPCP gateway (OPCP `docs/04_authentication.md`,
 * `accessToken.v1.json`). Clients live in the Store with their secret only as an scrypt hash;
 * tokens are ES256 JWTs whose claims carry the role and the ID prefixes (an OEM's WMIs, an MO's
 * EMAID prefixes), in the claim layout Hubject's tokens use (`<namespace>role`, `…pcid`, `…emaid`).
 * The signing key is kept in the Store too, so `openpnc opcp client add` and every gateway process
 * on the same store agree.
 */
import { createHmac, createPrivateKey, randomBytes, randomUUID, scrypt as scryptCallback, sign, timingSafeEqual, type JsonWebKey, type KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import type { webcrypto } from 'node:crypto';
import { jwtVerify, exportJWK, generateKeyPair, importJWK, type JWK, type JWTPayload, errors as joseErrors } from 'jose';
import { PncError } from '../../protocols/errors.ts';
import { caller as callerSchema, requireRole, type Caller, type CallerRole } from '../../protocols/catalogue/caller.ts';
import { opcpClientRoles, opcpInterface, type OpcpTokenErrorCode } from '../../protocols/catalogue/opcp.ts';
import type { Bus, Subscription } from '../bus/bus.ts';
import { serveSubject } from '../bus/typed.ts';
import { callerOf } from '../bus/identity.ts';
import type { Logger } from '../host/participant.ts';
import type { Store, StoredDoc } from '../store/store.ts';

type CryptoKey = webcrypto.CryptoKey;

/** The key derivation behind client secrets; injectable so tests can count the work done. */
export type SecretHasher = (secret: string, salt: Buffer, keylen: number, params: { N: number; r: number; p: number }) => Promise<Buffer>;
const scrypt = promisify(scryptCallback) as SecretHasher;

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
/**
 * Secret checks (scrypt, on libuv's thread pool) running at once: all cores but one, so a wrong-secret
 * flood never takes the core that signs tokens for valid clients.
 */
const SECRET_CHECKS_RUNNING = Math.max(1, availableParallelism() - 1);
/** Secret checks waiting for a turn; past that a request gets `TooManyRequests` before any scrypt. */
const SECRET_CHECKS_WAITING = 64;
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

/**
 * `scrypt$N$r$p$salt$hash`; the parameters go into the stored form. A lower N suits machine-made
 * random secrets (OCPP station passwords), not human ones.
 */
export async function hashSecret(secret: string, params: { N: number; r: number; p: number; keylen: number } = SCRYPT, hasher: SecretHasher = scrypt): Promise<string> {
  const salt = randomBytes(16);
  const hash = await hasher(secret, salt, params.keylen, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export async function secretMatches(secret: string, stored: string, hasher: SecretHasher = scrypt): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await hasher(secret, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p) });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** Failed token requests allowed per client id and per source address within a window. */
export interface AttemptLimits {
  readonly windowSeconds: number;
  readonly perClient: number;
  readonly perSource: number;
}

export const DEFAULT_ATTEMPT_LIMITS: AttemptLimits = { windowSeconds: 300, perClient: 10, perSource: 30 };
/** Keys (client ids, addresses) the failure counter keeps at most; the oldest go first, so junk ids cannot grow memory. */
const COUNTED_KEYS_KEPT = 50_000;

/** Counts failures per key in fixed windows. */
class FailureCounter {
  private readonly windows = new Map<string, { startedAt: number; failures: number }>();

  constructor(private readonly windowMs: number) {}

  /** Failures in the current window, and when that window ends. */
  current(key: string, at: number): { failures: number; endsAt: number } {
    const window = this.windows.get(key);
    if (!window || at - window.startedAt >= this.windowMs) return { failures: 0, endsAt: at + this.windowMs };
    return { failures: window.failures, endsAt: window.startedAt + this.windowMs };
  }

  record(key: string, at: number): void {
    const window = this.windows.get(key);
    if (window && at - window.startedAt < this.windowMs) {
      window.failures += 1;
      return;
    }
    this.windows.delete(key);
    if (this.windows.size >= COUNTED_KEYS_KEPT) this.windows.delete(this.windows.keys().next().value!);
    this.windows.set(key, { startedAt: at, failures: 1 });
  }

  /** Takes back one failure recorded in advance, for an attempt that succeeded. */
  release(key: string): void {
    const window = this.windows.get(key);
    if (window && window.failures > 0) window.failures -= 1;
  }

  forget(key: string): void {
    this.windows.delete(key);
  }
}

/** Runs at most `running` tasks at once and lets at most `waiting` wait; refuses the rest at once. */
class WorkGate {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly running: number, private readonly waiting: number) {}

  /** False when the gate is full (the caller refuses the work); otherwise the task's result. */
  async run<T>(task: () => Promise<T>): Promise<{ admitted: false } | { admitted: true; value: T }> {
    if (this.active >= this.running) {
      if (this.queue.length >= this.waiting) return { admitted: false };
      await new Promise<void>((resolve) => this.queue.push(resolve));
    } else this.active += 1;
    try {
      return { admitted: true, value: await task() };
    } finally {
      const next = this.queue.shift();
      if (next) next(); // the turn passes straight on, so `active` stays
      else this.active -= 1;
    }
  }
}

const base64url = (data: string | Buffer): string => Buffer.from(data).toString('base64url');

const tokenError = (code: OpcpTokenErrorCode, message: string, options?: { retryable?: boolean; data?: unknown }) => new PncError(code, message, options);

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
  /** @default scrypt */
  readonly hasher?: SecretHasher;
  /** The clock of token times, failure windows and remembered secrets. @default () => new Date() */
  readonly clock?: () => Date;
  readonly attemptLimits?: Partial<AttemptLimits>;
}

/** Client registry and token service over one Store. */
export class OAuthService {
  readonly issuer: string;
  readonly tokenTtlSeconds: number;
  private signingKey?: Promise<{ privateKey: KeyObject; publicKey: CryptoKey }>;
  private readonly secretChecks = new WorkGate(SECRET_CHECKS_RUNNING, SECRET_CHECKS_WAITING);
  private readonly verified = new Map<string, { caller: Caller & { clientId: string }; expiresAt: number }>();
  private readonly hasher: SecretHasher;
  private readonly clock: () => Date;
  private readonly limits: AttemptLimits;
  private readonly failuresByClient: FailureCounter;
  private readonly failuresBySource: FailureCounter;
  /** Secrets that passed scrypt, as keyed MACs, for the token lifetime: a valid client pays scrypt once, not per token. */
  private readonly rememberedSecrets = new Map<string, { mac: Buffer; client: OAuthClientDoc; until: number }>();
  private readonly macKey = randomBytes(32);
  /** Checked when the client id is unknown, so unknown and known ids cost the same scrypt work. */
  private readonly dummyHash = `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${randomBytes(16).toString('base64')}$${randomBytes(SCRYPT.keylen).toString('base64')}`;

  constructor(private readonly store: Store, options: OAuthOptions = {}) {
    this.issuer = options.issuer ?? DEFAULT_ISSUER;
    this.tokenTtlSeconds = options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
    this.hasher = options.hasher ?? scrypt;
    this.clock = options.clock ?? (() => new Date());
    this.limits = { ...DEFAULT_ATTEMPT_LIMITS, ...options.attemptLimits };
    this.failuresByClient = new FailureCounter(this.limits.windowSeconds * 1000);
    this.failuresBySource = new FailureCounter(this.limits.windowSeconds * 1000);
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
    await this.store.collection<OAuthClientDoc>(CLIENTS).insert({ _id: clientId, role, prefixes: normalized, secretHash: await hashSecret(secret, SCRYPT, this.hasher), createdAt: this.clock().toISOString() });
    return { client_id: clientId, client_secret: secret, role, prefixes: normalized };
  }

  /**
   * RFC 6749 §4.4: checks the credentials and issues a token. Throws `invalid_client` (401),
   * `unsupported_grant_type` (400) or, past the failed-attempt limits of the client id or of the
   * `source` address, `TooManyRequests` (429, RFC 6585 §4) before any scrypt work is done.
   */
  async issueToken(request: { client_id?: string; client_secret?: string; grant_type?: string; audience?: string }, now = this.clock(), source = 'local'): Promise<IssuedToken> {
    if ((request.grant_type ?? 'client_credentials') !== 'client_credentials') throw tokenError('unsupported_grant_type', 'only grant_type client_credentials is supported');
    if (typeof request.client_id !== 'string' || typeof request.client_secret !== 'string' || !request.client_id || !request.client_secret) throw tokenError('invalid_client', 'client_id and client_secret are required');
    const client = (await this.rememberedClient(request.client_id, request.client_secret, now)) ?? (await this.authenticate(request.client_id, request.client_secret, now, source));
    const ns = this.claimNamespace;
    const claims: JWTPayload = {
      gty: 'client-credentials',
      scope: OPCP_SCOPE,
      [`${ns}role`]: [client.role.toUpperCase()],
      [`${ns}pcid`]: client.role === 'oem' ? client.prefixes : [],
      [`${ns}emaid`]: client.role === 'mo' ? client.prefixes : [],
    };
    const iat = Math.floor(now.getTime() / 1000);
    const payload: JWTPayload = { ...claims, iss: this.issuer, sub: client._id, jti: randomUUID(), iat, exp: iat + this.tokenTtlSeconds, ...(request.audience ? { aud: request.audience } : {}) };
    const { privateKey } = await this.key();
    return { access_token: signEs256Jwt(payload, privateKey), token_type: 'Bearer', expires_in: this.tokenTtlSeconds, scope: OPCP_SCOPE };
  }

  private secretMac(secret: string): Buffer {
    return createHmac('sha256', this.macKey).update(secret).digest();
  }

  /** The client whose secret was verified within the token lifetime, by a constant-time compare. */
  private async rememberedClient(clientId: string, secret: string, now: Date): Promise<OAuthClientDoc | undefined> {
    const remembered = this.rememberedSecrets.get(clientId);
    if (!remembered) return undefined;
    if (remembered.until <= now.getTime()) return void this.rememberedSecrets.delete(clientId);
    return timingSafeEqual(this.secretMac(secret), remembered.mac) ? remembered.client : undefined;
  }

  /** The scrypt check, the same work for unknown and known ids, behind the failure limits. */
  private async authenticate(clientId: string, secret: string, now: Date, source: string): Promise<OAuthClientDoc> {
    const at = now.getTime();
    for (const [counter, key, limit, what] of [
      [this.failuresByClient, clientId, this.limits.perClient, 'this client id'],
      [this.failuresBySource, source, this.limits.perSource, 'this address'],
    ] as const) {
      const { failures, endsAt } = counter.current(key, at);
      if (failures >= limit) {
        throw tokenError('TooManyRequests', `too many failed token requests for ${what}; try again later`, { retryable: true, data: { retryAfterSeconds: Math.max(1, Math.ceil((endsAt - at) / 1000)) } });
      }
    }
    // Counted as failed before the check, so a burst of concurrent attempts cannot all pass the limit.
    this.failuresByClient.record(clientId, at);
    this.failuresBySource.record(source, at);
    const client = await this.store.collection<OAuthClientDoc>(CLIENTS).get(clientId);
    const check = await this.secretChecks.run(() => secretMatches(secret, client?.secretHash ?? this.dummyHash, this.hasher));
    if (!check.admitted) throw tokenError('TooManyRequests', 'too many token requests being checked; try again later', { retryable: true, data: { retryAfterSeconds: 1 } });
    const matches = check.value;
    if (!client || !matches) throw tokenError('invalid_client', 'unknown client or wrong secret');
    this.failuresByClient.forget(clientId);
    this.failuresBySource.release(source);
    if (this.rememberedSecrets.size >= VERIFIED_TOKENS_KEPT) this.rememberedSecrets.delete(this.rememberedSecrets.keys().next().value!);
    this.rememberedSecrets.set(clientId, { mac: this.secretMac(secret), client, until: at + this.tokenTtlSeconds * 1000 });
    return client;
  }

  /** Verifies a bearer token and returns the caller identity. Throws `Unauthorized` (401). */
  async verifyToken(token: string, now = this.clock()): Promise<Caller & { clientId: string }> {
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

  private key(): Promise<{ privateKey: KeyObject; publicKey: CryptoKey }> {
    this.signingKey ??= this.keyDoc().then(async (doc) => ({
      privateKey: createPrivateKey({ key: doc.privateJwk as JsonWebKey, format: 'jwk' }),
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
 * A compact ES256 JWS (RFC 7515 §3.1, RFC 7518 §3.4: r‖s) signed with node:crypto at once, not on
 * the thread pool that scrypt checks occupy: a valid client's token never queues behind a flood.
 */
function signEs256Jwt(payload: JWTPayload, privateKey: KeyObject): string {
  const signingInput = `${base64url(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid: SIGNING_KEY_ID }))}.${base64url(JSON.stringify(payload))}`;
  return `${signingInput}.${base64url(sign('sha256', Buffer.from(signingInput), { key: privateKey, dsaEncoding: 'ieee-p1363' }))}`;
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
