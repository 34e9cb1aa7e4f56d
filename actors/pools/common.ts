/**
 * What the three pools (RCP, PCP, CCP) share: reading certificates out of base64 DER, running
 * the purge schedule statechart, and purging entries whose `expiresAt` has passed, in deadline
 * order with the store's index, so a purge touches only what expired.
 */
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { fromPromise } from 'xstate';
import { hostActor, type HostContext } from '../host/index.ts';
import { PncError } from '../../protocols/errors.ts';
import type { PurgeResult, PurgeScheduleMachine } from '../../statecharts/pool-purge.ts';
import type { Collection, StoredDoc } from '../store/store.ts';
import type { Logger, RunningParticipant } from '../host/participant.ts';

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

/** Parses a base64 DER certificate; anything else is an `InvalidCertificate`. */
export function parseCertificate(base64Der: string, what = 'certificate'): x509.X509Certificate {
  try {
    return new x509.X509Certificate(base64ToBytes(base64Der));
  } catch (error) {
    throw new PncError('InvalidCertificate', `${what} is not a DER X.509 certificate`, { cause: error });
  }
}

/** The facts the pools publish about a certificate, in OPCP's field formats. */
export interface CertificateFacts {
  readonly distinguishedName: string;
  readonly commonName: string;
  readonly organizationName?: string;
  /** Lowercase hex, no leading zero bytes beyond what the certificate has. */
  readonly serialNumber: string;
  /** Subject key identifier, lowercase hex, when present. */
  readonly subjectKeyIdentifier?: string;
  readonly validFrom: Date;
  readonly validTo: Date;
  /** SHA-256 / SHA-1 of the DER, lowercase hex. */
  readonly fingerprint: string;
  readonly fingerprintSha1: string;
}

export function certificateFacts(certificate: x509.X509Certificate): CertificateFacts {
  const raw = new Uint8Array(certificate.rawData);
  const ski = certificate.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  return {
    distinguishedName: certificate.subject,
    commonName: certificate.subjectName.getField('CN')[0] ?? '',
    organizationName: certificate.subjectName.getField('O')[0],
    serialNumber: certificate.serialNumber.toLowerCase(),
    subjectKeyIdentifier: ski?.toLowerCase(),
    validFrom: certificate.notBefore,
    validTo: certificate.notAfter,
    fingerprint: createHash('sha256').update(raw).digest('hex'),
    fingerprintSha1: createHash('sha1').update(raw).digest('hex'),
  };
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
  /** Tells the schedule an entry with this deadline entered the pool; resolves once persisted. */
  expiryAdded(at: number): Promise<void>;
  /** Runs a purge now and resolves when it is done. */
  purgeNow(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Hosts a pool's purge statechart (actor `<participant>/purge`) with the participant's purge effect.
 * A purge runs at start, so whatever expired while the process was down goes first; after that the
 * deadline in the persisted context drives it, re-armed by the host after a restart.
 */
export async function startPurgeSchedule(participant: string, machine: PurgeScheduleMachine, purge: (now: number) => Promise<PurgeResult>, context: HostContext): Promise<PurgeSchedule> {
  const hosted = await hostActor({ participant, id: 'purge', logic: machine.provide({ actors: { purge: fromPromise(async ({ input }) => purge(input.now)) } }), context });
  const idle = async () => {
    const snapshot = await hosted.waitFor((s) => !s.matches('purging'), 60_000);
    if (snapshot.context.failure) context.log.warn(`${participant}.purge.failed`, { ...snapshot.context.failure });
  };
  const schedule: PurgeSchedule = {
    expiryAdded: (at) => hosted.send({ type: 'EXPIRY_ADDED', at }),
    purgeNow: async () => {
      await hosted.send({ type: 'PURGE_DUE' });
      await idle();
    },
    stop: () => hosted.stop(),
  };
  await schedule.purgeNow();
  return schedule;
}
