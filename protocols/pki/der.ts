// A small DER reader for X.509 certificates. Validation runs on every PaymentDetailsReq and TLS
// handshake, and @peculiar/x509 spends ~0.4 ms building its object model per certificate, more than
// the three ECDSA verifications of a chain; this reader extracts only what the ISO 15118-2 rules
// look at, in one pass, so the signatures dominate.
import { PncError } from '../errors.ts';

/** Object identifiers the validator and the profiles refer to. */
export const oids = {
  ecPublicKey: '1.2.840.10045.2.1',
  secp256r1: '1.2.840.10045.3.1.7',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  country: '2.5.4.6',
  domainComponent: '0.9.2342.19200300.100.1.25',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  ocsp: '1.3.6.1.5.5.7.48.1',
} as const;

/** Key-usage bits with the values of @peculiar/x509's KeyUsageFlags (bit n of the BIT STRING = 1 << n). */
export const keyUsageBits = {
  digitalSignature: 1,
  nonRepudiation: 2,
  keyEncipherment: 4,
  dataEncipherment: 8,
  keyAgreement: 16,
  keyCertSign: 32,
  cRLSign: 64,
  encipherOnly: 128,
  decipherOnly: 256,
} as const;

export interface NameAttribute {
  readonly oid: string;
  readonly value: string;
}

export interface ParsedExtension {
  readonly oid: string;
  readonly critical: boolean;
  /** The extnValue contents (inside the OCTET STRING). */
  readonly value: Uint8Array;
}

/** What ISO 15118-2 validation needs from one certificate, read once from its DER. */
export interface ParsedCertificate {
  readonly der: Uint8Array;
  readonly tbs: Uint8Array;
  /** signatureAlgorithm of the outer Certificate; `tbsSignatureAlgorithm` must be the same. */
  readonly signatureAlgorithm: string;
  readonly tbsSignatureAlgorithm: string;
  /** The BIT STRING contents: a DER Ecdsa-Sig-Value for ECDSA. */
  readonly signature: Uint8Array;
  /** Lowercase hex of the serial's value, without leading zeros. */
  readonly serialNumber: string;
  readonly issuerDer: Uint8Array;
  readonly subjectDer: Uint8Array;
  readonly issuer: readonly NameAttribute[];
  readonly subject: readonly NameAttribute[];
  readonly notBefore: number;
  readonly notAfter: number;
  readonly spki: Uint8Array;
  readonly publicKeyAlgorithm: string;
  /** Named-curve OID for EC keys; undefined otherwise. */
  readonly curve?: string;
  readonly extensions: readonly ParsedExtension[];
  /** The first critical extension besides basicConstraints, keyUsage, SKI, AKI and AIA (ISO 15118-2 certificates have none). */
  readonly unhandledCriticalExtension?: string;
  readonly basicConstraints?: { readonly critical: boolean; readonly ca: boolean; readonly pathLength?: number };
  readonly keyUsage?: { readonly critical: boolean; readonly flags: number };
  readonly subjectKeyIdentifier?: string;
  readonly authorityKeyIdentifier?: string;
  readonly ocspUrls: readonly string[];
}

/** Thrown for bytes that are not a DER X.509 v3 certificate. */
export class CertificateParseError extends PncError {
  override readonly name = 'CertificateParseError';
  constructor(message: string) {
    super('CertificateParseError', message);
  }
}

interface Tlv {
  readonly tag: number;
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
}

function readTlv(bytes: Uint8Array, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw new CertificateParseError(`truncated DER at byte ${offset}`);
  const tag = bytes[offset];
  let length = bytes[offset + 1];
  let contentStart = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 3 || contentStart + count > limit) throw new CertificateParseError(`bad DER length at byte ${offset}`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[contentStart + i];
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > limit) throw new CertificateParseError(`DER element at byte ${offset} runs past its container`);
  return { tag, start: offset, contentStart, end };
}

function childrenOf(bytes: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let offset = parent.contentStart; offset < parent.end; ) {
    const child = readTlv(bytes, offset, parent.end);
    out.push(child);
    offset = child.end;
  }
  return out;
}

function expectTag(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (!tlv || tlv.tag !== tag) throw new CertificateParseError(`expected ${what}`);
  return tlv;
}

/**
 * A certificate names the same dozen OIDs again and again: their dotted text, found by a hash of the
 * content octets (no string is built to look one up) and confirmed on the octets.
 */
const oidTexts = new Map<number, { readonly octets: Uint8Array; readonly text: string }>();
const OID_CACHE_SIZE = 256;

/** The octets as a string of char codes 0–255 (no decoding), for short contents. */
function octetString(bytes: Uint8Array, start: number, end: number): string {
  let text = '';
  for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i]);
  return text;
}

/** Texts of the OIDs 2.5.x.y (content 55 x y, x and y below 128): the names' attribute types and most X.509 extensions. */
const x500Oids: (string | undefined)[] = new Array(128 * 128);

function decodeOid(bytes: Uint8Array, tlv: Tlv): string {
  const { contentStart: start, end } = tlv;
  // Most OIDs of a certificate by table, without hashing.
  if (end - start === 3 && bytes[start] === 0x55 && bytes[start + 1] < 0x80 && bytes[start + 2] < 0x80) {
    return (x500Oids[(bytes[start + 1] << 7) | bytes[start + 2]] ??= `2.5.${bytes[start + 1]}.${bytes[start + 2]}`);
  }
  let hash = 0x811c9dc5; // FNV-1a
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193);
  const known = oidTexts.get(hash);
  if (known !== undefined && known.octets.length === end - start) {
    let same = true;
    for (let i = start; same && i < end; i++) same = known.octets[i - start] === bytes[i];
    if (same) return known.text;
  }
  const text = dottedOid(bytes, tlv);
  // Bounded: a hostile certificate may carry any number of made-up OIDs.
  if (known === undefined && oidTexts.size < OID_CACHE_SIZE) oidTexts.set(hash, { octets: bytes.slice(start, end), text });
  return text;
}

function dottedOid(bytes: Uint8Array, tlv: Tlv): string {
  const parts: number[] = [];
  let value = 0;
  for (let i = tlv.contentStart; i < tlv.end; i++) {
    value = value * 128 + (bytes[i] & 0x7f);
    if ((bytes[i] & 0x80) === 0) {
      if (parts.length === 0) parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

const isAscii = (bytes: Uint8Array, start: number, end: number): boolean => {
  for (let i = start; i < end; i++) if (bytes[i] > 0x7f) return false;
  return true;
};

/** IA5String/latin1 content; short ASCII read in place (the decoder's setup costs more than the read). */
function decodeLatin1(bytes: Uint8Array, tlv: Tlv): string {
  if (tlv.end - tlv.contentStart <= 128 && isAscii(bytes, tlv.contentStart, tlv.end)) return octetString(bytes, tlv.contentStart, tlv.end);
  return latin1.decode(bytes.subarray(tlv.contentStart, tlv.end));
}

function decodeString(bytes: Uint8Array, tlv: Tlv): string {
  // ASCII reads the same in UTF-8 and in the latin1 (windows-1252) decoder, without their setup cost.
  if (tlv.end - tlv.contentStart <= 64 && isAscii(bytes, tlv.contentStart, tlv.end)) return octetString(bytes, tlv.contentStart, tlv.end);
  const content = bytes.subarray(tlv.contentStart, tlv.end);
  return tlv.tag === 0x0c ? utf8.decode(content) : latin1.decode(content);
}

/** Two ASCII digits at `at` as a number, or NaN. */
function twoDigits(bytes: Uint8Array, at: number): number {
  const high = bytes[at] - 0x30;
  const low = bytes[at + 1] - 0x30;
  return high >= 0 && high <= 9 && low >= 0 && low <= 9 ? high * 10 + low : NaN;
}

/** UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ, digits read in place (RFC 5280 4.1.2.5). */
function decodeTime(bytes: Uint8Array, tlv: Tlv): number {
  const utc = tlv.tag === 0x17;
  const start = tlv.contentStart;
  const at = start + (utc ? 2 : 4); // the month
  let year = utc ? twoDigits(bytes, start) : twoDigits(bytes, start) * 100 + twoDigits(bytes, start + 2);
  if (utc) year += year < 50 ? 2000 : 1900; // RFC 5280 4.1.2.5.1
  const month = twoDigits(bytes, at);
  const day = twoDigits(bytes, at + 2);
  const hour = twoDigits(bytes, at + 4);
  const minute = twoDigits(bytes, at + 6);
  const second = twoDigits(bytes, at + 8);
  // NaN (a non-digit) fails the last comparison.
  const ok = tlv.end - at === 11 && bytes[tlv.end - 1] === 0x5a && year + month + day + hour + minute + second >= 0;
  if (!ok) throw new CertificateParseError(`bad validity time '${latin1.decode(bytes.subarray(start, tlv.end))}'`);
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

const hexPairs = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** Lowercase hex; a table loop, as a Buffer view and toString cost more for the short serials and key ids. */
function hex(bytes: Uint8Array, start: number, end: number): string {
  let text = '';
  for (let i = start; i < end; i++) text += hexPairs[bytes[i]];
  return text;
}

function algorithmOf(bytes: Uint8Array, tlv: Tlv): { oid: string; parameter?: string } {
  const [oid, parameter] = childrenOf(bytes, expectTag(tlv, 0x30, 'AlgorithmIdentifier'));
  return { oid: decodeOid(bytes, expectTag(oid, 0x06, 'algorithm OID')), parameter: parameter?.tag === 0x06 ? decodeOid(bytes, parameter) : undefined };
}

function parseName(bytes: Uint8Array, name: Tlv): NameAttribute[] {
  const out: NameAttribute[] = [];
  for (const set of childrenOf(bytes, name)) {
    for (const pair of childrenOf(bytes, expectTag(set, 0x31, 'RelativeDistinguishedName'))) {
      const [type, value] = childrenOf(bytes, expectTag(pair, 0x30, 'AttributeTypeAndValue'));
      out.push({ oid: decodeOid(bytes, expectTag(type, 0x06, 'attribute type')), value: value ? decodeString(bytes, value) : '' });
    }
  }
  return out;
}

/**
 * Checks a Name's structure as parseName reads it (SET of SEQUENCE starting with an OID), without
 * building its attributes: a certificate is refused for a malformed name whether or not its
 * attributes are ever read.
 */
function checkName(bytes: Uint8Array, name: Tlv): void {
  for (let setAt = name.contentStart; setAt < name.end; ) {
    const set = expectTag(readTlv(bytes, setAt, name.end), 0x31, 'RelativeDistinguishedName');
    for (let pairAt = set.contentStart; pairAt < set.end; ) {
      const pair = expectTag(readTlv(bytes, pairAt, set.end), 0x30, 'AttributeTypeAndValue');
      const type = pair.contentStart < pair.end ? readTlv(bytes, pair.contentStart, pair.end) : undefined;
      expectTag(type, 0x06, 'attribute type');
      // parseName reads the first two children only, but every child must be well-formed DER.
      for (let at = type!.end; at < pair.end; ) at = readTlv(bytes, at, pair.end).end;
      pairAt = pair.end;
    }
    setAt = set.end;
  }
}

function unsignedHex(bytes: Uint8Array, tlv: Tlv): string {
  let start = tlv.contentStart;
  while (start < tlv.end && bytes[start] === 0) start++;
  if (start === tlv.end) return '0';
  const text = hex(bytes, start, tlv.end);
  return bytes[start] < 0x10 ? text.slice(1) : text;
}

/** Parses the extensions the ISO 15118-2 profile constrains; other extensions are kept raw. */
function readExtensions(bytes: Uint8Array, list: Tlv) {
  let unhandledCriticalExtension: string | undefined;
  let basicConstraints: ParsedCertificate['basicConstraints'];
  let keyUsage: ParsedCertificate['keyUsage'];
  let subjectKeyIdentifier: string | undefined;
  let authorityKeyIdentifier: string | undefined;
  const ocspUrls: string[] = [];
  for (const entry of childrenOf(bytes, expectTag(list, 0x30, 'Extensions'))) {
    const { oid, critical, octets } = readExtension(bytes, entry);
    const inner = readTlv(bytes, octets.contentStart, octets.end);
    if (critical && unhandledCriticalExtension === undefined && !handledExtensions.has(oid)) unhandledCriticalExtension = oid;
    if (oid === oids.basicConstraints) {
      const fields = childrenOf(bytes, expectTag(inner, 0x30, 'BasicConstraints'));
      const ca = fields[0]?.tag === 0x01 && bytes[fields[0].contentStart] !== 0;
      const length = fields.find((f) => f.tag === 0x02);
      basicConstraints = { critical, ca, pathLength: length ? parseInt(unsignedHex(bytes, length), 16) : undefined };
    } else if (oid === oids.keyUsage) {
      expectTag(inner, 0x03, 'KeyUsage BIT STRING');
      let flags = 0;
      for (let i = inner.contentStart + 1, bit = 0; i < inner.end; i++) {
        for (let mask = 0x80; mask > 0; mask >>= 1, bit++) if (bytes[i] & mask) flags |= 1 << bit;
      }
      keyUsage = { critical, flags };
    } else if (oid === oids.subjectKeyIdentifier) {
      subjectKeyIdentifier = hex(bytes, expectTag(inner, 0x04, 'SubjectKeyIdentifier').contentStart, inner.end);
    } else if (oid === oids.authorityKeyIdentifier) {
      const keyId = childrenOf(bytes, expectTag(inner, 0x30, 'AuthorityKeyIdentifier')).find((f) => f.tag === 0x80);
      if (keyId) authorityKeyIdentifier = hex(bytes, keyId.contentStart, keyId.end);
    } else if (oid === oids.authorityInfoAccess) {
      for (const access of childrenOf(bytes, expectTag(inner, 0x30, 'AuthorityInfoAccess'))) {
        const [method, location] = childrenOf(bytes, access);
        if (decodeOid(bytes, method) === oids.ocsp && location?.tag === 0x86) ocspUrls.push(decodeLatin1(bytes, location));
      }
    }
  }
  return { unhandledCriticalExtension, basicConstraints, keyUsage, subjectKeyIdentifier, authorityKeyIdentifier, ocspUrls };
}

/** The extensions readExtensions interprets. */
const handledExtensions = new Set<string>([oids.basicConstraints, oids.keyUsage, oids.subjectKeyIdentifier, oids.authorityKeyIdentifier, oids.authorityInfoAccess]);

function readExtension(bytes: Uint8Array, entry: Tlv): { oid: string; critical: boolean; octets: Tlv } {
  const parts = childrenOf(bytes, expectTag(entry, 0x30, 'Extension'));
  const oid = decodeOid(bytes, expectTag(parts[0], 0x06, 'extension OID'));
  const critical = parts[1]?.tag === 0x01 && bytes[parts[1].contentStart] !== 0;
  const octets = expectTag(parts[parts[1]?.tag === 0x01 ? 2 : 1], 0x04, 'extnValue');
  return { oid, critical, octets };
}

/** Every extension raw, in DER order (of a list readExtensions has read, so it cannot fail). */
function listExtensions(bytes: Uint8Array, list: Tlv): ParsedExtension[] {
  return childrenOf(bytes, list).map((entry) => {
    const { oid, critical, octets } = readExtension(bytes, entry);
    return { oid, critical, value: bytes.subarray(octets.contentStart, octets.end) };
  });
}

/**
 * A certificate read by parseCertificateDer. The names (as attributes), the serial's hex and the raw
 * extension list are built on first use: validating a new leaf looks at the subject only, and they
 * were a third of the reader's work and garbage. Their structure is checked when the certificate is read.
 */
class DerCertificate implements ParsedCertificate {
  #issuer: readonly NameAttribute[] | undefined;
  #subject: readonly NameAttribute[] | undefined;
  #serialNumber: string | undefined;
  #extensions: readonly ParsedExtension[] | undefined;

  constructor(
    readonly der: Uint8Array,
    readonly tbs: Uint8Array,
    readonly signatureAlgorithm: string,
    readonly tbsSignatureAlgorithm: string,
    readonly signature: Uint8Array,
    private readonly serial: Tlv,
    private readonly issuerName: Tlv,
    private readonly subjectName: Tlv,
    readonly issuerDer: Uint8Array,
    readonly subjectDer: Uint8Array,
    readonly notBefore: number,
    readonly notAfter: number,
    readonly spki: Uint8Array,
    readonly publicKeyAlgorithm: string,
    readonly curve: string | undefined,
    private readonly extensionList: Tlv | undefined,
    readonly unhandledCriticalExtension: string | undefined,
    readonly basicConstraints: ParsedCertificate['basicConstraints'],
    readonly keyUsage: ParsedCertificate['keyUsage'],
    readonly subjectKeyIdentifier: string | undefined,
    readonly authorityKeyIdentifier: string | undefined,
    readonly ocspUrls: readonly string[],
  ) {}

  get extensions(): readonly ParsedExtension[] {
    return (this.#extensions ??= this.extensionList ? listExtensions(this.der, this.extensionList) : []);
  }

  get serialNumber(): string {
    return (this.#serialNumber ??= unsignedHex(this.der, this.serial));
  }

  get issuer(): readonly NameAttribute[] {
    return (this.#issuer ??= parseName(this.der, this.issuerName));
  }

  get subject(): readonly NameAttribute[] {
    return (this.#subject ??= parseName(this.der, this.subjectName));
  }
}

const noExtensions = { unhandledCriticalExtension: undefined, basicConstraints: undefined, keyUsage: undefined, subjectKeyIdentifier: undefined, authorityKeyIdentifier: undefined, ocspUrls: [] };

/** Reads a DER X.509 v3 certificate; throws CertificateParseError for anything else. */
export function parseCertificateDer(der: Uint8Array): ParsedCertificate {
  try {
    const certificate = readTlv(der, 0, der.length);
    if (certificate.tag !== 0x30 || certificate.end !== der.length) throw new CertificateParseError('not a DER certificate (trailing or missing bytes)');
    const [tbs, outerAlgorithm, signature] = childrenOf(der, certificate);
    const fields = childrenOf(der, expectTag(tbs, 0x30, 'TBSCertificate'));
    let index = 0;
    if (fields[0]?.tag !== 0xa0) throw new CertificateParseError('not an X.509 v3 certificate');
    index++;
    const serial = expectTag(fields[index++], 0x02, 'serialNumber');
    const tbsAlgorithm = algorithmOf(der, fields[index++]);
    const issuer = expectTag(fields[index++], 0x30, 'issuer');
    const [notBefore, notAfter] = childrenOf(der, expectTag(fields[index++], 0x30, 'validity'));
    const subject = expectTag(fields[index++], 0x30, 'subject');
    const spki = expectTag(fields[index++], 0x30, 'subjectPublicKeyInfo');
    const keyAlgorithm = algorithmOf(der, childrenOf(der, spki)[0]);
    let extensionsField: Tlv | undefined;
    for (let i = index; i < fields.length && !extensionsField; i++) if (fields[i].tag === 0xa3) extensionsField = fields[i];
    const extensionList = extensionsField ? readTlv(der, extensionsField.contentStart, extensionsField.end) : undefined;
    const e = extensionList ? readExtensions(der, extensionList) : noExtensions;
    const signatureBits = expectTag(signature, 0x03, 'signatureValue');
    if (der[signatureBits.contentStart] !== 0) throw new CertificateParseError('signatureValue has unused bits');
    const outer = algorithmOf(der, outerAlgorithm).oid;
    checkName(der, issuer);
    checkName(der, subject);
    return new DerCertificate(
      der,
      der.subarray(tbs.start, tbs.end),
      outer,
      tbsAlgorithm.oid,
      der.subarray(signatureBits.contentStart + 1, signatureBits.end),
      serial,
      issuer,
      subject,
      der.subarray(issuer.start, issuer.end),
      der.subarray(subject.start, subject.end),
      decodeTime(der, expectTag(notBefore, notBefore?.tag === 0x18 ? 0x18 : 0x17, 'notBefore')),
      decodeTime(der, expectTag(notAfter, notAfter?.tag === 0x18 ? 0x18 : 0x17, 'notAfter')),
      der.subarray(spki.start, spki.end),
      keyAlgorithm.oid,
      keyAlgorithm.oid === oids.ecPublicKey ? keyAlgorithm.parameter : undefined,
      extensionList,
      e.unhandledCriticalExtension,
      e.basicConstraints,
      e.keyUsage,
      e.subjectKeyIdentifier,
      e.authorityKeyIdentifier,
      e.ocspUrls,
    );
  } catch (error) {
    if (error instanceof CertificateParseError) throw error;
    throw new CertificateParseError(`not a DER certificate: ${(error as Error).message}`);
  }
}

/** Reads a DER Name (e.g. a CSR subject) into its attributes in DER order. */
export function parseNameDer(der: Uint8Array): NameAttribute[] {
  try {
    return parseName(der, expectTag(readTlv(der, 0, der.length), 0x30, 'Name'));
  } catch (error) {
    if (error instanceof CertificateParseError) throw error;
    throw new CertificateParseError(`not a DER name: ${(error as Error).message}`);
  }
}

/** The values of one name attribute (e.g. all DC values) in DER order. */
export function attributeValues(name: readonly NameAttribute[], oid: string): string[] {
  return name.filter((a) => a.oid === oid).map((a) => a.value);
}
