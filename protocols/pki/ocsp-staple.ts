// OCSP stapling on the EV–SECC TLS 1.2 connection (RFC 6066 §8 status_request): the EVCC's decision
// on what the SECC stapled, and when the SECC refreshes the response it staples. Pure: the caller
// passes the time.
import type { X509Certificate } from '@peculiar/x509';
import { OcspError, verifyOcspResponse, type OcspErrorCode } from './ocsp.ts';

/** What the EVCC made of the staple: `good` and `absent` let the session go on, the rest end it. */
export type StapledOcsp = 'good' | 'absent' | 'revoked' | 'unknown' | 'invalid';

export type StapledOcspVerdict =
  | { readonly accept: true; readonly ocsp: 'good'; readonly thisUpdate: Date; readonly nextUpdate?: Date }
  | { readonly accept: true; readonly ocsp: 'absent' }
  | { readonly accept: false; readonly ocsp: 'revoked'; readonly revokedAt: Date; readonly reason?: number }
  | { readonly accept: false; readonly ocsp: 'unknown' }
  | { readonly accept: false; readonly ocsp: 'invalid'; readonly code: OcspErrorCode; readonly message: string };

export interface StapleCheck {
  /** The SECC leaf the handshake authenticated, and its issuer from the same chain (CPO Sub-CA 2). */
  readonly leaf: X509Certificate;
  readonly issuer: X509Certificate;
  /** The EVCC's clock. */
  readonly at: Date;
  readonly clockSkewSeconds?: number;
}

/**
 * The EVCC's decision on a stapled OCSP response for the SECC leaf.
 *
 * - None stapled: proceed. ISO 15118-2 recommends OCSP but does not require it, since "access to
 *   OCSP services can not be guaranteed during charging" (Annex F); the SECC may have nothing cached.
 * - Stapled and verified (signed by the leaf's issuer or an OCSP signer it delegated to [RFC 6960
 *   §4.2.2.2], for the leaf's CertID, thisUpdate/nextUpdate valid at `at`): proceed when `good`,
 *   refuse when `revoked` or `unknown` (the CA does not vouch for the leaf).
 * - Stapled but unverifiable (malformed, forged, stale, another certificate's, responder error):
 *   refuse. RFC 6066 §8 has a client that asked for and received a status response check it and
 *   abort when it is not satisfactory; an SECC that staples garbage is treated like one that
 *   presents a bad certificate, never like one that stapled nothing.
 */
export function stapledOcspVerdict(staple: Uint8Array | undefined, check: StapleCheck): StapledOcspVerdict {
  if (!staple || staple.length === 0) return { accept: true, ocsp: 'absent' };
  try {
    const status = verifyOcspResponse(staple, {
      certificate: check.leaf,
      issuer: check.issuer,
      at: check.at,
      ...(check.clockSkewSeconds === undefined ? {} : { clockSkewSeconds: check.clockSkewSeconds }),
    });
    switch (status.status) {
      case 'good':
        return { accept: true, ocsp: 'good', thisUpdate: status.thisUpdate, ...(status.nextUpdate ? { nextUpdate: status.nextUpdate } : {}) };
      case 'revoked':
        return { accept: false, ocsp: 'revoked', revokedAt: status.revokedAt, ...(status.reason === undefined ? {} : { reason: status.reason }) };
      case 'unknown':
        return { accept: false, ocsp: 'unknown' };
    }
  } catch (error) {
    if (error instanceof OcspError) return { accept: false, ocsp: 'invalid', code: error.code, message: error.message };
    // pkijs and asn1js throw plain errors on structures they cannot build from hostile bytes.
    return { accept: false, ocsp: 'invalid', code: 'OcspMalformedResponse', message: error instanceof Error ? error.message : String(error) };
  }
}

/** Refresh at least this often, whatever the response's nextUpdate says (EVerest's OCSP updater runs daily). */
export const OCSP_REFRESH_INTERVAL_MS = 24 * 3_600_000;
/** Refresh this long before a cached response's nextUpdate, so a staple never runs out while the backend is slow. */
export const OCSP_REFRESH_MARGIN_MS = 3_600_000;
/** After a failed refresh, try again this soon (bounded by the next regular deadline). */
export const OCSP_RETRY_MS = 5 * 60_000;
/** Never sooner than this after a refresh: a responder handing out short-lived answers must not make the SECC spin. */
const OCSP_MIN_GAP_MS = 60_000;

/**
 * The absolute time of the SECC's next certificate round (OCSP cache refresh, and the leaf's renewal
 * check where the station renews its own leaf): a day after the last one, earlier when a cached
 * response's nextUpdate comes sooner (minus a margin, but at least a minute on) or when the leaf
 * enters its renewal window (`renewLeafAt`), and soon after a failure.
 */
export function nextOcspRefreshAt(now: number, last: { readonly nextUpdates: readonly number[]; readonly failed: boolean; readonly renewLeafAt?: number }): number {
  let at = now + (last.failed ? OCSP_RETRY_MS : OCSP_REFRESH_INTERVAL_MS);
  const due = last.nextUpdates.map((nextUpdate) => nextUpdate - OCSP_REFRESH_MARGIN_MS);
  if (last.renewLeafAt !== undefined) due.push(last.renewLeafAt);
  for (const dueAt of due) at = Math.min(at, Math.max(now + OCSP_MIN_GAP_MS, dueAt));
  return at;
}
