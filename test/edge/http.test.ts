// The HTTP edge helper on its own: target parsing, handlers that throw (synchronously, asynchronously,
// or build a bad reply), slow clients timed out with 408, and upgrade requests for a WebSocket edge.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from 'node:net';
import { once } from 'node:events';
import { EdgeError, parseTarget, startHttpEdge, type EdgeReply, type HttpEdge, type HttpEdgeOptions } from '../../actors/edge/http.ts';
import { createLogger } from '../../actors/host/log.ts';
import { PncError } from '../../protocols/errors.ts';
import { head, rawRequest } from '../helpers/raw-http.ts';

const quiet = createLogger({ write: () => {} });
const jsonError: HttpEdgeOptions['errorReply'] = (error, status, traceId) => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: error.code, message: error.message, traceId }) });

async function withEdge(options: Partial<HttpEdgeOptions>, run: (edge: HttpEdge) => Promise<void>): Promise<void> {
  const edge = await startHttpEdge({ name: 'test', log: quiet, port: 0, errorReply: jsonError, handle: () => ({ status: 204 }), ...options });
  try {
    await run(edge);
  } finally {
    await edge.close();
  }
}

test('parseTarget: origin and absolute form, segments decoded after the split, strict query decoding', () => {
  const target = parseTarget('/mo/ab%2Fcd/%C3%A9?x=1&x=%41+b&flag');
  assert.equal(target.segments, ['mo', 'ab/cd', 'é']);
  assert.is(target.path, '/mo/ab%2Fcd/%C3%A9');
  assert.equal(target.query, { x: ['1', 'A b'], flag: '' });
  assert.is(parseTarget('http://example.com:8080/a?b=c').path, '/a');
  const polluting = parseTarget('/a?__proto__=x&__proto__=y');
  assert.is(Object.getPrototypeOf(polluting.query), Object.prototype, 'a repeated __proto__ stays data');
  assert.equal(polluting.query.__proto__, ['x', 'y']);
  assert.is(parseTarget('HTTP://[::1]:80').path, '/');
  for (const [raw, code] of [
    ['//', 'BadTarget'], ['//x:99999/a', 'BadTarget'], ['http://[::1', 'BadTarget'], ['http://x:99999/a', 'BadTarget'], ['http://user@x/a', 'BadTarget'],
    ['*', 'BadTarget'], ['a/b', 'BadTarget'], ['', 'BadTarget'], [undefined, 'BadTarget'], ['/a b', 'BadTarget'], ['/a\\b', 'BadTarget'], ['/ä', 'BadTarget'], ['/a?b c', 'BadTarget'],
    ['/%zz', 'BadEncoding'], ['/%E0%A4%A', 'BadEncoding'], ['/%', 'BadEncoding'], ['/%C0%AF', 'BadEncoding'], ['/%ED%A0%80', 'BadEncoding'], ['/a?x=%FF', 'BadEncoding'], ['/a?%zz=1', 'BadEncoding'],
  ] as const) {
    try {
      parseTarget(raw);
      assert.unreachable(String(raw));
    } catch (error) {
      assert.instance(error, EdgeError, String(raw));
      assert.is((error as EdgeError).code, code, String(raw));
      assert.is((error as EdgeError).status, 400);
    }
  }
});

test('whatever a handler throws becomes the typed error body; the server keeps serving', async () => {
  const handlers: Record<string, () => EdgeReply | Promise<EdgeReply>> = {
    '/sync': () => {
      throw new Error('sync boom');
    },
    '/async': async () => {
      await Promise.resolve();
      throw new TypeError('async boom');
    },
    '/typed': () => {
      throw new PncError('Forbidden', 'not yours');
    },
    '/string': () => {
      throw 'a bare string';
    },
    '/bad-header': () => ({ status: 200, headers: { 'x-bad': 'line\r\nbreak' }, body: 'x' }),
    '/bad-status': () => ({ status: 1234 }),
    '/ok': () => ({ status: 200, body: 'fine' }),
  };
  await withEdge({ handle: (request) => handlers[request.target.path](), statusOf: (error) => (error.code === 'Forbidden' ? 403 : 500) }, async (edge) => {
    for (const [path, status, pattern] of [['/sync', 500, /sync boom/], ['/async', 500, /async boom/], ['/typed', 403, /not yours/], ['/string', 500, /a bare string/], ['/bad-header', 500, /header|character/i], ['/bad-status', 500, /status/i]] as const) {
      const answer = await rawRequest(edge.port, head('GET', path));
      assert.is(answer.status, status, path);
      const body = JSON.parse(answer.body.toString()) as { message: string; traceId: string };
      assert.match(body.message, pattern, path);
      assert.is(body.traceId, answer.headers['x-trace-id']);
    }
    assert.is((await rawRequest(edge.port, head('GET', '/ok'))).body.toString(), 'fine');
  });
});

test('an EdgeError from a handler keeps its status and headers (405 with Allow, RFC 9110 §15.5.6)', async () => {
  await withEdge({ handle: () => { throw new EdgeError('MethodNotAllowed', 'only GET', { allow: 'GET' }); } }, async (edge) => {
    const answer = await rawRequest(edge.port, head('PUT', '/x', { 'content-length': 0 }));
    assert.is(answer.status, 405);
    assert.is(answer.headers.allow, 'GET');
    assert.match(answer.body.toString(), /"code":"MethodNotAllowed"/);
  });
});

test('an errorReply that throws still answers, in plain text', async () => {
  await withEdge({ errorReply: () => { throw new Error('no body for you'); } }, async (edge) => {
    const answer = await rawRequest(edge.port, head('GET', '/%zz'));
    assert.is(answer.status, 400);
    assert.match(answer.body.toString(), /malformed percent-encoding/);
  });
});

test('a client that never finishes its head gets 408 with the typed body, and the connection is closed', async () => {
  await withEdge({ limits: { headersTimeoutMs: 200, requestTimeoutMs: 400 } }, async (edge) => {
    const socket = connect(edge.port, '127.0.0.1');
    socket.write('GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    let received = '';
    socket.on('data', (chunk) => (received += chunk));
    await once(socket, 'close'); // waits for the server's timeout, however long the machine takes
    assert.match(received, /^HTTP\/1\.1 408 /);
    assert.match(received, /"code":"RequestTimeout"/);
  });
});

test('a body that stalls is cut by the request timeout, and the server serves the next client', async () => {
  await withEdge({ limits: { headersTimeoutMs: 200, requestTimeoutMs: 400 } }, async (edge) => {
    const socket = connect(edge.port, '127.0.0.1');
    socket.write('PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part');
    let received = '';
    socket.on('data', (chunk) => (received += chunk));
    socket.on('error', () => undefined);
    await once(socket, 'close');
    assert.ok(received === '' || /^HTTP\/1\.1 408 /.test(received), received);
    assert.is((await rawRequest(edge.port, head('GET', '/'))).status, 204);
  });
});

test('upgrade requests: a bad target is refused with the typed body, a good one is handed the socket', async () => {
  const upgrades: string[] = [];
  await withEdge({
    upgrade: ({ target }, socket) => {
      upgrades.push(target.path);
      if (target.path === '/throws') throw new PncError('Forbidden', 'no such charging station');
      socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n');
    },
    statusOf: () => 404,
  }, async (edge) => {
    const upgradeHead = (target: string) => head('GET', target, { connection: 'Upgrade', upgrade: 'websocket' }).replace('Connection: close\r\n', '');
    const bad = await rawRequest(edge.port, upgradeHead('/%zz'));
    assert.is(bad.status, 400);
    assert.match(bad.body.toString(), /BadEncoding/);
    const refused = await rawRequest(edge.port, upgradeHead('/throws'));
    assert.is(refused.status, 404);
    assert.match(refused.body.toString(), /no such charging station/);
    assert.is((await rawRequest(edge.port, upgradeHead('/ocpp/CS001'))).status, 101);
    assert.equal(upgrades, ['/throws', '/ocpp/CS001']);
  });
});

test('a port in use is a rejected start, not a crash', async () => {
  await withEdge({}, async (edge) => {
    await startHttpEdge({ name: 'second', log: quiet, port: edge.port, errorReply: jsonError, handle: () => ({ status: 204 }) }).then(
      async (second) => {
        await second.close();
        assert.unreachable('the second server should not listen');
      },
      (error: NodeJS.ErrnoException) => assert.is(error.code, 'EADDRINUSE'),
    );
  });
});

test.run();
