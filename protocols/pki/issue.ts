// Issuance of ISO 15118-2 certificates: roots, sub-CAs and leafs from a fresh key, a given public key
// or a PKCS#10 CSR. Everything leaves here in the profile of its role, or not at all.
import 'reflect-metadata'; // @peculiar/x509 resolves its services through tsyringe, which needs the polyfill
import * as x509 from '@peculiar/x509';
import { webcrypto, randomBytes } from 'node:crypto';
import { PncError } from '../errors.ts';
import { parsePcid, validateEmaid } from '../identifiers/index.ts';
import { attributeValues, oids, parseNameDer } from './der.ts';
import { generateKeyPair, signingAlgorithm, type CryptoKey, type CryptoKeyPair } from './keys.ts';
import { MAX_CERTIFICATE_BYTES, profiles, type CertificateProfile, type RoleName } from './profiles.ts';

x509.cryptoProvider.set(webcrypto);

/** A CA that can sign: its certificate, private key, role and the OCSP URL it writes into what it issues. */
export interface CertificateAuthority {
  readonly role: RoleName;
  readonly certificate: x509.X509Certificate;
  readonly privateKey: CryptoKey;
  /** AIA OCSP URL of the responder for certificates this CA issues. */
  readonly ocspUrl?: string;
}

export interface SubjectFields {
  readonly commonName: string;
  readonly organization?: string;
  readonly country?: string;
  /** Defaults to the role's DC. */
  readonly domainComponent?: string;
}

export interface IssueOptions {
  readonly role: RoleName;
  readonly subject: SubjectFields;
  /** The signing CA; omitted for self-signed roots. */
  readonly issuer?: CertificateAuthority;
  /** Certify this key; a fresh P-256 pair is generated when omitted. */
  readonly publicKey?: CryptoKey;
  /** Defaults to now. */
  readonly notBefore?: Date;
  /** Defaults to the role's validity; never beyond the issuer's notAfter. */
  readonly validityDays?: number;
}

export interface IssuedCertificate {
  readonly role: RoleName;
  readonly certificate: x509.X509Certificate;
  /** Present when the key pair was generated here. */
  readonly keys?: CryptoKeyPair;
}

/** A request the profile forbids: wrong issuer, DN, DC, key type, size. Nothing is issued. */
export class IssuanceError extends PncError {
  override readonly name = 'IssuanceError';
}

/** Lowercase hex of a random positive 16-byte serial (top byte 0x40–0x7f: positive, minimal DER, always 16 bytes). */
export function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = 0x40 | (bytes[0] & 0x3f);
  return bytes.toString('hex');
}

/** Subject in the ISO 15118-2 attribute order CN, O, C, DC (pki-and-crypto.md §2.1). */
export function subjectName(fields: SubjectFields): x509.Name {
  const rdns: x509.JsonNameParams = [{ CN: [fields.commonName] }];
  if (fields.organization) rdns.push({ O: [fields.organization] });
  if (fields.country) rdns.push({ C: [fields.country] });
  if (fields.domainComponent) rdns.push({ DC: [fields.domainComponent] });
  return new x509.Name(rdns);
}

/** Low-level certificate assembly, no profile rules: issuance uses it, and tests use it to build defective certificates. */
export interface CertificateSpec {
  readonly subject: x509.Name;
  readonly issuerName?: x509.Name;
  readonly publicKey: CryptoKey;
  readonly signingKey: CryptoKey;
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly extensions: x509.Extension[];
  readonly signingAlgorithm?: webcrypto.EcdsaParams;
}

/** Signs a certificate exactly as specified (ecdsa-with-SHA256 unless `signingAlgorithm` says otherwise). */
export async function buildCertificate(spec: CertificateSpec): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.create({
    serialNumber: spec.serialNumber,
    subject: spec.subject,
    issuer: spec.issuerName ?? spec.subject,
    notBefore: spec.notBefore,
    notAfter: spec.notAfter,
    publicKey: spec.publicKey,
    signingKey: spec.signingKey,
    extensions: spec.extensions,
    signingAlgorithm: spec.signingAlgorithm ?? signingAlgorithm,
  });
}

/** The extensions of a role: critical basicConstraints and keyUsage, SKI, AKI, AIA OCSP where the role has one. */
export async function profileExtensions(profile: CertificateProfile, publicKey: CryptoKey, issuer?: CertificateAuthority): Promise<x509.Extension[]> {
  const subjectKeyId = await x509.SubjectKeyIdentifierExtension.create(publicKey);
  const authorityKeyId = issuer
    ? issuer.certificate.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId
    : subjectKeyId.keyId;
  if (!authorityKeyId) throw new IssuanceError('IssuerWithoutKeyIdentifier', `issuer ${issuer?.certificate.subject} has no subjectKeyIdentifier`);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(profile.kind !== 'leaf', profile.pathLength, true),
    new x509.KeyUsagesExtension(profile.keyUsage, true),
    subjectKeyId,
    new x509.AuthorityKeyIdentifierExtension(authorityKeyId),
  ];
  if (profile.ocsp && issuer?.ocspUrl) extensions.push(new x509.AuthorityInfoAccessExtension({ ocsp: [issuer.ocspUrl] }));
  return extensions;
}

function checkIssuerAllowed(profile: CertificateProfile, issuer: CertificateAuthority | undefined): void {
  if (profile.kind === 'root') {
    if (issuer) throw new IssuanceError('IssuerNotAllowed', `${profile.role} is self-signed and takes no issuer`);
    return;
  }
  if (!issuer) throw new IssuanceError('IssuerNotAllowed', `${profile.role} needs an issuer (${profile.issuers.join(' or ')})`);
  if (!profile.issuers.includes(issuer.role)) {
    throw new IssuanceError('IssuerNotAllowed', `${profile.role} cannot be issued by ${issuer.role} (allowed: ${profile.issuers.join(', ')})`);
  }
}

function checkKeyIsP256(publicKey: CryptoKey): void {
  const algorithm = publicKey.algorithm as webcrypto.EcKeyAlgorithm;
  if ((algorithm.name !== 'ECDSA' && algorithm.name !== 'ECDH') || algorithm.namedCurve !== 'P-256') {
    throw new IssuanceError('KeyNotAllowed', `only secp256r1 keys are allowed [V2G2-007], got ${algorithm.name} ${algorithm.namedCurve ?? ''}`.trim());
  }
}

/** CN rules: the contract CN is the EMAID, the provisioning CN the PCID (pki-and-crypto.md §3, §7). */
function checkCommonName(profile: CertificateProfile, commonName: string): void {
  if (!commonName) throw new IssuanceError('SubjectNotAllowed', 'the subject needs a common name');
  try {
    if (profile.role === 'contract') validateEmaid(commonName);
    if (profile.role === 'provisioning') parsePcid(commonName);
  } catch (error) {
    const what = profile.role === 'contract' ? 'an EMAID' : 'a PCID';
    throw new IssuanceError('SubjectNotAllowed', `the ${profile.role} CN must be ${what}: ${(error as Error).message}`, { cause: error });
  }
}

/** How far a certificate's notBefore lies before its issuance when the caller names none: 10 minutes of clock skew between parties. */
export const ISSUE_BACKDATE_MS = 10 * 60_000;
const DAY_MS = 86_400_000;

/**
 * Issues a certificate in the profile of `role`: a self-signed root (no issuer), a sub-CA or a leaf.
 * Generates a fresh key pair unless `publicKey` is given. Refuses with IssuanceError when the issuer
 * may not sign this role, the key is not P-256, or the DER would exceed 800 bytes [V2G2-010].
 */
export async function issueCertificate(options: IssueOptions): Promise<IssuedCertificate> {
  const profile = profiles[options.role];
  checkIssuerAllowed(profile, options.issuer);
  checkCommonName(profile, options.subject.commonName);
  const domainComponent = options.subject.domainComponent ?? profile.domainComponent;
  if (domainComponent !== profile.domainComponent) {
    throw new IssuanceError('DomainComponentNotAllowed', `a ${profile.role} certificate must carry DC=${profile.domainComponent}, not DC=${domainComponent}`);
  }
  const keys = options.publicKey ? undefined : await generateKeyPair();
  const publicKey = options.publicKey ?? keys!.publicKey;
  checkKeyIsP256(publicKey);
  // Backdated so a relying party whose clock runs behind the issuer's still accepts it (found by the clock-skew chaos scenario).
  const notBefore = options.notBefore ?? new Date(Date.now() - ISSUE_BACKDATE_MS);
  let notAfter = new Date(notBefore.getTime() + (options.validityDays ?? profile.validityDays) * DAY_MS);
  if (options.issuer && notAfter > options.issuer.certificate.notAfter) notAfter = options.issuer.certificate.notAfter;
  const certificate = await buildCertificate({
    subject: subjectName({ ...options.subject, domainComponent }),
    issuerName: options.issuer?.certificate.subjectName,
    publicKey,
    signingKey: options.issuer?.privateKey ?? keys!.privateKey,
    serialNumber: randomSerialNumber(),
    notBefore,
    notAfter,
    extensions: await profileExtensions(profile, publicKey, options.issuer),
  });
  if (certificate.rawData.byteLength > MAX_CERTIFICATE_BYTES) {
    throw new IssuanceError('CertificateTooLarge', `${profile.role} certificate would be ${certificate.rawData.byteLength} bytes DER, over the ${MAX_CERTIFICATE_BYTES}-byte limit [V2G2-010]`, {
      data: { bytes: certificate.rawData.byteLength },
    });
  }
  return keys ? { role: options.role, certificate, keys } : { role: options.role, certificate };
}

export interface IssueFromCsrOptions {
  readonly role: RoleName;
  /** PKCS#10 request: object, PEM or DER. */
  readonly csr: x509.Pkcs10CertificateRequest | string | Uint8Array;
  readonly issuer: CertificateAuthority;
  readonly notBefore?: Date;
  readonly validityDays?: number;
  /**
   * The subject the issuer decides (an OEM names a vehicle by the PCID it gives it); the CSR then only
   * proves possession of its key and brings the public key.
   */
  readonly subject?: SubjectFields;
}

const allowedSubjectAttributes = new Set<string>([oids.commonName, oids.organization, oids.country, oids.domainComponent]);

async function publicKeyOfCsr(csr: x509.Pkcs10CertificateRequest): Promise<CryptoKey> {
  try {
    return await csr.publicKey.export(signingAlgorithm, ['verify']);
  } catch (error) {
    throw new IssuanceError('KeyNotAllowed', `the CSR key is not a secp256r1 key [V2G2-007]`, { cause: error });
  }
}

function parseCsr(csr: IssueFromCsrOptions['csr']): x509.Pkcs10CertificateRequest {
  if (csr instanceof x509.Pkcs10CertificateRequest) return csr;
  try {
    return new x509.Pkcs10CertificateRequest(typeof csr === 'string' ? csr : new Uint8Array(csr));
  } catch (error) {
    throw new IssuanceError('CsrMalformed', `not a PKCS#10 request: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Issues a certificate for a PKCS#10 request: checks the request's signature, that its key is P-256,
 * that its subject holds one CN and only CN, O, C, DC, and that the DC is present where the role requires
 * it (DC=CPO for SECC, DC=CPS for CPS [V2G2-925]); every other rule of {@link issueCertificate} applies.
 * The certificate subject is rebuilt in the order CN, O, C, DC (a CSR without DC gets the role's).
 */
export async function issueFromCsr(options: IssueFromCsrOptions): Promise<x509.X509Certificate> {
  const profile = profiles[options.role];
  checkIssuerAllowed(profile, options.issuer);
  const csr = parseCsr(options.csr);
  if (!(await csr.verify().catch(() => false))) throw new IssuanceError('CsrSignatureInvalid', 'the CSR signature does not verify');
  if (options.subject) {
    const issued = await issueCertificate({ role: options.role, issuer: options.issuer, publicKey: await publicKeyOfCsr(csr), subject: options.subject, notBefore: options.notBefore, validityDays: options.validityDays });
    return issued.certificate;
  }
  const subject = parseNameDer(new Uint8Array(csr.subjectName.toArrayBuffer()));
  for (const attribute of subject) {
    if (!allowedSubjectAttributes.has(attribute.oid)) throw new IssuanceError('SubjectNotAllowed', `the CSR subject has attribute ${attribute.oid}; only CN, O, C and DC are allowed`);
  }
  const single = (oid: string, label: string): string | undefined => {
    const values = attributeValues(subject, oid);
    if (values.length > 1) throw new IssuanceError('SubjectNotAllowed', `the CSR subject has ${values.length} ${label} values`);
    return values[0];
  };
  const commonName = single(oids.commonName, 'CN');
  if (!commonName) throw new IssuanceError('SubjectNotAllowed', 'the CSR subject has no CN');
  const domainComponent = single(oids.domainComponent, 'DC');
  if (profile.domainComponentRequired && domainComponent === undefined) {
    throw new IssuanceError('DomainComponentNotAllowed', `a ${profile.role} CSR must carry DC=${profile.domainComponent} [V2G2-925]`);
  }
  const issued = await issueCertificate({
    role: options.role,
    issuer: options.issuer,
    publicKey: await publicKeyOfCsr(csr),
    subject: { commonName, organization: single(oids.organization, 'O'), country: single(oids.country, 'C'), domainComponent },
    notBefore: options.notBefore,
    validityDays: options.validityDays,
  });
  return issued.certificate;
}

export type RevocationReason =
  | 'unspecified' | 'keyCompromise' | 'cACompromise' | 'affiliationChanged' | 'superseded'
  | 'cessationOfOperation' | 'certificateHold' | 'privilegeWithdrawn';

/** What the OCSP responder (protocols/pki/ocsp.ts) needs to answer "revoked" for one certificate. */
export interface RevocationRecord {
  /** Lowercase hex of the serial's value, without leading zeros (the OCPP hash-data form). */
  readonly serialNumber: string;
  readonly revokedAt: Date;
  readonly reason?: RevocationReason;
}

/** Revokes a certificate: returns the record its issuer's OCSP responder serves from now on. */
export function revocationRecord(certificate: x509.X509Certificate, options: { reason?: RevocationReason; revokedAt?: Date } = {}): RevocationRecord {
  const serialNumber = certificate.serialNumber.toLowerCase().replace(/^0+(?=.)/, '');
  const record = { serialNumber, revokedAt: options.revokedAt ?? new Date() };
  return options.reason ? { ...record, reason: options.reason } : record;
}
