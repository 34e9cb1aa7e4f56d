// Issuance: roots, sub-CAs, leafs and CSRs come out in their role's profile or are refused with a typed error.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTestPki, generateKeyPair, issueCertificate, ISSUE_BACKDATE_MS, issueFromCsr, IssuanceError, parseCertificateDer, profiles, revocationRecord, signingAlgorithm, validateChain,
  type CertificateAuthority, type CryptoKeyPair, type IssueOptions, type RoleName,
} from '../../protocols/pki/index.ts';

const pki = await createTestPki();
const ca = (name: string): CertificateAuthority => pki.authorities[name];
const dir = mkdtempSync(join(tmpdir(), 'openpnc-issue-'));

async function refused(action: () => Promise<unknown>, code: string): Promise<IssuanceError> {
  try {
    await action();
  } catch (error) {
    assert.instance(error, IssuanceError);
    assert.is((error as IssuanceError).code, code, (error as Error).message);
    return error as IssuanceError;
  }
  assert.unreachable(`expected IssuanceError ${code}`);
  throw new Error('unreachable');
}

async function csrOf(name: x509.JsonNameParams, keys?: CryptoKeyPair): Promise<x509.Pkcs10CertificateRequest> {
  return x509.Pkcs10CertificateRequestGenerator.create({ name: new x509.Name(name), keys: keys ?? (await generateKeyPair()), signingAlgorithm });
}

test('a root is self-signed with a random positive 16-byte serial and its role profile', async () => {
  const { certificate, keys } = await issueCertificate({ role: 'v2gRoot', subject: { commonName: 'Test Root', organization: 'Open PnC', country: 'DE' } });
  assert.ok(keys);
  assert.is(certificate.subject, 'CN=Test Root, O=Open PnC, C=DE, DC=V2G');
  assert.ok(await certificate.isSelfSigned());
  const parsed = parseCertificateDer(new Uint8Array(certificate.rawData));
  assert.match(parsed.serialNumber, /^[4-7][0-9a-f]{31}$/);
  assert.equal(parsed.basicConstraints, { critical: true, ca: true, pathLength: undefined });
  assert.is(parsed.keyUsage?.flags, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
  assert.is(parsed.subjectKeyIdentifier, parsed.authorityKeyIdentifier);
  assert.ok(parsed.notAfter - parsed.notBefore >= 40 * 365 * 86_400_000);
  const serials = new Set(await Promise.all(Array.from({ length: 5 }, async () => (await issueCertificate({ role: 'oemRoot', subject: { commonName: 'R' } })).certificate.serialNumber)));
  assert.is(serials.size, 5);
});

test('issuers are restricted per role; the MO Sub-CA 1 may come from an MO or a V2G root', async () => {
  await refused(() => issueCertificate({ role: 'secc', subject: { commonName: 'SECC' }, issuer: ca('cpo-sub-ca-1') }), 'IssuerNotAllowed');
  await refused(() => issueCertificate({ role: 'contract', subject: { commonName: 'DEOPNC000000099' }, issuer: ca('cpo-sub-ca-2') }), 'IssuerNotAllowed');
  await refused(() => issueCertificate({ role: 'moSubCa1', subject: { commonName: 'MO1' }, issuer: ca('oem-root') }), 'IssuerNotAllowed');
  await refused(() => issueCertificate({ role: 'cpoSubCa1', subject: { commonName: 'CPO1' } }), 'IssuerNotAllowed');
  await refused(() => issueCertificate({ role: 'v2gRoot', subject: { commonName: 'R' }, issuer: ca('v2g-root') }), 'IssuerNotAllowed');
  for (const root of ['v2g-root', 'mo-root']) {
    const issued = await issueCertificate({ role: 'moSubCa1', subject: { commonName: `MO Sub1 via ${root}` }, issuer: ca(root) });
    assert.is(issued.certificate.issuer, ca(root).certificate.subject);
  }
});

test('DN rules: DC of the role, EMAID as contract CN, PCID as provisioning CN', async () => {
  await refused(() => issueCertificate({ role: 'secc', subject: { commonName: 'SECC', domainComponent: 'MO' }, issuer: ca('cpo-sub-ca-2') }), 'DomainComponentNotAllowed');
  await refused(() => issueCertificate({ role: 'contract', subject: { commonName: 'not an emaid' }, issuer: ca('mo-sub-ca-2') }), 'SubjectNotAllowed');
  await refused(() => issueCertificate({ role: 'contract', subject: { commonName: 'UKSWI123456791A' }, issuer: ca('mo-sub-ca-2') }), 'SubjectNotAllowed'); // wrong check digit
  await refused(() => issueCertificate({ role: 'provisioning', subject: { commonName: 'OEMProvCert' }, issuer: ca('oem-sub-ca-2') }), 'SubjectNotAllowed');
  await refused(() => issueCertificate({ role: 'secc', subject: { commonName: '' }, issuer: ca('cpo-sub-ca-2') }), 'SubjectNotAllowed');
  const contract = await issueCertificate({ role: 'contract', subject: { commonName: 'EMP77TWTW00002', organization: 'Hubject' }, issuer: ca('mo-sub-ca-2') });
  assert.is(contract.certificate.subject, 'CN=EMP77TWTW00002, O=Hubject, DC=MO');
});

test('a certificate over 800 bytes is refused with CertificateTooLarge, a P-384 key with KeyNotAllowed', async () => {
  const error = await refused(() => issueCertificate({ role: 'secc', subject: { commonName: 'SECC', organization: 'O'.repeat(300) }, issuer: ca('cpo-sub-ca-2') }), 'CertificateTooLarge');
  assert.ok((error.data as { bytes: number }).bytes > 800);
  const p384 = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  await refused(() => issueCertificate({ role: 'secc', subject: { commonName: 'SECC' }, issuer: ca('cpo-sub-ca-2'), publicKey: p384.publicKey }), 'KeyNotAllowed');
});

test('without a notBefore, a certificate is valid from ISSUE_BACKDATE_MS before its issuance (clock skew between parties)', async () => {
  const before = Date.now();
  const secc = await issueCertificate({ role: 'secc', subject: { commonName: 'SECC' }, issuer: ca('cpo-sub-ca-2') });
  const after = Date.now();
  // X.509 times have whole seconds.
  assert.ok(secc.certificate.notBefore.getTime() >= Math.floor((before - ISSUE_BACKDATE_MS) / 1000) * 1000);
  assert.ok(secc.certificate.notBefore.getTime() <= after - ISSUE_BACKDATE_MS);
});

test('validity: the role default from notBefore, never beyond the issuer', async () => {
  const notBefore = new Date('2027-01-01T00:00:00Z');
  const secc = await issueCertificate({ role: 'secc', subject: { commonName: 'SECC' }, issuer: ca('cpo-sub-ca-2'), notBefore });
  assert.is(secc.certificate.notAfter.getTime() - notBefore.getTime(), 60 * 86_400_000);
  const late = await issueCertificate({ role: 'secc', subject: { commonName: 'SECC' }, issuer: ca('cpo-sub-ca-2'), validityDays: 5000 } satisfies IssueOptions);
  assert.is(late.certificate.notAfter.getTime(), ca('cpo-sub-ca-2').certificate.notAfter.getTime());
});

test('a SECC CSR signed by CPO Sub-CA 2 must carry DC=CPO; the subject is rebuilt as CN, O, C, DC', async () => {
  const issuer = ca('cpo-sub-ca-2');
  const keys = await generateKeyPair();
  const csr = await csrOf([{ DC: ['CPO'] }, { C: ['DE'] }, { O: ['Charge GmbH'] }, { CN: ['DE*ICE*E45B*78C'] }], keys);
  const certificate = await issueFromCsr({ role: 'secc', csr: csr.toString('pem'), issuer });
  assert.is(certificate.subject, 'CN=DE*ICE*E45B*78C, O=Charge GmbH, C=DE, DC=CPO');
  const result = await validateChain([certificate, ...pki.secc.chain.slice(1)], { purpose: 'secc', roots: pki.trustAnchors });
  assert.is(result.iso15118, 'OK', result.reason);
  const requested = new Uint8Array(await webcrypto.subtle.exportKey('spki', keys.publicKey));
  assert.ok(Buffer.from(new Uint8Array(certificate.publicKey.rawData)).equals(requested), 'the certificate certifies the CSR key');

  await refused(async () => issueFromCsr({ role: 'secc', csr: await csrOf([{ CN: ['SECC'] }, { O: ['Charge GmbH'] }]), issuer }), 'DomainComponentNotAllowed');
  await refused(async () => issueFromCsr({ role: 'secc', csr: await csrOf([{ CN: ['SECC'] }, { DC: ['MO'] }]), issuer }), 'DomainComponentNotAllowed');
  await refused(async () => issueFromCsr({ role: 'secc', csr: await csrOf([{ CN: ['SECC'] }, { OU: ['Ops'] }, { DC: ['CPO'] }]), issuer }), 'SubjectNotAllowed');
  await refused(async () => issueFromCsr({ role: 'secc', csr: await csrOf([{ O: ['No CN'] }, { DC: ['CPO'] }]), issuer }), 'SubjectNotAllowed');
  await refused(async () => issueFromCsr({ role: 'secc', csr: await csrOf([{ CN: ['A'] }, { CN: ['B'] }, { DC: ['CPO'] }]), issuer }), 'SubjectNotAllowed');
  await refused(async () => issueFromCsr({ role: 'cps', csr: await csrOf([{ CN: ['CPS'] }, { DC: ['CPS'] }]), issuer }), 'IssuerNotAllowed');
  await refused(async () => issueFromCsr({ role: 'secc', csr: new Uint8Array([1, 2, 3]), issuer }), 'CsrMalformed');
});

test('a CSR whose signature does not verify, or with a P-384 key, is refused', async () => {
  const issuer = ca('cpo-sub-ca-2');
  const csr = await csrOf([{ CN: ['SECC'] }, { DC: ['CPO'] }]);
  const der = new Uint8Array(csr.rawData.slice(0));
  der[der.length - 5] ^= 0x01;
  await refused(() => issueFromCsr({ role: 'secc', csr: der, issuer }), 'CsrSignatureInvalid');
  const p384 = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr384 = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=SECC, DC=CPO', keys: p384, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' } });
  await refused(() => issueFromCsr({ role: 'secc', csr: csr384, issuer }), 'KeyNotAllowed');
});

test('a CSR made by the OpenSSL CLI becomes a certificate OpenSSL verifies', async () => {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  run('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', 'secc.key');
  run('req', '-new', '-key', 'secc.key', '-subj', '/CN=DE*ICE*E1234/O=Charge GmbH/C=DE/DC=CPO', '-out', 'secc.csr');
  const certificate = await issueFromCsr({ role: 'secc', csr: readFileSync(join(dir, 'secc.csr')), issuer: ca('cpo-sub-ca-2') });
  writeFileSync(join(dir, 'secc.pem'), certificate.toString('pem'));
  writeFileSync(join(dir, 'root.pem'), pki.trustAnchors.v2g[0].toString('pem'));
  writeFileSync(join(dir, 'untrusted.pem'), pki.secc.chain.slice(1).map((c) => c.toString('pem')).join('\n'));
  assert.is(run('verify', '-x509_strict', '-CAfile', 'root.pem', '-untrusted', 'untrusted.pem', 'secc.pem').trim(), 'secc.pem: OK');
  assert.ok(run('x509', '-in', 'secc.pem', '-noout', '-pubkey') === run('pkey', '-in', 'secc.key', '-pubout'));
});

test('revocation records carry the serial as lowercase hex without leading zeros', async () => {
  const contract = pki.contracts[0].certificate;
  const at = new Date('2026-05-01T12:00:00Z');
  const record = revocationRecord(contract, { reason: 'keyCompromise', revokedAt: at });
  writeFileSync(join(dir, 'contract.pem'), contract.toString('pem'));
  const opensslSerial = execFileSync('openssl', ['x509', '-in', join(dir, 'contract.pem'), '-noout', '-serial'], { encoding: 'utf8' }).trim().replace('serial=', '');
  assert.equal(record, { serialNumber: opensslSerial.toLowerCase().replace(/^0+/, ''), revokedAt: at, reason: 'keyCompromise' });
  const before = Date.now();
  const plain = revocationRecord(pki.secc.certificate);
  const after = Date.now();
  assert.equal(Object.keys(plain).sort(), ['revokedAt', 'serialNumber']);
  const revokedAt = plain.revokedAt.getTime();
  assert.ok(before <= revokedAt && revokedAt <= after, 'revokedAt defaults to the time of the call'); // bounds taken around the call: no allowance for speed
  // A record revokes exactly that certificate when a checker looks serials up.
  const revoked = new Set([record.serialNumber]);
  const result = await validateChain(pki.contracts[0].chain, { purpose: 'contract', roots: pki.trustAnchors, revocation: async (c) => (revoked.has(c.serialNumber.toLowerCase()) ? 'revoked' : 'good') });
  assert.is(result.iso15118, 'FAILED_CertificateRevoked');
});

test('every certificate of the test PKI carries exactly its role profile', () => {
  const seen = new Set<RoleName>();
  for (const entry of pki.certificates) {
    const profile = profiles[entry.role];
    const parsed = parseCertificateDer(new Uint8Array(entry.certificate.rawData));
    const issuer = parseCertificateDer(new Uint8Array((entry.chain[1] ?? entry.root).rawData));
    const what = `${entry.name} (${entry.role})`;
    seen.add(entry.role);
    assert.ok(parsed.der.length <= 800, what);
    assert.equal(parsed.basicConstraints, { critical: true, ca: profile.kind !== 'leaf', pathLength: profile.pathLength }, what);
    assert.equal(parsed.keyUsage, { critical: true, flags: profile.keyUsage }, what);
    assert.equal(parsed.subject.map((a) => a.oid), ['2.5.4.3', '2.5.4.10', '2.5.4.6', '0.9.2342.19200300.100.1.25'], `${what}: CN, O, C, DC`);
    assert.is(parsed.subject[3].value, profile.domainComponent, what);
    assert.is(parsed.authorityKeyIdentifier, issuer.subjectKeyIdentifier, what);
    assert.equal(parsed.ocspUrls, profile.ocsp ? [`http://localhost:8080/ocsp/${pki.certificates.find((c) => c.certificate === (entry.chain[1] ?? entry.root))!.name}`] : [], what);
    assert.match(parsed.serialNumber, /^[4-7][0-9a-f]{31}$/, what);
    assert.is(parsed.notAfter - parsed.notBefore, Math.min(profile.validityDays * 86_400_000, issuer.notAfter - parsed.notBefore), what);
    assert.equal([parsed.signatureAlgorithm, parsed.curve], ['1.2.840.10045.4.3.2', '1.2.840.10045.3.1.7'], what);
  }
  assert.is(seen.size, Object.keys(profiles).length);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
