/**
 * What the CCP's purge schedule (statecharts/pool-purge.ts) removes (issue 11):
 * - contracts whose certificate expired (as every pool does);
 * - renewals (`ccp.renewals`, _id = SHA-256 of the certificate they renew) that expired, or that are
 *   superseded: the certificate they renew expired, so no EV can ask for them any more (a
 *   CertificateUpdateReq whose chain expired is answered FAILED_CertificateExpired before any renewal is
 *   looked up, pki-and-crypto.md §10); an EV that did update holds the renewal and asks with that one.
 *   The chaos certificate account (actors/chaos/certificates.ts) counts them as purged, not lost;
 * - cancellations (`ccp.cancelled`) past their retention, CANCELLED_RETENTION_MS.
 * Each collection is read in expiry order (an index), never scanned whole.
 */
import { renewalOfCertificate } from '../../protocols/catalogue/cps.ts';
import { profiles } from '../../protocols/pki/profiles.ts';
import type { Collection } from '../store/store.ts';
import { purgeExpired, type ExpiringDoc } from './common.ts';
import type { PurgeResult } from '../../statecharts/pool-purge.ts';

const DAY_MS = 86_400_000;

/**
 * How long an EMAID its MO terminated stays cancelled (CertificateUpdateReq → FAILED_ContractCanceled):
 * a contract certificate's longest validity (the contract profile, 2 years), so no certificate of the
 * EMAID issued before the cancellation can still be presented when the record goes. The cancellation
 * also lasts at least as long as the renewals it dropped.
 */
export const CANCELLED_RETENTION_MS = profiles.contract.validityDays * DAY_MS;

/** A pool entry holding a contract certificate (a contract or a renewal). */
export interface ContractCertificateDoc extends ExpiringDoc {
  readonly summary: { readonly contractCertificate: string };
}

/** The `ccp.renewals` id of the renewal prepared for `doc`'s certificate. */
const renewalIdOf = (doc: ContractCertificateDoc): string => renewalOfCertificate(Buffer.from(doc.summary.contractCertificate, 'base64'));

/**
 * The CCP's purge effect: purges its collections as of `now`; `contractExpired` tells the pool about each
 * expired contract. The expiry indexes of renewals and cancellations are made before the first purge.
 */
export function ccpPurge<C extends ContractCertificateDoc, R extends ContractCertificateDoc, X extends ExpiringDoc>(
  pool: { readonly contracts: Collection<C>; readonly renewals: Collection<R>; readonly cancelled: Collection<X> },
  contractExpired: (doc: C, now: number) => Promise<void>,
): (now: number) => Promise<PurgeResult & { readonly superseded: number }> {
  let indexed: Promise<unknown> | undefined;
  return async (now) => {
    indexed ??= Promise.all([pool.renewals.ensureIndex({ fields: ['expiresAt'] }), pool.cancelled.ensureIndex({ fields: ['expiresAt'] })]).catch((error) => {
      indexed = undefined;
      throw error;
    });
    await indexed;
    let superseded = 0;
    const supersede = async (doc: ContractCertificateDoc) => {
      if (await pool.renewals.delete(renewalIdOf(doc))) superseded++;
    };
    const results = [
      await purgeExpired(pool.contracts, now, async (doc) => {
        await contractExpired(doc, now);
        await supersede(doc);
      }),
      await purgeExpired(pool.renewals, now, supersede),
      await purgeExpired(pool.cancelled, now, async () => {}),
    ];
    const next = results.map((result) => result.nextPurgeAt).filter((at): at is number => at !== null);
    return { purged: results.reduce((sum, result) => sum + result.purged, superseded), superseded, nextPurgeAt: next.length ? Math.min(...next) : null };
  };
}
