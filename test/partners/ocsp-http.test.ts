// The CA participants' OCSP responders on loopback HTTP (RFC 6960 A.1), asked by OpenSSL: every CA
// participant of one process on the same `ocspHttpPort` (v2g-root, cpo, mo, oem, cps), POST and GET,
// GET requests whose base64 holds `/` and `+`, good then revoked after termination.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryBus } from '../../actors/bus/memory.ts';
import type { Bus } from '../../actors/bus/bus.ts';
import { LocalIdentities } from '../../actors/bus/identity.ts';
import { participantHandle } from '../../actors/host/credentials.ts';
import { requestSubjectReply } from '../../actors/bus/typed.ts';
import { createLogger } from '../../actors/host/log.ts';
import type { RunningParticipant } from '../../actors/host/participant.ts';
import { certificateOf, makeCsr } from '../../actors/participants/authority.ts';
import { openEmbeddedStore } from '../../actors/store/index.ts';
import { playStory, type PlayedStory } from '../../actors/story/index.ts';
import { cpoInterface } from '../../protocols/catalogue/cpo.ts';
import { moInterface } from '../../protocols/catalogue/mo.ts';
import { v2gRootInterface } from '../../protocols/catalogue/v2g-root.ts';
import { freePort } from '../harness/nats.ts';
import { storyParticipants } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'openpnc-ocsp-http-'));
const running: RunningParticipant[] = [];
let port = 0;
let story: PlayedStory;
let bus: ReturnType<typeof createMemoryBus>;
/** The operator's handle: the story's requests carry its identity, as the participants now require. */
let operator: Bus;
let closeAll: () => Promise<void> = async () => {};
const file = (name: string) => join(dir, name);
function pemFile(name: string, der: string): void {
  writeFileSync(file(name), certificateOf(der).toString('pem'));
}


/** `openssl ocsp` as a child process, asynchronously (the responder answers from this very process); its output also when it fails. */
async function openssl(args: string[]): Promise<string> {
  const result = await promisify(execFile)('openssl', ['ocsp', ...args], { timeout: 20_000 }).catch((error: { stdout?: string; stderr?: string }) => error);
  return `${result.stdout ?? ''}${result.stderr ?? ''}`;
}

/** OpenSSL's own DER request (fresh nonce, SHA-1 CertID) for a certificate, written to `request.der`; its base64. */
async function opensslRequest(cert: string, issuer: string): Promise<string> {
  await openssl(['-issuer', file(issuer), '-cert', file(cert), '-reqout', file('request.der')]);
  return readFileSync(file('request.der')).toString('base64');
}

/**
 * OpenSSL checks `response.der` against `request.der` (the nonce) and the MO Sub-CA 2 as signer.
 * No `-cert` here: with it OpenSSL would build a new request with a new nonce instead of reading `-reqin`.
 */
const checkResponse = () => openssl(['-reqin', file('request.der'), '-respin', file('response.der'), '-VAfile', file('mo-sub2.pem'), '-resp_text']);

const askByPost = (path: string, cert: string, issuer: string) => openssl(['-issuer', file(issuer), '-cert', file(cert), '-url', `http://127.0.0.1:${port}${path}`, '-VAfile', file(issuer)]);

test.before(async () => {
  const store = await openEmbeddedStore(dir);
  bus = createMemoryBus({ store });
  const identities = new LocalIdentities();
  operator = identities.handle(bus, 'admin', { role: 'admin', prefixes: [] });
  closeAll = async () => {
    for (const participant of running.reverse()) await participant.stop();
    await bus.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  };
  port = await freePort();
  // Every participant gets the same setting, as `openpnc run v2g-root cpo mo … --set ocspHttpPort=N` gives it.
  for (const definition of storyParticipants()) {
    running.push(await definition.start({ bus: participantHandle(identities, bus, definition.name), store, log: createLogger({ write: () => {} }), dataDir: dir, config: { ocspHttpPort: String(port) } }));
  }
  story = await playStory(() => operator, operator);
  const { certificates: [moSub2] } = await requestSubjectReply(operator, moInterface.requests.ca, {});
  const { certificates: [v2gRoot] } = await requestSubjectReply(operator, v2gRootInterface.requests.ca, {});
  const { csr } = await makeCsr({ commonName: 'DE*OPN*E0001', organization: 'Open Plug&Charge CPO', domainComponent: 'CPO' });
  const secc = await requestSubjectReply(operator, cpoInterface.requests.signSeccCsr, { csr: Buffer.from(csr).toString('base64') });
  pemFile('contract.pem', story.contract.contractCertificate!);
  pemFile('mo-sub2.pem', moSub2);
  pemFile('secc.pem', secc.chain.certificate);
  pemFile('cpo-sub2.pem', secc.chain.subCertificates[0]);
  pemFile('cpo-sub1.pem', secc.chain.subCertificates[1]);
  pemFile('v2g-root.pem', v2gRoot);
});

test.after(() => closeAll());

test('v2g-root, cpo and mo in one process answer on one port, each under its own path', async () => {
  assert.match(await askByPost('/v2g-root', 'cpo-sub1.pem', 'v2g-root.pem'), /cpo-sub1\.pem: good/);
  assert.match(await askByPost('/cpo', 'secc.pem', 'cpo-sub2.pem'), /secc\.pem: good/);
  assert.match(await askByPost('/mo', 'contract.pem', 'mo-sub2.pem'), /contract\.pem: good/);
  // A CA answers only for what it issued: the MO's responder knows nothing of the CPO's SECC certificate.
  assert.match(await askByPost('/mo', 'secc.pem', 'cpo-sub2.pem'), /Response Verify Failure|unknown/);
});

test('RFC 6960 A.1 GET: base64 holding "/" and "+", raw or URL-encoded, answers as POST does', async () => {
  // OpenSSL's requests (fresh nonces) until the base64 holds both characters that broke GET.
  let base64 = await opensslRequest('contract.pem', 'mo-sub2.pem');
  while (!base64.includes('/') || !base64.includes('+')) base64 = await opensslRequest('contract.pem', 'mo-sub2.pem');
  for (const [name, path] of [['raw', base64], ['url-encoded', encodeURIComponent(base64)]] as const) {
    const response = await fetch(`http://127.0.0.1:${port}/mo/${path}`);
    assert.is(response.status, 200, name);
    assert.is(response.headers.get('content-type'), 'application/ocsp-response', name);
    writeFileSync(file('response.der'), Buffer.from(await response.arrayBuffer()));
    const verdict = await checkResponse();
    assert.match(verdict, /Response verify OK/, `${name}: ${verdict}`);
    assert.match(verdict, /Cert Status: good/, name);
  }
});

test('after termination the MO answers revoked, over POST and GET', async () => {
  await requestSubjectReply(operator, moInterface.requests.terminate, { emaid: story.contract.emaid! });
  assert.match(await askByPost('/mo', 'contract.pem', 'mo-sub2.pem'), /contract\.pem: revoked/);
  const response = await fetch(`http://127.0.0.1:${port}/mo/${encodeURIComponent(await opensslRequest('contract.pem', 'mo-sub2.pem'))}`);
  writeFileSync(file('response.der'), Buffer.from(await response.arrayBuffer()));
  assert.match(await checkResponse(), /Response verify OK[\s\S]*Cert Status: revoked|Cert Status: revoked[\s\S]*Response verify OK/);
});

test('stopping one CA leaves the others served; the port is let go with the last', async () => {
  const cpo = running.pop()!; // cpo starts last
  await cpo.stop();
  assert.match(await askByPost('/v2g-root', 'cpo-sub1.pem', 'v2g-root.pem'), /good/);
  const gone = await fetch(`http://127.0.0.1:${port}/cpo`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: readFileSync(file('request.der')) });
  assert.is(gone.status, 404, 'the stopped CA is no longer served');
  assert.is(Buffer.from(await gone.arrayBuffer()).toString('hex'), '30030a0106', 'OCSPResponse unauthorized (RFC 6960 §4.2.1)');
});

test.run();
