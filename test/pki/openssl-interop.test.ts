// Chains made by the OpenSSL CLI with the test-PKI profiles of Josev (EcoG-io/iso15118
// iso15118/shared/pki/configs) and EVerest (the same configs plus AIA OCSP on the CPO sub-CAs and SECC
// leaf, roots from `req -x509`), as pki-and-crypto.md §2.1 describes them, must validate; RISE-V2G's
// ecdsa-with-SHA1 sub-CAs must not. The configs below are written from that description.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCertificateDer, validateChain, type ChainPurpose } from '../../protocols/pki/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'openpnc-interop-'));
const openssl = (...args: string[]): string => execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

interface CertSpec {
  readonly name: string;
  readonly cn: string;
  readonly dc: string;
  /** basicConstraints / keyUsage values as OpenSSL config text. */
  readonly constraints: string;
  readonly usage: string;
  readonly aia?: boolean;
  readonly issuer?: string;
  /** Decimal, or 0x-prefixed hex. */
  readonly serial: number | string;
  readonly days: number;
  readonly digest?: 'sha256' | 'sha1';
  /** The whole subject, as OpenSSL `[dn]` lines in DER order, where it is not CN, O, C, DC. */
  readonly dn?: readonly string[];
  /** An explicit subjectKeyIdentifier (hex) instead of the SHA-1 hash. */
  readonly ski?: string;
  /** More `[ext]` lines. */
  readonly extra?: readonly string[];
  readonly ocspUrl?: string;
}

interface Flavour {
  readonly organization: string;
  readonly country: string;
  readonly password: string;
  /** How roots are self-signed: Josev's `x509 -req -signkey`, or `req -x509` (EVerest). */
  readonly rootCommand: 'x509-signkey' | 'req-x509';
  /** Josev's sample certificates (OpenSSL 1.1) carry no AKI; OpenSSL 3 adds one unless told not to. */
  readonly withoutAki?: boolean;
}

const CA = 'critical,keyCertSign,cRLSign';
const sub1 = 'critical,CA:true,pathlen:1';
const sub2 = 'critical,CA:true,pathlen:0';
const rootCa = 'critical,CA:true';
const leaf = 'critical,CA:false';

function config(spec: CertSpec, flavour: Flavour): string {
  return [
    '[req]', 'prompt = no', 'distinguished_name = dn', '',
    '[dn]', ...(spec.dn ?? [`commonName = ${spec.cn}`, `organizationName = ${flavour.organization}`, `countryName = ${flavour.country}`, `domainComponent = ${spec.dc}`]), '',
    '[ext]', `basicConstraints = ${spec.constraints}`, `keyUsage = ${spec.usage}`, `subjectKeyIdentifier = ${spec.ski ?? 'hash'}`,
    ...(flavour.withoutAki ? ['authorityKeyIdentifier = none'] : []),
    ...(spec.aia ? [`authorityInfoAccess = OCSP;URI:${spec.ocspUrl ?? 'https://www.example.com/'}, caIssuers;URI:https://www.example.com/Intermediate-CA.cer`] : []),
    ...(spec.extra ?? []),
    '',
  ].join('\n');
}

/** Key, CSR and certificate of one spec with the OpenSSL CLI; returns the PEM file path. */
function make(prefix: string, spec: CertSpec, flavour: Flavour): string {
  const base = `${prefix}-${spec.name}`;
  writeFileSync(join(dir, `${base}.cnf`), config(spec, flavour));
  const pass = `pass:${flavour.password}`;
  openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-aes-128-cbc', '-pass', pass, '-out', `${base}.key`);
  const digest = `-${spec.digest ?? 'sha256'}`;
  const common = ['-extfile', `${base}.cnf`, '-extensions', 'ext', '-passin', pass, digest, '-set_serial', String(spec.serial), '-days', String(spec.days), '-out', `${base}.pem`];
  if (!spec.issuer && flavour.rootCommand === 'req-x509') {
    openssl('req', '-new', '-x509', '-key', `${base}.key`, '-passin', pass, '-config', `${base}.cnf`, '-extensions', 'ext', digest, '-set_serial', String(spec.serial), '-days', String(spec.days), '-out', `${base}.pem`);
    return join(dir, `${base}.pem`);
  }
  openssl('req', '-new', '-key', `${base}.key`, '-passin', pass, '-config', `${base}.cnf`, '-out', `${base}.csr`);
  if (!spec.issuer) openssl('x509', '-req', '-in', `${base}.csr`, '-signkey', `${base}.key`, ...common);
  else openssl('x509', '-req', '-in', `${base}.csr`, '-CA', `${prefix}-${spec.issuer}.pem`, '-CAkey', `${prefix}-${spec.issuer}.key`, ...common);
  return join(dir, `${base}.pem`);
}

/** The four hierarchies with Josev's names, serials 12345…12359, validity days and extensions. */
function josevSpecs(cpoAia: boolean): Record<string, CertSpec[]> {
  return {
    v2g: [
      { name: 'v2g-root', cn: 'V2GRootCA', dc: 'V2G', constraints: rootCa, usage: CA, serial: 12345, days: 3650 },
      { name: 'cpo-sub1', cn: 'CPOSubCA1', dc: 'V2G', constraints: sub1, usage: CA, issuer: 'v2g-root', serial: 12346, days: 1460, aia: cpoAia },
      { name: 'cpo-sub2', cn: 'CPOSubCA2', dc: 'V2G', constraints: sub2, usage: CA, issuer: 'cpo-sub1', serial: 12347, days: 365, aia: cpoAia },
      { name: 'secc', cn: 'SECCCert', dc: 'CPO', constraints: leaf, usage: 'critical,digitalSignature,keyAgreement', issuer: 'cpo-sub2', serial: 12348, days: 60, aia: cpoAia },
      { name: 'cps-sub1', cn: 'ProvSubCA1', dc: 'CPS', constraints: sub1, usage: CA, issuer: 'v2g-root', serial: 12357, days: 1460 },
      { name: 'cps-sub2', cn: 'ProvSubCA2', dc: 'CPS', constraints: sub2, usage: CA, issuer: 'cps-sub1', serial: 12358, days: 730 },
      { name: 'cps', cn: 'CPS Leaf', dc: 'CPS', constraints: leaf, usage: 'critical,digitalSignature', issuer: 'cps-sub2', serial: 12359, days: 90 },
    ],
    oem: [
      { name: 'oem-root', cn: 'OEMRootCA', dc: 'OEM', constraints: rootCa, usage: CA, serial: 12349, days: 3650 },
      { name: 'oem-sub1', cn: 'OEMSubCA1', dc: 'OEM', constraints: sub1, usage: CA, issuer: 'oem-root', serial: 12350, days: 1460 },
      { name: 'oem-sub2', cn: 'OEMSubCA2', dc: 'OEM', constraints: sub2, usage: CA, issuer: 'oem-sub1', serial: 12351, days: 1460 },
      { name: 'oem-leaf', cn: 'OEMProvCert', dc: 'OEM', constraints: leaf, usage: 'critical,digitalSignature,keyAgreement', issuer: 'oem-sub2', serial: 12352, days: 1460 },
    ],
    mo: [
      { name: 'mo-root', cn: 'MORootCA', dc: 'MO', constraints: rootCa, usage: CA, serial: 12353, days: 3650, aia: true },
      { name: 'mo-sub1', cn: 'PKI-Ext_CRT_MO_SUB1_VALID', dc: 'MO', constraints: sub1, usage: CA, issuer: 'mo-root', serial: 12354, days: 1460, aia: true },
      { name: 'mo-sub2', cn: 'PKI-Ext_CRT_MO_SUB2_VALID', dc: 'MO', constraints: sub2, usage: 'critical,digitalSignature,nonRepudiation,keyCertSign,cRLSign', issuer: 'mo-sub1', serial: 12355, days: 1460, aia: true },
      { name: 'contract', cn: 'UKSWI123456791A', dc: 'MO', constraints: leaf, usage: 'critical,digitalSignature,nonRepudiation,keyEncipherment,keyAgreement', issuer: 'mo-sub2', serial: 12356, days: 730, aia: true },
    ],
  };
}

const chainsToCheck: [ChainPurpose, string, string[]][] = [
  ['secc', 'v2g-root', ['secc', 'cpo-sub2', 'cpo-sub1']],
  ['cps', 'v2g-root', ['cps', 'cps-sub2', 'cps-sub1']],
  ['provisioning', 'oem-root', ['oem-leaf', 'oem-sub2', 'oem-sub1']],
  ['contract', 'mo-root', ['contract', 'mo-sub2', 'mo-sub1']],
];

const der = (path: string): Uint8Array => {
  const pem = readFileSync(path, 'utf8');
  return new Uint8Array(Buffer.from(pem.replace(/-----[A-Z ]+-----|\s+/g, ''), 'base64'));
};

function buildAndValidate(prefix: string, flavour: Flavour, cpoAia: boolean) {
  const files: Record<string, string> = {};
  for (const specs of Object.values(josevSpecs(cpoAia))) for (const spec of specs) files[spec.name] = make(prefix, spec, flavour);
  return Promise.all(chainsToCheck.map(async ([purpose, root, names]) => {
    const result = await validateChain(names.map((n) => der(files[n])), { purpose, roots: [der(files[root])] });
    return { purpose, result, files };
  }));
}

test('Josev test-PKI chains (openssl x509 -req, no AKI, serials 12345…) validate', async () => {
  const results = await buildAndValidate('josev', { organization: 'Switch', country: 'UK', password: '12345', rootCommand: 'x509-signkey', withoutAki: true }, false);
  for (const { purpose, result } of results) assert.equal({ purpose, iso15118: result.iso15118 }, { purpose, iso15118: 'OK' }, result.reason);
  const text = openssl('x509', '-in', results[0].files.secc, '-noout', '-text');
  assert.not.match(text, 'Authority Key Identifier'); // the profile really lacks AKI, which the validator must tolerate
});

test('EVerest test-PKI chains (req -x509 roots, AIA on the CPO branch) validate', async () => {
  const results = await buildAndValidate('everest', { organization: 'Pionix', country: 'DE', password: '123456', rootCommand: 'req-x509' }, true);
  for (const { purpose, result } of results) assert.equal({ purpose, iso15118: result.iso15118 }, { purpose, iso15118: 'OK' }, result.reason);
  assert.match(openssl('x509', '-in', results[0].files['cpo-sub2'], '-noout', '-text'), 'OCSP - URI:https://www.example.com/');
  // The chains OpenSSL made also pass OpenSSL's own check, so both sides agree.
  const f = results[0].files;
  writeFileSync(join(dir, 'everest-untrusted.pem'), readFileSync(f['cpo-sub2'], 'utf8') + readFileSync(f['cpo-sub1'], 'utf8'));
  assert.match(openssl('verify', '-CAfile', f['v2g-root'], '-untrusted', join(dir, 'everest-untrusted.pem'), f.secc), ': OK');
});

test('RISE-V2G style chain with ecdsa-with-SHA1 sub-CAs (made by openssl -sha1) is rejected', async () => {
  const flavour: Flavour = { organization: 'RISE V2G Project', country: 'DE', password: '123456', rootCommand: 'x509-signkey' };
  const specs = josevSpecs(false).mo.map((spec) => (spec.issuer ? { ...spec, digest: 'sha1' as const } : spec));
  const files = Object.fromEntries(specs.map((spec) => [spec.name, make('rise', spec, flavour)]));
  assert.match(openssl('x509', '-in', files.contract, '-noout', '-text'), 'Signature Algorithm: ecdsa-with-SHA1');
  const result = await validateChain(['contract', 'mo-sub2', 'mo-sub1'].map((n) => der(files[n])), { purpose: 'contract', roots: [der(files['mo-root'])] });
  assert.equal({ iso15118: result.iso15118, defect: result.defect }, { iso15118: 'FAILED_CertChainError', defect: 'SignatureAlgorithm' }, result.reason);
});

test('a Hubject-profile PKI (OpenSSL): V2G root with EKU OCSPSigning and policies, MO Sub-CA 1 under it, no DC on sub-CAs, 8-byte key IDs', async () => {
  const flavour: Flavour = { organization: 'Hubject GmbH', country: 'DE', password: 'qa', rootCommand: 'req-x509' };
  const serial = () => `0x${(0x40 | (randomBytes(1)[0] & 0x3f)).toString(16)}${randomBytes(15).toString('hex')}`;
  const ski = () => randomBytes(8).toString('hex').toUpperCase();
  const noDc = (cn: string) => ['countryName = DE', 'organizationName = Hubject GmbH', `commonName = ${cn}`];
  const ocsp = { aia: true, ocspUrl: 'http://ocsp-qa.hubject.example:8080' };
  const specs: CertSpec[] = [
    {
      name: 'root', cn: 'V2G Root CA QA G1', dc: 'V2G', dn: ['countryName = DE', 'organizationName = Hubject GmbH', 'domainComponent = V2G', 'commonName = V2G Root CA QA G1'],
      constraints: rootCa, usage: CA, serial: serial(), days: 40 * 365 + 10, ski: ski(),
      extra: ['extendedKeyUsage = OCSPSigning', 'certificatePolicies = 1.3.6.1.4.1.41525.1.2.1.0'],
    },
    { name: 'cpo-sub1', cn: 'CPO Sub1 CA QA G1.2', dc: '', dn: noDc('CPO Sub1 CA QA G1.2'), constraints: sub1, usage: CA, issuer: 'root', serial: serial(), days: 4 * 365, ski: ski(), ...ocsp },
    { name: 'cpo-sub2', cn: 'CPO Sub2 CA QA G1.2.1', dc: '', dn: noDc('CPO Sub2 CA QA G1.2.1'), constraints: sub2, usage: CA, issuer: 'cpo-sub1', serial: serial(), days: 2 * 365, ski: ski(), ...ocsp },
    {
      name: 'secc', cn: 'DE*ICE*E45B*78C', dc: 'CPO', dn: ['commonName = DE*ICE*E45B*78C', 'organizationName = ICE Charging', 'countryName = DE', 'domainComponent = CPO'],
      constraints: leaf, usage: 'critical,digitalSignature,keyAgreement', issuer: 'cpo-sub2', serial: serial(), days: 60, ski: ski(), ...ocsp,
    },
    { name: 'mo-sub1', cn: 'MO Sub1 CA QA G1.2', dc: '', dn: noDc('MO Sub1 CA QA G1.2'), constraints: sub1, usage: CA, issuer: 'root', serial: serial(), days: 20 * 365, ski: ski(), ...ocsp },
    {
      name: 'mo-sub2', cn: 'MO Sub2 CA QA G1.2.1', dc: '', dn: noDc('MO Sub2 CA QA G1.2.1'), constraints: sub2,
      usage: 'critical,digitalSignature,nonRepudiation,keyCertSign,cRLSign', issuer: 'mo-sub1', serial: serial(), days: 10 * 365, ski: ski(), ...ocsp,
    },
    {
      name: 'contract', cn: 'EMP77TWTW00002', dc: '', dn: ['organizationName = Hubject', 'commonName = EMP77TWTW00002'], constraints: leaf,
      usage: 'critical,digitalSignature,nonRepudiation,keyEncipherment,keyAgreement', issuer: 'mo-sub2', serial: serial(), days: 270, ski: ski(), ...ocsp,
    },
  ];
  const files = Object.fromEntries(specs.map((spec) => [spec.name, make('hubject', spec, flavour)]));
  const rootText = openssl('x509', '-in', files.root, '-noout', '-text');
  assert.match(rootText, 'OCSP Signing');
  assert.match(rootText, /Not After : .* 20[5-9]\d GMT/); // GeneralizedTime
  assert.match(openssl('x509', '-in', files.contract, '-noout', '-subject'), 'subject=O = Hubject, CN = EMP77TWTW00002');
  const contractFields = parseCertificateDer(der(files.contract));
  assert.equal([contractFields.subjectKeyIdentifier?.length, contractFields.authorityKeyIdentifier?.length, contractFields.serialNumber.length], [16, 16, 32]);
  const roots = { v2g: [der(files.root)] };
  const contract = await validateChain(['contract', 'mo-sub2', 'mo-sub1'].map((n) => der(files[n])), { purpose: 'contract', roots });
  assert.is(contract.iso15118, 'OK', contract.reason);
  const secc = await validateChain(['secc', 'cpo-sub2', 'cpo-sub1'].map((n) => der(files[n])), { purpose: 'secc', roots });
  assert.is(secc.iso15118, 'OK', secc.reason);
  // Only MO anchors at the charger: the Hubject contract is not this EVSE's (EVerest/EVerest #1202).
  const moOnly = await validateChain(['contract', 'mo-sub2', 'mo-sub1'].map((n) => der(files[n])), { purpose: 'contract', roots: { mo: [] } });
  assert.is(moOnly.iso15118, 'FAILED_CertificateNotAllowedAtThisEVSE');
});

test('the published RISE-V2G certificates (vectors/crypto, ecdsa-with-SHA1) are read and rejected for their algorithm', async () => {
  const vectors = new URL('../../../shared/vectors/crypto/rise-certificate-installation/', import.meta.url).pathname;
  const load = (name: string) => der(join(vectors, name));
  const at = new Date('2018-09-01T00:00:00Z'); // inside every certificate's validity
  const cps = await validateChain(['cpsLeafCert.pem', 'cpsSubCA2Cert.pem', 'cpsSubCA1Cert.pem'].map(load), { purpose: 'cps', roots: [load('v2gRootCACert.pem')], at });
  assert.equal({ iso15118: cps.iso15118, defect: cps.defect, position: cps.position }, { iso15118: 'FAILED_CertChainError', defect: 'SignatureAlgorithm', position: 0 }, cps.reason);
  assert.match(cps.reason, '1.2.840.10045.4.1'); // ecdsa-with-SHA1
  // The profile is checked before the anchor: the unpublished MO root does not mask the SHA-1 defect.
  const contract = await validateChain(['contractCert.pem', 'moSubCA2Cert.pem', 'moSubCA1Cert.pem'].map(load), { purpose: 'contract', roots: [load('v2gRootCACert.pem')], at });
  assert.is(contract.defect, 'SignatureAlgorithm', contract.reason);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
