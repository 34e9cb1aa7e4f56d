/**
 * Field schemas shared by the participant catalogues: byte fields, identifiers, certificate
 * chains and the OCSP subject every CA participant serves. One definition, reused by every
 * catalogue file, so a PCID or a certificate means the same thing on every subject.
 */
import { z } from 'zod';
import { requestSubject, REQUEST_BYTES } from './define.ts';

/** The characters after the last whole group of four, at most three. */
const BASE64_TAIL = /^[A-Za-z0-9+/]{0,3}$/;

/**
 * True exactly when `text` matches `^[A-Za-z0-9+/]*={0,2}$` (length and trailing bits unchecked, as
 * before). The whole groups of four go through a native decode and encode, which gives them back
 * unchanged only when they hold nothing but those 64 characters (whitespace, `-`, `_`, `=` or any other
 * character changes the text): about 3× faster than the regex on the 6 KB fields of every CCP
 * installation. test/catalogue/base64.test.ts compares both on a corpus of bad inputs.
 */
export function isBase64(text: string): boolean {
  let end = text.length;
  if (text.charCodeAt(end - 1) === 0x3d) end--;
  if (text.charCodeAt(end - 1) === 0x3d) end--;
  const whole = end - (end % 4);
  if (whole > 0) {
    const groups = whole === text.length ? text : text.slice(0, whole);
    // An encoding ends in `=` only where bytes ran out: groups that end so held padding inside.
    if (groups.charCodeAt(whole - 1) === 0x3d || Buffer.from(groups, 'base64').toString('base64') !== groups) return false;
  }
  return BASE64_TAIL.test(text.slice(whole, end));
}

/** Standard base64 (padding optional), the OPCP convention for byte fields. */
export const base64 = z.string().refine(isBase64, 'expected base64');

/** A DER X.509 certificate as base64; ISO 15118-2 limits certificates to 800 bytes DER [V2G2-010]. */
export const certificateDer = base64.min(4).max(1100);

/** Lowercase or uppercase hex bytes. */
export const hex = z.string().regex(/^(?:[0-9a-fA-F]{2})*$/, 'expected hex bytes');
/** A certificate serial number as the PKI writes it: hex without leading zeros (odd length included, as OpenSSL shows it). */
export const serialHex = z.string().regex(/^[0-9a-fA-F]{1,40}$/, 'expected a serial number in hex');

/** PCID: WMI + 14 alphanumerics + optional check character (OPCP `^[a-zA-Z0-9]{17,18}$`). */
export const pcid = z.string().regex(/^[a-zA-Z0-9]{17,18}$/, 'expected a PCID (17–18 alphanumerics)');

/** EMAID with or without hyphens and check digit (OPCP `^[A-Za-z]{2}[-]?\w{3}[-]?\w{9}[-]?(\w{1})?$`). */
export const emaid = z.string().regex(/^[A-Za-z]{2}-?\w{3}-?\w{9}-?\w?$/, 'expected an EMAID');

/**
 * A certificate chain in EXI order: the leaf, then Sub-CA 2, then Sub-CA 1; never the root
 * (ISO 15118-2 `CertificateChainType`).
 */
export const certificateChain = z.object({
  certificate: certificateDer,
  subCertificates: z.array(certificateDer).max(4).default([]),
});
export type CertificateChainJson = z.output<typeof certificateChain>;

/** The contract data an MO hands to the CPS (VDE process "providing contract data to the CPS"). */
export const contractData = z.object({
  emaid,
  contractSignatureCertChain: certificateChain,
  /** 65-byte uncompressed ephemeral ECDH public key (ISO 15118-2 DHpublickey), base64. */
  dhPublicKey: base64.min(80).max(100),
  /** 48 bytes IV ‖ AES-128-CBC ciphertext of the contract private key, base64. */
  contractSignatureEncryptedPrivateKey: base64.min(60).max(70),
});
export type ContractDataJson = z.output<typeof contractData>;

export const ocspErrorCodes = ['OcspMalformedRequest', 'OcspUnknownIssuer'] as const;

/**
 * The OCSP responder of a CA participant on the bus: `<participant>.ocsp`, RFC 6960 DER as base64.
 * Unknown serials and foreign issuers are answered inside the OCSP response, as RFC 6960 says.
 */
export function ocspSubject(participant: string) {
  return requestSubject({
    subject: `${participant}.ocsp`,
    summary: `OCSP responder of ${participant} (RFC 6960 request and response DER, base64)`,
    request: z.object({ ocspRequest: base64.min(4) }),
    maxRequestBytes: REQUEST_BYTES.certificates,
    reply: z.object({ ocspResponse: base64.min(4) }),
    errors: ocspErrorCodes,
  });
}

/** The subject on which a CA participant hands out its root (or CA) certificate. */
export function caCertificateSubject(participant: string, what: string) {
  return requestSubject({
    subject: `${participant}.ca.get`,
    summary: `the ${what} certificates of ${participant}, root last`,
    request: z.object({}),
    reply: z.object({ certificates: z.array(certificateDer).min(1) }),
    errors: [] as const,
  });
}
