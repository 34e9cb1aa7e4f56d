// The CSMS's WebSocket edge under hostile input, raw over TLS sockets: HTTP-level refusals come
// from the HTTP edge with its typed JSON body (bad targets, oversized heads, plain requests, paths
// outside /ocpp/<id>, missing or bad subprotocols); bad Authorization encodings are a 401, never a
// 500; hostile WebSocket frames (non-JSON, binary, wrong message types, oversized) end at most
// their own connection. After each group a real station still connects, boots and is served.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect as tlsConnect } from 'node:tls';
import WebSocket from 'ws';
import { bootRequest, startBackOffice, testStation, type BackOffice } from './helpers.ts';
import { withCleanup } from '../harness/cleanup.ts';

let office: BackOffice;
const sockets: WebSocket[] = [];

test.before(async () => {
  office = await startBackOffice();
});
test.after(async () => {
  for (const socket of sockets) socket.terminate();
  await office?.stop();
});

/**
 * Sends raw bytes over TLS and resolves with everything the server wrote until it closed. The
 * socket stays open for writing: a half-close would read as a client gone before its upgrade.
 */
function rawExchange(bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: office.csms.port, ca: office.csms.caCertificate, servername: 'localhost' }, () => socket.write(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      // An accepted upgrade would stay open: what it answered is all the test needs.
      if (Buffer.concat(chunks).toString('latin1').startsWith('HTTP/1.1 101')) socket.destroy();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
}

const statusOf = (response: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? -1);
const bodyOf = (response: string): { code?: string } => JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as { code?: string };
const upgradeHead = (target: string, extra: Record<string, string> = {}): string => [
  `GET ${target} HTTP/1.1`, 'Host: localhost', 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol: ocpp2.0.1',
  ...Object.entries(extra).map(([name, value]) => `${name}: ${value}`), '', '',
].join('\r\n');

/** A real station (ocpp-rpc, strict) connects, boots and gets a Heartbeat answered. */
async function stillServing(identity: string): Promise<void> {
  const { password } = await office.csms.credentials.add(identity);
  const station = testStation({ url: office.csms.url, ca: office.csms.caCertificate, identity, password });
  await withCleanup(async (cleanup) => {
    cleanup(() => station.close({ force: true }));
    await station.connect();
    assert.is((await station.call('BootNotification', bootRequest) as { status: string }).status, 'Accepted');
    assert.ok((await station.call('Heartbeat', {}) as { currentTime?: string }).currentTime);
  });
}

test('HTTP edge in front: every refusal typed, from the edge, before ocpp-rpc', async () => {
  const corpus: Array<[string, string | Buffer, number, string | undefined]> = [
    ['plain GET', 'GET /ocpp/CS1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n', 426, 'UpgradeRequired'],
    ['plain POST with a body', 'POST /ocpp/CS1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 4\r\n\r\nabcd', 426, 'UpgradeRequired'],
    ['target starting //', upgradeHead('//evil.example/ocpp/CS1'), 400, 'BadTarget'],
    // Node's parser refuses a target that is not a path before the edge sees it.
    ['target not a path', upgradeHead('ocpp/CS1'), 400, 'BadRequest'],
    ['characters outside RFC 3986', upgradeHead('/ocpp/CS"1'), 400, 'BadTarget'],
    ['malformed percent-encoding', upgradeHead('/ocpp/CS%zz'), 400, 'BadEncoding'],
    ['overlong UTF-8', upgradeHead('/ocpp/%C0%AF'), 400, 'BadEncoding'],
    ['absolute form with a bad port', upgradeHead('http://localhost:99999/ocpp/CS1'), 400, 'BadTarget'],
    ['path outside /ocpp', upgradeHead('/admin/CS1'), 404, 'NotFound'],
    ['no station id', upgradeHead('/ocpp/'), 404, 'NotFound'],
    ['nested path', upgradeHead('/ocpp/CS1/extra'), 404, 'NotFound'],
    ['upgrade to another protocol', upgradeHead('/ocpp/CS1').replace('Upgrade: websocket', 'Upgrade: h2c'), 400, 'BadRequest'],
    ['no subprotocol', upgradeHead('/ocpp/CS1').replace('Sec-WebSocket-Protocol: ocpp2.0.1\r\n', ''), 400, 'BadRequest'],
    ['unsupported subprotocol', upgradeHead('/ocpp/CS1').replace('ocpp2.0.1', 'ocpp9.9, mqtt'), 400, 'BadRequest'],
    ['malformed subprotocol list', upgradeHead('/ocpp/CS1').replace('ocpp2.0.1', 'ocpp2.0.1,,"x"'), 400, 'BadRequest'],
    ['head over 16 KiB', upgradeHead('/ocpp/CS1', { 'X-Pad': 'A'.repeat(20 * 1024) }), 431, 'HeadersTooLarge'],
    ['broken HTTP framing', 'GET /ocpp/CS1 HTTP/9.9\r\nHost: localhost\r\n\r\n', 400, 'BadRequest'],
    ['header line without a colon', 'GET /ocpp/CS1 HTTP/1.1\r\nHost localhost\r\n\r\n', 400, 'BadRequest'],
    ['CONNECT', 'CONNECT localhost:443 HTTP/1.1\r\nHost: localhost\r\n\r\n', 405, 'MethodNotAllowed'],
  ];
  for (const [what, bytes, status, code] of corpus) {
    const response = await rawExchange(bytes);
    assert.is(statusOf(response), status, `${what}: ${response.slice(0, 80)}`);
    assert.match(response, /\r\nx-trace-id: [0-9a-f-]{36}\r\n/, `${what}: carries x-trace-id`);
    assert.is(bodyOf(response).code, code, `${what}: typed body`);
  }
  await stillServing('CS-EDGE-HTTP');
});

test('bad Authorization encodings are a 401 (no password), never a 500', async () => {
  const { password } = await office.csms.credentials.add('CS-EDGE-AUTH');
  const headers = [
    'Basic !!!not-base64!!!',
    'Basic',
    'Bearer abc.def.ghi',
    `Basic ${Buffer.from('CS-EDGE-AUTH').toString('base64')}`,
    `Basic ${Buffer.from(`OTHER:${password}`).toString('base64')}`,
    `Basic ${Buffer.concat([Buffer.from('CS-EDGE-AUTH:'), Buffer.from([0xff, 0xfe, 0x00, 0xc0])]).toString('base64')}`,
    `Basic ${'A'.repeat(8 * 1024)}`,
    `basic  ${Buffer.from(`CS-EDGE-AUTH:${password}x`).toString('base64')}`,
  ];
  for (const authorization of headers) {
    const response = await rawExchange(upgradeHead('/ocpp/CS-EDGE-AUTH', { Authorization: authorization }));
    assert.is(statusOf(response), 401, `${authorization.slice(0, 40)} → ${response.slice(0, 80)}`);
  }
  await stillServing('CS-EDGE-AUTH-AFTER');
});

/** A raw WebSocket with Basic auth; `messages` collects what the CSMS sends, `closed` its close code. */
async function rawSocket(identity: string): Promise<{ socket: WebSocket; messages: unknown[]; closed: Promise<number> }> {
  const { password } = await office.csms.credentials.add(identity);
  const socket = new WebSocket(`${office.csms.url}/${identity}`, ['ocpp2.0.1'], { ca: office.csms.caCertificate, headers: { authorization: `Basic ${Buffer.from(`${identity}:${password}`).toString('base64')}` } });
  sockets.push(socket);
  const messages: unknown[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  await new Promise((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject); });
  return { socket, messages, closed };
}

/** Sends a CALL with `id` and resolves with the answer frame of that id. */
async function exchange(raw: { socket: WebSocket; messages: unknown[] }, id: string, action: string, payload: object): Promise<unknown[]> {
  raw.socket.send(JSON.stringify([2, id, action, payload]));
  for (;;) {
    const answer = raw.messages.find((message) => Array.isArray(message) && message[1] === id);
    if (answer) return answer as unknown[];
    await new Promise((resolve) => raw.socket.once('message', resolve));
  }
}

test('hostile frames: non-JSON, binary, wrong message types, unsolicited answers; the connection keeps serving', async () => {
  const raw = await rawSocket('CS-EDGE-FRAMES');
  assert.is((await exchange(raw, 'boot', 'BootNotification', bootRequest))[0], 3);
  const corpus: Array<string | Buffer> = [
    'not json', '{"unterminated": ', '"a string"', '42', 'null', '[]', '[2]', '[2, 7, "Heartbeat", {}]',
    '[9, "x", "Heartbeat", {}]', '[-1, "x"]', '[2, "x", 5, {}]', '[2, "x", "Heartbeat", "not an object"]',
    '[3, "never-asked", {}]', '[4, "never-asked", "GenericError", "", {}]', '[4]',
    '[2, "' + 'i'.repeat(100) + '", "Heartbeat", {}]',
    Buffer.from([0x00, 0xff, 0x81, 0x7f]),
    JSON.stringify([2, 'proto', 'Heartbeat', JSON.parse('{"__proto__": {"admin": true}}')]),
  ];
  for (const frame of corpus) raw.socket.send(frame);
  const answer = await exchange(raw, 'after-corpus', 'Heartbeat', {});
  assert.is(answer[0], 3, `Heartbeat answered after the corpus: ${JSON.stringify(answer)}`);
  assert.ok(raw.messages.some((message) => Array.isArray(message) && message[0] === 4), 'malformed CALLs got CALLERRORs');
  assert.is(raw.socket.readyState, WebSocket.OPEN);
  await stillServing('CS-EDGE-FRAMES-AFTER');
});

test('an oversized frame ends only its own connection (1009)', async () => {
  const raw = await rawSocket('CS-EDGE-BIG');
  const bystander = await rawSocket('CS-EDGE-BYSTANDER');
  assert.is((await exchange(bystander, 'boot', 'BootNotification', bootRequest))[0], 3);
  raw.socket.send(Buffer.alloc(65 * 1024 + 1, 0x41));
  assert.is(await raw.closed, 1009);
  assert.is((await exchange(bystander, 'bystander-alive', 'Heartbeat', {}))[0], 3);
  await stillServing('CS-EDGE-BIG-AFTER');
});

test.run();
