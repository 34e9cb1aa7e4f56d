// V2GTP over real TLS 1.2 on loopback: our client, OpenSSL's s_client, an x25519-first client, a
// static-ECDH-only ClientHello, the DC=CPO check, untrusted roots, the key log, plain TCP for EIM.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as connectRaw } from 'node:net';
import { join } from 'node:path';
import { connect as connectTls } from 'node:tls';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createTestPki, exportPkcs8, type TestPki } from '../../protocols/pki/index.ts';
import { forge, hierarchy } from '../pki/forge.ts';
import { V2gtpServer, type PeerInfo } from '../../actors/transport/v2gtp-server.ts';
import { connectV2gtp } from '../../actors/transport/v2gtp-client.ts';
import { credentialsOf, type SeccTlsCredentials } from '../../actors/transport/tls.ts';
import { TransportError } from '../../actors/transport/errors.ts';
import { V2gtpConnection } from '../../actors/transport/v2gtp-connection.ts';
import type { Duplex } from 'node:stream';
import { loadCorpus } from '../helpers/exi-corpus.ts';
import { clientHello, P256_EXTENSIONS } from '../helpers/client-hello.ts';
import { tempDir } from '../harness/temp-dir.ts';

const LOOPBACK = '::1';
const dir = tempDir('tp-tls');
// The open Java EVCC's ISO-2 SupportedAppProtocolReq (vectors_all.tsv, RISE-V2G capture, row 60).
const sapReq = loadCorpus().find((row) => row.id === 60)!.bytes;

let pki: TestPki;
let credentials: SeccTlsCredentials;
let rootPem: string;
let server: V2gtpServer;
const keyLog = join(dir, 'server.keylog');
const peers: PeerInfo[] = [];
const serverClosures: (TransportError | undefined)[] = [];

/** Echoes every frame back: a stand-in peer that proves bytes crossed both ways. */
function echo(socket: Duplex, peer: PeerInfo): void {
  peers.push(peer);
  const connection = new V2gtpConnection(socket);
  connection.on('frame', (frame) => connection.send(frame.payload));
  connection.on('close', (error) => serverClosures.push(error));
}

test.before(async () => {
  pki = await createTestPki();
  credentials = await credentialsOf(pki.secc);
  rootPem = pki.trustAnchors.v2g[0].toString('pem');
  writeFileSync(join(dir, 'v2g-root.pem'), rootPem);
  server = await V2gtpServer.start({ host: LOOPBACK, security: { kind: 'tls', credentials, keyLogFile: keyLog }, onConnection: echo, setupTimeoutMs: 5_000 });
});
test.after(async () => server?.close());

async function expectRejection(promise: Promise<unknown>, code: string): Promise<TransportError> {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, TransportError);
    assert.is((error as TransportError).code, code, (error as Error).message);
    return error as TransportError;
  }
  assert.unreachable(`expected ${code}`);
  throw new Error('unreachable');
}

/** One full exchange with our client: proves the server still serves. */
async function roundTrip(): Promise<void> {
  const { connection } = await connectV2gtp({ host: LOOPBACK, port: server.port, security: { kind: 'tls', v2gRoots: [rootPem] } });
  try {
    assert.equal(Buffer.from(await connection.request(sapReq, 5_000)), Buffer.from(sapReq));
  } finally {
    connection.end();
  }
}

test('the server listens on a port in 49152–65535', () => {
  assert.ok(server.port >= 49152 && server.port <= 65535, String(server.port));
});

test('our EVCC: TLS 1.2, ECDHE-ECDSA-AES128-SHA256, secp256r1, SECC leaf accepted, a real SAP request echoed', async () => {
  const { connection, tls } = await connectV2gtp({ host: LOOPBACK, port: server.port, security: { kind: 'tls', v2gRoots: [rootPem] } });
  try {
    assert.equal({ protocol: tls!.protocol, cipher: tls!.cipher, group: tls!.group }, { protocol: 'TLSv1.2', cipher: 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256', group: 'prime256v1' });
    assert.match(tls!.seccSubject, /^CN=SECCCert, .*DC=CPO$/);
    assert.equal(Buffer.from(await connection.request(sapReq, 5_000)), Buffer.from(sapReq));
    assert.equal(peers.at(-1)!.tls, { protocol: 'TLSv1.2', cipher: 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256' });
  } finally {
    connection.end();
  }
});

interface SClientResult { code: number | null; output: string }
async function sClient(...args: string[]): Promise<SClientResult> {
  const child = spawn('openssl', ['s_client', '-connect', `[${LOOPBACK}]:${server.port}`, '-brief', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [code] = await once(child, 'close');
  clearTimeout(killer);
  return { code: code as number | null, output };
}

test('openssl s_client with its defaults negotiates TLS 1.2, the pinned suite and secp256r1, chain verified', async () => {
  const { code, output } = await sClient('-CAfile', join(dir, 'v2g-root.pem'), '-verify_return_error');
  assert.is(code, 0, output);
  assert.match(output, /Protocol version: TLSv1\.2/);
  assert.match(output, /Ciphersuite: ECDHE-ECDSA-AES128-SHA256/);
  assert.match(output, /Server Temp Key: ECDH, prime256v1, 256 bits/);
  assert.match(output, /Verification: OK/);
});

test('an x25519-first client (as the Java EVCC sends) still gets secp256r1', async () => {
  const { code, output } = await sClient('-groups', 'X25519:P-256', '-cipher', 'ECDHE-ECDSA-AES128-SHA256', '-tls1_2', '-CAfile', join(dir, 'v2g-root.pem'));
  assert.is(code, 0, output);
  assert.match(output, /Server Temp Key: ECDH, prime256v1, 256 bits/);
  const socket = connectTls({ host: LOOPBACK, port: server.port, ecdhCurve: 'X25519:prime256v1', ciphers: 'ECDHE-ECDSA-AES128-SHA256', maxVersion: 'TLSv1.2', ca: rootPem, checkServerIdentity: () => undefined });
  await once(socket, 'secureConnect');
  assert.equal(socket.getEphemeralKeyInfo(), { type: 'ECDH', name: 'prime256v1', size: 256 });
  socket.destroy();
});

test('a client offering only x25519, only TLS 1.3, or another suite is refused and the server keeps serving', async () => {
  for (const args of [['-groups', 'X25519', '-tls1_2'], ['-tls1_3'], ['-cipher', 'ECDHE-ECDSA-AES256-GCM-SHA384', '-tls1_2']]) {
    const refusedBefore = server.stats.refused;
    const { code, output } = await sClient(...args);
    assert.is.not(code, 0, `${args.join(' ')} must fail: ${output}`);
    assert.match(output, /alert|handshake failure|no protocols available|wrong version/i);
    while (server.stats.refused === refusedBefore) await once(server, 'refused');
  }
  await roundTrip();
});

test('a client offering only the static-ECDH suite 0xC025 gets a handshake_failure alert; the server keeps serving', async () => {
  const refusedBefore = server.stats.refused;
  const socket = connectRaw({ host: LOOPBACK, port: server.port });
  await once(socket, 'connect');
  const received: Buffer[] = [];
  socket.on('data', (c) => received.push(c));
  socket.write(clientHello(0xc025, P256_EXTENSIONS)); // TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256 alone
  await once(socket, 'close');
  // Alert record: type 21, TLS 1.2, length 2, fatal (2), handshake_failure (40) [RFC 5246 §7.2].
  assert.is(Buffer.concat(received).toString('hex'), '15030300020228');
  while (server.stats.refused === refusedBefore) await once(server, 'refused');
  await roundTrip();
});

test('TLS garbage (plain V2GTP, HTTP, random bytes) is refused per connection; the server keeps serving', async () => {
  const garbage = [Buffer.from('01fe800100000004804002', 'hex'), Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.alloc(3000, 0xa7), Buffer.from('160303ffff', 'hex') ];
  for (const bytes of garbage) {
    const socket = connectRaw({ host: LOOPBACK, port: server.port });
    socket.on('error', () => undefined);
    socket.resume();
    await once(socket, 'connect');
    socket.end(bytes);
    await once(socket, 'close');
  }
  await roundTrip();
});

/** A SECC hierarchy whose leaf carries `domainComponent` (undefined = no DC) instead of DC=CPO. */
async function seccWithDc(domainComponent: string | undefined) {
  const [root, subCa1, subCa2, leaf] = await forge(hierarchy.secc.map((role) => (role === 'secc' ? { role, subject: { domainComponent } } : { role })));
  const key = x509.PemConverter.encode(new Uint8Array(await exportPkcs8(leaf.keys.privateKey)).slice().buffer, 'PRIVATE KEY');
  return { credentials: { key, chain: [leaf, subCa2, subCa1].map((l) => l.certificate.toString('pem')).join('\n') }, root: root.certificate.toString('pem') };
}

test('the EVCC rejects a SECC leaf without DC=CPO [V2G2-925] with SeccCertificateRejected', async () => {
  for (const dc of ['CPS', undefined]) {
    const forged = await seccWithDc(dc);
    const wrongDc = await V2gtpServer.start({ host: LOOPBACK, security: { kind: 'tls', credentials: forged.credentials }, onConnection: echo });
    try {
      const error = await expectRejection(connectV2gtp({ host: LOOPBACK, port: wrongDc.port, security: { kind: 'tls', v2gRoots: [forged.root] } }), 'SeccCertificateRejected');
      assert.equal(error.data, { defect: 'DomainComponent', position: 0, iso15118: 'FAILED_CertChainError' }, error.message);
      assert.match(error.message, dc ? 'DC=CPS' : 'has no DC');
    } finally {
      await wrongDc.close();
    }
  }
  // The same forge with DC=CPO passes: the check is the DC and nothing else here.
  const good = await seccWithDc('CPO');
  const goodServer = await V2gtpServer.start({ host: LOOPBACK, security: { kind: 'tls', credentials: good.credentials }, onConnection: echo });
  try {
    const { connection } = await connectV2gtp({ host: LOOPBACK, port: goodServer.port, security: { kind: 'tls', v2gRoots: [good.root] } });
    connection.end();
  } finally {
    await goodServer.close();
  }
});

test('the EVCC rejects an expired SECC leaf (checked at its own clock) and an untrusted root', async () => {
  const later = new Date(Date.now() + 400 * 24 * 3600 * 1000);
  const expired = await expectRejection(connectV2gtp({ host: LOOPBACK, port: server.port, security: { kind: 'tls', v2gRoots: [rootPem], at: later } }), 'SeccCertificateRejected');
  assert.is((expired.data as { iso15118: string }).iso15118, 'FAILED_CertificateExpired');
  const otherRoot = pki.trustAnchors.mo[0].toString('pem');
  const untrusted = await expectRejection(connectV2gtp({ host: LOOPBACK, port: server.port, security: { kind: 'tls', v2gRoots: [otherRoot] } }), 'TlsHandshakeFailed');
  assert.ok(untrusted.retryable);
  await roundTrip();
});

test('both ends write NSS key log lines', async () => {
  const clientLog = join(dir, 'client.keylog');
  const { connection } = await connectV2gtp({ host: LOOPBACK, port: server.port, security: { kind: 'tls', v2gRoots: [rootPem], keyLogFile: clientLog } });
  await connection.request(sapReq, 5_000);
  connection.end();
  const clientLines = readFileSync(clientLog, 'utf8').trim().split('\n');
  assert.is(clientLines.length, 1);
  assert.match(clientLines[0], /^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$/);
  assert.ok(readFileSync(keyLog, 'utf8').includes(clientLines[0]), 'the server logged the same secret');
});

test('a connection whose EV sends nothing after the handshake, or never starts it, is closed with CommunicationSetupTimeout', async () => {
  const refusals: TransportError[] = [];
  const quick = await V2gtpServer.start({ host: LOOPBACK, security: { kind: 'tls', credentials }, setupTimeoutMs: 1_500, onConnection: echo });
  quick.on('refused', (error) => refusals.push(error));
  try {
    // An EV that sends its first frame in time; then one silent after the handshake, one that never starts it.
    const { connection: prompt } = await connectV2gtp({ host: LOOPBACK, port: quick.port, security: { kind: 'tls', v2gRoots: [rootPem] } });
    await prompt.request(sapReq, 5_000);
    const { connection: silentTls } = await connectV2gtp({ host: LOOPBACK, port: quick.port, security: { kind: 'tls', v2gRoots: [rootPem] } });
    const silentTcp = connectRaw({ host: LOOPBACK, port: quick.port });
    silentTcp.on('error', () => undefined);
    silentTcp.resume();
    const [clientReason] = await once(silentTls, 'close');
    assert.ok(clientReason === undefined || (clientReason as TransportError).code === 'ConnectionClosed', 'the EVCC sees the SECC close the connection');
    await once(silentTcp, 'close');
    assert.equal(refusals.map((r) => r.code), ['CommunicationSetupTimeout', 'CommunicationSetupTimeout']);
    // Both deadlines passed after the prompt EV's own: it is still served.
    assert.not.ok(prompt.isClosed, 'the prompt EV is still connected');
    assert.equal(Buffer.from(await prompt.request(sapReq, 5_000)), Buffer.from(sapReq));
    prompt.end();
  } finally {
    await quick.close();
  }
});

test('the EVCC gives up with CommunicationSetupTimeout when the handshake never completes', async () => {
  const { createServer } = await import('node:net');
  const held: import('node:net').Socket[] = [];
  const mute = createServer((socket) => held.push(socket)); // accepts, never answers the ClientHello
  await new Promise<void>((r) => mute.listen(0, LOOPBACK, r));
  const port = (mute.address() as { port: number }).port;
  try {
    await expectRejection(connectV2gtp({ host: LOOPBACK, port, setupTimeoutMs: 200, security: { kind: 'tls', v2gRoots: [rootPem] } }), 'CommunicationSetupTimeout');
  } finally {
    held.forEach((socket) => socket.destroy());
    mute.close();
  }
});

test('plain TCP only for an EIM-only charger; then a frame crosses unencrypted', async () => {
  await expectRejection(V2gtpServer.start({ host: LOOPBACK, security: { kind: 'tcp', eimOnly: false as true }, onConnection: echo }), 'TransportMisconfigured');
  const tcp = await V2gtpServer.start({ host: LOOPBACK, security: { kind: 'tcp', eimOnly: true }, onConnection: echo });
  try {
    const { connection, tls } = await connectV2gtp({ host: LOOPBACK, port: tcp.port, security: { kind: 'tcp' } });
    assert.is(tls, undefined);
    assert.equal(Buffer.from(await connection.request(sapReq, 5_000)), Buffer.from(sapReq));
    connection.end();
  } finally {
    await tcp.close();
  }
});

test.run();
