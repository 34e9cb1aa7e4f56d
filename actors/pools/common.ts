/**
 * What the three pools (RCP, PCP, CCP) share: reading certificates out of base64 DER, running
 * the purge schedule statechart, and purging entries whose `expiresAt` has passed, in deadline
 * order with the store's index, so a purge touches only what expired.
 */
import 'reflect-metadata';
import { X509Certificate as NodeX509Certificate, createHash } from 'node:crypto';
import { parseCertificateDer } from '../../protocols/pki/index.ts';
import * as x509 from '@peculiar/x509';
import { fromPromise } from 'xstate';
import { DEFAULT_LEASE_MS, hostActor, type HostContext, type HostedActor } from '../host/index.ts';
import { purgeExpiryEvent } from '../../protocols/catalogue/pools.ts';
import { PncError } from '../../protocols/errors.ts';
import { PURGE_DEADLINE, type PurgeResult, type PurgeScheduleMachine } from '../../statecharts/pool-purge.ts';
import type { Collection, Store, StoredDoc } from '../store/store.ts';
import type { Bus, Subscription } from '../bus/bus.ts';
import { publishEvent, requestSubjectReply } from '../bus/typed.ts';
import { rcpInterface, type RootType } from '../../protocols/catalogue/rcp.ts';
import type { RunningParticipant } from '../host/participant.ts';
import { unsubscribeAll } from '../bus/bus.ts';
import { wallClockOf, type Clock, type WallClock } from '../transport/timers.ts';

export type { Clock, WallClock };

/** The time source of a pool (epoch ms); tests inject their own to move past an expiry without waiting. */

/** A running pool participant; `purgeNow` runs its purge at once (tests, the CLI). */
export interface RunningPool extends RunningParticipant {
  purgeNow(): Promise<void>;
}

/** A pool entry that leaves the pool at `expiresAt` (ms since the epoch). */
export interface ExpiringDoc extends StoredDoc {
  readonly expiresAt: number;
}

export function base64ToBytes(value: string): Uint8Array {
  return new Uint8Array(Buffer.from(value, 'base64'));
}

export function bytesToBase64(value: Uint8Array | ArrayBuffer): string {
  return Buffer.from(value instanceof ArrayBuffer ? new Uint8Array(value) : value).toString('base64');
}

/** Parses a base64 DER certificate with @peculiar/x509 (for extension checks); anything else is an `InvalidCertificate`. */
export function parseCertificate(base64Der: string, what = 'certificate'): x509.X509Certificate {
  try {
    return new x509.X509Certificate(base64ToBytes(base64Der));
  } catch (error) {
    throw new PncError('InvalidCertificate', `${what} is not a DER X.509 certificate`, { cause: error });
  }
}

/** The facts the pools publish about a certificate, in OPCP's field formats. */
export interface CertificateFacts {
  /** RFC 4514-style, as OPCP shows it: `CN=…, O=…, C=…, DC=…`. */
  readonly distinguishedName: string;
  readonly commonName: string;
  readonly organizationName?: string;
  /** Lowercase hex. */
  readonly serialNumber: string;
  /** Subject key identifier, lowercase hex, when present. */
  readonly subjectKeyIdentifier?: string;
  /** The key's algorithm in OPCP's `signatureAlgorithm` terms; undefined for a key OPCP has no name for. */
  readonly keyAlgorithm?: OpcpKeyAlgorithm;
  readonly validFrom: Date;
  readonly validTo: Date;
  /** SHA-256 / SHA-1 of the DER, lowercase hex. */
  readonly fingerprint: string;
  readonly fingerprintSha1: string;
}

/** Short names of the DN attributes V2G certificates use (RFC 4514 and the DC of RFC 4519). */
const NAME_ATTRIBUTES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN', '2.5.4.10': 'O', '2.5.4.11': 'OU', '2.5.4.6': 'C', '2.5.4.8': 'ST', '2.5.4.7': 'L', '0.9.2342.19200300.100.1.25': 'DC',
};

export type OpcpKeyAlgorithm = 'secp256r1' | 'secp521r1' | 'ed448';

/**
 * OPCP's names for the keys ISO 15118 uses: P-256 ([V2G2-006], -2) and P-521 or Ed448 (ISO 15118-20),
 * keyed by the SPKI algorithm OID and, for EC keys, the named-curve OID (RFC 5480, RFC 8410).
 */
const OPCP_KEY_ALGORITHMS: Readonly<Record<string, OpcpKeyAlgorithm>> = {
  '1.2.840.10045.2.1 1.2.840.10045.3.1.7': 'secp256r1',
  '1.2.840.10045.2.1 1.3.132.0.35': 'secp521r1',
  '1.3.101.113': 'ed448',
};

export function opcpKeyAlgorithm(publicKeyAlgorithm: string, curve?: string): OpcpKeyAlgorithm | undefined {
  return OPCP_KEY_ALGORITHMS[curve ? `${publicKeyAlgorithm} ${curve}` : publicKeyAlgorithm];
}

/** Facts of DER byte objects already read (DerCache hands out the same object for the same certificate). */
const factsCache = new WeakMap<Uint8Array, CertificateFacts>();

/**
 * Reads the facts from DER (base64 text or bytes) with the PKI's DER reader; a name with attributes
 * beyond NAME_ATTRIBUTES is formatted by Node's native X.509 parser. Anything that is not a
 * certificate is `InvalidCertificate`.
 */
export function certificateFacts(der: Uint8Array | string, what = 'certificate'): CertificateFacts {
  const bytes = typeof der === 'string' ? base64ToBytes(der) : der;
  const cached = factsCache.get(bytes);
  if (cached) return cached;
  let parsed: ReturnType<typeof parseCertificateDer>;
  let attributes: string[];
  try {
    parsed = parseCertificateDer(bytes);
    attributes = parsed.subject.every((a) => NAME_ATTRIBUTES[a.oid]) ? parsed.subject.map((a) => `${NAME_ATTRIBUTES[a.oid]}=${a.value}`) : new NodeX509Certificate(bytes).subject.split('\n');
  } catch (error) {
    throw new PncError('InvalidCertificate', `${what} is not a DER X.509 certificate`, { cause: error });
  }
  const field = (name: string) => attributes.find((line) => line.startsWith(`${name}=`))?.slice(name.length + 1);
  const facts: CertificateFacts = {
    distinguishedName: attributes.join(', '),
    commonName: field('CN') ?? '',
    organizationName: field('O'),
    serialNumber: parsed.serialNumber,
    subjectKeyIdentifier: parsed.subjectKeyIdentifier,
    keyAlgorithm: opcpKeyAlgorithm(parsed.publicKeyAlgorithm, parsed.curve),
    validFrom: new Date(parsed.notBefore),
    validTo: new Date(parsed.notAfter),
    fingerprint: createHash('sha256').update(bytes).digest('hex'),
    fingerprintSha1: createHash('sha1').update(bytes).digest('hex'),
  };
  factsCache.set(bytes, facts);
  return facts;
}

/** Hex with `:` between bytes, upper case (the OPCP AKI style `AB:CD:…`). */
export function colonHex(hex: string): string {
  return (hex.toUpperCase().match(/../g) ?? []).join(':');
}

/**
 * A SHA-256 fingerprint in the UUID layout OPCP's patterns ask for (`rootCertificateId`,
 * `cpsV2GRootCertificateFingerprint`): its first 16 bytes, grouped 8-4-4-4-12.
 */
export function fingerprintAsUuid(fingerprintHex: string): string {
  const h = fingerprintHex.toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * Deletes every entry whose `expiresAt` is at or before `now`, earliest first, calling `onPurged`
 * after each delete. Returns the count and the next deadline.
 */
export async function purgeExpired<T extends ExpiringDoc>(collection: Collection<T>, now: number, onPurged: (doc: T) => Promise<void>): Promise<PurgeResult> {
  let purged = 0;
  for (;;) {
    const batch = await collection.find({}, { sort: 'expiresAt', limit: 100 });
    if (batch.length === 0) return { purged, nextPurgeAt: null };
    for (const doc of batch) {
      if (doc.expiresAt > now) return { purged, nextPurgeAt: doc.expiresAt };
      if (await collection.delete(doc._id)) {
        purged++;
        await onPurged(doc);
      }
    }
  }
}

export interface PurgeSchedule {
  /** Tells the schedule an entry with this deadline entered the pool; resolves once persisted (or handed over). */
  expiryAdded(at: number): Promise<void>;
  /** Runs a purge now and resolves when it is done (a no-op in a standby process). */
  purgeNow(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Hosts a pool's purge statechart (actor `<participant>/purge`) with the participant's purge effect.
 * A purge runs at start, so whatever expired while the process was down goes first; after that the
 * deadline in the persisted context drives it, re-armed by the host after a restart.
 * Several processes of one pool (a NATS queue group) share the work: the actor host's lease lets one
 * drive the schedule; the others stand by, retry the lease, and hand their expiries to the active one
 * over `<participant>.purge.expiry`.
 */
export async function startPurgeSchedule(
  participant: 'rcp' | 'pcp' | 'ccp',
  machine: PurgeScheduleMachine,
  purge: (now: number) => Promise<PurgeResult>,
  context: HostContext,
  clock: Clock | WallClock = Date.now,
): Promise<PurgeSchedule> {
  const wall = wallClockOf(clock);
  const logic = machine.provide({ actors: { purge: fromPromise(async ({ input }: { input: { now: number } }) => purge(input.now)) } });
  const expiryEvent = purgeExpiryEvent(participant);
  let hosted: HostedActor<typeof logic> | undefined;
  let retry: NodeJS.Timeout | undefined;
  let stopped = false;

  const sendExpiry = async (at: number) => {
    const snapshot = hosted!.getSnapshot();
    const current = snapshot.context.deadlines[PURGE_DEADLINE];
    // Only an earlier expiry moves the deadline; skipping the others saves a persisted transition per put.
    // While a purge runs the event always goes in, so the purge's answer cannot lose it.
    if (snapshot.matches('waiting') && current !== undefined && current <= at) return;
    await hosted!.send({ type: 'EXPIRY_ADDED', at });
  };
  const purgeNow = async () => {
    if (!hosted) return;
    await hosted.send({ type: 'PURGE_DUE', at: wall.now() });
    const snapshot = await hosted.waitFor((s) => !s.matches('purging'), 60_000);
    if (snapshot.context.failure) context.log.warn(`${participant}.purge.failed`, { ...snapshot.context.failure });
  };
  /** Takes the lease if it is free; false while another process holds it. */
  const tryActivate = async (): Promise<boolean> => {
    try {
      hosted = await hostActor({ participant, id: 'purge', logic, context: { ...context, clock: wall } });
    } catch (error) {
      if (PncError.is(error, 'ActorLeased')) return false;
      throw error;
    }
    await purgeNow();
    return true;
  };

  const handOver = await context.bus.subscribe(expiryEvent.subject, async (delivery) => {
    const parsed = expiryEvent.payload.safeParse(delivery.payload);
    if (hosted && parsed.success) await sendExpiry(parsed.data.at).catch((error) => context.log.warn(`${participant}.purge.expiry.failed`, { error }));
  });
  if (!(await tryActivate())) {
    context.log.info(`${participant}.purge.standby`, { reason: 'another process drives the purge schedule' });
    const attempt = () => {
      retry = setTimeout(async () => {
        if (stopped) return;
        try {
          if (await tryActivate()) return context.log.info(`${participant}.purge.active`, {});
        } catch (error) {
          context.log.warn(`${participant}.purge.activate.failed`, { error });
        }
        attempt();
      }, DEFAULT_LEASE_MS / 3);
      retry.unref();
    };
    attempt();
  }
  return {
    expiryAdded: async (at) => (hosted ? sendExpiry(at) : publishEvent(context.bus, expiryEvent, { at })),
    purgeNow,
    async stop() {
      stopped = true;
      clearTimeout(retry);
      await handOver.unsubscribe();
      await hosted?.stop();
    },
  };
}

/**
 * Certificates as stable byte objects: the same DER (as base64 or hex text) always yields the same
 * Uint8Array, so PKI's validateChain, which caches each certificate's parse and key per object, reads
 * a root or sub-CA once instead of on every request. Bounded; the oldest entries go first.
 */
export class DerCache {
  // One map per encoding (each holding up to `limit`), keyed by the text itself: a prefixed key was a
  // new kilobyte string to build and hash on every lookup, several per request.
  private readonly entries = { base64: new Map<string, Uint8Array>(), hex: new Map<string, Uint8Array>() };
  constructor(private readonly limit = 4096) {}

  get(text: string, encoding: 'base64' | 'hex' = 'base64'): Uint8Array {
    const entries = this.entries[encoding];
    let der = entries.get(text);
    if (!der) {
      if (entries.size >= this.limit) entries.delete(entries.keys().next().value!);
      der = new Uint8Array(Buffer.from(text, encoding));
      entries.set(text, der);
    }
    return der;
  }
}

/**
 * The RCP's roots of one type as seen by another pool: asked once, then kept until the RCP announces a
 * change (`rcp.root.added` / `rcp.root.purged`) or `maxAgeMs` passes (events are not durable, so a
 * missed one costs at most that long).
 */
interface KnownRootsDoc extends StoredDoc {
  /** DER, base64, as the RCP served them last. */
  readonly roots: readonly string[];
  readonly fetchedAt: string;
}

/**
 * The RCP's roots of each type as a pool uses them: asked for at most every `maxAgeMs`, dropped at
 * once on the RCP's change events. With a store, the last answer is kept there too, so a pool that
 * just started while the RCP is unreachable still validates with the roots it knew (issue 9 D8);
 * a refresh that fails keeps the last known roots in use.
 */
export class RootCache {
  private cached = new Map<string, { at: number; roots: Promise<Uint8Array[]> }>();
  private subscriptions: Subscription[] = [];
  private readonly known?: Collection<KnownRootsDoc>;

  constructor(private readonly bus: Bus, private readonly ders: DerCache, private readonly maxAgeMs = 5_000, stored?: { store: Store; pool: string }) {
    this.known = stored?.store.collection<KnownRootsDoc>(`${stored.pool}.known-roots`);
  }

  async start(): Promise<void> {
    const forget = () => this.cached.clear();
    this.subscriptions = await Promise.all([this.bus.subscribe(rcpInterface.events.added.subject, forget), this.bus.subscribe(rcpInterface.events.purged.subject, forget)]);
  }

  roots(rootType: RootType): Promise<Uint8Array[]> {
    const hit = this.cached.get(rootType);
    if (hit && Date.now() - hit.at < this.maxAgeMs) return hit.roots;
    const previous = hit?.roots;
    const roots = this.fetch(rootType).catch(async (error: unknown) => {
      this.cached.delete(rootType);
      const fallback = (previous && (await previous.catch(() => undefined))) ?? (await this.storedRoots(rootType));
      if (fallback) return fallback;
      throw error;
    });
    this.cached.set(rootType, { at: Date.now(), roots });
    return roots;
  }

  private async fetch(rootType: RootType): Promise<Uint8Array[]> {
    const { roots: list } = await requestSubjectReply(this.bus, rcpInterface.requests.list, { rootType });
    const ders = list.map((root) => root.caCertificate);
    if (this.known) {
      const before = await this.known.get(rootType).catch(() => undefined);
      if (before?.roots.join() !== ders.join()) await this.known.replace({ _id: rootType, roots: ders, fetchedAt: new Date().toISOString() }).catch(() => undefined);
    }
    return ders.map((der) => this.ders.get(der));
  }

  /** The roots kept from the last answer, when the RCP does not answer now. */
  private async storedRoots(rootType: RootType): Promise<Uint8Array[] | undefined> {
    const doc = await this.known?.get(rootType).catch(() => undefined);
    return doc ? doc.roots.map((der) => this.ders.get(der)) : undefined;
  }

  async stop(): Promise<void> {
    await unsubscribeAll(this.subscriptions);
  }
}
