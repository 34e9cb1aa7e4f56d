// OCSP stapling on real TLS 1.2 over loopback: the SECC's V2GTP server answers status_request with the
// response its source gives (real responses from a CPO Sub-CA 2 responder), the EVCC decides on it
// (good / absent → proceed; revoked, forged, stale, another serial → SeccOcspRejected before any V2G
// message), OpenSSL's s_client -status reads the staple, and hostile status_request extensions
// never cost the server more than the one connection.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { connect as connectRaw } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import 'reflect-metadata';
import {
  buildOcspRequest,
  createOcspResponder,
  createTestPki,
  issueCertificate,
  type CertificateAuthority,
  type SerialStatus,
  type TestPki,
} from '../../protocols/pki/index.ts';
import type { X509Certificate } from '@peculiar/x509';
import { V2gtpServer } from '../../actors/transport/v2gtp-server.ts';
import { connectV2gtp } from '../../actors/transport/v2gtp-client.ts';
import { credentialsOf, type OcspStapleSource } from '../../actors/transport/tls.ts';
import { TransportError } from '../../actors/transport/errors.ts';
import { V2gtpConnection } from '../../actors/transport/v2gtp-connection.ts';
import { loadCorpus } from '../helpers/exi-corpus.ts';
import { clientHello, P256_EXTENSIONS } from '../helpers/client-hello.ts';
import { tempDir } from '../harness/temp-dir.ts';

const LOOPBACK = '::1';
const dir = tempDir('tp-ocsp');
const sapReq = loadCorpus().find((row) => row.id === 60)!.bytes;

let pki: TestPki;
let cpoSubCa2: CertificateAuthority;
let rootPem: string;
let server: V2gtpServer;
/** What the server staples next; each test sets it. */
let source: OcspStapleSource = async () => undefined;
let stapleAsked = 0;
/** The serial numbers the server asked its source for. */
const askedFor: string[] = [];
/** The V2GTP frames the SECC received, per connection: a refusal must leave none. */
const framesSeen: number[] = [];
/** What CPO Sub-CA 2's records say about a serial; tests revoke by setting it. */
const records = new Map<string, SerialStatus>();

function echo(socket: Duplex): void {
  const connection = new V2gtpConnection(socket);
  const index = framesSeen.push(0) - 1;
  connection.on('frame', (frame) => {
    framesSeen[index]++;
    connection.send(frame.payload);
  });
}

/** A real response of `issuer`'s responder for `certificate`, at `now`. */
async function ocspResponse(certificate: X509Certificate, issuer: CertificateAuthority, now = new Date()): Promise<Uint8Array> {
  const responder = createOcspResponder({
    issuer: issuer.certificate,
    signer: { certificate: issuer.certificate, privateKey: issuer.privateKey },
    lookup: (serial) => records.get(serial) ?? { status: 'good' },
    now: () => now,
  });
  return responder.respond(buildOcspRequest({ certificate, issuer: pki.secc.chain[1] }).der);
}

test.before(async () => {
  pki = await createTestPki();
  cpoSubCa2 = pki.authorities['cpo-sub-ca-2'];
  assert.is(pki.secc.chain[1].subject, cpoSubCa2.certificate.subject);
  rootPem = pki.trustAnchors.v2g[0].toString('pem');
  writeFileSync(join(dir, 'v2g-root.pem'), rootPem);
  server = await V2gtpServer.start({
    host: LOOPBACK,
    security: { kind: 'tls', credentials: await credentialsOf(pki.secc), ocspStaple: (serialNumber) => (stapleAsked++, askedFor.push(serialNumber), source(serialNumber)) },
    onConnection: echo,
    setupTimeoutMs: 5_000,
  });
});
test.after(async () => server?.close());

const connect = (at?: Date) => connectV2gtp({ host: LOOPBACK, port: server.port, security: { kind: 'tls', v2gRoots: [rootPem], ...(at ? { at } : {}) } });

/** A session that goes on: the EVCC's verdict, then a real SAP request echoed. */
async function proceeds(at?: Date): Promise<string> {
  const { connection, tls } = await connect(at);
  try {
    assert.equal(Buffer.from(await connection.request(sapReq, 5_000)), Buffer.from(sapReq));
    return tls!.ocsp;
  } finally {
    connection.end();
  }
}

/** A refusal: SeccOcspRejected, and the SECC saw the connection end without one V2GTP frame. */
async function refused(at?: Date): Promise<TransportError> {
  const connections = framesSeen.length;
  try {
    await connect(at);
  } catch (error) {
    assert.instance(error, TransportError);
    assert.is((error as TransportError).code, 'SeccOcspRejected', (error as Error).message);
    assert.is(framesSeen.length, connections + 1, 'the TLS session was established before the refusal');
    assert.is(framesSeen.at(-1), 0, 'no V2G message crossed');
    return error as TransportError;
  }
  assert.unreachable('expected SeccOcspRejected');
  throw new Error('unreachable');
}

const ocspOf = (error: TransportError) => error.data as { ocsp: string; ocspError?: string };

test('a good staple from CPO Sub-CA 2: the session goes on and the EVCC records ocsp: good', async () => {
  const staple = await ocspResponse(pki.secc.certificate, cpoSubCa2);
  source = async () => staple;
  const asked = stapleAsked;
  assert.is(await proceeds(), 'good');
  assert.is(stapleAsked, asked + 1, 'the server asked its source once for the handshake');
  assert.is(askedFor.at(-1), pki.secc.certificate.serialNumber.toLowerCase().replace(/^0+/, ''), 'for the leaf it presents');
});

test('no staple (nothing cached, or the source fails): the session goes on with ocsp: absent', async () => {
  source = async () => undefined;
  assert.is(await proceeds(), 'absent');
  source = async () => { throw new Error('store down'); };
  assert.is(await proceeds(), 'absent');
  source = () => { throw new Error('synchronous failure'); };
  assert.is(await proceeds(), 'absent');
});

test('the SECC leaf revoked at CPO Sub-CA 2: the EVCC refuses before any V2G message', async () => {
  records.set(pki.secc.certificate.serialNumber.toLowerCase().replace(/^0+/, ''), { status: 'revoked', revokedAt: new Date(Date.now() - 60_000), reason: 1 });
  try {
    const staple = await ocspResponse(pki.secc.certificate, cpoSubCa2);
    source = async () => staple;
    assert.is(ocspOf(await refused()).ocsp, 'revoked');
  } finally {
    records.clear();
  }
});

test('a staple signed by another CA key (MO Sub-CA 2), or with its signature altered, is refused', async () => {
  const wrongKey = await ocspResponse(pki.secc.certificate, pki.authorities['mo-sub-ca-2']);
  source = async () => wrongKey;
  assert.equal(ocspOf(await refused()), { ocsp: 'invalid', ocspError: 'OcspUnauthorizedResponder' });
  const altered = Buffer.from(await ocspResponse(pki.secc.certificate, cpoSubCa2));
  altered[altered.length - 5] ^= 0x01; // inside the ECDSA signature, the response's last field
  source = async () => altered;
  assert.equal(ocspOf(await refused()), { ocsp: 'invalid', ocspError: 'OcspSignatureInvalid' });
});

test('a stale staple (nextUpdate passed on the EVCC clock) is refused; the same staple is good a day earlier', async () => {
  const thisUpdate = new Date(Date.now() - 60_000);
  const staple = await ocspResponse(pki.secc.certificate, cpoSubCa2, thisUpdate);
  source = async () => staple;
  const afterNextUpdate = new Date(thisUpdate.getTime() + 24 * 3_600_000 + 10 * 60_000);
  assert.equal(ocspOf(await refused(afterNextUpdate)), { ocsp: 'invalid', ocspError: 'OcspStale' });
  assert.is(await proceeds(new Date(thisUpdate.getTime() + 3_600_000)), 'good');
});

test('a staple for another certificate of CPO Sub-CA 2 is refused (wrong serial)', async () => {
  const other = await issueCertificate({ role: 'secc', subject: { commonName: 'OTHER-SECC' }, issuer: cpoSubCa2 });
  const staple = await ocspResponse(other.certificate, cpoSubCa2);
  source = async () => staple;
  assert.equal(ocspOf(await refused()), { ocsp: 'invalid', ocspError: 'OcspCertIdMismatch' });
});

test('bytes that are no OCSP response, and an unsuccessful response, are refused as invalid', async () => {
  source = async () => new Uint8Array([0x30, 0x03, 0x0a, 0x01, 0x03]); // OCSPResponse { tryLater }
  assert.equal(ocspOf(await refused()), { ocsp: 'invalid', ocspError: 'OcspResponseUnsuccessful' });
  source = async () => new Uint8Array(Buffer.from('not DER at all'));
  assert.equal(ocspOf(await refused()), { ocsp: 'invalid', ocspError: 'OcspMalformedResponse' });
});

async function sClientStatus(): Promise<{ code: number | null; output: string }> {
  const child = spawn('openssl', [
    's_client', '-connect', `[${LOOPBACK}]:${server.port}`, '-status', '-tls1_2',
    '-cipher', 'ECDHE-ECDSA-AES128-SHA256', '-groups', 'P-256', '-CAfile', join(dir, 'v2g-root.pem'), '-verify_return_error',
  ], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  child.stdin.end(); // EOF: s_client closes after the handshake
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [code] = await once(child, 'close');
  clearTimeout(killer);
  return { code: code as number | null, output };
}

test('openssl s_client -status with the pinned suite and group sees the staple: successful, Cert Status: good', async () => {
  const staple = await ocspResponse(pki.secc.certificate, cpoSubCa2);
  source = async () => staple;
  const { code, output } = await sClientStatus();
  assert.is(code, 0, output);
  assert.match(output, /OCSP Response Status: successful \(0x0\)/);
  assert.match(output, /Cert Status: good/);
  assert.match(output, new RegExp(`Serial Number: ${pki.secc.certificate.serialNumber.toUpperCase().replace(/^0+/, '')}`));
  assert.match(output, /Cipher is ECDHE-ECDSA-AES128-SHA256/);
  source = async () => undefined;
  const none = await sClientStatus();
  assert.is(none.code, 0, none.output);
  assert.match(none.output, /OCSP response: no response sent/);
});

/** A ClientHello for the pinned suite (0xC023) and group carrying each of `statusRequests` as a status_request (type 5) extension body. */
const clientHelloWithStatusRequests = (statusRequests: readonly Buffer[]) => clientHello(0xc023, [...P256_EXTENSIONS, ...statusRequests.map((body) => ({ type: 0x0005, body }))]);

/** Sends one ClientHello and returns the first byte of the server's first record (0x16 handshake, 0x15 alert). */
async function firstRecordType(hello: Buffer): Promise<number | undefined> {
  const socket = connectRaw({ host: LOOPBACK, port: server.port });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  const received: Buffer[] = [];
  socket.on('data', (c) => {
    received.push(c);
    socket.destroy();
  });
  socket.write(hello);
  await once(socket, 'close');
  return Buffer.concat(received)[0];
}

test('hostile status_request extensions (unknown type, garbage, truncated, repeated, huge) never reach the source; the server keeps stapling', async () => {
  const staple = await ocspResponse(pki.secc.certificate, cpoSubCa2);
  source = async () => staple;
  const ocspStatusRequest = Buffer.from('0100000000', 'hex'); // status_type ocsp, no responder IDs, no extensions
  let asked = stapleAsked;
  assert.is(await firstRecordType(clientHelloWithStatusRequests([ocspStatusRequest])), 0x16, 'a well-formed one gets a ServerHello');
  assert.is(stapleAsked, asked + 1);
  // An unknown status_type is ignored (RFC 6066 §8): the handshake goes on without a staple.
  asked = stapleAsked;
  assert.is(await firstRecordType(clientHelloWithStatusRequests([Buffer.from('ff', 'hex')])), 0x16);
  const hostile = [
    [Buffer.from('01ffff', 'hex')],
    [Buffer.from('01000500ffffffff0000', 'hex')],
    [ocspStatusRequest, ocspStatusRequest],
    [Buffer.concat([Buffer.from('01', 'hex'), Buffer.from([0x0f, 0xfc]), Buffer.alloc(0x0ffc, 0xa5), Buffer.from('0000', 'hex')])],
  ];
  for (const statusRequests of hostile) {
    assert.is(await firstRecordType(clientHelloWithStatusRequests(statusRequests)), 0x15, `an alert for ${statusRequests.map((b) => b.subarray(0, 8).toString('hex')).join(', ')}`);
  }
  assert.is(stapleAsked, asked, 'OpenSSL ignored or refused them before the OCSP callback');
  assert.is(await proceeds(), 'good');
});

test('a client gone while the source is still looking (slow store) costs nothing: the late answer finds no socket', async () => {
  const staple = await ocspResponse(pki.secc.certificate, cpoSubCa2);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let pending = 0;
  source = async () => {
    pending++;
    await released;
    return staple;
  };
  for (let i = 0; i < 5; i++) {
    const socket = connectRaw({ host: LOOPBACK, port: server.port });
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    socket.write(clientHelloWithStatusRequests([Buffer.from('0100000000', 'hex')]));
    while (pending === i) await new Promise((resolve) => setImmediate(resolve));
    socket.destroy();
  }
  release();
  await new Promise((resolve) => setTimeout(resolve, 50)); // the late callbacks run on the next turns
  source = async () => staple;
  assert.is(await proceeds(), 'good');
});

test.run();
