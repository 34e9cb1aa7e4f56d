// ISO 15118-2 certificate profiles for every role of the Plug&Charge PKI
// (pki-and-crypto.md §1–§4; [V2G2-006] ecdsa-with-SHA256, [V2G2-007] secp256r1, [V2G2-009] leaf + 2 sub-CAs,
// [V2G2-010] DER ≤ 800 bytes; keyUsage and basicConstraints critical in every profile).
import { keyUsageBits } from './der.ts';

export type RoleName =
  | 'v2gRoot' | 'cpoSubCa1' | 'cpoSubCa2' | 'secc'
  | 'cpsSubCa1' | 'cpsSubCa2' | 'cps'
  | 'oemRoot' | 'oemSubCa1' | 'oemSubCa2' | 'provisioning'
  | 'moRoot' | 'moSubCa1' | 'moSubCa2' | 'contract';

/** What a chain is validated for; picks the leaf role and the trust anchors. */
export type ChainPurpose = 'secc' | 'cps' | 'contract' | 'provisioning';

export type DomainComponent = 'V2G' | 'CPO' | 'CPS' | 'OEM' | 'MO';

export type ProfileKind = 'root' | 'subCa1' | 'subCa2' | 'leaf';

export interface CertificateProfile {
  readonly role: RoleName;
  readonly kind: ProfileKind;
  /** The DC written into the subject by default. */
  readonly domainComponent: DomainComponent;
  /** Leafs whose relying party requires the DC ([V2G2-925]: DC=CPO on the SECC leaf, DC=CPS on the CPS leaf); elsewhere it is optional but, when present, must be the role's. */
  readonly domainComponentRequired: boolean;
  /** basicConstraints pathLenConstraint; undefined for roots (unbounded) and leafs (CA:false). */
  readonly pathLength?: number;
  /** keyUsage bits written at issuance (KeyUsageFlags values). */
  readonly keyUsage: number;
  /** keyUsage bits a relying party insists on. */
  readonly requiredKeyUsage: number;
  readonly validityDays: number;
  /** Whether the certificate carries an AIA OCSP URL (that of its issuer's responder). */
  readonly ocsp: boolean;
  /** Roles allowed to sign this one; empty for self-signed roots. */
  readonly issuers: readonly RoleName[];
  readonly defaultCommonName: string;
}

const { digitalSignature, nonRepudiation, keyEncipherment, keyAgreement, keyCertSign, cRLSign } = keyUsageBits;
const caUsage = keyCertSign | cRLSign;
const YEAR = 365;

function root(role: RoleName, domainComponent: DomainComponent, defaultCommonName: string): CertificateProfile {
  // Roots live 40 years (Hubject V2G root; RISE-V2G for OEM and MO roots).
  return { role, kind: 'root', domainComponent, domainComponentRequired: false, keyUsage: caUsage, requiredKeyUsage: keyCertSign, validityDays: 40 * YEAR + 10, ocsp: false, issuers: [], defaultCommonName };
}

function subCa(role: RoleName, kind: 'subCa1' | 'subCa2', domainComponent: DomainComponent, issuers: RoleName[], validityDays: number, defaultCommonName: string, keyUsage = caUsage): CertificateProfile {
  return { role, kind, domainComponent, domainComponentRequired: false, pathLength: kind === 'subCa1' ? 1 : 0, keyUsage, requiredKeyUsage: keyCertSign, validityDays, ocsp: true, issuers, defaultCommonName };
}

function leaf(role: RoleName, domainComponent: DomainComponent, issuer: RoleName, keyUsage: number, requiredKeyUsage: number, validityDays: number, defaultCommonName: string, domainComponentRequired = false): CertificateProfile {
  return { role, kind: 'leaf', domainComponent, domainComponentRequired, keyUsage, requiredKeyUsage, validityDays, ocsp: true, issuers: [issuer], defaultCommonName };
}

/** Every role of the hierarchy, keyed by role name. Validity follows the ranges in pki-and-crypto.md §4. */
export const profiles: Readonly<Record<RoleName, CertificateProfile>> = {
  v2gRoot: root('v2gRoot', 'V2G', 'V2GRootCA'),
  cpoSubCa1: subCa('cpoSubCa1', 'subCa1', 'V2G', ['v2gRoot'], 4 * YEAR, 'CPOSubCA1'),
  cpoSubCa2: subCa('cpoSubCa2', 'subCa2', 'V2G', ['cpoSubCa1'], YEAR, 'CPOSubCA2'),
  secc: leaf('secc', 'CPO', 'cpoSubCa2', digitalSignature | keyAgreement, digitalSignature | keyAgreement, 60, 'SECCCert', true),
  cpsSubCa1: subCa('cpsSubCa1', 'subCa1', 'CPS', ['v2gRoot'], 4 * YEAR, 'CPSSubCA1'),
  cpsSubCa2: subCa('cpsSubCa2', 'subCa2', 'CPS', ['cpsSubCa1'], 2 * YEAR, 'CPSSubCA2'),
  cps: leaf('cps', 'CPS', 'cpsSubCa2', digitalSignature, digitalSignature, 90, 'CPSLeaf', true),
  oemRoot: root('oemRoot', 'OEM', 'OEMRootCA'),
  oemSubCa1: subCa('oemSubCa1', 'subCa1', 'OEM', ['oemRoot'], 4 * YEAR, 'OEMSubCA1'),
  oemSubCa2: subCa('oemSubCa2', 'subCa2', 'OEM', ['oemSubCa1'], 4 * YEAR, 'OEMSubCA2'),
  provisioning: leaf('provisioning', 'OEM', 'oemSubCa2', digitalSignature | keyAgreement, digitalSignature | keyAgreement, 4 * YEAR, 'OPNVEHICLE0000001'),
  moRoot: root('moRoot', 'MO', 'MORootCA'),
  // Hubject issues MO Sub-CA 1 from the V2G root (pki-and-crypto.md §1.1).
  moSubCa1: subCa('moSubCa1', 'subCa1', 'MO', ['moRoot', 'v2gRoot'], 4 * YEAR, 'MOSubCA1'),
  moSubCa2: subCa('moSubCa2', 'subCa2', 'MO', ['moSubCa1'], 4 * YEAR, 'MOSubCA2', digitalSignature | nonRepudiation | caUsage),
  contract: leaf('contract', 'MO', 'moSubCa2', digitalSignature | nonRepudiation | keyEncipherment | keyAgreement, digitalSignature | keyAgreement, 2 * YEAR, 'DEOPNC00000001'),
};

/** The leaf role a chain of each purpose ends in. */
export const leafRoleOf: Readonly<Record<ChainPurpose, RoleName>> = {
  secc: 'secc',
  cps: 'cps',
  contract: 'contract',
  provisioning: 'provisioning',
};

/** Certificates above this size do not fit `certificateType` (base64Binary maxLength 800) [V2G2-010]. */
export const MAX_CERTIFICATE_BYTES = 800;

/** Leaf + Sub-CA 2 + Sub-CA 1 [V2G2-009]. */
export const MAX_SUB_CAS = 2;
