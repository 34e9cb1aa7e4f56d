/**
 * The issuance log of a CA participant (issue 13): every certificate the participant's CAs sign is
 * recorded in its own store before it leaves the issuing code, so a certificate issued and then lost
 * (a crash before the holder stored it, a write acknowledged and thrown away) still leaves a trace.
 * `openpnc chaos` reads these logs from the stores and accounts for each entry (actors/chaos/certificates.ts).
 */
import { createHash } from 'node:crypto';
import type * as x509 from '@peculiar/x509';
import type { Store, StoredDoc } from '../store/store.ts';
import { normalizeSerialNumber } from '../../protocols/pki/ocsp.ts';
import type { RoleName } from '../../protocols/pki/profiles.ts';

export const ISSUANCE_COLLECTION = 'pki.issuance';

export interface IssuanceDoc extends StoredDoc {
  /** The participant whose CA signed it. */
  readonly issuer: string;
  readonly role: RoleName | 'csmsRoot' | 'csmsServer' | 'csmsStation';
  /** Lower-case hex without leading zeros, as revocations keep it. */
  readonly serial: string;
  /** SHA-256 of the DER: two entries with one serial and two fingerprints are a serial issued twice. */
  readonly fingerprint: string;
  readonly subject: string;
  readonly issuedAt: string;
  /** What it was issued for (a contract id, a PCID): a re-issue for the same purpose supersedes it. */
  readonly issuedFor?: string;
  /** Set when the certificate was made but another took its place (a lost first-start race, a crash before it was stored). */
  readonly supersededBy?: string;
}

export const fingerprintOf = (certificate: x509.X509Certificate): string => createHash('sha256').update(new Uint8Array(certificate.rawData)).digest('hex');

/**
 * Records `certificate` as issued by `issuer`'s CA; idempotent for the same certificate. With
 * `issuedFor`, an earlier certificate issued for the same purpose is marked superseded by this one:
 * the effect that issued it was re-run because the process died before its holder stored it, so it
 * never left the CA (nor did its key, where the CA made one).
 */
export async function recordIssuance(store: Store, issuer: string, role: IssuanceDoc['role'], certificate: x509.X509Certificate, issuedFor?: string): Promise<void> {
  const serial = normalizeSerialNumber(certificate.serialNumber);
  const fingerprint = fingerprintOf(certificate);
  const log = store.collection<IssuanceDoc>(ISSUANCE_COLLECTION);
  if (issuedFor !== undefined) {
    for (const earlier of await log.find({ issuer, issuedFor })) {
      if (earlier.fingerprint !== fingerprint && !earlier.supersededBy) await log.replace({ ...earlier, supersededBy: serial });
    }
  }
  await log.replace({
    _id: `${issuer}:${serial}:${fingerprint.slice(0, 16)}`, issuer, role, serial, fingerprint, subject: certificate.subject, issuedAt: new Date().toISOString(),
    ...(issuedFor !== undefined ? { issuedFor } : {}),
  });
}

/** Lets `recordIssuance(…, issuedFor)` find earlier issues without reading the whole log. */
export const ensureIssuanceIndex = (store: Store): Promise<void> => store.collection<IssuanceDoc>(ISSUANCE_COLLECTION).ensureIndex({ fields: ['issuer', 'issuedFor'] });

/** Marks a recorded certificate as superseded: it was made but is not the one in use. */
export async function recordSuperseded(store: Store, issuer: string, certificate: x509.X509Certificate, by: x509.X509Certificate): Promise<void> {
  const collection = store.collection<IssuanceDoc>(ISSUANCE_COLLECTION);
  const id = `${issuer}:${normalizeSerialNumber(certificate.serialNumber)}:${fingerprintOf(certificate).slice(0, 16)}`;
  const doc = await collection.get(id);
  if (doc) await collection.replace({ ...doc, supersededBy: normalizeSerialNumber(by.serialNumber) });
}
