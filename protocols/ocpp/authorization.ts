/**
 * C07 (Authorization using contract certificates): the one table that pairs the CSMS's verdict on
 * a contract with `idTokenInfo.status` and `certificateStatus` of AuthorizeResponse. Every path
 * (hash data with OCSP, the PEM chain, OCPP 1.6 DataTransfer) answers through it, so a pairing is
 * decided once (CitrineOS #1056 shows what happens otherwise). Offline pairing follows libocpp's
 * (CertificateExpired with Expired).
 */

/** AuthorizationStatusEnumType (OCPP 2.0.1). */
export const AUTHORIZATION_STATUSES = ['Accepted', 'Blocked', 'ConcurrentTx', 'Expired', 'Invalid', 'NoCredit', 'NotAllowedTypeEVSE', 'NotAtThisLocation', 'NotAtThisTime', 'Unknown'] as const;
export type AuthorizationStatus = (typeof AUTHORIZATION_STATUSES)[number];

/** AuthorizeCertificateStatusEnumType (OCPP 2.0.1). */
export const AUTHORIZE_CERTIFICATE_STATUSES = ['Accepted', 'SignatureError', 'CertificateExpired', 'CertificateRevoked', 'NoCertificateAvailable', 'CertChainError', 'ContractCancelled'] as const;
export type AuthorizeCertificateStatus = (typeof AUTHORIZE_CERTIFICATE_STATUSES)[number];

/** What the CSMS found out about a contract, before it is put into OCPP's words. */
export type ContractVerdict =
  /** Chain valid up to an MO or V2G root, every OCSP answer `good`. */
  | 'Valid'
  | 'Expired'
  /** An OCSP responder answered `revoked` with a reason other than cessationOfOperation. */
  | 'Revoked'
  /** Revoked with reason cessationOfOperation: the MO ended the contract. */
  | 'Cancelled'
  | 'SignatureError'
  /** Issuer not found, wrong profile, broken chain, hash data no responder knows. */
  | 'ChainError'
  /** Neither a chain nor hash data, or nothing parseable in them. */
  | 'NoCertificate'
  /** The idToken is not the eMAID the contract certificate names. */
  | 'EmaidMismatch'
  /** A responder could not be asked or answered `unknown`: the CSMS cannot tell now. */
  | 'Undetermined';

export interface AuthorizeVerdict {
  readonly idTokenStatus: AuthorizationStatus;
  /** Omitted where OCPP has no fitting value (the station then relies on idTokenInfo.status). */
  readonly certificateStatus?: AuthorizeCertificateStatus;
}

/** C07.FR.xx: the pairing table. */
export const AUTHORIZE_PAIRING: Readonly<Record<ContractVerdict, AuthorizeVerdict>> = {
  Valid: { idTokenStatus: 'Accepted', certificateStatus: 'Accepted' },
  Expired: { idTokenStatus: 'Expired', certificateStatus: 'CertificateExpired' },
  Revoked: { idTokenStatus: 'Blocked', certificateStatus: 'CertificateRevoked' },
  Cancelled: { idTokenStatus: 'Invalid', certificateStatus: 'ContractCancelled' },
  SignatureError: { idTokenStatus: 'Invalid', certificateStatus: 'SignatureError' },
  ChainError: { idTokenStatus: 'Invalid', certificateStatus: 'CertChainError' },
  NoCertificate: { idTokenStatus: 'Invalid', certificateStatus: 'NoCertificateAvailable' },
  EmaidMismatch: { idTokenStatus: 'Invalid' },
  Undetermined: { idTokenStatus: 'Unknown' },
};

/** Joins the verdicts of several certificates (hash data of each chain element): the worst wins. */
export function combineVerdicts(verdicts: readonly ContractVerdict[]): ContractVerdict {
  const order: readonly ContractVerdict[] = ['Revoked', 'Cancelled', 'SignatureError', 'ChainError', 'Expired', 'EmaidMismatch', 'NoCertificate', 'Undetermined', 'Valid'];
  if (verdicts.length === 0) return 'NoCertificate';
  return order.find((verdict) => verdicts.includes(verdict)) ?? 'Valid';
}
