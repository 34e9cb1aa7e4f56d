// The V2GTP edge's malformed-input corpus, over TLS, plain TCP and the in-memory pair: every bad
// frame closes its own connection with a typed V2gtpError (link-layer.md §2.3), the server keeps serving.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { once } from 'node:events';
import { connect as connectTcp } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as connectTls } from 'node:tls';
import { createTestPki } from '../../protocols/pki/index.ts';
import { V2gtpServer } from '../../actors/transport/v2gtp-server.ts';
import { credentialsOf, evccTlsOptions } from '../../actors/transport/tls.ts';
import { V2gtpConnection } from '../../actors/transport/v2gtp-connection.ts';
import { duplexPair } from '../../actors/transport/duplex-pair.ts';
import type { TransportError } from '../../actors/transport/errors.ts';
import { loadCorpus } from '../helpers/exi-corpus.ts';

const LOOPBACK = '::1';
const hex = (text: string) => Buffer.from(text, 'hex');
const corpus = loadCorpus();
// A real ISO-2 CurrentDemandReq and SupportedAppProtocolReq (RISE-V2G captures, rows 106 and 60).
const currentDemandReq = corpus.find((r) => r.id === 106)!.bytes;
const sapReq = corpus.find((r) => r.id === 60)!.bytes;
const frame = (payload: Uint8Array) => Buffer.concat([hex('01fe8001'), Buffer.from([0, 0, payload.length >> 8, payload.length & 0xff]), payload]);

interface Case { readonly name: string; readonly bytes: Buffer; readonly reason: string; readonly deliveredBefore?: number; readonly fin?: boolean }
const cases: Case[] = [
  { name: 'wrong version', bytes: hex('02fe800100000004' + '80400280'), reason: 'InvalidVersion' },
  { name: 'wrong inverse version', bytes: hex('01ff800100000004' + '80400280'), reason: 'InvalidVersion' },
  { name: 'ISO 15118-20 payload type 0x8002', bytes: hex('01fe800200000004' + '80400280'), reason: 'UnknownPayloadType' },
  { name: 'SDP request type on the TCP stream', bytes: hex('01fe9000000000020000'), reason: 'UnexpectedPayloadType' },
  { name: 'oversized length 1 MiB (refused from the header)', bytes: hex('01fe800100100000'), reason: 'PayloadTooLarge' },
  { name: 'length 0xffffffff', bytes: hex('01fe8001ffffffff'), reason: 'PayloadTooLarge' },
  { name: 'ASCII garbage', bytes: Buffer.from('hello, charger\r\n'), reason: 'InvalidVersion' },
  { name: 'a good frame, then a bad header in the same chunk', bytes: Buffer.concat([frame(sapReq), hex('deadbeefdeadbeef')]), reason: 'InvalidVersion', deliveredBefore: 1 },
  { name: 'a frame cut off by FIN', bytes: frame(currentDemandReq).subarray(0, 20), reason: 'Truncated', fin: true },
  { name: 'a header cut off by FIN', bytes: hex('01fe80'), reason: 'Truncated', fin: true },
];

type Opener = (port: number) => Promise<Duplex>;

async function corpusAgainst(server: V2gtpServer, open: Opener, closures: Promise<[TransportError | undefined]>[], delivered: number[]): Promise<void> {
  for (const c of cases) {
    const before = closures.length;
    const deliveredBefore = delivered.length;
    const socket = await open(server.port);
    socket.on('error', () => undefined);
    socket.resume();
    const clientClosed = once(socket, 'close');
    if (c.fin) socket.end(c.bytes);
    else socket.write(c.bytes);
    while (closures.length === before) await new Promise((r) => setImmediate(r));
    const [reason] = await closures[before];
    assert.is(reason?.code, 'V2gtpError', `${c.name}: ${reason?.message}`);
    assert.is((reason?.data as { reason: string }).reason, c.reason, c.name);
    assert.is(delivered.length - deliveredBefore, c.deliveredBefore ?? 0, `${c.name}: frames before the bad header are delivered`);
    await clientClosed; // the server closed this one connection
  }
  // Still serving: a real frame, split into single bytes, is reassembled and echoed.
  const socket = await open(server.port);
  const client = new V2gtpConnection(socket);
  const answer = new Promise<Uint8Array>((resolve) => client.once('frame', (f) => resolve(f.payload)));
  for (const byte of frame(currentDemandReq)) socket.write(Buffer.from([byte]));
  assert.equal(Buffer.from(await answer), Buffer.from(currentDemandReq));
  client.end();
}

function echoServer(closures: Promise<[TransportError | undefined]>[], delivered: number[]) {
  return (socket: Duplex) => {
    const connection = new V2gtpConnection(socket);
    closures.push(once(connection, 'close') as Promise<[TransportError | undefined]>);
    connection.on('frame', (f) => {
      delivered.push(f.payload.length);
      connection.send(f.payload);
    });
  };
}

test('plain TCP (EIM-only): each malformed frame closes its connection with the reason; the server keeps serving', async () => {
  const closures: Promise<[TransportError | undefined]>[] = [];
  const delivered: number[] = [];
  const server = await V2gtpServer.start({ host: LOOPBACK, security: { kind: 'tcp', eimOnly: true }, onConnection: echoServer(closures, delivered) });
  try {
    await corpusAgainst(server, async (port) => {
      const socket = connectTcp({ host: LOOPBACK, port });
      await once(socket, 'connect');
      return socket;
    }, closures, delivered);
  } finally {
    await server.close();
  }
});

test('TLS: the same corpus inside the encrypted stream', async () => {
  const pki = await createTestPki();
  const closures: Promise<[TransportError | undefined]>[] = [];
  const delivered: number[] = [];
  const server = await V2gtpServer.start({ host: LOOPBACK, security: { kind: 'tls', credentials: await credentialsOf(pki.secc) }, onConnection: echoServer(closures, delivered) });
  const roots = [pki.trustAnchors.v2g[0].toString('pem')];
  try {
    await corpusAgainst(server, async (port) => {
      const socket = connectTls({ host: LOOPBACK, port, ...evccTlsOptions(roots) });
      await once(socket, 'secureConnect');
      return socket;
    }, closures, delivered);
  } finally {
    await server.close();
  }
});

test('in-memory pair: the same framing, and a reset on one end closes the other', async () => {
  const [ev, secc] = duplexPair();
  const evSide = new V2gtpConnection(ev);
  const seccSide = new V2gtpConnection(secc, { maxPayloadLength: 64 });
  seccSide.on('frame', (f) => seccSide.send(f.payload));
  assert.equal(Buffer.from(await evSide.request(sapReq, 5_000)), Buffer.from(sapReq));
  const closed = once(seccSide, 'close');
  const evClosed = once(evSide, 'close');
  ev.write(hex('01fe800100000041')); // 65 bytes announced, above this side's limit of 64
  const [reason] = (await closed) as [TransportError];
  assert.is(reason.code, 'V2gtpError');
  assert.is((reason.data as { reason: string }).reason, 'PayloadTooLarge');
  await evClosed;
  assert.ok(ev.destroyed);
});

test('a request on a connection closed under it is rejected with ConnectionClosed, not left hanging', async () => {
  const [ev, secc] = duplexPair();
  const evSide = new V2gtpConnection(ev);
  secc.once('data', () => secc.destroy());
  try {
    await evSide.request(sapReq, 5_000);
    assert.unreachable('must reject');
  } catch (error) {
    assert.is((error as TransportError).code, 'ConnectionClosed');
  }
  assert.not.ok(evSide.send(sapReq), 'send on a closed connection reports false');
});

test.run();
