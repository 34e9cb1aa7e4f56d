// SDP over real UDP sockets on loopback: answers, the silent-drop corpus, and the client's
// 250 ms × 50 retry schedule driven by a manual clock.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { SdpServer } from '../../actors/transport/sdp-server.ts';
import { discoverSecc, SDP_MAX_REQUESTS } from '../../actors/transport/sdp-client.ts';
import { TransportError } from '../../actors/transport/errors.ts';
import type { Timers } from '../../actors/transport/timers.ts';
import { encodeSdpResponse } from '../../protocols/sdp/index.ts';

const hex = (text: string) => Buffer.from(text.replace(/\s/g, ''), 'hex');
const LOOPBACK = '::1';

async function udpClient(): Promise<Socket> {
  const socket = createSocket('udp6');
  await new Promise<void>((resolve) => socket.bind(0, LOOPBACK, resolve));
  return socket;
}

/** Polls `condition` each turn of the event loop; fails the test (instead of hanging) if it never holds. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const giveUp = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > giveUp) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/**
 * Sends `datagram`, then a valid probe; the server handles datagrams in order, so once both are
 * handled and every answer is in, the datagram's answer (if any) is the first of two.
 */
async function ask(server: SdpServer, datagram: Buffer): Promise<Buffer | undefined> {
  const socket = await udpClient();
  try {
    const replies: Buffer[] = [];
    socket.on('message', (m) => replies.push(m));
    const handled = () => server.stats.answered + server.stats.dropped;
    const answeredBefore = server.stats.answered;
    const handledBefore = handled();
    socket.send(datagram, server.port, LOOPBACK);
    socket.send(hex('01fe9000000000020000'), server.port, LOOPBACK);
    await until(() => handled() === handledBefore + 2, 'the server to handle both datagrams');
    await until(() => replies.length === server.stats.answered - answeredBefore, 'the answers');
    return replies.length === 2 ? replies[0] : undefined;
  } finally {
    socket.close();
  }
}

let server: SdpServer;
test.before(async () => {
  server = await SdpServer.start({ host: LOOPBACK, port: 0, announce: { address: 'fe80::ff:fe00:5e01', port: 50123, security: 'tls' } });
});
test.after(async () => server.close());

test('answers a TLS request unicast with its address, port 49152–65535, TLS, TCP (28 bytes)', async () => {
  const answer = await ask(server, hex('01fe9000000000020000'));
  assert.is(answer?.toString('hex'), '01fe900100000014' + 'fe80000000000000000000fffe005e01' + 'c3cb' + '00' + '00');
});

test('a no-TLS request gets the security the server offers (TLS), as EVerest answers', async () => {
  const answer = await ask(server, hex('01fe9000000000021000'));
  assert.is(answer?.subarray(26).toString('hex'), '0000');
});

const malformed: Record<string, string> = {
  empty: '',
  'one byte': '01',
  'header only': '01fe900000000000',
  'wrong version': '02fd9000000000020000',
  'wrong inverse': '01ff9000000000020000',
  'SDP response type': '01fe9001000000020000',
  'EXI type': '01fe8001000000020000',
  'unknown type': '01fe1234000000020000',
  'length 3, 3 bytes': '01fe900000000003000000',
  'length says 2, 3 bytes follow': '01fe900000000002000000',
  'length says 2, 1 byte follows': '01fe90000000000200',
  'length 0xffffffff': '01fe9000ffffffff0000',
  'unknown security 0x01': '01fe9000000000020100',
  'unknown transport 0x01': '01fe9000000000020001',
  'UDP transport (not served)': '01fe9000000000020010',
  'a whole SDP response': '01fe900100000014fe80000000000000000000fffe005e01c3cb0000',
  'two requests in one datagram': '01fe900000000002000001fe9000000000020000',
  'random 1200 bytes': Buffer.alloc(1200, 0xa5).toString('hex'),
};

test('malformed datagrams are dropped silently and the server keeps answering', async () => {
  for (const [name, datagram] of Object.entries(malformed)) {
    const droppedBefore = server.stats.dropped;
    const answer = await ask(server, hex(datagram));
    assert.is(answer, undefined, `${name}: must get no answer`);
    assert.is(server.stats.dropped, droppedBefore + 1, `${name}: counted as dropped`);
  }
  const socket = await udpClient();
  socket.send(hex('01fe9000000000020000'), server.port, LOOPBACK);
  const [reply] = await once(socket, 'message');
  socket.close();
  assert.is((reply as Buffer).length, 28);
});

test('the server refuses to announce a port outside 49152–65535', async () => {
  try {
    await SdpServer.start({ host: LOOPBACK, port: 0, announce: { address: '::1', port: 15118, security: 'none' } });
    assert.unreachable('must refuse');
  } catch (error) {
    assert.instance(error, TransportError);
    assert.is((error as TransportError).code, 'TransportMisconfigured');
  }
});

test('the client finds the server and scopes nothing on loopback', async () => {
  const found = await discoverSecc({ security: 'tls', target: { address: LOOPBACK, port: server.port } });
  assert.equal({ address: found.address, host: found.host, port: found.port, security: found.security, requests: found.requests }, { address: 'fe80::ff:fe00:5e01', host: 'fe80::ff:fe00:5e01', port: 50123, security: 'tls', requests: 1 });
});

test('the client scopes a link-local answer with its interface', async () => {
  const found = await discoverSecc({ security: 'tls', interface: 'lo', target: { address: LOOPBACK, port: server.port } });
  assert.is(found.host, 'fe80::ff:fe00:5e01%lo');
});

/** A clock the test advances by hand: `fire()` runs the one pending timer. */
class ManualTimers implements Timers {
  private pending: { callback: () => void; ms: number } | undefined;
  setTimeout(callback: () => void, ms: number): unknown {
    this.pending = { callback, ms };
    return this.pending;
  }
  clearTimeout(handle: unknown): void {
    if (this.pending === handle) this.pending = undefined;
  }
  fire(): number {
    const timer = this.pending;
    assert.ok(timer, 'a timer is pending');
    this.pending = undefined;
    timer.callback();
    return timer.ms;
  }
  get armed(): boolean {
    return this.pending !== undefined;
  }
}

/** A UDP peer that counts requests and answers the n-th one with `answer` (if given). */
async function silentPeer(answerOn?: { request: number; datagram: Buffer }) {
  const socket = await udpClient();
  const requests: Buffer[] = [];
  socket.on('message', (m, rinfo) => {
    requests.push(m);
    if (answerOn && requests.length === answerOn.request) socket.send(answerOn.datagram, rinfo.port, rinfo.address);
    socket.emit('counted');
  });
  const waitFor = async (n: number) => {
    while (requests.length < n) await once(socket, 'counted');
  };
  return { socket, requests, waitFor, port: socket.address().port };
}

test('the client resends every 250 ms and gives up after 50 requests with SdpNoResponse', async () => {
  const peer = await silentPeer();
  const timers = new ManualTimers();
  const outcome = discoverSecc({ security: 'tls', target: { address: LOOPBACK, port: peer.port }, timers }).then(() => assert.unreachable('no answer expected'), (e: unknown) => e);
  try {
    for (let n = 1; n <= SDP_MAX_REQUESTS; n++) {
      await peer.waitFor(n);
      assert.is(timers.fire(), 250);
    }
    const error = (await outcome) as TransportError;
    assert.instance(error, TransportError);
    assert.is(error.code, 'SdpNoResponse');
    assert.ok(error.retryable);
    assert.is(peer.requests.length, 50);
    assert.ok(peer.requests.every((r) => r.toString('hex') === '01fe9000000000020000'));
    assert.not.ok(timers.armed, 'no timer left behind');
  } finally {
    peer.socket.close();
  }
});

test('the client ignores unusable answers (port 15118, garbage) and takes the next good one', async () => {
  const bad = Buffer.from(encodeSdpResponse({ address: '::1', port: 15118, security: 'none', transport: 'tcp' }));
  const peer = await silentPeer();
  peer.socket.on('message', (_m, rinfo) => {
    const n = peer.requests.length;
    if (n === 1) peer.socket.send(bad, rinfo.port, rinfo.address);
    if (n === 2) peer.socket.send(hex('01fe9001deadbeef'), rinfo.port, rinfo.address);
    if (n === 3) peer.socket.send(encodeSdpResponse({ address: '::1', port: 65535, security: 'none', transport: 'tcp' }), rinfo.port, rinfo.address);
  });
  const timers = new ManualTimers();
  const ignored: string[] = [];
  const outcome = discoverSecc({ security: 'none', target: { address: LOOPBACK, port: peer.port }, timers, onIgnored: (r) => ignored.push(r) });
  try {
    await peer.waitFor(1);
    await until(() => ignored.length === 1, 'the first answer to be ignored');
    timers.fire();
    await peer.waitFor(2);
    await until(() => ignored.length === 2, 'the second answer to be ignored');
    timers.fire();
    const found = await outcome;
    assert.is(found.port, 65535);
    assert.is(found.requests, 3);
    assert.is(ignored.length, 2);
    assert.match(ignored[0], '15118');
  } finally {
    peer.socket.close();
  }
});

test.run();
