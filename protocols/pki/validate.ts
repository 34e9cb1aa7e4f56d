// ISO 15118-2 certificate-chain validation (pki-and-crypto.md §6, §8). Each certificate is read by the
// DER reader, CAs and anchors once (cached per object or per DER content), leaves on every call;
// signatures are checked with node:crypto.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { verify, type KeyObject } from 'node:crypto';
import { attributeValues, fnv1a, keyUsageBits, oids, parseCertificateDer, type NameAttribute, type ParsedCertificate } from './der.ts';
import { publicKeyFromSpki } from './keys.ts';
import { MAX_CERTIFICATE_BYTES, MAX_SUB_CAS, leafRoleOf, profiles, type ChainPurpose } from './profiles.ts';

/** A certificate as the validator accepts it: an @peculiar/x509 object or DER bytes. */
export type CertificateInput = x509.X509Certificate | Uint8Array;

/** Trust anchors by kind, from which each purpose takes its own (pki-and-crypto.md §1.1, §8). */
export interface TrustAnchors {
  readonly v2g?: readonly CertificateInput[];
  readonly mo?: readonly CertificateInput[];
  readonly oem?: readonly CertificateInput[];
}

export type RevocationStatus = 'good' | 'revoked' | 'unknown';
/** Asked for every certificate of the chain (not the root); PKI-crypto's OCSP client supplies one. */
export type RevocationChecker = (certificate: x509.X509Certificate, issuer: x509.X509Certificate) => Promise<RevocationStatus>;

export interface ValidateChainOptions {
  readonly purpose: ChainPurpose;
  /** Either the anchors to use as they are, or all anchors by kind: SECC and CPS chains end at V2G roots, contracts at MO or V2G roots, provisioning at OEM roots. */
  readonly roots: readonly CertificateInput[] | TrustAnchors;
  /** Validity is checked at this time; defaults to now. */
  readonly at?: Date;
  readonly revocation?: RevocationChecker;
  /**
   * The leaf comes again (a pool serving the same vehicles, an EV that retries): read and verify it
   * once per content, like the CA positions, instead of anew. @default false
   */
  readonly leafRepeats?: boolean;
}

/** ISO 15118-2 responseCodeType values a chain check can produce (pki-and-crypto.md §8.2, §8.3). */
export type Iso15118ChainResult =
  | 'OK'
  | 'FAILED_CertChainError'
  | 'FAILED_CertificateExpired'
  | 'FAILED_CertificateRevoked'
  | 'FAILED_NoCertificateAvailable'
  | 'FAILED_CertificateNotAllowedAtThisEVSE';

/** EVerest libevse-security CertificateValidationResult. */
export type EvseSecurityResult = 'Valid' | 'Expired' | 'InvalidSignature' | 'IssuerNotFound' | 'InvalidLeafSignature' | 'InvalidChain' | 'Unknown';

/** The single defect found, for programs; `reason` says the same for people. */
export type ChainDefect =
  | 'NoCertificate' | 'Malformed' | 'TooManySubCas' | 'TooLarge' | 'SignatureAlgorithm' | 'KeyAlgorithm'
  | 'BasicConstraints' | 'KeyUsage' | 'NotCritical' | 'UnknownCriticalExtension' | 'KeyIdentifier'
  | 'Order' | 'PathLength' | 'DomainComponent' | 'UnknownRoot' | 'Signature' | 'LeafSignature'
  | 'Expired' | 'NotYetValid' | 'Revoked';

export interface ChainValidationResult {
  readonly valid: boolean;
  readonly iso15118: Iso15118ChainResult;
  readonly evseSecurity: EvseSecurityResult;
  readonly reason: string;
  readonly defect?: ChainDefect;
  /** Index in the chain (0 = leaf, chain.length = root) of the certificate with the defect. */
  readonly position?: number;
  /** The trust anchor the chain ends at (as given in `roots`), when one was found. */
  readonly root?: CertificateInput;
}

interface Certificate extends ParsedCertificate {
  /** The @peculiar/x509 object it was read from, if any (handed to the revocation checker). */
  readonly object?: x509.X509Certificate;
  /** Made on first use as an issuer: importing a key costs about as much as a verification. */
  key?: KeyObject;
  /** The issuer entry whose key last verified this certificate's signature (same bytes, same answer). */
  verifiedBy?: Certificate;
  /** The issuer entry whose subject name and key identifier last matched this certificate's issuer name and AKI. */
  linkedTo?: Certificate;
}

const byObject = new WeakMap<x509.X509Certificate, Certificate>();
/** Callers pass the same byte objects for their sub-CAs and anchors again and again: looked up by identity first, confirmed on the bytes. */
const byBytes = new WeakMap<Uint8Array, Certificate>();
/** DER arrives as fresh bytes in every PaymentDetailsReq, but its sub-CAs and roots repeat: cache by content. */
const byContent = new Map<number, Certificate>();
/** Re-issued sub-CAs keep their keys: imported keys are shared by SPKI content. */
const keysBySpki = new Map<number, { readonly spki: Uint8Array; readonly key: KeyObject }>();
const CONTENT_CACHE_SIZE = 512;
const CONTENT_KEY_BYTES = 24;
/** Content keys + 1 of the CA certificates seen once and not cached, by key modulo the size (0: empty). */
const SEEN_ONCE_SLOTS = 1024;
const seenOnce = new Int32Array(SEEN_ONCE_SLOTS);
/** The point's y coordinate and the octets before it: what tells two SPKIs apart. */
const SPKI_KEY_BYTES = 40;

/**
 * The cache key of the last `count` octets: a number, as building a string of them cost more than the
 * rest of the lookup. A hit is confirmed on the bytes; of two contents with the same key only the first is cached.
 */
const tailKey = (bytes: Uint8Array, count: number): number => fnv1a(bytes, Math.max(0, bytes.length - count), bytes.length);

function remember<V>(cache: Map<number, V>, key: number, value: V): V {
  if (cache.size >= CONTENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
  return value;
}

/** Byte equality; names and short values compared in place, as Buffer.compare's argument checks cost more than their bytes. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  const length = a.length;
  if (length !== b.length) return false;
  if (length > 128) return Buffer.compare(a, b) === 0;
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Reads a certificate once: per @peculiar/x509 object, and per DER content for the CA positions of byte
 * chains once they come a second time. A leaf (`repeats` false) is read anew: it is new in nearly every
 * chain, and caching it evicted the sub-CAs and kept every leaf alive long enough to be promoted to the
 * old generation, whose collection cost about half a verification per chain.
 */
function load(input: CertificateInput, repeats: boolean): Certificate {
  if (!(input instanceof Uint8Array)) {
    let entry = byObject.get(input);
    // Not a spread: the parsed certificate reads its names on first use, through its prototype.
    if (!entry) byObject.set(input, (entry = Object.assign(parseCertificateDer(new Uint8Array(input.rawData)), { object: input })));
    return entry;
  }
  // Nothing read from a leaf outlives the call, so a view of the caller's bytes does; a plain
  // Uint8Array view, as a Buffer's subarray() costs more.
  if (!repeats) return parseCertificateDer(new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
  const same = byBytes.get(input);
  if (same && sameBytes(same.der, input)) return same;
  // Keyed by the signature's last octets (random in ECDSA), confirmed on the whole DER: hashing the
  // whole certificate for every lookup cost more than the rest of the lookup.
  const key = tailKey(input, CONTENT_KEY_BYTES);
  const known = byContent.get(key);
  if (known && sameBytes(known.der, input)) {
    byBytes.set(input, known);
    return known;
  }
  // Cached from its second sighting: a sub-CA seen once (a chain of new certificates, or a flood of
  // made-up ones) is read from a view like a leaf, without a copy, and neither evicts the sub-CAs that
  // repeat nor lives on into the old generation. A repeating one costs one more verification, once.
  const slot = key & (SEEN_ONCE_SLOTS - 1);
  if (known === undefined && seenOnce[slot] !== key + 1) {
    seenOnce[slot] = key + 1;
    return parseCertificateDer(new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
  }
  // A copy: Buffer's slice() is a view, and the caller may reuse its buffer after the call.
  const entry = parseCertificateDer(new Uint8Array(input));
  byBytes.set(input, entry);
  return known ? entry : remember(byContent, key, entry);
}

const isP256 = (cert: Certificate): boolean => cert.publicKeyAlgorithm === oids.ecPublicKey && cert.curve === oids.secp256r1;

function issuerKey(issuer: Certificate, issuerPosition: number, chainLength: number): KeyObject {
  if (issuer.key) return issuer.key;
  const spki = issuer.spki;
  const key = tailKey(spki, SPKI_KEY_BYTES);
  const known = keysBySpki.get(key);
  if (known && sameBytes(known.spki, spki)) return (issuer.key = known.key);
  try {
    // A copy of the SPKI: the certificate may be a view of the caller's bytes.
    const imported = { spki: spki.slice(), key: publicKeyFromSpki(spki) };
    issuer.key = (known ? imported : remember(keysBySpki, key, imported)).key;
  } catch {
    throw new Defect('KeyAlgorithm', issuerPosition, `${label(issuerPosition, chainLength)} public key is not a valid secp256r1 point`);
  }
  return issuer.key;
}

/**
 * Verifies `cert`'s signature with the key of `issuer` (at `issuerPosition` of a chain of `chainLength`).
 * A success is remembered on the certificate: the same bytes under the same issuer need no second
 * verification, so the sub-CAs shared by many contract chains cost one verification each, once.
 */
function signedBy(cert: Certificate, issuer: Certificate, issuerPosition: number, chainLength: number): boolean {
  if (cert.verifiedBy === issuer) return true;
  if (!verify('sha256', cert.tbs, issuerKey(issuer, issuerPosition, chainLength), cert.signature)) return false;
  cert.verifiedBy = issuer;
  return true;
}

function x509Of(certificate: Certificate): x509.X509Certificate {
  return certificate.object ?? new x509.X509Certificate(certificate.der);
}

class Defect {
  constructor(readonly defect: ChainDefect, readonly position: number, readonly reason: string) {}
}

const label = (position: number, chainLength: number): string =>
  position === 0 ? 'leaf' : position === chainLength ? 'root' : `Sub-CA ${chainLength - position}`;

function anchorsFor(purpose: ChainPurpose, roots: ValidateChainOptions['roots']): readonly CertificateInput[] {
  if (Array.isArray(roots)) return roots;
  const byKind = roots as TrustAnchors;
  if (purpose === 'contract') return contractAnchors(byKind);
  if (purpose === 'provisioning') return byKind.oem ?? [];
  return byKind.v2g ?? [];
}

/** The last MO + V2G list built per TrustAnchors object, reused while both arrays hold the same anchors (no array per validation). */
const contractAnchorLists = new WeakMap<TrustAnchors, { mo: readonly CertificateInput[]; v2g: readonly CertificateInput[]; list: readonly CertificateInput[] }>();
function sameEntries(a: readonly CertificateInput[], b: readonly CertificateInput[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function contractAnchors(byKind: TrustAnchors): readonly CertificateInput[] {
  const mo = byKind.mo ?? [];
  const v2g = byKind.v2g ?? [];
  const known = contractAnchorLists.get(byKind);
  // Compared entry by entry, not only by array identity: a caller may change its arrays in place.
  if (known && sameEntries(known.mo, mo) && sameEntries(known.v2g, v2g)) return known.list;
  const list = [...mo, ...v2g];
  contractAnchorLists.set(byKind, { mo: [...mo], v2g: [...v2g], list });
  return list;
}


/** Profile rules every certificate of the chain obeys: algorithms, size, critical extensions [V2G2-006/007/010]. */
function checkCommonProfile(cert: Certificate, position: number, chainLength: number): void {
  if (commonProfileHolds(cert)) return;
  const name = label(position, chainLength);
  if (cert.signatureAlgorithm !== oids.ecdsaWithSha256 || cert.tbsSignatureAlgorithm !== oids.ecdsaWithSha256) {
    throw new Defect('SignatureAlgorithm', position, `${name} is signed with ${cert.signatureAlgorithm}, not ecdsa-with-SHA256 [V2G2-006]`);
  }
  if (!isP256(cert)) throw new Defect('KeyAlgorithm', position, `${name} key is ${cert.publicKeyAlgorithm}${cert.curve ? ` on ${cert.curve}` : ''}, not secp256r1 [V2G2-007]`);
  if (cert.der.length > MAX_CERTIFICATE_BYTES) throw new Defect('TooLarge', position, `${name} is ${cert.der.length} bytes DER, over ${MAX_CERTIFICATE_BYTES} [V2G2-010]`);
  if (!cert.basicConstraints) throw new Defect('BasicConstraints', position, `${name} has no basicConstraints`);
  if (!cert.basicConstraints.critical) throw new Defect('NotCritical', position, `${name} basicConstraints is not critical`);
  if (!cert.keyUsage) throw new Defect('KeyUsage', position, `${name} has no keyUsage`);
  if (!cert.keyUsage.critical) throw new Defect('NotCritical', position, `${name} keyUsage is not critical`);
  if (!cert.hasSubjectKeyIdentifier) throw new Defect('KeyIdentifier', position, `${name} has no subjectKeyIdentifier`);
  const unknown = cert.unhandledCriticalExtension;
  if (unknown !== undefined) throw new Defect('UnknownCriticalExtension', position, `${name} has an unsupported critical extension ${unknown}`);
}

/** The rules of checkCommonProfile, without building any message (the path every valid chain takes). */
function commonProfileHolds(cert: Certificate): boolean {
  const { basicConstraints, keyUsage } = cert;
  return (
    cert.signatureAlgorithm === oids.ecdsaWithSha256 && cert.tbsSignatureAlgorithm === oids.ecdsaWithSha256 && isP256(cert) && cert.der.length <= MAX_CERTIFICATE_BYTES &&
    basicConstraints !== undefined && basicConstraints.critical && keyUsage !== undefined && keyUsage.critical && cert.hasSubjectKeyIdentifier && cert.unhandledCriticalExtension === undefined
  );
}

function checkCa(cert: Certificate, position: number, chainLength: number): void {
  if (!cert.basicConstraints?.ca) throw new Defect('BasicConstraints', position, `${label(position, chainLength)} is not a CA (basicConstraints CA:false)`);
  if (!(cert.keyUsage!.flags & keyUsageBits.keyCertSign)) throw new Defect('KeyUsage', position, `${label(position, chainLength)} keyUsage lacks keyCertSign`);
}

function checkLeaf(cert: Certificate, purpose: ChainPurpose): void {
  const profile = profiles[leafRoleOf[purpose]];
  if (cert.basicConstraints!.ca) throw new Defect('BasicConstraints', 0, `the ${purpose} leaf is a CA (basicConstraints CA:true)`);
  const flags = cert.keyUsage!.flags;
  if (flags & (keyUsageBits.keyCertSign | keyUsageBits.cRLSign)) throw new Defect('KeyUsage', 0, `the ${purpose} leaf keyUsage includes certificate or CRL signing`);
  if ((flags & profile.requiredKeyUsage) !== profile.requiredKeyUsage) throw new Defect('KeyUsage', 0, `the ${purpose} leaf keyUsage lacks bits the role needs`);
  const dcs = cert.subjectValues(oids.domainComponent);
  if (profile.domainComponentRequired && dcs.length === 0) throw new Defect('DomainComponent', 0, `the ${purpose} leaf has no DC; DC=${profile.domainComponent} is required [V2G2-925]`);
  let wrong: string | undefined;
  for (let i = 0; i < dcs.length && wrong === undefined; i++) if (dcs[i] !== profile.domainComponent) wrong = dcs[i];
  if (wrong !== undefined) throw new Defect('DomainComponent', 0, `the ${purpose} leaf has DC=${wrong}, expected DC=${profile.domainComponent}`);
}

/**
 * Path length [V2G2-009]: at most two sub-CAs; with two, Sub-CA 2 has pathLen 0 and Sub-CA 1 pathLen 1
 * (Josev, RISE-V2G); a lone sub-CA needs a pathLen. Every CA's pathLen covers the CAs below it.
 */
function checkPathLengths(chain: Certificate[], root: Certificate): void {
  const subCas = chain.length - 1;
  for (let position = 1; position <= chain.length; position++) {
    const cert = position === chain.length ? root : chain[position];
    const below = position - 1;
    const pathLength = cert.basicConstraints!.pathLength;
    if (position < chain.length && pathLength === undefined) throw new Defect('PathLength', position, `${label(position, chain.length)} has no pathLen constraint`);
    if (pathLength !== undefined && pathLength < below) throw new Defect('PathLength', position, `${label(position, chain.length)} pathLen ${pathLength} does not allow the ${below} CA(s) below it`);
    if (subCas === MAX_SUB_CAS && position < chain.length && pathLength !== below) {
      throw new Defect('PathLength', position, `${label(position, chain.length)} must have pathLen ${below}, has ${pathLength}`);
    }
  }
}

/**
 * The anchor whose name (and key identifier, where both have one) matches the top certificate's issuer
 * and whose key verifies its signature. Name matches whose keys all fail mean a bad signature, not an
 * unknown issuer.
 */
function findRoot(chain: Certificate[], anchors: readonly CertificateInput[], purpose: ChainPurpose): { root: Certificate; anchor: CertificateInput } {
  const top = chain[chain.length - 1];
  const position = chain.length - 1;
  let candidates = 0;
  for (const anchor of anchors) {
    const root = load(anchor, true);
    // A key identifier is compared only where both have one.
    if (top.linkedTo !== root && (!top.namesAsIssuer(root) || (root.hasSubjectKeyIdentifier && !top.keyIdentifierMatches(root)))) continue;
    top.linkedTo = root;
    candidates++;
    if (isP256(root) && signedBy(top, root, chain.length, chain.length)) return { root, anchor };
  }
  if (candidates === 0) {
    throw new Defect('UnknownRoot', chain.length, `no ${purpose} trust anchor (of ${anchors.length}) issued the ${label(position, chain.length)} (issuer ${describeName(top.issuer)})`);
  }
  throw new Defect(position === 0 ? 'LeafSignature' : 'Signature', position, `the signature of the ${label(position, chain.length)} does not verify with the key of its trust anchor`);
}

function describeName(name: readonly NameAttribute[]): string {
  return name.map((a) => `${shortNames[a.oid] ?? a.oid}=${a.value}`).join(', ');
}

const shortNames: Record<string, string> = { [oids.commonName]: 'CN', [oids.organization]: 'O', [oids.country]: 'C', [oids.domainComponent]: 'DC' };

/** The ISO 15118-2 and evse_security codes of a defect (pki-and-crypto.md §8.2); all others are chain errors. */
function verdictOf(defect: ChainDefect, purpose: ChainPurpose): [Iso15118ChainResult, EvseSecurityResult] {
  switch (defect) {
    case 'NoCertificate':
      return ['FAILED_NoCertificateAvailable', 'Unknown'];
    case 'Expired':
    case 'NotYetValid':
      return ['FAILED_CertificateExpired', 'Expired'];
    case 'Revoked':
      return ['FAILED_CertificateRevoked', 'InvalidChain'];
    case 'UnknownRoot':
      // A contract whose anchor the charger lacks is not this EVSE's to accept (EVerest/EVerest #1202).
      return [purpose === 'contract' ? 'FAILED_CertificateNotAllowedAtThisEVSE' : 'FAILED_CertChainError', 'IssuerNotFound'];
    case 'Signature':
      return ['FAILED_CertChainError', 'InvalidSignature'];
    case 'LeafSignature':
      return ['FAILED_CertChainError', 'InvalidLeafSignature'];
    default:
      return ['FAILED_CertChainError', 'InvalidChain'];
  }
}

function checkStructure(chain: Certificate[], purpose: ChainPurpose): void {
  // Names and key identifiers of a remembered pair (the sub-CAs of a known MO) are not compared again.
  for (let position = 1; position < chain.length; position++) {
    if (chain[position - 1].linkedTo !== chain[position] && !chain[position - 1].namesAsIssuer(chain[position])) {
      throw new Defect('Order', position, `${label(position - 1, chain.length)} is not issued by the next certificate; send leaf, Sub-CA 2, Sub-CA 1`);
    }
  }
  for (let position = 0; position < chain.length; position++) checkCommonProfile(chain[position], position, chain.length);
  checkLeaf(chain[0], purpose);
  for (let position = 1; position < chain.length; position++) {
    checkCa(chain[position], position, chain.length);
    const below = chain[position - 1];
    if (below.linkedTo === chain[position]) continue;
    if (!below.keyIdentifierMatches(chain[position])) {
      throw new Defect('KeyIdentifier', position - 1, `${label(position - 1, chain.length)} authorityKeyIdentifier does not match ${label(position, chain.length)} subjectKeyIdentifier`);
    }
    below.linkedTo = chain[position];
  }
}

function checkRoot(root: Certificate, chainLength: number): void {
  if (!root.basicConstraints?.ca) throw new Defect('BasicConstraints', chainLength, 'the trust anchor is not a CA');
  if (root.keyUsage && !(root.keyUsage.flags & keyUsageBits.keyCertSign)) throw new Defect('KeyUsage', chainLength, 'the trust anchor keyUsage lacks keyCertSign');
}

function checkSignatures(chain: Certificate[]): void {
  // The top certificate was verified against the root while finding it.
  for (let position = 0; position < chain.length - 1; position++) {
    if (!signedBy(chain[position], chain[position + 1], position + 1, chain.length)) {
      throw new Defect(position === 0 ? 'LeafSignature' : 'Signature', position, `the signature of the ${label(position, chain.length)} does not verify with the key of the ${label(position + 1, chain.length)}`);
    }
  }
}

function checkValidity(chain: Certificate[], root: Certificate, at: number): void {
  for (let position = 0; position <= chain.length; position++) {
    const cert = position === chain.length ? root : chain[position];
    if (at < cert.notBefore) throw new Defect('NotYetValid', position, `${label(position, chain.length)} is not valid before ${new Date(cert.notBefore).toISOString()}`);
    if (at > cert.notAfter) throw new Defect('Expired', position, `${label(position, chain.length)} expired at ${new Date(cert.notAfter).toISOString()}`);
  }
}

async function checkRevocation(chain: Certificate[], root: Certificate, revocation: RevocationChecker): Promise<void> {
  const objects = [...chain, root].map(x509Of);
  // A checker that fails counts as 'unknown', like an unreachable responder.
  const statuses = await Promise.all(chain.map((_, position) => revocation(objects[position], objects[position + 1]).catch((): RevocationStatus => 'unknown')));
  const revoked = statuses.indexOf('revoked');
  if (revoked >= 0) throw new Defect('Revoked', revoked, `the ${label(revoked, chain.length)} (serial ${chain[revoked].serialNumber}) is revoked`);
}

const validReasons: Readonly<Record<ChainPurpose, string>> = { secc: 'valid secc chain', contract: 'valid contract chain', provisioning: 'valid provisioning chain', cps: 'valid cps chain' };

/**
 * Validates a certificate chain by the ISO 15118-2 rules: wire order leaf, Sub-CA 2, Sub-CA 1 (root
 * not sent, at most 2 sub-CAs [V2G2-009]); secp256r1 and ecdsa-with-SHA256; critical basicConstraints
 * and keyUsage with the pathLen, usage and DC of each role; SKI present and AKI matching; DER ≤ 800
 * bytes; a trust anchor of the purpose; signatures; validity at `at`; revocation when a checker is given
 * ('unknown' is accepted: OCSP is recommended, not mandatory, during charging).
 * Never throws for a bad chain: the result carries the ISO 15118-2 and evse_security codes and the reason.
 * @throws CertificateParseError when a trust anchor itself cannot be read (a configuration error).
 */
export async function validateChain(chain: readonly CertificateInput[], options: ValidateChainOptions): Promise<ChainValidationResult> {
  const { purpose } = options;
  let root: Certificate | undefined;
  let anchor: CertificateInput | undefined;
  try {
    if (chain.length === 0) throw new Defect('NoCertificate', 0, 'no certificate was provided');
    if (chain.length > MAX_SUB_CAS + 1) throw new Defect('TooManySubCas', chain.length - 1, `the chain has ${chain.length - 1} sub-CAs; at most ${MAX_SUB_CAS} are allowed [V2G2-009]`);
    const certs: Certificate[] = [];
    for (let position = 0; position < chain.length; position++) {
      try {
        certs.push(load(chain[position], position > 0 || options.leafRepeats === true));
      } catch (error) {
        throw new Defect('Malformed', position, `certificate ${position} cannot be read: ${(error as Error).message}`);
      }
    }
    checkStructure(certs, purpose);
    ({ root, anchor } = findRoot(certs, anchorsFor(purpose, options.roots), purpose));
    checkRoot(root, certs.length);
    checkPathLengths(certs, root);
    checkSignatures(certs);
    checkValidity(certs, root, options.at ? options.at.getTime() : Date.now());
    if (options.revocation) await checkRevocation(certs, root, options.revocation);
    return { valid: true, iso15118: 'OK', evseSecurity: 'Valid', reason: validReasons[purpose], root: anchor };
  } catch (error) {
    if (!(error instanceof Defect)) throw error;
    const [iso15118, evseSecurity] = verdictOf(error.defect, purpose);
    return { valid: false, iso15118, evseSecurity, reason: error.reason, defect: error.defect, position: error.position, ...(anchor ? { root: anchor } : {}) };
  }
}
