// A complete test PKI: the four ISO 15118-2 hierarchies plus a Hubject-style contract chain whose
// MO Sub-CA 1 hangs under the V2G root. Used by `openpnc pki init`, the tests and the back office.
import type * as x509 from '@peculiar/x509';
import { emaidCheckDigit, makePcid } from '../identifiers/index.ts';
import { issueCertificate, type CertificateAuthority } from './issue.ts';
import type { CryptoKeyPair } from './keys.ts';
import { profiles, type RoleName } from './profiles.ts';
import type { TrustAnchors } from './validate.ts';

export interface TestPkiOptions {
  /** Number of OEM provisioning certificates (vehicles); default 1. */
  readonly vehicles?: number;
  /** Number of contract certificates under the MO root; default 1. */
  readonly contracts?: number;
  readonly organization?: string;
  readonly country?: string;
  /** Each CA's OCSP responder is `${ocspBaseUrl}/${ca name}`; default http://localhost:8080/ocsp. */
  readonly ocspBaseUrl?: string;
  /** Start of validity of every certificate; default one minute ago. */
  readonly notBefore?: Date;
}

export interface TestCertificate {
  /** Unique name, used as the file stem by `pki init` (e.g. `cpo-sub-ca-2`, `contract-1`). */
  readonly name: string;
  readonly role: RoleName;
  readonly certificate: x509.X509Certificate;
  readonly keys: CryptoKeyPair;
  /** Wire order, leaf first, root left out; empty for roots. */
  readonly chain: readonly x509.X509Certificate[];
  /** The self-signed root this certificate chains to. */
  readonly root: x509.X509Certificate;
  /** EMAID of a contract, PCID of a provisioning certificate. */
  readonly identifier?: string;
}

export interface TestPki {
  /** Every certificate in issuance order (roots first in each hierarchy). */
  readonly certificates: readonly TestCertificate[];
  /** The CAs, by name, ready to issue more (with their OCSP URLs). */
  readonly authorities: Readonly<Record<string, CertificateAuthority>>;
  readonly trustAnchors: TrustAnchors & { readonly v2g: readonly x509.X509Certificate[]; readonly mo: readonly x509.X509Certificate[]; readonly oem: readonly x509.X509Certificate[] };
  readonly secc: TestCertificate;
  readonly cps: TestCertificate;
  readonly provisioning: readonly TestCertificate[];
  readonly contracts: readonly TestCertificate[];
  /** A contract under MO Sub-CA 1 issued by the V2G root, as in Hubject's PKI. */
  readonly v2gContract: TestCertificate;
}

/** Builds a fresh test PKI with new keys, every certificate in its role's profile. */
export async function createTestPki(options: TestPkiOptions = {}): Promise<TestPki> {
  const organization = options.organization ?? 'Open PnC Test';
  const country = options.country ?? 'DE';
  const ocspBaseUrl = (options.ocspBaseUrl ?? 'http://localhost:8080/ocsp').replace(/\/$/, '');
  const notBefore = options.notBefore ?? new Date(Date.now() - 60_000);
  const certificates: TestCertificate[] = [];
  const authorities: Record<string, CertificateAuthority> = {};

  async function issue(name: string, role: RoleName, parent?: TestCertificate, commonName = profiles[role].defaultCommonName): Promise<TestCertificate> {
    const issued = await issueCertificate({ role, subject: { commonName, organization, country }, issuer: parent && authorities[parent.name], notBefore });
    const chain = parent ? [issued.certificate, ...parent.chain] : [];
    const entry: TestCertificate = {
      name,
      role,
      certificate: issued.certificate,
      keys: issued.keys!,
      chain,
      root: parent?.root ?? issued.certificate,
      ...(profiles[role].kind === 'leaf' && (role === 'contract' || role === 'provisioning') ? { identifier: commonName } : {}),
    };
    if (profiles[role].kind !== 'leaf') authorities[name] = { role, certificate: issued.certificate, privateKey: issued.keys!.privateKey, ocspUrl: `${ocspBaseUrl}/${name}` };
    certificates.push(entry);
    return entry;
  }
  const numbered = (prefix: string, index: number, width: number): string => `${prefix}${String(index).padStart(width, '0')}`;
  const emaid = (instance: string): string => `${country}OPN${instance}${emaidCheckDigit(`${country}OPN${instance}`)}`;

  const v2gRoot = await issue('v2g-root', 'v2gRoot');
  const cpoSubCa1 = await issue('cpo-sub-ca-1', 'cpoSubCa1', v2gRoot);
  const cpoSubCa2 = await issue('cpo-sub-ca-2', 'cpoSubCa2', cpoSubCa1);
  const secc = await issue('secc', 'secc', cpoSubCa2);
  const cpsSubCa1 = await issue('cps-sub-ca-1', 'cpsSubCa1', v2gRoot);
  const cpsSubCa2 = await issue('cps-sub-ca-2', 'cpsSubCa2', cpsSubCa1);
  const cps = await issue('cps', 'cps', cpsSubCa2);

  const oemRoot = await issue('oem-root', 'oemRoot');
  const oemSubCa1 = await issue('oem-sub-ca-1', 'oemSubCa1', oemRoot);
  const oemSubCa2 = await issue('oem-sub-ca-2', 'oemSubCa2', oemSubCa1);
  const provisioning: TestCertificate[] = [];
  for (let i = 1; i <= (options.vehicles ?? 1); i++) {
    provisioning.push(await issue(`provisioning-${i}`, 'provisioning', oemSubCa2, makePcid('OPN', numbered('V', i, 13))));
  }

  const moRoot = await issue('mo-root', 'moRoot');
  const moSubCa1 = await issue('mo-sub-ca-1', 'moSubCa1', moRoot);
  const moSubCa2 = await issue('mo-sub-ca-2', 'moSubCa2', moSubCa1);
  const contracts: TestCertificate[] = [];
  for (let i = 1; i <= (options.contracts ?? 1); i++) {
    contracts.push(await issue(`contract-${i}`, 'contract', moSubCa2, emaid(numbered('C', i, 8))));
  }

  // Other CAs than the ones under the MO root, so other names: a relying party that picks an issuer by
  // name (RFC 5280 §4.1.2.4) must not confuse the two hierarchies.
  const v2gMoSubCa1 = await issue('v2g-mo-sub-ca-1', 'moSubCa1', v2gRoot, `${profiles.moSubCa1.defaultCommonName} V2G`);
  const v2gMoSubCa2 = await issue('v2g-mo-sub-ca-2', 'moSubCa2', v2gMoSubCa1, `${profiles.moSubCa2.defaultCommonName} V2G`);
  const v2gContract = await issue('v2g-contract-1', 'contract', v2gMoSubCa2, emaid(numbered('H', 1, 8)));

  return {
    certificates,
    authorities,
    trustAnchors: { v2g: [v2gRoot.certificate], mo: [moRoot.certificate], oem: [oemRoot.certificate] },
    secc,
    cps,
    provisioning,
    contracts,
    v2gContract,
  };
}
