// Table-driven negative corpus: each chain has exactly one defect and must get the right ISO 15118-2
// response code, evse_security result and defect; the unmodified chains of every purpose pass.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestPki, validateChain, type ChainDefect, type ChainPurpose, type EvseSecurityResult, type Iso15118ChainResult, type RevocationChecker } from '../../protocols/pki/index.ts';
import { oids } from '../../protocols/pki/der.ts';
import { dropExtension, forge, hierarchy, replaceExtension, tamper, type LevelSpec } from './forge.ts';

const DAY = 86_400_000;
const now = Date.now();
const { keyCertSign, cRLSign, digitalSignature, keyAgreement } = x509.KeyUsageFlags;

interface Scenario {
  readonly chain: readonly (x509.X509Certificate | Uint8Array)[];
  readonly roots: readonly x509.X509Certificate[] | Parameters<typeof validateChain>[1]['roots'];
  readonly at?: Date;
  readonly revocation?: RevocationChecker;
}

/** The purpose's four-level hierarchy with per-level changes (0 = root … 3 = leaf); chain leaf first. */
async function chainOf(purpose: ChainPurpose, changes: Partial<Record<0 | 1 | 2 | 3, Partial<LevelSpec>>> = {}): Promise<{ chain: x509.X509Certificate[]; root: x509.X509Certificate }> {
  const levels = await forge(hierarchy[purpose].map((role, i) => ({ role, ...changes[i as 0 | 1 | 2 | 3] })));
  return { chain: levels.slice(1).map((l) => l.certificate).reverse(), root: levels[0].certificate };
}

async function scenario(purpose: ChainPurpose, changes: Parameters<typeof chainOf>[1] = {}): Promise<Scenario> {
  const { chain, root } = await chainOf(purpose, changes);
  return { chain, roots: [root] };
}

const revokedSerial = (serial: string): RevocationChecker => async (certificate) => (certificate.serialNumber.toLowerCase() === serial ? 'revoked' : 'good');

interface Case {
  readonly name: string;
  readonly purpose: ChainPurpose;
  readonly build: () => Promise<Scenario>;
  readonly iso15118: Iso15118ChainResult;
  readonly evseSecurity: EvseSecurityResult;
  readonly defect: ChainDefect;
  readonly position?: number;
}

const chainError = { iso15118: 'FAILED_CertChainError', evseSecurity: 'InvalidChain' } as const;
const expired = { iso15118: 'FAILED_CertificateExpired', evseSecurity: 'Expired' } as const;
const ca = (pathLength?: number, critical = true) => new x509.BasicConstraintsExtension(true, pathLength, critical);
const usage = (flags: number, critical = true) => new x509.KeyUsagesExtension(flags, critical);

const cases: Case[] = [
  { name: 'expired leaf', purpose: 'secc', build: () => scenario('secc', { 3: { notBefore: new Date(now - 90 * DAY), notAfter: new Date(now - DAY) } }), ...expired, defect: 'Expired', position: 0 },
  { name: 'expired Sub-CA 2', purpose: 'contract', build: () => scenario('contract', { 2: { notBefore: new Date(now - 90 * DAY), notAfter: new Date(now - DAY) } }), ...expired, defect: 'Expired', position: 1 },
  { name: 'expired root', purpose: 'cps', build: () => scenario('cps', { 0: { notBefore: new Date(now - 90 * DAY), notAfter: new Date(now - DAY) } }), ...expired, defect: 'Expired', position: 3 },
  { name: 'chain checked after the leaf expires (--at)', purpose: 'secc', build: async () => ({ ...(await scenario('secc')), at: new Date(now + 400 * DAY) }), ...expired, defect: 'Expired', position: 0 },
  { name: 'leaf not yet valid', purpose: 'provisioning', build: () => scenario('provisioning', { 3: { notBefore: new Date(now + DAY) } }), ...expired, defect: 'NotYetValid', position: 0 },
  { name: 'Sub-CA 1 not yet valid', purpose: 'secc', build: () => scenario('secc', { 1: { notBefore: new Date(now + DAY) } }), ...expired, defect: 'NotYetValid', position: 2 },
  { name: 'SECC leaf with DC=MO', purpose: 'secc', build: () => scenario('secc', { 3: { subject: { domainComponent: 'MO' } } }), ...chainError, defect: 'DomainComponent', position: 0 },
  { name: 'SECC leaf without DC', purpose: 'secc', build: () => scenario('secc', { 3: { subject: { domainComponent: '' } } }), ...chainError, defect: 'DomainComponent', position: 0 },
  { name: 'CPS leaf with DC=CPO', purpose: 'cps', build: () => scenario('cps', { 3: { subject: { domainComponent: 'CPO' } } }), ...chainError, defect: 'DomainComponent', position: 0 },
  { name: 'contract leaf with DC=CPO', purpose: 'contract', build: () => scenario('contract', { 3: { subject: { domainComponent: 'CPO' } } }), ...chainError, defect: 'DomainComponent', position: 0 },
  { name: 'provisioning leaf with DC=MO', purpose: 'provisioning', build: () => scenario('provisioning', { 3: { subject: { domainComponent: 'MO' } } }), ...chainError, defect: 'DomainComponent', position: 0 },
  { name: 'Sub-CA 1 with pathLen 0 (pathLen violated)', purpose: 'secc', build: () => scenario('secc', { 1: { extensions: (e) => replaceExtension(e, ca(0)) } }), ...chainError, defect: 'PathLength', position: 2 },
  { name: 'Sub-CA 2 with pathLen 1', purpose: 'contract', build: () => scenario('contract', { 2: { extensions: (e) => replaceExtension(e, ca(1)) } }), ...chainError, defect: 'PathLength', position: 1 },
  { name: 'Sub-CA 2 without pathLen', purpose: 'cps', build: () => scenario('cps', { 2: { extensions: (e) => replaceExtension(e, ca(undefined)) } }), ...chainError, defect: 'PathLength', position: 1 },
  { name: 'root with pathLen 0 above two sub-CAs', purpose: 'secc', build: () => scenario('secc', { 0: { extensions: (e) => replaceExtension(e, ca(0)) } }), ...chainError, defect: 'PathLength', position: 3 },
  {
    name: 'three sub-CAs', purpose: 'secc', ...chainError, defect: 'TooManySubCas',
    build: async () => {
      const levels = await forge([{ role: 'v2gRoot' }, { role: 'cpoSubCa1', extensions: (e) => replaceExtension(e, ca(2)) }, { role: 'cpoSubCa1' }, { role: 'cpoSubCa2' }, { role: 'secc' }]);
      return { chain: levels.slice(1).map((l) => l.certificate).reverse(), roots: [levels[0].certificate] };
    },
  },
  {
    name: 'root sent at the end of the chain', purpose: 'secc', ...chainError, defect: 'TooManySubCas',
    build: async () => { const { chain, root } = await chainOf('secc'); return { chain: [...chain, root], roots: [root] }; },
  },
  { name: 'SECC leaf with keyCertSign', purpose: 'secc', build: () => scenario('secc', { 3: { extensions: (e) => replaceExtension(e, usage(digitalSignature | keyAgreement | keyCertSign)) } }), ...chainError, defect: 'KeyUsage', position: 0 },
  { name: 'SECC leaf without keyAgreement', purpose: 'secc', build: () => scenario('secc', { 3: { extensions: (e) => replaceExtension(e, usage(digitalSignature)) } }), ...chainError, defect: 'KeyUsage', position: 0 },
  { name: 'Sub-CA 2 without keyCertSign', purpose: 'contract', build: () => scenario('contract', { 2: { extensions: (e) => replaceExtension(e, usage(digitalSignature | cRLSign)) } }), ...chainError, defect: 'KeyUsage', position: 1 },
  { name: 'leaf without keyUsage', purpose: 'cps', build: () => scenario('cps', { 3: { extensions: (e) => dropExtension(e, oids.keyUsage) } }), ...chainError, defect: 'KeyUsage', position: 0 },
  { name: 'CA:true leaf', purpose: 'secc', build: () => scenario('secc', { 3: { extensions: (e) => replaceExtension(e, ca(0)) } }), ...chainError, defect: 'BasicConstraints', position: 0 },
  { name: 'Sub-CA 1 with CA:false', purpose: 'provisioning', build: () => scenario('provisioning', { 1: { extensions: (e) => replaceExtension(e, new x509.BasicConstraintsExtension(false, undefined, true)) } }), ...chainError, defect: 'BasicConstraints', position: 2 },
  { name: 'leaf without basicConstraints', purpose: 'contract', build: () => scenario('contract', { 3: { extensions: (e) => dropExtension(e, oids.basicConstraints) } }), ...chainError, defect: 'BasicConstraints', position: 0 },
  { name: 'basicConstraints not critical', purpose: 'secc', build: () => scenario('secc', { 2: { extensions: (e) => replaceExtension(e, ca(0, false)) } }), ...chainError, defect: 'NotCritical', position: 1 },
  { name: 'keyUsage not critical', purpose: 'secc', build: () => scenario('secc', { 3: { extensions: (e) => replaceExtension(e, usage(digitalSignature | keyAgreement, false)) } }), ...chainError, defect: 'NotCritical', position: 0 },
  { name: 'P-384 leaf key', purpose: 'secc', build: () => scenario('secc', { 3: { key: 'P-384' } }), ...chainError, defect: 'KeyAlgorithm', position: 0 },
  { name: 'P-384 Sub-CA 1 key', purpose: 'contract', build: () => scenario('contract', { 1: { key: 'P-384' } }), ...chainError, defect: 'KeyAlgorithm', position: 2 },
  { name: 'RSA leaf key', purpose: 'cps', build: () => scenario('cps', { 3: { key: 'RSA' } }), ...chainError, defect: 'KeyAlgorithm', position: 0 },
  { name: 'SHA-1 signature on the leaf', purpose: 'secc', build: () => scenario('secc', { 3: { hash: 'SHA-1' } }), ...chainError, defect: 'SignatureAlgorithm', position: 0 },
  { name: 'SHA-384 signature on Sub-CA 2', purpose: 'contract', build: () => scenario('contract', { 2: { hash: 'SHA-384' } }), ...chainError, defect: 'SignatureAlgorithm', position: 1 },
  {
    name: 'tampered leaf signature', purpose: 'secc', iso15118: 'FAILED_CertChainError', evseSecurity: 'InvalidLeafSignature', defect: 'LeafSignature', position: 0,
    build: async () => { const { chain, root } = await chainOf('secc'); return { chain: [tamper(chain[0], 'signature'), chain[1], chain[2]], roots: [root] }; },
  },
  {
    name: 'leaf subject altered after signing', purpose: 'contract', iso15118: 'FAILED_CertChainError', evseSecurity: 'InvalidLeafSignature', defect: 'LeafSignature', position: 0,
    build: async () => { const { chain, root } = await chainOf('contract'); return { chain: [tamper(chain[0], 'subject'), chain[1], chain[2]], roots: [root] }; },
  },
  {
    name: 'tampered Sub-CA 2 signature', purpose: 'cps', iso15118: 'FAILED_CertChainError', evseSecurity: 'InvalidSignature', defect: 'Signature', position: 1,
    build: async () => { const { chain, root } = await chainOf('cps'); return { chain: [chain[0], tamper(chain[1], 'signature'), chain[2]], roots: [root] }; },
  },
  {
    name: 'tampered Sub-CA 1 signature (checked against the root)', purpose: 'secc', iso15118: 'FAILED_CertChainError', evseSecurity: 'InvalidSignature', defect: 'Signature', position: 2,
    build: async () => { const { chain, root } = await chainOf('secc'); return { chain: [chain[0], chain[1], tamper(chain[2], 'signature')], roots: [root] }; },
  },
  {
    name: 'unknown root (SECC chain)', purpose: 'secc', iso15118: 'FAILED_CertChainError', evseSecurity: 'IssuerNotFound', defect: 'UnknownRoot', position: 3,
    build: async () => ({ chain: (await chainOf('secc')).chain, roots: [(await chainOf('secc')).root] }),
  },
  {
    name: 'unknown root (contract at the EVSE)', purpose: 'contract', iso15118: 'FAILED_CertificateNotAllowedAtThisEVSE', evseSecurity: 'IssuerNotFound', defect: 'UnknownRoot', position: 3,
    build: async () => ({ chain: (await chainOf('contract')).chain, roots: [(await chainOf('contract')).root] }),
  },
  {
    name: 'SECC chain against MO anchors only', purpose: 'secc', iso15118: 'FAILED_CertChainError', evseSecurity: 'IssuerNotFound', defect: 'UnknownRoot', position: 3,
    build: async () => { const { chain, root } = await chainOf('secc'); return { chain, roots: { mo: [root] } }; },
  },
  {
    name: 'revoked leaf (injected checker)', purpose: 'contract', iso15118: 'FAILED_CertificateRevoked', evseSecurity: 'InvalidChain', defect: 'Revoked', position: 0,
    build: async () => { const s = await scenario('contract'); return { ...s, revocation: revokedSerial((s.chain[0] as x509.X509Certificate).serialNumber.toLowerCase()) }; },
  },
  {
    name: 'revoked Sub-CA 2 (injected checker)', purpose: 'secc', iso15118: 'FAILED_CertificateRevoked', evseSecurity: 'InvalidChain', defect: 'Revoked', position: 1,
    build: async () => { const s = await scenario('secc'); return { ...s, revocation: revokedSerial((s.chain[1] as x509.X509Certificate).serialNumber.toLowerCase()) }; },
  },
  {
    name: 'wrong order (Sub-CA 1 before Sub-CA 2)', purpose: 'secc', ...chainError, defect: 'Order',
    build: async () => { const { chain, root } = await chainOf('secc'); return { chain: [chain[0], chain[2], chain[1]], roots: [root] }; },
  },
  {
    name: 'wrong order (Sub-CA 2 first)', purpose: 'contract', ...chainError, defect: 'Order',
    build: async () => { const { chain, root } = await chainOf('contract'); return { chain: [chain[1], chain[0], chain[2]], roots: [root] }; },
  },
  {
    name: 'leaf over 800 bytes', purpose: 'secc', ...chainError, defect: 'TooLarge', position: 0,
    build: () => scenario('secc', { 3: { extensions: (e) => [...e, new x509.Extension('1.3.6.1.4.1.55555.1', false, new Uint8Array([0x04, 0x81, 0xf0, ...new Uint8Array(0xf0)]))] } }),
  },
  { name: 'leaf without SKI', purpose: 'cps', build: () => scenario('cps', { 3: { extensions: (e) => dropExtension(e, oids.subjectKeyIdentifier) } }), ...chainError, defect: 'KeyIdentifier', position: 0 },
  {
    name: 'AKI does not match the issuer SKI', purpose: 'secc', ...chainError, defect: 'KeyIdentifier', position: 0,
    build: () => scenario('secc', { 3: { extensions: (e) => replaceExtension(e, new x509.AuthorityKeyIdentifierExtension('00112233445566778899aabbccddeeff00112233')) } }),
  },
  {
    name: 'unknown critical extension', purpose: 'provisioning', ...chainError, defect: 'UnknownCriticalExtension', position: 0,
    build: () => scenario('provisioning', { 3: { extensions: (e) => [...e, new x509.Extension('1.3.6.1.4.1.55555.2', true, new Uint8Array([0x05, 0x00]))] } }),
  },
  {
    name: 'trust anchor that is not a CA', purpose: 'secc', ...chainError, defect: 'BasicConstraints', position: 3,
    build: () => scenario('secc', { 0: { extensions: (e) => replaceExtension(e, new x509.BasicConstraintsExtension(false, undefined, true)) } }),
  },
  { name: 'empty chain', purpose: 'contract', build: async () => ({ chain: [], roots: [] }), iso15118: 'FAILED_NoCertificateAvailable', evseSecurity: 'Unknown', defect: 'NoCertificate' },
  {
    name: 'garbage instead of a certificate', purpose: 'contract', ...chainError, defect: 'Malformed', position: 0,
    build: async () => ({ chain: [new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x05])], roots: [] }),
  },
  {
    name: 'truncated DER', purpose: 'secc', ...chainError, defect: 'Malformed', position: 1,
    build: async () => { const { chain, root } = await chainOf('secc'); return { chain: [chain[0], new Uint8Array(chain[1].rawData).subarray(0, 200), chain[2]], roots: [root] }; },
  },
];

for (const c of cases) {
  test(`rejects: ${c.name}`, async () => {
    const s = await c.build();
    const result = await validateChain(s.chain, { purpose: c.purpose, roots: s.roots, at: s.at, revocation: s.revocation });
    assert.is(result.valid, false, result.reason);
    assert.equal({ defect: result.defect, iso15118: result.iso15118, evseSecurity: result.evseSecurity }, { defect: c.defect, iso15118: c.iso15118, evseSecurity: c.evseSecurity }, result.reason);
    if (c.position !== undefined) assert.is(result.position, c.position, result.reason);
    assert.ok(result.reason.length > 10);
  });
}

// The same forge without a change must pass, or the corpus proves nothing.
for (const purpose of Object.keys(hierarchy) as ChainPurpose[]) {
  test(`accepts the unmodified forged ${purpose} chain`, async () => {
    const s = await scenario(purpose);
    const result = await validateChain(s.chain, { purpose, roots: s.roots, revocation: async () => 'good' });
    assert.equal({ valid: result.valid, iso15118: result.iso15118, evseSecurity: result.evseSecurity }, { valid: true, iso15118: 'OK', evseSecurity: 'Valid' }, result.reason);
  });
}

test('a revocation checker that fails or says unknown does not reject (OCSP is optional while charging)', async () => {
  const s = await scenario('contract');
  for (const revocation of [async () => 'unknown' as const, async () => { throw new Error('responder down'); }]) {
    const result = await validateChain(s.chain, { purpose: 'contract', roots: s.roots, revocation });
    assert.is(result.iso15118, 'OK', result.reason);
  }
});

test('the test PKI chains validate against the anchors of their purpose, and only those', async () => {
  const pki = await createTestPki({ vehicles: 1, contracts: 1 });
  const cases: [ChainPurpose, readonly x509.X509Certificate[]][] = [
    ['secc', pki.secc.chain], ['cps', pki.cps.chain], ['provisioning', pki.provisioning[0].chain], ['contract', pki.contracts[0].chain], ['contract', pki.v2gContract.chain],
  ];
  for (const [purpose, chain] of cases) {
    const result = await validateChain(chain, { purpose, roots: pki.trustAnchors });
    assert.is(result.iso15118, 'OK', `${purpose}: ${result.reason}`);
    const wrongAnchors = await validateChain(chain, { purpose, roots: purpose === 'provisioning' ? pki.trustAnchors.v2g : pki.trustAnchors.oem });
    assert.is(wrongAnchors.defect, 'UnknownRoot', purpose);
  }
  // Hubject layout: an MO Sub-CA 1 under the V2G root is reached through the V2G anchors.
  assert.is((await validateChain(pki.v2gContract.chain, { purpose: 'contract', roots: { mo: pki.trustAnchors.mo } })).defect, 'UnknownRoot');
  // DER input gives the same answer as the parsed objects.
  const der = pki.secc.chain.map((c) => new Uint8Array(c.rawData));
  assert.is((await validateChain(der, { purpose: 'secc', roots: pki.trustAnchors })).iso15118, 'OK');
});

test('the corpus has at least 30 single-defect chains', () => {
  assert.ok(cases.length >= 30, String(cases.length));
});

test.run();
