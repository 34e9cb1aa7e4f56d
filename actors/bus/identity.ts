/**
 * Who sent a message, from what was authenticated and never from a payload field.
 *
 * Every participant holds an Ed25519 NATS user nkey (`openpnc deploy creds` issues them; the
 * in-process host makes one per participant at start). The same seed authenticates its NATS
 * connection and signs what it sends: `Pnc-Identity` (its public key), `Pnc-Signed-At`,
 * optionally `Pnc-On-Behalf` (a delegate, the OPCP gateway, names the OAuth identity it acts for)
 * and `Pnc-Signature` over subject, time, on-behalf and the SHA-256 of the payload's JSON text as
 * it travels (the sender serialises once and signs what it sends; the receiver hashes the bytes it
 * got). The receiver looks the public key up in the roster (`roster.json`: public key → participant,
 * role, WMI/EMAID prefixes) and hands its handlers `delivery.caller`; a message without a valid
 * signature has no caller and every subject that needs one answers `Unauthenticated`.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { nkeys } from 'nats';
import { z } from 'zod';
import { caller as callerSchema, type Caller } from '../../protocols/catalogue/caller.ts';
import { PncError } from '../../protocols/errors.ts';
import { WIRE_PAYLOAD, type Bus, type Delivery, type Headers, type RequestHandler, type RequestOptions, type SubscribeOptions, type Subscription, type WorkHandler, type WorkItem } from './bus.ts';
import { EncodedPayload, encodePayload } from './wire.ts';

export const IDENTITY_HEADER = 'Pnc-Identity';
export const SIGNED_AT_HEADER = 'Pnc-Signed-At';
export const ON_BEHALF_HEADER = 'Pnc-On-Behalf';
export const SIGNATURE_HEADER = 'Pnc-Signature';
/** How far a signature's time may be from the receiver's clock (hosts' clocks drift a little). */
export const SIGNATURE_WINDOW_MS = 5 * 60_000;
/** Roles a delegate may act for: the OAuth client roles, never `pool`. */
const DELEGABLE_ROLES: ReadonlySet<string> = new Set(['admin', 'oem', 'mo', 'cpo', 'cps']);

export const rosterEntry = z.object({
  /** The credential's name: a participant (`mo`), or `admin`, `inspector`, `opcp`. */
  name: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/),
  caller: callerSchema,
  /** May act for an OAuth identity (`Pnc-On-Behalf`): only the OPCP gateway. */
  delegate: z.boolean().default(false),
});
export type RosterEntry = z.output<typeof rosterEntry>;

/** Public key (nkey `U…`) → identity; public, the same file on every host. */
export const rosterSchema = z.object({ version: z.literal(1), identities: z.record(z.string().regex(/^U[A-Z2-7]{55}$/), rosterEntry) });
export type RosterJson = z.output<typeof rosterSchema>;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32Decode(text: string): Uint8Array {
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const char of text) {
    const value = BASE32.indexOf(char);
    if (value < 0) throw new PncError('InvalidArgument', 'not an nkey');
    buffer = (buffer << 5) | value;
    bits += 5;
    if (bits >= 8) {
      out.push((buffer >> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return new Uint8Array(out);
}

const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

/** The Ed25519 public key of a user nkey (`U…`: prefix byte, 32 key bytes, CRC-16). */
function publicKeyObject(publicKey: string): KeyObject {
  const raw = base32Decode(publicKey);
  if (raw.length !== 35) throw new PncError('InvalidArgument', 'not a user nkey');
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519, raw.subarray(1, 33)]), format: 'der', type: 'spki' });
}

/** A credential: its nkey seed (`SU…`), kept by its holder only. */
export class Credential {
  readonly publicKey: string;
  private readonly privateKey: KeyObject;

  constructor(readonly seed: string) {
    let pair;
    try {
      pair = nkeys.fromSeed(new TextEncoder().encode(seed.trim()));
    } catch (error) {
      throw new PncError('CredentialInvalid', `not an nkey seed: ${(error as Error).message}`);
    }
    this.publicKey = pair.getPublicKey();
    if (!this.publicKey.startsWith('U')) throw new PncError('CredentialInvalid', 'not a user nkey seed (SU…)');
    this.privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, pair.getRawSeed()]), format: 'der', type: 'pkcs8' });
  }

  /** A fresh user nkey. */
  static create(): Credential {
    return new Credential(new TextDecoder().decode(nkeys.createUser().getSeed()));
  }

  sign(data: Uint8Array): string {
    return sign(null, data, this.privateKey).toString('base64url');
  }
}

/**
 * What the signature covers: subject, time, on-behalf and the SHA-256 of the payload's JSON text as
 * it travels (UTF-8). The sender hashes the text it sends, the receiver the bytes it received.
 */
function signedBytes(subject: string, signedAt: string, onBehalf: string, payloadText: string | Uint8Array): Buffer {
  const digest = createHash('sha256').update(payloadText).digest('hex');
  return Buffer.from(`pnc-identity-v1\n${subject}\n${signedAt}\n${onBehalf}\n${digest}`);
}

/** Public keys → identities; verifies the identity headers of a delivery. */
export class Roster {
  private readonly entries = new Map<string, { entry: RosterEntry; key: KeyObject }>();

  constructor(json: RosterJson = { version: 1, identities: {} }, private readonly now: () => number = Date.now) {
    for (const [publicKey, entry] of Object.entries(json.identities)) this.add(publicKey, entry);
  }

  /** Parses a roster file's JSON. @throws PncError `CredentialInvalid` */
  static parse(value: unknown, now?: () => number): Roster {
    const parsed = rosterSchema.safeParse(value);
    if (!parsed.success) throw new PncError('CredentialInvalid', `roster: ${parsed.error.issues[0].path.join('.')}: ${parsed.error.issues[0].message}`);
    return new Roster(parsed.data, now);
  }

  add(publicKey: string, entry: RosterEntry): void {
    this.entries.set(publicKey, { entry, key: publicKeyObject(publicKey) });
  }

  entryOf(publicKey: string): RosterEntry | undefined {
    return this.entries.get(publicKey)?.entry;
  }

  toJSON(): RosterJson {
    return { version: 1, identities: Object.fromEntries([...this.entries].map(([publicKey, { entry }]) => [publicKey, entry])) };
  }

  /**
   * The authenticated caller of a message, or undefined when it carries no identity. `received` is
   * the payload as it arrived (text or bytes); without it the payload is serialised again.
   * @throws PncError `Unauthenticated` when it carries one that does not verify.
   */
  callerOf(subject: string, payload: unknown, headers: Headers, received?: string | Uint8Array): Caller | undefined {
    const publicKey = headers[IDENTITY_HEADER];
    if (publicKey === undefined) return undefined;
    const known = this.entries.get(publicKey);
    const signedAt = headers[SIGNED_AT_HEADER] ?? '';
    const onBehalf = headers[ON_BEHALF_HEADER] ?? '';
    const signature = headers[SIGNATURE_HEADER] ?? '';
    if (!known) throw new PncError('Unauthenticated', 'the sender\'s key is not in the roster');
    const at = Number(signedAt);
    if (!Number.isFinite(at) || Math.abs(this.now() - at) > SIGNATURE_WINDOW_MS) throw new PncError('Unauthenticated', 'the identity signature is stale or has no time');
    if (!verify(null, signedBytes(subject, signedAt, onBehalf, received ?? encodePayload(payload)), known.key, Buffer.from(signature, 'base64url'))) {
      throw new PncError('Unauthenticated', `the identity signature of ${known.entry.name} does not verify`);
    }
    if (!onBehalf) return known.entry.caller;
    if (!known.entry.delegate) throw new PncError('Unauthenticated', `${known.entry.name} may not act on behalf of others`);
    let claimed: unknown;
    try {
      claimed = JSON.parse(onBehalf);
    } catch {
      throw new PncError('Unauthenticated', 'Pnc-On-Behalf is not JSON');
    }
    const parsed = callerSchema.safeParse(claimed);
    if (!parsed.success || !DELEGABLE_ROLES.has(parsed.data.role)) throw new PncError('Unauthenticated', 'Pnc-On-Behalf names no delegable identity');
    return parsed.data;
  }
}

/**
 * The headers that say `credential` sent `payload` on `subject` (for `onBehalf`, when it is a delegate),
 * added to `headers`. An {@link EncodedPayload} is hashed as the text it is; that text must be what is sent.
 */
export function identityHeaders(credential: Credential, subject: string, payload: unknown, onBehalf?: Caller, now = Date.now(), headers?: Headers): Record<string, string> {
  const signedAt = String(now);
  const behalf = onBehalf ? JSON.stringify({ role: onBehalf.role, prefixes: onBehalf.prefixes }) : '';
  const signed: Record<string, string> = { ...headers, [IDENTITY_HEADER]: credential.publicKey, [SIGNED_AT_HEADER]: signedAt };
  if (behalf) signed[ON_BEHALF_HEADER] = behalf;
  signed[SIGNATURE_HEADER] = credential.sign(signedBytes(subject, signedAt, behalf, encodePayload(payload)));
  return signed;
}

/** The authenticated caller of a delivery. @throws PncError `Unauthenticated` when there is none */
export function callerOf(delivery: Pick<Delivery, 'caller' | 'subject'>): Caller {
  if (!delivery.caller) throw new PncError('Unauthenticated', `${delivery.subject} needs an authenticated caller (a credential from openpnc deploy creds)`);
  return delivery.caller;
}

/** Adds the caller a roster finds to each delivery; an identity that does not verify is refused or dropped. */
function verified<D extends Delivery>(roster: Roster, delivery: D): D {
  // A caller set by anyone but the roster is never trusted.
  const { caller: _ignored, ...plain } = delivery;
  const caller = roster.callerOf(delivery.subject, delivery.payload, delivery.headers, delivery[WIRE_PAYLOAD]);
  return (caller ? { ...plain, caller } : plain) as D;
}

/**
 * A participant's handle on the bus: everything it sends is signed with its credential, and every
 * delivery it gets carries the caller the roster verified (requests with a forged identity are refused
 * with `Unauthenticated`, events and work with one are dropped or dead-lettered).
 */
export class IdentifiedBus implements Bus {
  constructor(
    private readonly inner: Bus,
    private readonly credential: Credential,
    private readonly roster: Roster,
    private readonly onBehalf?: Caller,
  ) {}

  get kind(): Bus['kind'] {
    return this.inner.kind;
  }

  /** The same credential acting for an OAuth identity (the OPCP gateway); receivers honour it only from a delegate. */
  actingFor(caller: Caller): IdentifiedBus {
    return new IdentifiedBus(this.inner, this.credential, this.roster, caller);
  }

  /** Serialises the payload once: its digest is signed and the same text is what the inner bus sends. */
  private signed(subject: string, payload: unknown, headers?: Headers): { payload: EncodedPayload; headers: Headers } {
    const encoded = new EncodedPayload(encodePayload(payload));
    return { payload: encoded, headers: identityHeaders(this.credential, subject, encoded, this.onBehalf, Date.now(), headers) };
  }

  publish(subject: string, payload: unknown, headers?: Headers): Promise<void> {
    const signed = this.signed(subject, payload, headers);
    return this.inner.publish(subject, signed.payload, signed.headers);
  }

  mayHaveSubscribers(subject: string): boolean {
    return this.inner.mayHaveSubscribers(subject);
  }

  onSubscribersChanged(listener: () => void): () => void {
    return this.inner.onSubscribersChanged(listener);
  }

  subscribe(subject: string, handler: (delivery: Delivery) => void | Promise<void>, options?: SubscribeOptions): Promise<Subscription> {
    return this.inner.subscribe(subject, (delivery) => handler(verified(this.roster, delivery)), options);
  }

  request<Res = unknown>(subject: string, payload: unknown, options?: RequestOptions): Promise<Res> {
    const signed = this.signed(subject, payload, options?.headers);
    return this.inner.request<Res>(subject, signed.payload, { ...options, headers: signed.headers });
  }

  serve<Req = unknown, Res = unknown>(subject: string, handler: RequestHandler<Req, Res>, options?: SubscribeOptions): Promise<Subscription> {
    return this.inner.serve<Req, Res>(subject, (request, delivery) => handler(request, verified(this.roster, delivery)), options);
  }

  enqueue(queue: string, payload: unknown, options?: { id?: string; headers?: Headers }): Promise<void> {
    const signed = this.signed(queue, payload, options?.headers);
    return this.inner.enqueue(queue, signed.payload, { ...options, headers: signed.headers });
  }

  consume<T = unknown>(queue: string, handler: WorkHandler<T>, options: Parameters<Bus['consume']>[2]): Promise<Subscription> {
    return this.inner.consume<T>(queue, (item) => handler(verified(this.roster, item) as WorkItem<T>), options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * Identities for one process on the in-process bus: a key per name made on first use, all in one
 * roster, so every handle verifies every other. What the host gives each participant's bus handle.
 */
export class LocalIdentities {
  readonly roster = new Roster();
  private readonly credentials = new Map<string, Credential>();

  /** The bus handle of `name` acting as `caller` (one key per name). */
  handle(bus: Bus, name: string, caller: Caller, delegate = false): IdentifiedBus {
    let credential = this.credentials.get(name);
    const known = credential && this.roster.entryOf(credential.publicKey);
    if (known && (known.caller.role !== caller.role || known.caller.prefixes.join() !== caller.prefixes.join() || known.delegate !== delegate)) {
      throw new PncError('InvalidArgument', `${name} already acts as ${known.caller.role} [${known.caller.prefixes.join(', ')}]: one name, one identity`);
    }
    if (!credential) {
      credential = Credential.create();
      this.credentials.set(name, credential);
      this.roster.add(credential.publicKey, { name, caller: { role: caller.role, prefixes: [...caller.prefixes] }, delegate });
    }
    return new IdentifiedBus(bus, credential, this.roster);
  }

  /** The OPCP gateway's handle: `opcp`, a delegate that acts for each token's identity. */
  gateway(bus: Bus): IdentifiedBus {
    return this.handle(bus, 'opcp', { role: 'opcp', prefixes: [] }, true);
  }
}

