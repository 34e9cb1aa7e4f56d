// `openpnc pki init` writes a PKI that OpenSSL accepts under -x509_strict and whose text form shows the
// ISO 15118-2 profile; `openpnc pki verify` answers with the response code and its exit status.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../actors/cli/main.ts';
import { openpncSync } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'openpnc-pki-'));
const out = join(dir, 'pki');

function run(command: string, args: string[]) {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
const openpnc = (...args: string[]) => openpncSync(args);

/** The same CLI entry in this process, for the many small cases (a child process costs seconds on a loaded machine). */
async function inProcess(...args: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const { log, error } = console;
  console.log = (...parts: unknown[]) => void stdout.push(parts.join(' '));
  console.error = (...parts: unknown[]) => void stderr.push(parts.join(' '));
  try {
    const code = await main(args);
    return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
  } finally {
    Object.assign(console, { log, error });
  }
}
const openssl = (...args: string[]) => run('openssl', args);

interface ManifestFile { path: string; kind: string; format: string; name: string; role: string; subject: string; root?: string; certificates?: string[]; identifier?: string }

const init = openpnc('pki', 'init', '--out', out, '--vehicles', '2', '--contracts', '2');
const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { files: ManifestFile[] };
const certificates = manifest.files.filter((f) => f.kind === 'certificate' && f.format === 'pem');
const chains = new Map(manifest.files.filter((f) => f.kind === 'chain').map((f) => [f.name, f]));

test('pki init writes every listed file, with PEM, DER, PKCS#8 key and wire-order chains', () => {
  assert.is(init.code, 0, init.stderr);
  assert.is(certificates.length, 20); // 3 roots, 10 sub-CAs, SECC, CPS, 2 vehicles, 2 + 1 contracts
  for (const file of manifest.files) assert.ok(statSync(join(out, file.path)).size > 0, file.path);
  for (const cert of certificates) {
    const der = readFileSync(join(out, `${cert.name}.der`));
    assert.ok(der.length <= 800, `${cert.name} is ${der.length} bytes`);
    const fromPem = new X509Certificate(readFileSync(join(out, cert.path)));
    assert.ok(fromPem.raw.equals(der), `${cert.name}: PEM and DER hold the same certificate`);
    const keyPem = readFileSync(join(out, `${cert.name}.key.pem`), 'utf8');
    assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----/); // PKCS#8
    assert.ok(fromPem.checkPrivateKey(createPrivateKey(keyPem)), `${cert.name}: the key belongs to the certificate`);
  }
  const secc = chains.get('secc')!;
  assert.equal(secc.certificates, ['secc.pem', 'cpo-sub-ca-2.pem', 'cpo-sub-ca-1.pem']);
  assert.is(secc.root, 'v2g-root.pem');
  assert.equal(chains.get('v2g-contract-1')!.certificates, ['v2g-contract-1.pem', 'v2g-mo-sub-ca-2.pem', 'v2g-mo-sub-ca-1.pem']);
  assert.is(chains.get('v2g-contract-1')!.root, 'v2g-root.pem');
});

test('openssl verify -x509_strict accepts every certificate against its root, sub-CAs untrusted', () => {
  // One openssl run per root: the sub-CAs of that hierarchy are untrusted, every certificate under it is checked.
  for (const root of new Set(certificates.map((c) => c.root!))) {
    const members = certificates.filter((c) => c.root === root);
    const subCas = members.filter((c) => /SubCa[12]$/.test(c.role));
    writeFileSync(join(dir, 'untrusted.pem'), subCas.map((c) => readFileSync(join(out, c.path), 'utf8')).join(''));
    const result = openssl('verify', '-x509_strict', '-CAfile', join(out, root), '-untrusted', join(dir, 'untrusted.pem'), ...members.map((c) => join(out, c.path)));
    assert.is(result.code, 0, result.stderr + result.stdout);
    assert.equal(result.stdout.trim().split('\n'), members.map((c) => `${join(out, c.path)}: OK`));
  }
});

test('every CA has a subject name of its own (MO Sub-CAs under the MO root and under the V2G root differ)', () => {
  const cas = certificates.filter((c) => /Root$|SubCa[12]$/.test(c.role));
  const subjects = cas.map((c) => openssl('x509', '-in', join(out, c.path), '-noout', '-subject', '-nameopt', 'RFC2253').stdout.trim());
  const seen = new Map<string, string>();
  for (const [i, subject] of subjects.entries()) {
    assert.not.ok(seen.has(subject), `${cas[i].name} and ${seen.get(subject)} share ${subject}`);
    seen.set(subject, cas[i].name);
  }
  assert.is(seen.size, 13);
});

test('openssl x509 -text shows the profile: critical key usage and basic constraints, pathlen, DC, AIA', () => {
  const expectations: Record<string, { pathlen?: string; dc: string; usage: string; ocsp: boolean }> = {
    'v2g-root': { dc: 'V2G', usage: 'Certificate Sign, CRL Sign', ocsp: false },
    'cpo-sub-ca-1': { pathlen: 'pathlen:1', dc: 'V2G', usage: 'Certificate Sign, CRL Sign', ocsp: true },
    'cpo-sub-ca-2': { pathlen: 'pathlen:0', dc: 'V2G', usage: 'Certificate Sign, CRL Sign', ocsp: true },
    secc: { dc: 'CPO', usage: 'Digital Signature, Key Agreement', ocsp: true },
    cps: { dc: 'CPS', usage: 'Digital Signature', ocsp: true },
    'oem-root': { dc: 'OEM', usage: 'Certificate Sign, CRL Sign', ocsp: false },
    'provisioning-1': { dc: 'OEM', usage: 'Digital Signature, Key Agreement', ocsp: true },
    'mo-sub-ca-2': { pathlen: 'pathlen:0', dc: 'MO', usage: 'Digital Signature, Non Repudiation, Certificate Sign, CRL Sign', ocsp: true },
    'contract-1': { dc: 'MO', usage: 'Digital Signature, Non Repudiation, Key Encipherment, Key Agreement', ocsp: true },
  };
  for (const [name, expected] of Object.entries(expectations)) {
    const text = openssl('x509', '-in', join(out, `${name}.pem`), '-noout', '-text', '-nameopt', 'RFC2253').stdout;
    assert.match(text, 'Signature Algorithm: ecdsa-with-SHA256', name);
    assert.match(text, 'ASN1 OID: prime256v1', name);
    assert.match(text, /X509v3 Key Usage: critical\n\s+(.*)\n/, name);
    assert.is(/X509v3 Key Usage: critical\n\s+(.*)\n/.exec(text)![1], expected.usage, name);
    assert.match(text, 'X509v3 Basic Constraints: critical', name);
    const constraint = /X509v3 Basic Constraints: critical\n\s+(.*)\n/.exec(text)![1];
    assert.is(constraint, expected.pathlen ? `CA:TRUE, ${expected.pathlen}` : name.endsWith('root') ? 'CA:TRUE' : 'CA:FALSE', name);
    assert.match(text, new RegExp(`Subject: DC=${expected.dc},C=DE,O=Open PnC Test,CN=`), name); // RFC 2253 prints the DER order CN, O, C, DC reversed
    assert.match(text, 'X509v3 Subject Key Identifier', name);
    assert.match(text, 'X509v3 Authority Key Identifier', name);
    assert.is(text.includes('OCSP - URI:http://localhost:8080/ocsp/'), expected.ocsp, name);
    assert.match(text, /Serial Number:\n\s+([0-9a-f]{2}:){15}[0-9a-f]{2}\n/, `${name} has a 16-byte serial`);
  }
  const contract = openssl('x509', '-in', join(out, 'contract-1.pem'), '-noout', '-subject', '-nameopt', 'RFC2253').stdout;
  assert.match(contract, /CN=DEOPNC00000001[0-9A-Z]$/m);
  assert.match(openssl('x509', '-in', join(out, 'provisioning-2.pem'), '-noout', '-subject', '-nameopt', 'RFC2253').stdout, /CN=OPNV0000000000002$/m);
});

test('pki verify prints the result code and exits 0 only for a valid chain', async () => {
  const ok = openpnc('pki', 'verify', '--chain', join(out, 'secc.chain.pem'), '--root', join(out, 'v2g-root.pem'));
  assert.equal({ code: ok.code, stdout: ok.stdout.trim() }, { code: 0, stdout: 'OK (Valid): valid secc chain' });
  const contract = await inProcess('pki', 'verify', '--chain', join(out, 'v2g-contract-1.chain.pem'), '--root', join(out, 'mo-root.pem'), '--root', join(out, 'v2g-root.der'));
  assert.is(contract.code, 0, contract.stdout);
  const notHere = openpnc('pki', 'verify', '--chain', join(out, 'contract-1.chain.pem'), '--root', join(out, 'v2g-root.pem'), '--purpose', 'contract');
  assert.is(notHere.code, 1);
  assert.match(notHere.stdout, /^FAILED_CertificateNotAllowedAtThisEVSE \(IssuerNotFound\): /);
  const later = await inProcess('pki', 'verify', '--chain', join(out, 'cps.chain.pem'), '--root', join(out, 'v2g-root.pem'), '--at', '2099-01-01T00:00:00Z');
  assert.is(later.code, 1);
  assert.match(later.stdout, /^FAILED_CertificateExpired \(Expired\): /);
  const wrongPurpose = await inProcess('pki', 'verify', '--chain', join(out, 'cps.chain.pem'), '--root', join(out, 'v2g-root.pem'), '--purpose', 'secc');
  assert.is(wrongPurpose.code, 1);
  assert.match(wrongPurpose.stdout, /^FAILED_CertChainError \(InvalidChain\): the secc leaf /);
});

test('pki: bad input gives one line and a non-zero exit, help answers', async () => {
  const spawned = openpnc('pki', 'frobnicate');
  assert.equal({ code: spawned.code, stderr: spawned.stderr }, { code: 2, stderr: "openpnc: unknown subcommand 'frobnicate' (see openpnc pki --help)\n" });
  const cases: [string[], RegExp][] = [
    [['pki'], /needs a subcommand/],
    [['pki', 'init'], /needs --out/],
    [['pki', 'init', '--out', out], /is not empty/],
    [['pki', 'init', '--out', join(dir, 'x'), '--vehicles', 'many'], /--vehicles must be a whole number/],
    [['pki', 'verify', '--chain', join(out, 'secc.chain.pem')], /at least one --root/],
    [['pki', 'verify', '--chain', join(dir, 'missing.pem'), '--root', join(out, 'v2g-root.pem')], /cannot read .*missing\.pem: ENOENT/],
    [['pki', 'verify', '--chain', join(out, 'manifest.json'), '--root', join(out, 'v2g-root.pem'), '--purpose', 'tls'], /--purpose must be one of/],
    [['pki', 'verify', '--chain', join(out, 'secc.chain.pem'), '--root', join(out, 'v2g-root.pem'), '--at', 'yesterday'], /--at is not an ISO date/],
    [['pki', 'verify', '--bogus'], /Unknown option '--bogus'/],
  ];
  for (const [args, message] of cases) {
    const result = await inProcess(...args);
    assert.ok(result.code !== 0, args.join(' '));
    assert.is(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /^openpnc: /);
    assert.match(result.stderr, message);
  }
  const garbage = await inProcess('pki', 'verify', '--chain', join(out, 'manifest.json'), '--root', join(out, 'v2g-root.pem'), '--purpose', 'secc');
  assert.is(garbage.code, 1);
  assert.match(garbage.stdout, /^FAILED_CertChainError \(InvalidChain\): certificate 0 cannot be read/);
  assert.match(openpnc('pki', '--help').stdout, 'openpnc pki verify --chain FILE');
  for (const args of [['pki', 'init', '--help'], ['pki', 'verify', '--help']]) {
    const help = await inProcess(...args);
    assert.is(help.code, 0);
    assert.match(help.stdout, 'openpnc pki verify --chain FILE');
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
