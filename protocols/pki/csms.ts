// The CSMS domain of OCPP security profile 3 (OCPP 2.0.1 Part 2 A00 "Security"): a CSMS root the
// CPO runs, the CSMS's TLS server certificate and the charging stations' client certificates
// (A02 SignCertificate with certificateType ChargingStationCertificate). This is ordinary X.509 for
// TLS, not an ISO 15118-2 profile; the ISO roles stay in profiles.ts.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { isIP } from 'node:net';
import { buildCertificate, IssuanceError, randomSerialNumber, subjectName } from './issue.ts';
import { generateKeyPair, signingAlgorithm, type CryptoKey, type CryptoKeyPair } from './keys.ts';

const DAY_MS = 86_400_000;
const { digitalSignature, keyAgreement, keyCertSign, cRLSign } = x509.KeyUsageFlags;

export interface CsmsAuthority {
  readonly certificate: x509.X509Certificate;
  readonly privateKey: CryptoKey;
}

/** What a CSMS-domain leaf is for: the CSMS's TLS server, or a station's TLS client (CN = station id). */
export type CsmsLeafKind = 'server' | 'station';

export interface CsmsLeafOptions {
  readonly kind: CsmsLeafKind;
  readonly issuer: CsmsAuthority;
  /** PKCS#10 request (PEM or DER); its signature is checked. Or a bare public key. */
  readonly csr?: string | Uint8Array;
  readonly publicKey?: CryptoKey;
  /** Station: the CN must equal the authenticated station identity (A02.FR.xx, OCPP security profile 3). */
  readonly commonName: string;
  readonly organization?: string;
  /** Server: DNS names and IP addresses for subjectAltName. */
  readonly hosts?: readonly string[];
  readonly validityDays?: number;
  readonly notBefore?: Date;
}

const name = (commonName: string, organization?: string): x509.Name => subjectName({ commonName, ...(organization ? { organization } : {}) });

/** A self-signed CSMS root (P-256, 10 years). */
export async function makeCsmsRoot(organization: string, notBefore = new Date()): Promise<CsmsAuthority & { keys: CryptoKeyPair }> {
  const keys = await generateKeyPair();
  const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey);
  const certificate = await buildCertificate({
    subject: name(`${organization} CSMS Root CA`, organization),
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    serialNumber: randomSerialNumber(),
    notBefore,
    notAfter: new Date(notBefore.getTime() + 3650 * DAY_MS),
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(keyCertSign | cRLSign, true), ski, new x509.AuthorityKeyIdentifierExtension(ski.keyId)],
  });
  return { certificate, privateKey: keys.privateKey, keys };
}

/** The CN of a PKCS#10 request, after checking its signature; the key must be P-256. */
async function csrKey(csr: string | Uint8Array): Promise<{ publicKey: CryptoKey; commonName?: string }> {
  let request: x509.Pkcs10CertificateRequest;
  try {
    request = new x509.Pkcs10CertificateRequest(typeof csr === 'string' ? csr : new Uint8Array(csr));
  } catch (error) {
    throw new IssuanceError('CsrMalformed', `not a PKCS#10 request: ${(error as Error).message}`, { cause: error });
  }
  if (!(await request.verify().catch(() => false))) throw new IssuanceError('CsrSignatureInvalid', 'the CSR signature does not verify');
  let publicKey: CryptoKey;
  try {
    publicKey = await request.publicKey.export(signingAlgorithm, ['verify']);
  } catch (error) {
    throw new IssuanceError('KeyNotAllowed', 'the CSR key is not a secp256r1 key', { cause: error });
  }
  return { publicKey, commonName: request.subjectName.getField('CN')[0] };
}

/**
 * Issues a CSMS-domain leaf under the CSMS root. A station certificate whose CSR names another CN
 * than the station's authenticated identity is refused: identity comes from authentication, never
 * from the request body.
 * @throws IssuanceError `CsrMalformed`, `CsrSignatureInvalid`, `KeyNotAllowed`, `SubjectNotAllowed`
 */
export async function issueCsmsLeaf(options: CsmsLeafOptions): Promise<x509.X509Certificate> {
  let publicKey = options.publicKey;
  if (options.csr !== undefined) {
    const requested = await csrKey(options.csr);
    if (options.kind === 'station' && requested.commonName !== options.commonName) {
      throw new IssuanceError('SubjectNotAllowed', `the CSR's CN '${requested.commonName ?? ''}' is not the station identity '${options.commonName}'`);
    }
    publicKey = requested.publicKey;
  }
  if (!publicKey) throw new IssuanceError('CsrMalformed', 'a CSR or a public key is needed');
  const notBefore = options.notBefore ?? new Date();
  let notAfter = new Date(notBefore.getTime() + (options.validityDays ?? 365) * DAY_MS);
  if (notAfter > options.issuer.certificate.notAfter) notAfter = options.issuer.certificate.notAfter;
  const issuerKeyId = options.issuer.certificate.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  if (!issuerKeyId) throw new IssuanceError('IssuerWithoutKeyIdentifier', 'the CSMS root has no subjectKeyIdentifier');
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(digitalSignature | keyAgreement, true),
    new x509.ExtendedKeyUsageExtension([options.kind === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
    new x509.AuthorityKeyIdentifierExtension(issuerKeyId),
  ];
  if (options.kind === 'server') {
    const hosts = options.hosts?.length ? options.hosts : [options.commonName];
    extensions.push(new x509.SubjectAlternativeNameExtension(hosts.map((host) => ({ type: isIP(host) ? 'ip' as const : 'dns' as const, value: host }))));
  }
  return buildCertificate({
    subject: name(options.commonName, options.organization),
    issuerName: options.issuer.certificate.subjectName,
    publicKey,
    signingKey: options.issuer.privateKey,
    serialNumber: randomSerialNumber(),
    notBefore,
    notAfter,
    extensions,
  });
}
