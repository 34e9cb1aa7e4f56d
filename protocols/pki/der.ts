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
  /** Whether subjectKeyIdentifier is there and not empty, without building its hex. */
  readonly hasSubjectKeyIdentifier: boolean;
  readonly authorityKeyIdentifier?: string;
  readonly ocspUrls: readonly string[];
  /** The values of one subject attribute (e.g. all DC values) in DER order, read without the others. */
  subjectValues(oid: string): string[];
  /** Whether this certificate's issuer name is, octet for octet, the subject name of `issuer` (compared in place). */
  namesAsIssuer(issuer: ParsedCertificate): boolean;
  /**
   * Whether the authorityKeyIdentifier's keyIdentifier is `issuer`'s subjectKeyIdentifier, compared as
   * octets: true when this certificate has none (or an empty one), false when `issuer` has none.
   */
  keyIdentifierMatches(issuer: ParsedCertificate): boolean;
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

// The certificate reader keeps no object per element: element() returns the end and leaves the tag
// and the content start here, for the caller to read before its next call (parsing is synchronous).
let elementTag = 0;
let elementContent = 0;

/** Reads the DER header at `offset` of an element that must end by `limit`; returns its end. Definite lengths only (DER). */
function element(bytes: Uint8Array, offset: number, limit: number): number {
  if (offset + 2 > limit) throw new CertificateParseError(`truncated DER at byte ${offset}`);
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
  elementTag = bytes[offset];
  elementContent = contentStart;
  return end;
}

/** Whether the last element() read has tag `tag` (a call, so TypeScript does not narrow elementTag across element() calls). */
const lastTagIs = (tag: number): boolean => elementTag === tag;

/** element() for an element that must be there (`offset` < `limit`) with tag `tag`. */
function expectElement(bytes: Uint8Array, offset: number, limit: number, tag: number, what: string): number {
  if (offset >= limit) throw new CertificateParseError(`expected ${what}`);
  const end = element(bytes, offset, limit);
  if (elementTag !== tag) throw new CertificateParseError(`expected ${what}`);
  return end;
}

/** Checks that the elements from `offset` to `limit` are well-formed DER headers, end to end. */
function skipElements(bytes: Uint8Array, offset: number, limit: number): void {
  while (offset < limit) offset = element(bytes, offset, limit);
}

function readTlv(bytes: Uint8Array, offset: number, limit: number): Tlv {
  const end = element(bytes, offset, limit);
  return { tag: elementTag, start: offset, contentStart: elementContent, end };
}

/** A view of `bytes` from `start` to `end`: a plain Uint8Array, as subarray() looks up the species constructor on every call. */
const view = (bytes: Uint8Array, start: number, end: number): Uint8Array => new Uint8Array(bytes.buffer, bytes.byteOffset + start, end - start);

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

/**
 * FNV-1a of the octets from `start` to `end`, cut to 30 bits: a cache key built without a string, and
 * a small integer, which V8 keeps unboxed (a Map lookup by a larger number allocates).
 */
export function fnv1a(bytes: Uint8Array, start: number, end: number): number {
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193);
  return hash & 0x3fffffff;
}

function decodeOid(bytes: Uint8Array, start: number, end: number): string {
  // Most OIDs of a certificate by table, without hashing.
  if (end - start === 3 && bytes[start] === 0x55 && bytes[start + 1] < 0x80 && bytes[start + 2] < 0x80) {
    return (x500Oids[(bytes[start + 1] << 7) | bytes[start + 2]] ??= `2.5.${bytes[start + 1]}.${bytes[start + 2]}`);
  }
  const hash = fnv1a(bytes, start, end);
  const known = oidTexts.get(hash);
  if (known !== undefined && known.octets.length === end - start) {
    let same = true;
    for (let i = start; same && i < end; i++) same = known.octets[i - start] === bytes[i];
    if (same) return known.text;
  }
  const text = dottedOid(bytes, start, end);
  // Bounded: a hostile certificate may carry any number of made-up OIDs.
  if (known === undefined && oidTexts.size < OID_CACHE_SIZE) oidTexts.set(hash, { octets: bytes.slice(start, end), text });
  return text;
}

function dottedOid(bytes: Uint8Array, start: number, end: number): string {
  const parts: number[] = [];
  let value = 0;
  for (let i = start; i < end; i++) {
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
function decodeLatin1(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= 128 && isAscii(bytes, start, end)) return octetString(bytes, start, end);
  return latin1.decode(bytes.subarray(start, end));
}

function decodeString(bytes: Uint8Array, tag: number, start: number, end: number): string {
  // ASCII reads the same in UTF-8 and in the latin1 (windows-1252) decoder, without their setup cost.
  if (end - start <= 64 && isAscii(bytes, start, end)) return octetString(bytes, start, end);
  const content = bytes.subarray(start, end);
  return tag === 0x0c ? utf8.decode(content) : latin1.decode(content);
}

/** Two ASCII digits at `at` as a number, or NaN. */
function twoDigits(bytes: Uint8Array, at: number): number {
  const high = bytes[at] - 0x30;
  const low = bytes[at + 1] - 0x30;
  return high >= 0 && high <= 9 && low >= 0 && low <= 9 ? high * 10 + low : NaN;
}

/** UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ, digits read in place (RFC 5280 4.1.2.5). */
function decodeTime(bytes: Uint8Array, tag: number, start: number, end: number): number {
  const utc = tag === 0x17;
  const at = start + (utc ? 2 : 4); // the month
  let year = utc ? twoDigits(bytes, start) : twoDigits(bytes, start) * 100 + twoDigits(bytes, start + 2);
  if (utc) year += year < 50 ? 2000 : 1900; // RFC 5280 4.1.2.5.1
  const month = twoDigits(bytes, at);
  const day = twoDigits(bytes, at + 2);
  const hour = twoDigits(bytes, at + 4);
  const minute = twoDigits(bytes, at + 6);
  const second = twoDigits(bytes, at + 8);
  // NaN (a non-digit) fails the last comparison.
  const ok = end - at === 11 && bytes[end - 1] === 0x5a && year + month + day + hour + minute + second >= 0;
  if (!ok) throw new CertificateParseError(`bad validity time '${latin1.decode(bytes.subarray(start, end))}'`);
  // Date.UTC's own arithmetic, without its cost, where it is plain: a month 1–12 and a year it takes as
  // written (it reads 0–99 as 1900–1999). Day, hour, minute and second carry over linearly in both.
  if (month < 1 || month > 12 || year < 100) return Date.UTC(year, month - 1, day, hour, minute, second);
  return (daysFromCivil(year, month) + day - 1) * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000;
}

/** Days from 1970-01-01 to the first of `month` (1–12) of `year` (≥ 0), proleptic Gregorian (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5);
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

const hexPairs = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** Lowercase hex; a table loop, as a Buffer view and toString cost more for the short serials and key ids. */
function hex(bytes: Uint8Array, start: number, end: number): string {
  let text = '';
  for (let i = start; i < end; i++) text += hexPairs[bytes[i]];
  return text;
}

/** The parameter OID of the AlgorithmIdentifier algorithmAt() read last (the named curve of an EC key), if it has one. */
let algorithmParameter: string | undefined;

/** The two AlgorithmIdentifiers of every ISO 15118-2 certificate, whole: ecdsa-with-SHA256 (no parameters) and an EC key on secp256r1. */
const ecdsaWithSha256Der = Uint8Array.of(0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02);
const ecP256KeyDer = Uint8Array.of(0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07);

/** Whether `a` from `aStart` to `aEnd` holds the same octets as `b` from `bStart` to `bEnd` (false for a negative start: absent). */
function sameOctets(a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): boolean {
  const length = aEnd - aStart;
  if (aStart < 0 || bStart < 0 || bEnd - bStart !== length) return false;
  for (let i = 0; i < length; i++) if (a[aStart + i] !== b[bStart + i]) return false;
  return true;
}

/** Whether the element at `offset` (ending by `limit`) is exactly `expected`. */
function isElement(bytes: Uint8Array, offset: number, limit: number, expected: Uint8Array): boolean {
  if (offset + expected.length > limit) return false;
  for (let i = 0; i < expected.length; i++) if (bytes[offset + i] !== expected[i]) return false;
  return true;
}

/** The OID of the AlgorithmIdentifier at `offset`; every element inside it must be well-formed. */
function algorithmAt(bytes: Uint8Array, offset: number, limit: number): string {
  // The profile's two, compared whole (they are complete, well-formed elements) instead of decoded.
  if (isElement(bytes, offset, limit, ecdsaWithSha256Der)) {
    algorithmParameter = undefined;
    return oids.ecdsaWithSha256;
  }
  if (isElement(bytes, offset, limit, ecP256KeyDer)) {
    algorithmParameter = oids.secp256r1;
    return oids.ecPublicKey;
  }
  const end = expectElement(bytes, offset, limit, 0x30, 'AlgorithmIdentifier');
  const oidEnd = expectElement(bytes, elementContent, end, 0x06, 'algorithm OID');
  const oid = decodeOid(bytes, elementContent, oidEnd);
  algorithmParameter = undefined;
  if (oidEnd < end) {
    const parameterEnd = element(bytes, oidEnd, end);
    if (elementTag === 0x06) algorithmParameter = decodeOid(bytes, elementContent, parameterEnd);
    skipElements(bytes, parameterEnd, end);
  }
  return oid;
}

function parseName(bytes: Uint8Array, name: Tlv): NameAttribute[] {
  const out: NameAttribute[] = [];
  for (const set of childrenOf(bytes, name)) {
    for (const pair of childrenOf(bytes, expectTag(set, 0x31, 'RelativeDistinguishedName'))) {
      const [type, value] = childrenOf(bytes, expectTag(pair, 0x30, 'AttributeTypeAndValue'));
      const { contentStart, end } = expectTag(type, 0x06, 'attribute type');
      out.push({ oid: decodeOid(bytes, contentStart, end), value: value ? decodeString(bytes, value.tag, value.contentStart, value.end) : '' });
    }
  }
  return out;
}

/**
 * Checks a Name's structure as parseName reads it (SET of SEQUENCE starting with an OID), without
 * building its attributes: a certificate is refused for a malformed name whether or not its
 * attributes are ever read.
 */
/**
 * Walks a Name's content (`start` to `end`) as parseName reads it, SET of SEQUENCE starting with an OID, and
 * returns the values of the attributes of type `oid` (none when undefined). Builds no other attribute,
 * so a certificate is refused for a malformed name whether or not its attributes are ever read.
 */
function nameValues(bytes: Uint8Array, start: number, end: number, oid: string | undefined): string[] {
  const values: string[] = [];
  for (let setAt = start; setAt < end; ) {
    const setEnd = expectElement(bytes, setAt, end, 0x31, 'RelativeDistinguishedName');
    for (let pairAt = elementContent; pairAt < setEnd; ) {
      const pairEnd = expectElement(bytes, pairAt, setEnd, 0x30, 'AttributeTypeAndValue');
      const typeEnd = expectElement(bytes, elementContent, pairEnd, 0x06, 'attribute type');
      const wanted = oid !== undefined && decodeOid(bytes, elementContent, typeEnd) === oid;
      if (wanted && typeEnd === pairEnd) values.push('');
      // parseName reads the first two children only, but every child must be well-formed DER.
      for (let at = typeEnd; at < pairEnd; ) {
        const valueEnd = element(bytes, at, pairEnd);
        if (wanted && at === typeEnd) values.push(decodeString(bytes, elementTag, elementContent, valueEnd));
        at = valueEnd;
      }
      pairAt = pairEnd;
    }
    setAt = setEnd;
  }
  return values;
}

function unsignedHex(bytes: Uint8Array, start: number, end: number): string {
  while (start < end && bytes[start] === 0) start++;
  if (start === end) return '0';
  const text = hex(bytes, start, end);
  return bytes[start] < 0x10 ? text.slice(1) : text;
}

// extensionAt() leaves what it read here, as element() does.
let extensionOid = '';
let extensionCritical = false;
let extensionValueStart = 0;
let extensionValueEnd = 0;

/** Reads the Extension at `offset` (every element in it well-formed); returns its end. */
function extensionAt(bytes: Uint8Array, offset: number, limit: number): number {
  const end = expectElement(bytes, offset, limit, 0x30, 'Extension');
  const oidEnd = expectElement(bytes, elementContent, end, 0x06, 'extension OID');
  extensionOid = decodeOid(bytes, elementContent, oidEnd);
  let at = oidEnd;
  extensionCritical = false;
  if (at < end) {
    const next = element(bytes, at, end);
    if (elementTag === 0x01) {
      extensionCritical = bytes[elementContent] !== 0;
      at = next;
    }
  }
  const valueEnd = expectElement(bytes, at, end, 0x04, 'extnValue');
  extensionValueStart = elementContent;
  extensionValueEnd = valueEnd;
  skipElements(bytes, valueEnd, end);
  return end;
}

/** The extensions readExtensions interprets. */
const handledExtensions = new Set<string>([oids.basicConstraints, oids.keyUsage, oids.subjectKeyIdentifier, oids.authorityKeyIdentifier, oids.authorityInfoAccess]);

interface ProfileExtensions {
  unhandledCriticalExtension: string | undefined;
  basicConstraints: ParsedCertificate['basicConstraints'];
  keyUsage: ParsedCertificate['keyUsage'];
  /** Content bounds of the SubjectKeyIdentifier OCTET STRING (-1 and -1 without one): its hex is built on first use. */
  subjectKeyIdentifier: number;
  subjectKeyIdentifierEnd: number;
  /** Content bounds of the AuthorityKeyIdentifier's keyIdentifier (-1 and -1 without one). */
  authorityKeyIdentifier: number;
  authorityKeyIdentifierEnd: number;
  /** Content bounds of the AuthorityInfoAccess SEQUENCE (0 and 0 without one). */
  authorityInfoAccess: number;
  authorityInfoAccessEnd: number;
}

/** Parses the extensions the ISO 15118-2 profile constrains (the Extensions SEQUENCE from `start` to `end`); other extensions are kept raw. */
function readExtensions(bytes: Uint8Array, start: number, end: number, into: ProfileExtensions): void {
  for (let at = start; at < end; ) {
    at = extensionAt(bytes, at, end);
    const oid = extensionOid;
    const critical = extensionCritical;
    const innerEnd = element(bytes, extensionValueStart, extensionValueEnd);
    const innerTag = elementTag;
    const inner = elementContent;
    if (critical && into.unhandledCriticalExtension === undefined && !handledExtensions.has(oid)) into.unhandledCriticalExtension = oid;
    if (oid === oids.basicConstraints) {
      if (innerTag !== 0x30) throw new CertificateParseError('expected BasicConstraints');
      let ca = false;
      let pathLength: number | undefined;
      let seenPathLength = false;
      for (let field = inner; field < innerEnd; ) {
        const fieldEnd = element(bytes, field, innerEnd);
        if (field === inner && elementTag === 0x01) ca = bytes[elementContent] !== 0;
        if (elementTag === 0x02 && !seenPathLength) {
          seenPathLength = true;
          pathLength = parseInt(unsignedHex(bytes, elementContent, fieldEnd), 16);
        }
        field = fieldEnd;
      }
      into.basicConstraints = { critical, ca, pathLength };
    } else if (oid === oids.keyUsage) {
      if (innerTag !== 0x03) throw new CertificateParseError('expected KeyUsage BIT STRING');
      let flags = 0;
      for (let i = inner + 1, bit = 0; i < innerEnd; i++) {
        for (let mask = 0x80; mask > 0; mask >>= 1, bit++) if (bytes[i] & mask) flags |= 1 << bit;
      }
      into.keyUsage = { critical, flags };
    } else if (oid === oids.subjectKeyIdentifier) {
      if (innerTag !== 0x04) throw new CertificateParseError('expected SubjectKeyIdentifier');
      into.subjectKeyIdentifier = inner;
      into.subjectKeyIdentifierEnd = innerEnd;
    } else if (oid === oids.authorityKeyIdentifier) {
      if (innerTag !== 0x30) throw new CertificateParseError('expected AuthorityKeyIdentifier');
      let keyId = -1;
      let keyIdEnd = -1;
      for (let field = inner; field < innerEnd; ) {
        const fieldEnd = element(bytes, field, innerEnd);
        if (elementTag === 0x80 && keyId < 0) {
          keyId = elementContent;
          keyIdEnd = fieldEnd;
        }
        field = fieldEnd;
      }
      if (keyId >= 0) {
        into.authorityKeyIdentifier = keyId;
        into.authorityKeyIdentifierEnd = keyIdEnd;
      }
    } else if (oid === oids.authorityInfoAccess) {
      if (innerTag !== 0x30) throw new CertificateParseError('expected AuthorityInfoAccess');
      accessLocations(bytes, inner, innerEnd, undefined);
      into.authorityInfoAccess = inner;
      into.authorityInfoAccessEnd = innerEnd;
    }
  }
}

/**
 * Walks the AccessDescriptions of an AuthorityInfoAccess (content `start` to `end`), every element
 * well-formed, and returns the OCSP responder URLs when `urls` is given (read on first use only).
 */
function accessLocations(bytes: Uint8Array, start: number, end: number, urls: string[] | undefined): string[] | undefined {
  for (let access = start; access < end; ) {
    const accessEnd = element(bytes, access, end);
    if (elementContent >= accessEnd) throw new CertificateParseError('expected AccessDescription');
    const methodEnd = element(bytes, elementContent, accessEnd);
    const isOcsp = urls !== undefined && decodeOid(bytes, elementContent, methodEnd) === oids.ocsp;
    for (let at = methodEnd; at < accessEnd; ) {
      const locationEnd = element(bytes, at, accessEnd);
      if (at === methodEnd && isOcsp && elementTag === 0x86) urls.push(decodeLatin1(bytes, elementContent, locationEnd));
      at = locationEnd;
    }
    access = accessEnd;
  }
  return urls;
}

/** Every extension raw, in DER order (of a list readExtensions has read, so it cannot fail). */
function listExtensions(bytes: Uint8Array, start: number, end: number): ParsedExtension[] {
  const out: ParsedExtension[] = [];
  for (let at = start; at < end; ) {
    at = extensionAt(bytes, at, end);
    out.push({ oid: extensionOid, critical: extensionCritical, value: bytes.subarray(extensionValueStart, extensionValueEnd) });
  }
  return out;
}

/**
 * A certificate read by parseCertificateDer. The names (as attributes), the serial's and key
 * identifiers' hex, the raw extension list, the OCSP URLs and the issuer, subject and key views are built
 * on first use: validating a new leaf reads its TBS, signature and the subject's DC, and compares its
 * issuer name and key identifier in place. Their structure is checked when the certificate is read.
 * Offsets are of `der`.
 */
class DerCertificate implements ParsedCertificate {
  // Declared for TypeScript only and assigned in the constructor: ES2022 field definitions run an
  // initializer per instance, and a certificate is made for every leaf validated.
  declare readonly der: Uint8Array;
  declare readonly tbs: Uint8Array;
  declare readonly signature: Uint8Array;
  declare readonly signatureAlgorithm: string;
  declare readonly tbsSignatureAlgorithm: string;
  declare readonly notBefore: number;
  declare readonly notAfter: number;
  declare readonly publicKeyAlgorithm: string;
  declare readonly curve: string | undefined;
  declare readonly unhandledCriticalExtension: string | undefined;
  declare readonly basicConstraints: ParsedCertificate['basicConstraints'];
  declare readonly keyUsage: ParsedCertificate['keyUsage'];
  private declare readonly layout: Layout;
  /** Where the key identifiers and the AIA are (read by readExtensions). */
  private declare readonly bounds: ProfileExtensions;
  // Built on first use.
  private declare issuerAttributes: readonly NameAttribute[] | undefined;
  private declare subjectAttributes: readonly NameAttribute[] | undefined;
  private declare serialHex: string | undefined;
  private declare extensionList: readonly ParsedExtension[] | undefined;
  private declare ocspUrlList: readonly string[] | undefined;
  private declare subjectView: Uint8Array | undefined;
  private declare issuerView: Uint8Array | undefined;
  private declare subjectKeyIdHex: string | undefined;
  private declare authorityKeyIdHex: string | undefined;
  private declare spkiView: Uint8Array | undefined;

  constructor(
    der: Uint8Array,
    layout: Layout,
    signatureAlgorithm: string,
    tbsSignatureAlgorithm: string,
    notBefore: number,
    notAfter: number,
    publicKeyAlgorithm: string,
    curve: string | undefined,
    extensions: ProfileExtensions,
  ) {
    this.der = der;
    this.tbs = view(der, layout.tbs, layout.tbsEnd);
    this.signature = view(der, layout.signature, layout.signatureEnd);
    this.signatureAlgorithm = signatureAlgorithm;
    this.tbsSignatureAlgorithm = tbsSignatureAlgorithm;
    this.notBefore = notBefore;
    this.notAfter = notAfter;
    this.publicKeyAlgorithm = publicKeyAlgorithm;
    this.curve = curve;
    this.unhandledCriticalExtension = extensions.unhandledCriticalExtension;
    this.basicConstraints = extensions.basicConstraints;
    this.keyUsage = extensions.keyUsage;
    this.layout = layout;
    this.bounds = extensions;
    this.issuerAttributes = this.subjectAttributes = this.serialHex = this.extensionList = this.ocspUrlList = undefined;
    this.subjectView = this.issuerView = this.subjectKeyIdHex = this.authorityKeyIdHex = this.spkiView = undefined;
  }

  get issuerDer(): Uint8Array {
    return (this.issuerView ??= view(this.der, this.layout.issuer, this.layout.issuerEnd));
  }

  get subjectKeyIdentifier(): string | undefined {
    const { subjectKeyIdentifier: start, subjectKeyIdentifierEnd: end } = this.bounds;
    return start < 0 ? undefined : (this.subjectKeyIdHex ??= hex(this.der, start, end));
  }

  get hasSubjectKeyIdentifier(): boolean {
    return this.bounds.subjectKeyIdentifier < this.bounds.subjectKeyIdentifierEnd;
  }

  get authorityKeyIdentifier(): string | undefined {
    const { authorityKeyIdentifier: start, authorityKeyIdentifierEnd: end } = this.bounds;
    return start < 0 ? undefined : (this.authorityKeyIdHex ??= hex(this.der, start, end));
  }

  namesAsIssuer(issuer: ParsedCertificate): boolean {
    // Every ParsedCertificate is a DerCertificate (parseCertificateDer makes them all).
    const { der, layout } = issuer as DerCertificate;
    return sameOctets(this.der, this.layout.issuer, this.layout.issuerEnd, der, layout.subject, layout.subjectEnd);
  }

  keyIdentifierMatches(issuer: ParsedCertificate): boolean {
    const { authorityKeyIdentifier: start, authorityKeyIdentifierEnd: end } = this.bounds;
    if (start >= end) return true;
    const { der, bounds } = issuer as DerCertificate;
    return sameOctets(this.der, start, end, der, bounds.subjectKeyIdentifier, bounds.subjectKeyIdentifierEnd);
  }

  get subjectDer(): Uint8Array {
    return (this.subjectView ??= view(this.der, this.layout.subject, this.layout.subjectEnd));
  }

  get spki(): Uint8Array {
    return (this.spkiView ??= view(this.der, this.layout.spki, this.layout.spkiEnd));
  }

  get ocspUrls(): readonly string[] {
    return (this.ocspUrlList ??= accessLocations(this.der, this.bounds.authorityInfoAccess, this.bounds.authorityInfoAccessEnd, [])!);
  }

  get extensions(): readonly ParsedExtension[] {
    return (this.extensionList ??= listExtensions(this.der, this.layout.extensions, this.layout.extensionsEnd));
  }

  get serialNumber(): string {
    return (this.serialHex ??= unsignedHex(this.der, this.layout.serial, this.layout.serialEnd));
  }

  get issuer(): readonly NameAttribute[] {
    return (this.issuerAttributes ??= parseName(this.der, readTlv(this.der, this.layout.issuer, this.layout.issuerEnd)));
  }

  get subject(): readonly NameAttribute[] {
    return (this.subjectAttributes ??= parseName(this.der, readTlv(this.der, this.layout.subject, this.layout.subjectEnd)));
  }

  subjectValues(oid: string): string[] {
    const { subject, subjectEnd } = this.layout;
    // The subject's content: after its header, which parseCertificateDer has read.
    element(this.der, subject, subjectEnd);
    return nameValues(this.der, elementContent, subjectEnd, oid);
  }
}

/** Where a certificate's parts are in its DER: whole elements, except where said. */
interface Layout {
  tbs: number;
  tbsEnd: number;
  /** The signatureValue's octets after the unused-bits octet. */
  signature: number;
  signatureEnd: number;
  /** The serial's content octets. */
  serial: number;
  serialEnd: number;
  issuer: number;
  issuerEnd: number;
  subject: number;
  subjectEnd: number;
  spki: number;
  spkiEnd: number;
  /** The content of the Extensions SEQUENCE (empty without extensions). */
  extensions: number;
  extensionsEnd: number;
}

/** The DER bytes of one PEM block (a certificate as the stores and trust lists keep it). */
export function derOfPem(pem: string): Uint8Array {
  return new Uint8Array(Buffer.from(pem.replace(/-----[^-]+-----|\s+/g, ''), 'base64'));
}

/** Reads a DER X.509 v3 certificate; throws CertificateParseError for anything else. */
export function parseCertificateDer(der: Uint8Array): ParsedCertificate {
  try {
    const length = der.length;
    if (element(der, 0, length) !== length || !lastTagIs(0x30)) throw new CertificateParseError('not a DER certificate (trailing or missing bytes)');
    const layout: Layout = { tbs: 0, tbsEnd: 0, signature: 0, signatureEnd: 0, serial: 0, serialEnd: 0, issuer: 0, issuerEnd: 0, subject: 0, subjectEnd: 0, spki: 0, spkiEnd: 0, extensions: 0, extensionsEnd: 0 };
    // Certificate: tbsCertificate, signatureAlgorithm, signatureValue.
    const tbsStart = elementContent;
    const tbsEnd = expectElement(der, tbsStart, length, 0x30, 'TBSCertificate');
    layout.tbs = tbsStart;
    layout.tbsEnd = tbsEnd;
    let at = elementContent;
    if (at >= tbsEnd) throw new CertificateParseError('not an X.509 v3 certificate');
    at = element(der, at, tbsEnd);
    if (!lastTagIs(0xa0)) throw new CertificateParseError('not an X.509 v3 certificate');
    const serialEnd = expectElement(der, at, tbsEnd, 0x02, 'serialNumber');
    layout.serial = elementContent;
    layout.serialEnd = serialEnd;
    at = serialEnd;
    const tbsSignatureAlgorithm = algorithmAt(der, at, tbsEnd);
    at = element(der, at, tbsEnd);
    at = nameAt(der, at, tbsEnd, layout, 'issuer');
    const validityEnd = expectElement(der, at, tbsEnd, 0x30, 'validity');
    const notBeforeAt = elementContent;
    at = validityEnd;
    at = nameAt(der, at, tbsEnd, layout, 'subject');
    const spkiEnd = expectElement(der, at, tbsEnd, 0x30, 'subjectPublicKeyInfo');
    layout.spki = at;
    layout.spkiEnd = spkiEnd;
    const spkiContent = elementContent;
    const publicKeyAlgorithm = algorithmAt(der, spkiContent, spkiEnd);
    const curve = publicKeyAlgorithm === oids.ecPublicKey ? algorithmParameter : undefined;
    skipElements(der, spkiContent, spkiEnd);
    // Optional fields up to the extensions ([3]); the first [3] holds them.
    const extensions: ProfileExtensions = { unhandledCriticalExtension: undefined, basicConstraints: undefined, keyUsage: undefined, subjectKeyIdentifier: -1, subjectKeyIdentifierEnd: -1, authorityKeyIdentifier: -1, authorityKeyIdentifierEnd: -1, authorityInfoAccess: 0, authorityInfoAccessEnd: 0 };
    let extensionsSeen = false;
    for (at = spkiEnd; at < tbsEnd; ) {
      const fieldEnd = element(der, at, tbsEnd);
      if (elementTag === 0xa3 && !extensionsSeen) {
        extensionsSeen = true;
        const listEnd = element(der, elementContent, fieldEnd);
        if (!lastTagIs(0x30)) throw new CertificateParseError('expected Extensions');
        layout.extensions = elementContent;
        layout.extensionsEnd = listEnd;
        readExtensions(der, elementContent, listEnd, extensions);
      }
      at = fieldEnd;
    }
    const signatureAlgorithm = algorithmAt(der, tbsEnd, length);
    const signatureAt = element(der, tbsEnd, length);
    const signatureEnd = expectElement(der, signatureAt, length, 0x03, 'signatureValue');
    if (der[elementContent] !== 0) throw new CertificateParseError('signatureValue has unused bits');
    // Empty contents read as an empty signature (which then fails to verify), as before.
    layout.signature = Math.min(elementContent + 1, signatureEnd);
    layout.signatureEnd = signatureEnd;
    skipElements(der, signatureEnd, length);
    // Validity last: element() calls above would overwrite elementTag.
    const notBeforeEnd = expectTime(der, notBeforeAt, validityEnd, 'notBefore');
    const notBefore = decodeTime(der, elementTag, elementContent, notBeforeEnd);
    const notAfterEnd = expectTime(der, notBeforeEnd, validityEnd, 'notAfter');
    const notAfter = decodeTime(der, elementTag, elementContent, notAfterEnd);
    skipElements(der, notAfterEnd, validityEnd);
    return new DerCertificate(der, layout, signatureAlgorithm, tbsSignatureAlgorithm, notBefore, notAfter, publicKeyAlgorithm, curve, extensions);
  } catch (error) {
    if (error instanceof CertificateParseError) throw error;
    throw new CertificateParseError(`not a DER certificate: ${(error as Error).message}`);
  }
}

/** Reads and checks the issuer or subject Name at `offset`, records its bounds in `layout`; returns its end. */
function nameAt(der: Uint8Array, offset: number, limit: number, layout: Layout, field: 'issuer' | 'subject'): number {
  const end = expectElement(der, offset, limit, 0x30, field);
  if (field === 'issuer') {
    layout.issuer = offset;
    layout.issuerEnd = end;
  } else {
    layout.subject = offset;
    layout.subjectEnd = end;
  }
  nameValues(der, elementContent, end, undefined);
  return end;
}

/** A UTCTime or GeneralizedTime element at `offset`; returns its end, tag and content start in elementTag/elementContent. */
function expectTime(bytes: Uint8Array, offset: number, limit: number, what: string): number {
  if (offset >= limit) throw new CertificateParseError(`expected ${what}`);
  const end = element(bytes, offset, limit);
  if (elementTag !== 0x17 && elementTag !== 0x18) throw new CertificateParseError(`expected ${what}`);
  return end;
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
