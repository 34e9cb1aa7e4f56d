// Builds certificate chains with one deliberate defect for the validator tests: the profile's own
// extensions and names, with a single piece swapped, dropped or added.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';
import { buildCertificate, profileExtensions, randomSerialNumber, subjectName, type SubjectFields } from '../../protocols/pki/issue.ts';
import { generateKeyPair, type CryptoKeyPair } from '../../protocols/pki/keys.ts';
import { profiles, type RoleName } from '../../protocols/pki/profiles.ts';

const DAY = 86_400_000;

export interface LevelSpec {
  readonly role: RoleName;
  readonly subject?: Partial<SubjectFields>;
  readonly key?: 'P-256' | 'P-384' | 'RSA';
  readonly hash?: 'SHA-1' | 'SHA-256' | 'SHA-384';
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** Rewrites the profile's extensions of this certificate. */
  readonly extensions?: (standard: x509.Extension[]) => x509.Extension[] | Promise<x509.Extension[]>;
}

export interface ForgedLevel {
  readonly certificate: x509.X509Certificate;
  readonly keys: CryptoKeyPair;
}

async function keysFor(kind: LevelSpec['key']): Promise<CryptoKeyPair> {
  if (kind === 'P-384') return (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  if (kind === 'RSA') {
    const params = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
    return (await webcrypto.subtle.generateKey(params, true, ['sign', 'verify'])) as CryptoKeyPair;
  }
  return generateKeyPair();
}

/** Issues `levels` top-down (first = self-signed root); returns them in the same order. */
export async function forge(levels: readonly LevelSpec[]): Promise<ForgedLevel[]> {
  const out: ForgedLevel[] = [];
  for (const spec of levels) {
    const profile = profiles[spec.role];
    const parent = out[out.length - 1];
    const keys = await keysFor(spec.key);
    const issuer = parent && { role: levels[out.length - 1].role, certificate: parent.certificate, privateKey: parent.keys.privateKey, ocspUrl: 'http://localhost/ocsp' };
    const standard = await profileExtensions(profile, keys.publicKey, issuer);
    const notBefore = spec.notBefore ?? new Date(Date.now() - DAY);
    const certificate = await buildCertificate({
      subject: subjectName({ commonName: profile.defaultCommonName, organization: 'Forge', country: 'DE', domainComponent: profile.domainComponent, ...spec.subject }),
      issuerName: parent?.certificate.subjectName,
      publicKey: keys.publicKey,
      signingKey: parent?.keys.privateKey ?? keys.privateKey,
      serialNumber: randomSerialNumber(),
      notBefore,
      notAfter: spec.notAfter ?? new Date(notBefore.getTime() + 365 * DAY),
      extensions: spec.extensions ? await spec.extensions(standard) : standard,
      signingAlgorithm: { name: 'ECDSA', hash: spec.hash ?? 'SHA-256' },
    });
    out.push({ certificate, keys });
  }
  return out;
}

/** The four levels of a purpose's hierarchy, root first. */
export const hierarchy = {
  secc: ['v2gRoot', 'cpoSubCa1', 'cpoSubCa2', 'secc'],
  cps: ['v2gRoot', 'cpsSubCa1', 'cpsSubCa2', 'cps'],
  contract: ['moRoot', 'moSubCa1', 'moSubCa2', 'contract'],
  provisioning: ['oemRoot', 'oemSubCa1', 'oemSubCa2', 'provisioning'],
} as const satisfies Record<string, readonly RoleName[]>;

/** Extension list helpers for the `extensions` rewrite. */
export const replaceExtension = (list: x509.Extension[], extension: x509.Extension): x509.Extension[] => list.map((e) => (e.type === extension.type ? extension : e));
export const dropExtension = (list: x509.Extension[], oid: string): x509.Extension[] => list.filter((e) => e.type !== oid);

/** A copy of the certificate with one byte changed at `offset` from the end (signature) or inside the subject CN. */
export function tamper(certificate: x509.X509Certificate, where: 'signature' | 'subject'): x509.X509Certificate {
  const der = new Uint8Array(certificate.rawData.slice(0));
  if (where === 'signature') der[der.length - 10] ^= 0x01; // inside s of the Ecdsa-Sig-Value
  else {
    const cn = Buffer.from(certificate.subjectName.getField('CN')[0], 'latin1');
    const at = Buffer.from(der).lastIndexOf(cn);
    der[at] ^= 0x01;
  }
  return new x509.X509Certificate(der);
}
