/**
 * "Certificates issued vs accounted for" (issue 13), from durable state only: the issuance log each
 * CA participant writes before a certificate leaves it (actors/participants/issuance-log.ts) against
 * where each certificate belongs, read from the same stores (SQLite files, opened read-only while the
 * processes run): a CA's own certificates in its `<participant>.authorities` (or `cpo.csms`), a Sub-CA 1
 * of the CPO or CPS domain in that domain's authorities, a contract certificate at the MO
 * (`mo.contracts`, renewals `mo.renewals`) and in the CCP pool (`ccp.contracts`, `ccp.renewals`), a provisioning certificate at the OEM
 * (`oem.vehicles`) and in the PCP pool (`pcp.chains`), an SECC leaf in a station's store
 * (`secc_certificates_<station>`). A certificate elsewhere counts only when its CA revoked it or
 * marked it superseded, or, for a contract certificate the MO holds, when the CCP's purge took it
 * (actors/pools/ccp-purge.ts): it expired, or it is a renewal whose renewed certificate expired.
 * No serial may be issued twice by one participant's CAs.
 */
import Database from 'better-sqlite3';
import * as x509 from '@peculiar/x509';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EMBEDDED_STORE_FILE } from '../store/embedded.ts';
import { ISSUANCE_COLLECTION, type IssuanceDoc } from '../participants/issuance-log.ts';
import { normalizeSerialNumber } from '../../protocols/pki/ocsp.ts';
import { derOfPem } from '../../protocols/pki/index.ts';

export interface CertificateAccount {
  /** Entries in the issuance logs. */
  readonly issued: number;
  /** Where they belong: holder stores (and pools, for contract and provisioning certificates). */
  readonly held: number;
  readonly revoked: number;
  readonly superseded: number;
  /** Contract certificates the MO holds that the CCP purged: expired, or renewals whose renewed certificate expired. */
  readonly purged: number;
  /** Issued to a requester that keeps no store in this deployment (the story's station, OCPP clients). */
  readonly handedOut: number;
  /** Neither where they belong nor revoked nor superseded: `<issuer> <role> <serial>: <why>`. */
  readonly unaccounted: readonly string[];
  /** Serials one participant's CAs issued for two different certificates. */
  readonly duplicateSerials: readonly string[];
  /** Issued counts per `<issuer> <role>`. */
  readonly byRole: Readonly<Record<string, number>>;
}

const fingerprint = (der: string | Uint8Array): string => createHash('sha256').update(typeof der === 'string' ? Buffer.from(der, 'base64') : der).digest('hex');
const serialOf = (der: string): string => normalizeSerialNumber(new x509.X509Certificate(Buffer.from(der, 'base64')).serialNumber);

/** What one store holds, as far as certificates go. */
interface Holdings {
  issuance: IssuanceDoc[];
  /** Fingerprints of the CAs kept in `*.authorities` and `cpo.csms`. */
  authorities: Set<string>;
  moContracts: Set<string>;
  /** notAfter (epoch ms) of the MO's contract certificates, by serial and by SHA-256 of the DER. */
  moNotAfter: Map<string, number>;
  /** Serial of each renewal the MO holds → SHA-256 of the certificate it renews. */
  moRenewalOf: Map<string, string>;
  ccpContracts: Set<string>;
  oemVehicles: Set<string>;
  pcpChains: Set<string>;
  /** Leaf fingerprints in `secc_certificates_*`. */
  stations: Set<string>;
  /** `<participant>:<serial>` revoked. */
  revoked: Set<string>;
  hostsSecc: boolean;
}

function readStore(dataDir: string, into: Holdings): void {
  const file = join(dataDir, EMBEDDED_STORE_FILE);
  if (!existsSync(file)) return;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'c\\_%' ESCAPE '\\'").pluck().all() as string[]).map((table) => table.slice(2));
    const docs = <T>(collection: string): T[] => (tables.includes(collection) ? (db.prepare(`SELECT doc FROM "c_${collection.replace(/"/g, '""')}"`).pluck().all() as string[]).map((doc) => JSON.parse(doc) as T) : []);
    into.issuance.push(...docs<IssuanceDoc>(ISSUANCE_COLLECTION));
    for (const collection of tables) {
      if (collection.endsWith('.authorities')) {
        for (const doc of docs<{ authorities: Record<string, { certificate: string }> }>(collection)) for (const entry of Object.values(doc.authorities)) into.authorities.add(fingerprint(entry.certificate));
      } else if (collection.endsWith('.revocations')) {
        const participant = collection.slice(0, -'.revocations'.length);
        for (const doc of docs<{ _id: string }>(collection)) into.revoked.add(`${participant}:${doc._id}`);
      } else if (collection.startsWith('secc_certificates_')) {
        into.hostsSecc = true;
        for (const doc of docs<{ pems: string[]; key?: string }>(collection)) if (doc.key && doc.pems[0]) into.stations.add(fingerprint(derOfPem(doc.pems[0])));
      }
    }
    for (const doc of docs<{ certificate: string }>('cpo.csms')) into.authorities.add(fingerprint(doc.certificate));
    const moCertificate = (der: string) => {
      const notAfter = new x509.X509Certificate(Buffer.from(der, 'base64')).notAfter.getTime();
      into.moNotAfter.set(serialOf(der), notAfter).set(fingerprint(der), notAfter);
    };
    for (const doc of docs<{ serialNumber: string; contractData: { contractSignatureCertChain: { certificate: string } } }>('mo.contracts')) {
      into.moContracts.add(normalizeSerialNumber(doc.serialNumber));
      moCertificate(doc.contractData.contractSignatureCertChain.certificate);
    }
    for (const doc of docs<{ summary: { contractCertificate: string } }>('ccp.contracts')) into.ccpContracts.add(serialOf(doc.summary.contractCertificate));
    // Renewed contracts (CertificateUpdate) are held apart until the EV fetches them.
    for (const doc of docs<{ renewal: { serialNumber: string; renewalOf: string; contractData: { contractSignatureCertChain: { certificate: string } } } }>('mo.renewals')) {
      into.moContracts.add(normalizeSerialNumber(doc.renewal.serialNumber));
      into.moRenewalOf.set(normalizeSerialNumber(doc.renewal.serialNumber), doc.renewal.renewalOf);
      moCertificate(doc.renewal.contractData.contractSignatureCertChain.certificate);
    }
    for (const doc of docs<{ summary: { contractCertificate: string } }>('ccp.renewals')) into.ccpContracts.add(serialOf(doc.summary.contractCertificate));
    for (const doc of docs<{ serialNumber: string }>('oem.vehicles')) into.oemVehicles.add(normalizeSerialNumber(doc.serialNumber));
    for (const doc of docs<{ chain: { vehicleCertificate: string } }>('pcp.chains')) into.pcpChains.add(serialOf(doc.chain.vehicleCertificate));
  } finally {
    db.close();
  }
}

/** Accounts for every certificate in the issuance logs of the stores under `dataDirs`, as of `now` (expiry). */
export function accountCertificates(dataDirs: readonly string[], now = Date.now()): CertificateAccount {
  const all: Holdings = { issuance: [], authorities: new Set(), moContracts: new Set(), moNotAfter: new Map(), moRenewalOf: new Map(), ccpContracts: new Set(), oemVehicles: new Set(), pcpChains: new Set(), stations: new Set(), revoked: new Set(), hostsSecc: false };
  for (const dir of dataDirs) readStore(dir, all);
  let held = 0;
  let revoked = 0;
  let superseded = 0;
  let handedOut = 0;
  let purged = 0;
  const unaccounted: string[] = [];
  const byRole: Record<string, number> = {};
  const fingerprintsBySerial = new Map<string, Set<string>>();
  for (const entry of all.issuance) {
    byRole[`${entry.issuer} ${entry.role}`] = (byRole[`${entry.issuer} ${entry.role}`] ?? 0) + 1;
    const key = `${entry.issuer}:${entry.serial}`;
    (fingerprintsBySerial.get(key) ?? fingerprintsBySerial.set(key, new Set()).get(key)!).add(entry.fingerprint);
    if (entry.supersededBy) {
      superseded += 1;
      continue;
    }
    if (all.revoked.has(key)) {
      revoked += 1;
      continue;
    }
    const missing = whereMissing(entry, all, now);
    if (missing === undefined) held += 1;
    else if (missing === 'handed out') handedOut += 1;
    else if (missing === 'purged') purged += 1;
    else unaccounted.push(`${entry.issuer} ${entry.role} ${entry.serial} (${entry.subject}): ${missing}`);
  }
  const duplicateSerials = [...fingerprintsBySerial].filter(([, prints]) => prints.size > 1).map(([key, prints]) => `${key} (${prints.size} certificates)`);
  return { issued: all.issuance.length, held, revoked, superseded, purged, handedOut, unaccounted, duplicateSerials, byRole };
}

/** Undefined when the certificate is where it belongs; otherwise where it is missing. */
function whereMissing(entry: IssuanceDoc, all: Holdings, now: number): string | undefined {
  switch (entry.role) {
    case 'contract': {
      if (all.moContracts.has(entry.serial) && !all.ccpContracts.has(entry.serial)) {
        const renewed = all.moRenewalOf.get(entry.serial);
        const expired = (notAfter: number | undefined) => notAfter !== undefined && notAfter <= now;
        if (expired(all.moNotAfter.get(entry.serial)) || (renewed !== undefined && expired(all.moNotAfter.get(renewed)))) return 'purged';
      }
      const missing = [!all.moContracts.has(entry.serial) && 'mo.contracts', !all.ccpContracts.has(entry.serial) && 'the CCP pool'].filter(Boolean);
      return missing.length ? `not in ${missing.join(' nor ')}` : undefined;
    }
    case 'provisioning': {
      const missing = [!all.oemVehicles.has(entry.serial) && 'oem.vehicles', !all.pcpChains.has(entry.serial) && 'the PCP pool'].filter(Boolean);
      return missing.length ? `not in ${missing.join(' nor ')}` : undefined;
    }
    case 'secc':
    case 'csmsStation':
    case 'csmsServer':
      if (all.stations.has(entry.fingerprint)) return undefined;
      // Stations outside the deployment (the story's, OCPP clients) keep their leaf where we cannot look.
      return entry.role === 'secc' && all.hostsSecc ? 'in no station\'s store' : 'handed out';
    default:
      return all.authorities.has(entry.fingerprint) ? undefined : 'in no participant\'s authorities';
  }
}

/** The invariant as the report states it. */
export function certificateInvariant(account: CertificateAccount): { name: string; holds: boolean; detail: string } {
  const roles = Object.entries(account.byRole).map(([role, count]) => `${role} ${count}`).join(', ');
  return {
    name: 'every certificate issued is where it belongs, revoked or superseded, and no serial was issued twice',
    holds: account.issued > 0 && account.unaccounted.length === 0 && account.duplicateSerials.length === 0,
    detail: `${account.issued} issued (${roles}): ${account.held} held, ${account.revoked} revoked, ${account.superseded} superseded, ${account.purged} purged from the CCP, ${account.handedOut} handed out, ${account.unaccounted.length} unaccounted${account.unaccounted.length ? ` (${account.unaccounted.slice(0, 3).join('; ')})` : ''}, ${account.duplicateSerials.length} serials issued twice${account.duplicateSerials.length ? ` (${account.duplicateSerials.slice(0, 3).join('; ')})` : ''}`,
  };
}

/**
 * Deletes up to `count` documents of `collection` from the store in `dataDir` behind its process's
 * back: a store that lost acknowledged writes (deploy/chaos/lost-pool-entry.json breaks the
 * certificate invariant with it on purpose). Returns how many were deleted.
 */
export function loseStoredRecords(dataDir: string, collection: string, count: number): number {
  const db = new Database(join(dataDir, EMBEDDED_STORE_FILE), { fileMustExist: true, timeout: 10_000 });
  try {
    const table = `"c_${collection.replace(/"/g, '""')}"`;
    const ids = db.prepare(`SELECT id FROM ${table} ORDER BY id LIMIT ?`).pluck().all(count) as string[];
    for (const id of ids) db.prepare(`DELETE FROM ${table} WHERE id = ?`).run(id);
    return ids.length;
  } finally {
    db.close();
  }
}
