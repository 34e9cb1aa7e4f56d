// OCSP (RFC 6960) for the Plug&Charge PKI: a responder that answers for one CA from its issuance
// and revocation records, a client that builds requests and verifies responses, the revocation
// checker chain validation takes, and OCPP 2.0.1 `iso15118CertificateHashData` (C07, M06).
import { createHash, KeyObject, randomBytes, sign as signData, verify as verifySignature } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { X509Certificate } from '@peculiar/x509';
import { PncError } from '../errors.ts';
import { parseCertificateDer, type ParsedCertificate } from './der.ts';
import type { RevocationReason, RevocationRecord } from './issue.ts';
import type { CryptoKey } from './keys.ts';
import type { RevocationChecker } from './validate.ts';

/** Stable codes of {@link OcspError}. */
export type OcspErrorCode =
  /** Bytes that are not a DER OCSPRequest (the responder answers these with `malformedRequest`). */
  | 'OcspMalformedRequest'
  /** Bytes that are not a DER OCSPResponse with a BasicOCSPResponse inside. */
  | 'OcspMalformedResponse'
  /** The responder answered with a status other than `successful`; `data.status` names it. */
  | 'OcspResponseUnsuccessful'
  /** The response signature does not verify with the responder's key. */
  | 'OcspSignatureInvalid'
  /** The response is signed by neither the issuer nor an OCSP signer the issuer delegated to. */
  | 'OcspUnauthorizedResponder'
  /** The response does not echo the request's nonce. */
  | 'OcspNonceMismatch'
  /** thisUpdate lies in the future or nextUpdate in the past at the time of checking. */
  | 'OcspStale'
  /** The response carries no status for the certificate asked about. */
  | 'OcspCertIdMismatch'
  /** A certificate with an OCSP URL whose issuer is neither in the chain nor among the roots. */
  | 'OcspIssuerNotFound'
  /** OCPP hash data that is not a CertID: unknown algorithm, hashes of the wrong length, serial not hex. */
  | 'OcspInvalidHashData'
  /** A responder configured with a signer that may not sign for the issuer. */
  | 'OcspResponderConfiguration';

export class OcspError extends PncError {
  override readonly name = 'OcspError';
  declare readonly code: OcspErrorCode;
  constructor(code: OcspErrorCode, message: string, options: { data?: unknown; cause?: unknown } = {}) {
    super(code, message, options);
  }
}

const oid = {
  basicResponse: '1.3.6.1.5.5.7.48.1.1',
  nonce: '1.3.6.1.5.5.7.48.1.2',
  extendedKeyUsage: '2.5.29.37',
  ocspSigning: '1.3.6.1.5.5.7.3.9',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
} as const;

/** Hash algorithms of a CertID, named as OCPP's HashAlgorithmEnumType does (plus SHA1, OpenSSL's default). */
export type OcspHashAlgorithm = 'SHA1' | 'SHA256' | 'SHA384' | 'SHA512';

const hashAlgorithms: Record<OcspHashAlgorithm, { oid: string; node: string; bytes: number }> = {
  SHA1: { oid: '1.3.14.3.2.26', node: 'sha1', bytes: 20 },
  SHA256: { oid: '2.16.840.1.101.3.4.2.1', node: 'sha256', bytes: 32 },
  SHA384: { oid: '2.16.840.1.101.3.4.2.2', node: 'sha384', bytes: 48 },
  SHA512: { oid: '2.16.840.1.101.3.4.2.3', node: 'sha512', bytes: 64 },
};

function hashAlgorithmOf(algorithmOid: string): OcspHashAlgorithm | undefined {
  return (Object.keys(hashAlgorithms) as OcspHashAlgorithm[]).find((name) => hashAlgorithms[name].oid === algorithmOid);
}

/** RFC 5280 CRLReason codes of the reasons revocation records name. */
export const crlReasons: Readonly<Record<RevocationReason, number>> = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  privilegeWithdrawn: 9,
};

/** What a responder knows about one serial number. */
export type SerialStatus =
  | { readonly status: 'good' }
  /** `reason` is the RFC 5280 CRLReason code ({@link crlReasons}). */
  | { readonly status: 'revoked'; readonly revokedAt: Date; readonly reason?: number }
  | { readonly status: 'unknown' };

/**
 * The OCSP CertID of a certificate as hex strings; with `responderURL` it is OCPP's
 * `OCSPRequestDataType`, without it `CertificateHashDataType`.
 */
export interface CertificateHashData {
  readonly hashAlgorithm: OcspHashAlgorithm;
  /** Hash of the DER of the certificate's issuer Name, lowercase hex. */
  readonly issuerNameHash: string;
  /** Hash of the issuer's public key BIT STRING value (for P-256 the 65-byte point), lowercase hex. */
  readonly issuerKeyHash: string;
  /** The certificate's serial number, lowercase hex without leading zeros. */
  readonly serialNumber: string;
}

/** OCPP 2.0.1 `OCSPRequestDataType` (Authorize.iso15118CertificateHashData, GetCertificateStatus.ocspRequestData). */
export interface OcspRequestData extends CertificateHashData {
  readonly responderURL: string;
}

/** Serial number as OCPP and the revocation records write it: lowercase hex, no leading zeros. */
export function normalizeSerialNumber(serialNumber: string): string {
  return serialNumber.toLowerCase().replace(/^0+(?=.)/, '');
}

const parsedCache = new WeakMap<X509Certificate, ParsedCertificate>();

function parsed(certificate: X509Certificate): ParsedCertificate {
  let result = parsedCache.get(certificate);
  if (!result) {
    result = parseCertificateDer(new Uint8Array(certificate.rawData));
    parsedCache.set(certificate, result);
  }
  return result;
}

function digest(algorithm: OcspHashAlgorithm, data: Uint8Array): string {
  return createHash(hashAlgorithms[algorithm].node).update(data).digest('hex');
}

/** The subjectPublicKey BIT STRING value of a SubjectPublicKeyInfo (unused-bits byte dropped). */
function publicKeyBits(spki: Uint8Array): Uint8Array {
  return pkijs.PublicKeyInfo.fromBER(spki).subjectPublicKey.valueBlock.valueHexView;
}

/** Issuer name and key hashes of a CA, as its certificates' CertIDs carry them. */
function issuerHashes(issuer: X509Certificate, algorithm: OcspHashAlgorithm) {
  const ca = parsed(issuer);
  return { issuerNameHash: digest(algorithm, ca.subjectDer), issuerKeyHash: digest(algorithm, publicKeyBits(ca.spki)) };
}

/**
 * The CertID of `certificate` issued by `issuer` as hex strings (OCPP 2.0.1 2.6
 * CertificateHashDataType): hashes of the issuer's DER Name and public key bits, serial as
 * lowercase hex without leading zeros.
 */
export function certificateHashDataOf(certificate: X509Certificate, issuer: X509Certificate, hashAlgorithm: OcspHashAlgorithm = 'SHA256'): CertificateHashData {
  return { hashAlgorithm, ...issuerHashes(issuer, hashAlgorithm), serialNumber: parsed(certificate).serialNumber };
}

/**
 * OCPP `iso15118CertificateHashData` for a certificate chain (leaf first, root optional): one entry
 * per certificate that has an OCSP URL in its AIA, with SHA256 hashes, as Authorize (C07) and
 * GetCertificateStatus (M06) carry them. Issuers come from the chain itself and then from `roots`
 * (the root is never sent on the V2G link, but Sub-CA 1's entry needs its key). Self-signed roots
 * get no entry: nothing above them could revoke them.
 * @throws OcspError `OcspIssuerNotFound` for a certificate with an OCSP URL and no known issuer.
 */
export function certificateHashData(chain: readonly X509Certificate[], roots: readonly X509Certificate[] = []): OcspRequestData[] {
  const candidates = [...chain, ...roots];
  const entries: OcspRequestData[] = [];
  for (const certificate of chain) {
    const details = parsed(certificate);
    const responderURL = details.ocspUrls[0];
    if (responderURL === undefined || Buffer.from(details.issuerDer).equals(details.subjectDer)) continue;
    const issuer = candidates.find((candidate) => Buffer.from(parsed(candidate).subjectDer).equals(details.issuerDer));
    if (!issuer) {
      throw new OcspError('OcspIssuerNotFound', `the issuer of certificate ${details.serialNumber} is neither in the chain nor among the roots`, {
        data: { serialNumber: details.serialNumber },
      });
    }
    entries.push({ ...certificateHashDataOf(certificate, issuer), responderURL });
  }
  return entries;
}

function hashField(value: string, algorithm: OcspHashAlgorithm, field: string): string {
  const { bytes } = hashAlgorithms[algorithm];
  if (new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(value)) return value.toLowerCase();
  // Josev sends URL-safe base64 (pki-and-crypto.md §9); accept it when it decodes to a digest.
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(value) && Buffer.from(value, 'base64url').length === bytes) return Buffer.from(value, 'base64url').toString('hex');
  throw new OcspError('OcspInvalidHashData', `${field} is not a ${algorithm} digest in hex (${bytes * 2} digits)`, { data: { field, value } });
}

/**
 * Checks and normalises OCPP hash data received from a station: a known hash algorithm, both
 * hashes as hex of the digest length (URL-safe base64 of a digest is converted), the serial as hex
 * of at most 40 digits, lower-cased without leading zeros. Decimal serials cannot be told from hex
 * and are read as hex.
 * @throws OcspError `OcspInvalidHashData` naming the field.
 */
export function normalizeCertificateHashData(data: CertificateHashData): CertificateHashData {
  if (!Object.hasOwn(hashAlgorithms, data.hashAlgorithm)) {
    throw new OcspError('OcspInvalidHashData', `hashAlgorithm '${String(data.hashAlgorithm)}' is not one of ${Object.keys(hashAlgorithms).join(', ')}`, { data: { field: 'hashAlgorithm' } });
  }
  if (typeof data.serialNumber !== 'string' || !/^[0-9a-fA-F]{1,40}$/.test(data.serialNumber)) {
    throw new OcspError('OcspInvalidHashData', 'serialNumber is not hexadecimal of 1 to 40 digits', { data: { field: 'serialNumber', value: data.serialNumber } });
  }
  return {
    hashAlgorithm: data.hashAlgorithm,
    issuerNameHash: hashField(String(data.issuerNameHash), data.hashAlgorithm, 'issuerNameHash'),
    issuerKeyHash: hashField(String(data.issuerKeyHash), data.hashAlgorithm, 'issuerKeyHash'),
    serialNumber: normalizeSerialNumber(data.serialNumber),
  };
}

function toHex(bytes: ArrayBufferView | ArrayBuffer): string {
  return Buffer.from(bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)).toString('hex');
}

function certIdToHashData(certId: pkijs.CertID): CertificateHashData | undefined {
  const hashAlgorithm = hashAlgorithmOf(certId.hashAlgorithm.algorithmId);
  if (!hashAlgorithm) return undefined;
  return {
    hashAlgorithm,
    issuerNameHash: toHex(certId.issuerNameHash.valueBlock.valueHexView),
    issuerKeyHash: toHex(certId.issuerKeyHash.valueBlock.valueHexView),
    serialNumber: normalizeSerialNumber(toHex(certId.serialNumber.valueBlock.valueHexView)),
  };
}

function hashDataToCertId(data: CertificateHashData): pkijs.CertID {
  let serial = normalizeSerialNumber(data.serialNumber);
  if (serial.length % 2) serial = `0${serial}`;
  if (Number.parseInt(serial.slice(0, 2), 16) >= 0x80) serial = `00${serial}`; // keep the INTEGER positive
  return new pkijs.CertID({
    hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: hashAlgorithms[data.hashAlgorithm].oid, algorithmParams: new asn1js.Null() }),
    issuerNameHash: new asn1js.OctetString({ valueHex: Buffer.from(data.issuerNameHash, 'hex') }),
    issuerKeyHash: new asn1js.OctetString({ valueHex: Buffer.from(data.issuerKeyHash, 'hex') }),
    serialNumber: new asn1js.Integer({ valueHex: Buffer.from(serial, 'hex') }),
  });
}

function sameHashData(a: CertificateHashData, b: CertificateHashData): boolean {
  return a.hashAlgorithm === b.hashAlgorithm && a.issuerNameHash === b.issuerNameHash && a.issuerKeyHash === b.issuerKeyHash && a.serialNumber === b.serialNumber;
}

function nonceExtension(nonce: Uint8Array): pkijs.Extension {
  // RFC 8954: the extension value is an OCTET STRING holding the nonce.
  return new pkijs.Extension({ extnID: oid.nonce, extnValue: new asn1js.OctetString({ valueHex: nonce }).toBER() });
}

function nonceOf(extensions: pkijs.Extension[] | undefined): Uint8Array | undefined {
  const extension = extensions?.find((e) => e.extnID === oid.nonce);
  return extension ? new Uint8Array(extension.extnValue.valueBlock.valueHexView) : undefined;
}

/** A DER OCSPRequest and what is needed to check the answer. */
export interface OcspRequest {
  readonly der: Uint8Array;
  /** The DER extension value sent (an OCTET STRING around the random bytes); compared with the echo. */
  readonly nonce?: Uint8Array;
  readonly certificateId: CertificateHashData;
}

/**
 * Builds a DER OCSPRequest for one certificate, with a 16-byte random nonce unless `nonce: false`.
 * The target is the certificate and its issuer, or OCPP hash data (a CSMS answering
 * GetCertificateStatus only has the latter; it is checked with {@link normalizeCertificateHashData}).
 * @throws OcspError `OcspInvalidHashData`
 */
export function buildOcspRequest(
  target: { certificate: X509Certificate; issuer: X509Certificate; hashAlgorithm?: OcspHashAlgorithm } | { hashData: CertificateHashData },
  options: { nonce?: Uint8Array | false } = {},
): OcspRequest {
  const certificateId = 'hashData' in target ? normalizeCertificateHashData(target.hashData) : certificateHashDataOf(target.certificate, target.issuer, target.hashAlgorithm ?? 'SHA256');
  const tbsRequest = new pkijs.TBSRequest({ requestList: [new pkijs.Request({ reqCert: hashDataToCertId(certificateId) })] });
  let nonce: Uint8Array | undefined;
  if (options.nonce !== false) {
    const extension = nonceExtension(options.nonce ?? randomBytes(16));
    nonce = new Uint8Array(extension.extnValue.valueBlock.valueHexView);
    tbsRequest.requestExtensions = [extension];
  }
  const der = new Uint8Array(new pkijs.OCSPRequest({ tbsRequest }).toSchema(true).toBER());
  return { der, certificateId, ...(nonce ? { nonce } : {}) };
}

/** OCSPResponseStatus values (RFC 6960 §4.2.1). */
export const ocspResponseStatuses = {
  successful: 0,
  malformedRequest: 1,
  internalError: 2,
  tryLater: 3,
  sigRequired: 5,
  unauthorized: 6,
} as const;
export type OcspResponseStatus = keyof typeof ocspResponseStatuses;

/** An OCSPResponse with only a non-successful responseStatus (RFC 6960 §4.2.1: no responseBytes). */
export function unsuccessfulResponse(status: Exclude<OcspResponseStatus, 'successful'>): Uint8Array {
  const response = new pkijs.OCSPResponse({ responseStatus: new asn1js.Enumerated({ value: ocspResponseStatuses[status] }) });
  return new Uint8Array(response.toSchema().toBER());
}

function hasOcspSigningUsage(certificate: ParsedCertificate): boolean {
  const extension = certificate.extensions.find((e) => e.oid === oid.extendedKeyUsage);
  if (!extension) return false;
  const usages = asn1js.fromBER(extension.value).result;
  return usages instanceof asn1js.Sequence && usages.valueBlock.value.some((u) => u instanceof asn1js.ObjectIdentifier && u.valueBlock.toString() === oid.ocspSigning);
}

function issuedBy(certificate: ParsedCertificate, issuer: ParsedCertificate): boolean {
  if (!Buffer.from(certificate.issuerDer).equals(issuer.subjectDer)) return false;
  return verifySignature('sha256', certificate.tbs, { key: Buffer.from(issuer.spki), format: 'der', type: 'spki', dsaEncoding: 'der' }, certificate.signature);
}

function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

/** Default gap between thisUpdate and nextUpdate in responses. */
export const DEFAULT_OCSP_VALIDITY_SECONDS = 24 * 3600;

export interface OcspResponderOptions {
  /** The CA this responder answers for. */
  readonly issuer: X509Certificate;
  /** The CA itself, or a delegated OCSP signer issued by it with extendedKeyUsage id-kp-OCSPSigning. */
  readonly signer: { readonly certificate: X509Certificate; readonly privateKey: CryptoKey };
  /** What the CA knows about a serial (lowercase hex, no leading zeros); see {@link statusFromRecords}. */
  lookup(serialNumber: string): SerialStatus | Promise<SerialStatus>;
  /** nextUpdate − thisUpdate; {@link DEFAULT_OCSP_VALIDITY_SECONDS} unless set. */
  readonly validitySeconds?: number;
  /** Clock, for tests. */
  readonly now?: () => Date;
}

export interface OcspResponder {
  /**
   * Answers a DER OCSPRequest with a DER OCSPResponse: a signed BasicOCSPResponse with one
   * SingleResponse per request entry and the nonce echoed; `malformedRequest` for bytes that are
   * not a request, `internalError` when `lookup` fails. CertIDs for other issuers or unsupported
   * hash algorithms get `unknown`.
   */
  respond(requestDer: Uint8Array): Promise<Uint8Array>;
}

/**
 * A lookup over a CA's records: serials it issued are `good` unless revoked; anything else is
 * `unknown`. Serials are compared as lowercase hex without leading zeros.
 */
export function statusFromRecords(issuedSerialNumbers: Iterable<string>, revocations: Iterable<RevocationRecord>): (serialNumber: string) => SerialStatus {
  const issued = new Set([...issuedSerialNumbers].map(normalizeSerialNumber));
  const revoked = new Map([...revocations].map((r) => [normalizeSerialNumber(r.serialNumber), r]));
  return (serialNumber) => {
    const serial = normalizeSerialNumber(serialNumber);
    const record = revoked.get(serial);
    if (record) return { status: 'revoked', revokedAt: record.revokedAt, ...(record.reason === undefined ? {} : { reason: crlReasons[record.reason] }) };
    return issued.has(serial) ? { status: 'good' } : { status: 'unknown' };
  };
}

function certStatusSchema(status: SerialStatus): asn1js.BaseBlock {
  switch (status.status) {
    case 'good':
      return new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 } }); // [0] IMPLICIT NULL
    case 'unknown':
      return new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 2 } }); // [2] IMPLICIT NULL
    case 'revoked': {
      const value: asn1js.BaseBlock[] = [new asn1js.GeneralizedTime({ valueDate: wholeSeconds(status.revokedAt) })];
      if (status.reason !== undefined) {
        value.push(new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [new asn1js.Enumerated({ value: status.reason })] }));
      }
      return new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 1 }, value }); // [1] IMPLICIT RevokedInfo
    }
  }
}

/**
 * Creates an OCSP responder for one CA, signing with the CA key or a delegated OCSP signer
 * (RFC 6960 §4.2.2.2).
 * @throws OcspError `OcspResponderConfiguration` when the signer may not sign for the issuer.
 */
export function createOcspResponder(options: OcspResponderOptions): OcspResponder {
  const { issuer, signer } = options;
  const signerDetails = parsed(signer.certificate);
  const delegated = !Buffer.from(signerDetails.der).equals(parsed(issuer).der);
  if (delegated && !(issuedBy(signerDetails, parsed(issuer)) && hasOcspSigningUsage(signerDetails))) {
    throw new OcspError('OcspResponderConfiguration', 'a delegated OCSP signer must be issued by the CA and carry extendedKeyUsage id-kp-OCSPSigning');
  }
  const signingKey = KeyObject.from(signer.privateKey);
  const responderKeyHash = createHash('sha1').update(publicKeyBits(signerDetails.spki)).digest();
  const signerCertificate = delegated ? [pkijs.Certificate.fromBER(new Uint8Array(signer.certificate.rawData))] : undefined;
  const hashesByAlgorithm = new Map<OcspHashAlgorithm, ReturnType<typeof issuerHashes>>();
  const hashesFor = (algorithm: OcspHashAlgorithm) => {
    let hashes = hashesByAlgorithm.get(algorithm);
    if (!hashes) hashesByAlgorithm.set(algorithm, (hashes = issuerHashes(issuer, algorithm)));
    return hashes;
  };
  const validityMs = (options.validitySeconds ?? DEFAULT_OCSP_VALIDITY_SECONDS) * 1000;

  async function statusOf(certId: pkijs.CertID): Promise<SerialStatus> {
    const asked = certIdToHashData(certId);
    if (!asked) return { status: 'unknown' };
    const own = hashesFor(asked.hashAlgorithm);
    if (asked.issuerNameHash !== own.issuerNameHash || asked.issuerKeyHash !== own.issuerKeyHash) return { status: 'unknown' };
    return options.lookup(asked.serialNumber);
  }

  return {
    async respond(requestDer) {
      let request: pkijs.OCSPRequest;
      try {
        request = pkijs.OCSPRequest.fromBER(requestDer);
        if (request.tbsRequest.requestList.length === 0) return unsuccessfulResponse('malformedRequest');
      } catch {
        return unsuccessfulResponse('malformedRequest');
      }
      const now = wholeSeconds(options.now?.() ?? new Date());
      const nextUpdate = new Date(now.getTime() + validityMs);
      let responses: pkijs.SingleResponse[];
      try {
        responses = await Promise.all(
          request.tbsRequest.requestList.map(async (entry) =>
            new pkijs.SingleResponse({ certID: entry.reqCert, certStatus: certStatusSchema(await statusOf(entry.reqCert)), thisUpdate: now, nextUpdate }),
          ),
        );
      } catch {
        return unsuccessfulResponse('internalError'); // the records could not be read: say so rather than guess
      }
      const nonce = request.tbsRequest.requestExtensions?.find((e) => e.extnID === oid.nonce);
      const tbsResponseData = new pkijs.ResponseData({
        responderID: new asn1js.OctetString({ valueHex: responderKeyHash }), // byKey [2]
        producedAt: now,
        responses,
        ...(nonce ? { responseExtensions: [nonce] } : {}),
      });
      tbsResponseData.tbsView = new Uint8Array(tbsResponseData.toSchema(true).toBER());
      const basic = new pkijs.BasicOCSPResponse({
        tbsResponseData,
        signatureAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: oid.ecdsaWithSha256 }),
        signature: new asn1js.BitString({ valueHex: signData('sha256', tbsResponseData.tbsView, { key: signingKey, dsaEncoding: 'der' }) }),
        ...(signerCertificate ? { certs: signerCertificate } : {}),
      });
      const response = new pkijs.OCSPResponse({
        responseStatus: new asn1js.Enumerated({ value: ocspResponseStatuses.successful }),
        responseBytes: new pkijs.ResponseBytes({ responseType: oid.basicResponse, response: new asn1js.OctetString({ valueHex: basic.toSchema().toBER() }) }),
      });
      return new Uint8Array(response.toSchema().toBER());
    },
  };
}

/** A verified answer for one certificate. */
export type OcspCertificateStatus = SerialStatus & {
  readonly thisUpdate: Date;
  readonly nextUpdate?: Date;
  readonly producedAt: Date;
};

export interface VerifyOcspResponseOptions {
  /** The certificate asked about and its issuer. */
  readonly certificate: X509Certificate;
  readonly issuer: X509Certificate;
  /** The request's nonce; when given, the response must echo it. */
  readonly nonce?: Uint8Array;
  /** Time of checking; now unless set. */
  readonly at?: Date;
  /** Tolerated clock difference to the responder; 300 s unless set. */
  readonly clockSkewSeconds?: number;
  /** Without nextUpdate, how old thisUpdate may be; one day unless set. */
  readonly maxAgeSeconds?: number;
}

function parseResponse(responseDer: Uint8Array): pkijs.BasicOCSPResponse {
  let response: pkijs.OCSPResponse;
  try {
    response = pkijs.OCSPResponse.fromBER(responseDer);
  } catch (cause) {
    throw new OcspError('OcspMalformedResponse', 'the OCSP response is not a DER OCSPResponse', { cause });
  }
  const statusValue = response.responseStatus.valueBlock.valueDec;
  if (statusValue !== ocspResponseStatuses.successful) {
    const status = (Object.keys(ocspResponseStatuses) as OcspResponseStatus[]).find((s) => ocspResponseStatuses[s] === statusValue) ?? `status ${statusValue}`;
    throw new OcspError('OcspResponseUnsuccessful', `the OCSP responder answered ${status}`, { data: { status } });
  }
  if (!response.responseBytes || response.responseBytes.responseType !== oid.basicResponse) {
    throw new OcspError('OcspMalformedResponse', 'the OCSP response carries no BasicOCSPResponse');
  }
  try {
    return pkijs.BasicOCSPResponse.fromBER(response.responseBytes.response.valueBlock.valueHexView);
  } catch (cause) {
    throw new OcspError('OcspMalformedResponse', 'the BasicOCSPResponse cannot be decoded', { cause });
  }
}

function responderMatches(responderId: unknown, certificate: ParsedCertificate): boolean {
  if (responderId instanceof pkijs.RelativeDistinguishedNames) {
    return Buffer.from(responderId.toSchema().toBER()).equals(certificate.subjectDer);
  }
  if (responderId instanceof asn1js.OctetString) {
    return toHex(responderId.valueBlock.valueHexView) === createHash('sha1').update(publicKeyBits(certificate.spki)).digest('hex');
  }
  return false;
}

/** Picks the certificate that signed the response: the issuer, or a delegated signer included in it. */
function responderCertificate(basic: pkijs.BasicOCSPResponse, issuer: ParsedCertificate, at: Date): ParsedCertificate {
  const responderId = basic.tbsResponseData.responderID;
  if (responderMatches(responderId, issuer)) return issuer;
  for (const included of basic.certs ?? []) {
    let candidate: ParsedCertificate;
    try {
      candidate = parseCertificateDer(new Uint8Array(included.toSchema().toBER()));
    } catch (cause) {
      throw new OcspError('OcspMalformedResponse', 'a certificate included in the OCSP response cannot be read', { cause });
    }
    if (!responderMatches(responderId, candidate)) continue;
    const valid = candidate.notBefore <= at.getTime() && at.getTime() <= candidate.notAfter;
    if (issuedBy(candidate, issuer) && hasOcspSigningUsage(candidate) && valid) return candidate;
    throw new OcspError('OcspUnauthorizedResponder', 'the responder certificate is not a currently valid OCSP signer issued by the CA (RFC 6960 §4.2.2.2)');
  }
  throw new OcspError('OcspUnauthorizedResponder', 'the response is signed by neither the issuer nor a delegated OCSP signer it includes');
}

function statusFromSchema(certStatus: asn1js.BaseBlock): SerialStatus {
  const tag = certStatus.idBlock.tagNumber;
  if (certStatus.idBlock.tagClass === 3 && tag === 0) return { status: 'good' };
  if (certStatus.idBlock.tagClass === 3 && tag === 1 && certStatus instanceof asn1js.Constructed) {
    const [time, reasonBlock] = certStatus.valueBlock.value;
    if (!(time instanceof asn1js.GeneralizedTime)) throw new OcspError('OcspMalformedResponse', 'RevokedInfo has no revocationTime');
    const reasonValue = reasonBlock instanceof asn1js.Constructed ? reasonBlock.valueBlock.value[0] : undefined;
    const reason = reasonValue instanceof asn1js.Enumerated ? reasonValue.valueBlock.valueDec : undefined;
    return { status: 'revoked', revokedAt: time.toDate(), ...(reason === undefined ? {} : { reason }) };
  }
  return { status: 'unknown' };
}

/**
 * Verifies a DER OCSPResponse for one certificate: signature by the issuer or by a delegated OCSP
 * signer the issuer certified (RFC 6960 §4.2.2.2), nonce echo, CertID, and thisUpdate/nextUpdate
 * freshness at `at`.
 * @throws OcspError with an {@link OcspErrorCode}.
 */
export function verifyOcspResponse(responseDer: Uint8Array, options: VerifyOcspResponseOptions): OcspCertificateStatus {
  const at = options.at ?? new Date();
  const basic = parseResponse(responseDer);
  if (basic.signatureAlgorithm.algorithmId !== oid.ecdsaWithSha256) {
    throw new OcspError('OcspSignatureInvalid', `unsupported response signature algorithm ${basic.signatureAlgorithm.algorithmId} (expected ecdsa-with-SHA256)`);
  }
  const signer = responderCertificate(basic, parsed(options.issuer), at);
  const signerKey = Buffer.from(signer.spki);
  const signatureValid = verifySignature(
    'sha256',
    basic.tbsResponseData.tbsView,
    { key: signerKey, format: 'der', type: 'spki', dsaEncoding: 'der' },
    basic.signature.valueBlock.valueHexView,
  );
  if (!signatureValid) throw new OcspError('OcspSignatureInvalid', 'the OCSP response signature does not verify with the responder key');

  const wanted = certificateHashDataOf(options.certificate, options.issuer);
  return singleStatus(basic, wanted.serialNumber, (got) => sameHashData(got, got.hashAlgorithm === 'SHA256' ? wanted : certificateHashDataOf(options.certificate, options.issuer, got.hashAlgorithm)), options);
}

/** Nonce echo, the SingleResponse for the wanted CertID, and its freshness at `options.at`. */
function singleStatus(basic: pkijs.BasicOCSPResponse, serialNumber: string, matches: (got: CertificateHashData) => boolean, options: Omit<VerifyOcspResponseOptions, 'certificate' | 'issuer'>): OcspCertificateStatus {
  const at = options.at ?? new Date();
  const skewMs = (options.clockSkewSeconds ?? 300) * 1000;
  if (options.nonce) {
    const echoed = nonceOf(basic.tbsResponseData.responseExtensions);
    if (!echoed || !Buffer.from(echoed).equals(options.nonce)) {
      throw new OcspError('OcspNonceMismatch', echoed ? 'the OCSP response carries a different nonce' : 'the OCSP response does not echo the nonce');
    }
  }
  const single = basic.tbsResponseData.responses.find((response) => {
    const got = certIdToHashData(response.certID);
    return got !== undefined && matches(got);
  });
  if (!single) throw new OcspError('OcspCertIdMismatch', `the OCSP response has no status for certificate ${serialNumber}`);

  const { thisUpdate, nextUpdate } = single;
  if (thisUpdate.getTime() > at.getTime() + skewMs) {
    throw new OcspError('OcspStale', `the OCSP response is not valid yet (thisUpdate ${thisUpdate.toISOString()})`, { data: { thisUpdate } });
  }
  const expiry = nextUpdate ? nextUpdate.getTime() + skewMs : thisUpdate.getTime() + (options.maxAgeSeconds ?? 86_400) * 1000;
  if (expiry < at.getTime()) {
    throw new OcspError('OcspStale', `the OCSP response is out of date (${nextUpdate ? `nextUpdate ${nextUpdate.toISOString()}` : `thisUpdate ${thisUpdate.toISOString()}`})`, {
      data: { thisUpdate, nextUpdate },
    });
  }
  return {
    ...statusFromSchema(single.certStatus as asn1js.BaseBlock),
    thisUpdate,
    ...(nextUpdate ? { nextUpdate } : {}),
    producedAt: basic.tbsResponseData.producedAt,
  };
}

/**
 * The status a responder gives for OCPP hash data, where the caller holds no certificate (C07
 * Authorize with iso15118CertificateHashData): nonce echo, CertID and freshness are checked; the
 * signature cannot be, there being no issuer key. Use it only for answers fetched over an
 * authenticated channel from the CA's own responder.
 * @throws OcspError
 */
export function ocspStatusForHashData(responseDer: Uint8Array, hashData: CertificateHashData, options: Omit<VerifyOcspResponseOptions, 'certificate' | 'issuer'> = {}): OcspCertificateStatus {
  const wanted = normalizeCertificateHashData(hashData);
  return singleStatus(parseResponse(responseDer), wanted.serialNumber, (got) => sameHashData(got, wanted), options);
}

/** Sends a DER OCSPRequest to a responder URL and resolves with the DER OCSPResponse. */
export type OcspTransport = (requestDer: Uint8Array, url: string) => Promise<Uint8Array>;

/**
 * A revocation checker for `validateChain` backed by OCSP: asks the responder named in the certificate's AIA (with a
 * fresh nonce) and verifies the answer. A certificate without an OCSP URL, or a responder that
 * cannot be reached, gives `unknown` (OCSP access is not guaranteed during charging); an answer
 * that fails verification is an attack or a fault and throws.
 * @throws OcspError from {@link verifyOcspResponse}.
 */
export function ocspRevocationChecker(transport: OcspTransport, options: { now?: () => Date; clockSkewSeconds?: number } = {}): RevocationChecker {
  return async (certificate, issuer) => {
    const url = parsed(certificate).ocspUrls[0];
    if (url === undefined) return 'unknown';
    const request = buildOcspRequest({ certificate, issuer });
    let responseDer: Uint8Array;
    try {
      responseDer = await transport(request.der, url);
    } catch {
      return 'unknown';
    }
    const result = verifyOcspResponse(responseDer, {
      certificate,
      issuer,
      ...(request.nonce ? { nonce: request.nonce } : {}),
      at: options.now?.() ?? new Date(),
      ...(options.clockSkewSeconds === undefined ? {} : { clockSkewSeconds: options.clockSkewSeconds }),
    });
    return result.status;
  };
}
