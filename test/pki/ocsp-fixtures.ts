// Certificates for the OCSP and contract-key tests, made with @peculiar/x509 directly until
// PKI-core's issuance (protocols/pki) can be used instead; keep this file small and replace it then.
import 'reflect-metadata'; // @peculiar/x509 resolves its services through tsyringe
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

type CryptoKeyPair = webcrypto.CryptoKeyPair;
type CryptoKey = webcrypto.CryptoKey;

export interface Issued {
  readonly certificate: x509.X509Certificate;
  readonly keys: CryptoKeyPair;
}

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

export async function newKeyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
}

/** Issues a certificate (self-signed when `issuer` is absent). */
export async function issue(options: {
  subject: string;
  issuer?: Issued;
  ca?: boolean;
  serialNumber?: string;
  ocspUrl?: string;
  ocspSigning?: boolean;
  notBefore?: Date;
  notAfter?: Date;
  keys?: CryptoKeyPair;
}): Promise<Issued> {
  const keys = options.keys ?? (await newKeyPair());
  const ca = options.ca ?? false;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(ca, undefined, true),
    new x509.KeyUsagesExtension(ca ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign : x509.KeyUsageFlags.digitalSignature, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as CryptoKey),
  ];
  if (options.ocspUrl) extensions.push(new x509.AuthorityInfoAccessExtension({ ocsp: [new x509.GeneralName('url', options.ocspUrl)] }));
  if (options.ocspSigning) extensions.push(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.ocspSigning]));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: options.serialNumber ?? '3039',
    subject: options.subject,
    issuer: options.issuer?.certificate.subject ?? options.subject,
    notBefore: options.notBefore ?? new Date(Date.now() - 3600_000),
    notAfter: options.notAfter ?? new Date(Date.now() + 365 * 86400_000),
    publicKey: keys.publicKey as CryptoKey,
    signingKey: (options.issuer?.keys ?? keys).privateKey as CryptoKey,
    signingAlgorithm: algorithm,
    extensions,
  });
  return { certificate, keys };
}
