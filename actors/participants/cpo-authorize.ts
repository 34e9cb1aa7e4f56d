/**
 * CPO backend, C07 Authorize with a contract: the verdict on the station's iso15118CertificateHashData
 * (C07.FR.01/02: OCSP at the responder of each certificate) or on the PEM contract chain
 * (C07.FR.06: chain to an MO or V2G root, OCSP at the issuing MO), put into OCPP's words by the one
 * pairing table in protocols/ocpp/authorization.ts. A chain given together with hash data is
 * judged by the chain: one path decides, never both in some order.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { AUTHORIZE_PAIRING, combineVerdicts, type AuthorizeVerdict, type ContractVerdict } from '../../protocols/ocpp/authorization.ts';
import { sameEmaid } from '../../protocols/identifiers/index.ts';
import { buildOcspRequest, crlReasons, normalizeCertificateHashData, ocspStatusForHashData, type CertificateHashData, type OcspCertificateStatus, type OcspRequestData, type OcspTransport } from '../../protocols/pki/ocsp.ts';
import type { ChainValidationResult } from '../../protocols/pki/validate.ts';
import { ocspUrlOf } from './authority.ts';

/** Participants whose OCSP responders the CPO asks; a station-supplied URL outside them is never fetched (no SSRF). */
const RESPONDING_PARTICIPANTS = ['v2g-root', 'mo', 'cpo', 'cps', 'oem'] as const;

/** Splits a PEM bundle into certificates, leaf first; anything unreadable gives an empty list. */
export function certificatesOfPem(pem: string): x509.X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  try {
    return blocks.map((block) => new x509.X509Certificate(block));
  } catch {
    return [];
  }
}

/** validateChain's ISO 15118 result as a contract verdict. */
export function verdictOfChain(result: Pick<ChainValidationResult, 'iso15118' | 'defect'>): ContractVerdict {
  switch (result.iso15118) {
    case 'OK': return 'Valid';
    case 'FAILED_CertificateExpired': return 'Expired';
    case 'FAILED_CertificateRevoked': return 'Revoked';
    case 'FAILED_NoCertificateAvailable': return 'NoCertificate';
    default: return result.defect === 'Signature' || result.defect === 'LeafSignature' ? 'SignatureError' : 'ChainError';
  }
}

export interface HashDataAuthorizer {
  (hashData: readonly OcspRequestData[]): Promise<ContractVerdict>;
  /** Drops every remembered OCSP verdict (a contract changed at its MO: terminated, revoked). */
  forget(): void;
}

/** How long a verified OCSP verdict is reused, at most (never past the response's nextUpdate). */
export const OCSP_VERDICT_CACHE_MS = 60_000;
/** Bound on remembered verdicts; the oldest go first. */
const OCSP_VERDICT_CACHE_ENTRIES = 10_000;

/**
 * C07.FR.01/02: asks the responder each entry names, if it is one of ours, with a fresh nonce. The first entry is
 * the contract leaf: `unknown` there means no MO vouches for it; further entries (sub-CAs) only count when revoked.
 */
export function hashDataAuthorizer(transport: OcspTransport, ocspBaseUrl?: string, now: () => Date = () => new Date()): HashDataAuthorizer {
  const allowed = new Set<string>(RESPONDING_PARTICIPANTS.map((participant) => ocspUrlOf(participant, ocspBaseUrl)));
  // A station authorizes the same contract chain again and again: each OCSP round trip costs a DER
  // request, the responder's lookup and signature, and pkijs decoding of the answer (two thirds of an
  // Authorize in bench:ocpp's profile). A verified status is reused for a short while, never past its nextUpdate.
  const remembered = new Map<string, { readonly status: OcspCertificateStatus; readonly until: number }>();
  const statusOf = async (responderURL: string, hashData: CertificateHashData): Promise<OcspCertificateStatus | 'unreachable'> => {
    const normalized = normalizeCertificateHashData(hashData);
    const key = `${responderURL} ${normalized.hashAlgorithm} ${normalized.issuerNameHash} ${normalized.issuerKeyHash} ${normalized.serialNumber}`;
    const at = now();
    const cached = remembered.get(key);
    if (cached && cached.until > at.getTime()) return cached.status;
    const request = buildOcspRequest({ hashData });
    let responseDer: Uint8Array;
    try {
      responseDer = await transport(request.der, responderURL);
    } catch {
      return 'unreachable';
    }
    const status = ocspStatusForHashData(responseDer, hashData, { ...(request.nonce ? { nonce: request.nonce } : {}), at });
    remembered.delete(key);
    if (remembered.size >= OCSP_VERDICT_CACHE_ENTRIES) remembered.delete(remembered.keys().next().value!);
    remembered.set(key, { status, until: Math.min(at.getTime() + OCSP_VERDICT_CACHE_MS, status.nextUpdate?.getTime() ?? at.getTime()) });
    return status;
  };
  const authorize = async (entries: readonly OcspRequestData[]): Promise<ContractVerdict> => {
    const verdicts = await Promise.all(entries.map(async ({ responderURL, ...hashData }, index): Promise<ContractVerdict> => {
      if (!allowed.has(responderURL.replace(/\/$/, ''))) return index === 0 ? 'ChainError' : 'Valid';
      let status: OcspCertificateStatus | 'unreachable';
      try {
        normalizeCertificateHashData(hashData);
      } catch {
        return 'ChainError';
      }
      try {
        status = await statusOf(responderURL, hashData);
      } catch {
        return 'Undetermined';
      }
      if (status === 'unreachable') return 'Undetermined';
      if (status.status === 'revoked') return status.reason === crlReasons.cessationOfOperation ? 'Cancelled' : 'Revoked';
      if (status.status === 'unknown') return index === 0 ? 'ChainError' : 'Valid';
      return 'Valid';
    }));
    return combineVerdicts(verdicts);
  };
  return Object.assign(authorize, { forget: () => remembered.clear() });
}

/** The eMAID check of C07 for a chain: the idToken must be the eMAID the contract certificate names. */
export function emaidVerdict(chain: readonly x509.X509Certificate[], idToken: string): ContractVerdict | undefined {
  const emaid = chain[0]?.subjectName.getField('CN')[0];
  if (!emaid) return 'NoCertificate';
  return sameEmaid(emaid, idToken) ? undefined : 'EmaidMismatch';
}

export const pairingOf = (verdict: ContractVerdict): AuthorizeVerdict => AUTHORIZE_PAIRING[verdict];
