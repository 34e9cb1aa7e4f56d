// POST /oauth/token under attack (issue 8 §1): unknown and known client ids cost the same scrypt work
// (counted through an injected hasher, so no timing is measured), failed attempts are limited per
// client id and per source address (429 with the OPCP error body, windows on an injected clock), and
// valid clients keep getting tokens while a wrong-secret flood runs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { scrypt as scryptCallback } from 'node:crypto';
import { promisify } from 'node:util';
import { OAuthService, type SecretHasher } from '../../actors/opcp/auth.ts';
import { startOpcpGateway } from '../../actors/opcp/gateway.ts';
import { openEmbedded } from '../pools/helpers.ts';
import { head, rawRequest } from '../helpers/raw-http.ts';

const scrypt = promisify(scryptCallback) as SecretHasher;

/** scrypt, counting its calls. */
function countingHasher(): SecretHasher & { calls: number } {
  const hasher = Object.assign(async (...args: Parameters<SecretHasher>) => {
    hasher.calls += 1;
    return scrypt(...args);
  }, { calls: 0 });
  return hasher;
}

function manualClock(start = Date.parse('2026-12-05T12:00:00Z')) {
  let now = start;
  return { now: () => new Date(now), advance: (ms: number) => void (now += ms) };
}

const codeOf = (promise: Promise<unknown>) => promise.then(() => 'issued', (error: { code: string }) => error.code);

test('unknown and known client ids with a wrong secret do the same scrypt work', async () => {
  const env = await openEmbedded();
  const hasher = countingHasher();
  const oauth = new OAuthService(env.store, { hasher });
  const cpo = await oauth.addClient('cpo', []);
  hasher.calls = 0;
  assert.is(await codeOf(oauth.issueToken({ client_id: 'cpo-0123456789abcdef', client_secret: 'guess' })), 'invalid_client');
  assert.is(hasher.calls, 1, 'an unknown id is checked against a dummy hash');
  assert.is(await codeOf(oauth.issueToken({ client_id: cpo.client_id, client_secret: 'guess' })), 'invalid_client');
  assert.is(hasher.calls, 2, 'a known id with a wrong secret: one scrypt as well');
  assert.is(await codeOf(oauth.issueToken({ client_id: cpo.client_id, client_secret: cpo.client_secret })), 'issued');
  assert.is(hasher.calls, 3);
  // Once verified, the secret is remembered for the token lifetime: no scrypt per token.
  for (let i = 0; i < 5; i++) await oauth.issueToken({ client_id: cpo.client_id, client_secret: cpo.client_secret });
  assert.is(hasher.calls, 3);
  // A wrong secret for a remembered id still costs one scrypt, as for any other id.
  assert.is(await codeOf(oauth.issueToken({ client_id: cpo.client_id, client_secret: 'guess' })), 'invalid_client');
  assert.is(hasher.calls, 4);
  await env.close();
});

test('failed attempts are limited per client id and per source; the window is on the injected clock', async () => {
  const env = await openEmbedded();
  const clock = manualClock();
  const hasher = countingHasher();
  const oauth = new OAuthService(env.store, { hasher, clock: clock.now, attemptLimits: { windowSeconds: 60, perClient: 3, perSource: 5 } });
  const mo = await oauth.addClient('mo', ['DEABC']);
  const wrong = { client_id: mo.client_id, client_secret: 'wrong' };
  for (let i = 0; i < 3; i++) assert.is(await codeOf(oauth.issueToken(wrong, undefined, '192.0.2.1')), 'invalid_client');
  hasher.calls = 0;
  const limited = await oauth.issueToken(wrong, undefined, '192.0.2.2').then(() => undefined, (error) => error);
  assert.is(limited?.code, 'TooManyRequests', 'per client id, from any address');
  assert.is(limited?.data?.retryAfterSeconds, 60);
  assert.is(hasher.calls, 0, 'a limited attempt costs no scrypt');
  // Even the right secret waits while the id is locked (it has not been verified yet).
  assert.is(await codeOf(oauth.issueToken(mo, undefined, '192.0.2.2')), 'TooManyRequests');
  clock.advance(30_000);
  assert.is((await oauth.issueToken(wrong, undefined, '192.0.2.3').catch((e) => e)).data?.retryAfterSeconds, 30);
  clock.advance(30_000);
  assert.is(await codeOf(oauth.issueToken(mo, undefined, '192.0.2.2')), 'issued', 'the window has passed');
  // Per source: five unknown ids from one address, then that address waits; another does not.
  for (let i = 0; i < 2; i++) assert.is(await codeOf(oauth.issueToken({ client_id: `mo-${i}`, client_secret: 'x' }, undefined, '198.51.100.7')), 'invalid_client');
  for (let i = 2; i < 5; i++) assert.is(await codeOf(oauth.issueToken({ client_id: `mo-${i}`, client_secret: 'x' }, undefined, '198.51.100.7')), 'invalid_client');
  assert.is(await codeOf(oauth.issueToken({ client_id: 'mo-5', client_secret: 'x' }, undefined, '198.51.100.7')), 'TooManyRequests');
  assert.is(await codeOf(oauth.issueToken({ client_id: 'mo-5', client_secret: 'x' }, undefined, '198.51.100.8')), 'invalid_client');
  // The remembered client passes its own address's limit untouched, by a constant-time compare.
  assert.is(await codeOf(oauth.issueToken(mo, undefined, '198.51.100.7')), 'issued');
  await env.close();
});

test('over HTTP: a wrong-secret flood from one address gets 429 with the OPCP error body; valid clients keep getting tokens', async () => {
  const env = await openEmbedded();
  const hasher = countingHasher();
  const gateway = await startOpcpGateway({ bus: env.bus, store: env.store, log: env.log, port: 0, hasher, attemptLimits: { perClient: 5, perSource: 10 } });
  try {
    const remembered = await gateway.oauth.addClient('cpo', []);
    const fresh = await gateway.oauth.addClient('oem', ['OPN']);
    const token = (credentials: { client_id: string; client_secret: string }, localAddress = '127.0.0.1') => {
      const body = JSON.stringify({ ...credentials, grant_type: 'client_credentials' });
      return rawRequest(gateway.port, head('POST', '/oauth/token', { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }), body, { localAddress });
    };
    assert.is((await token(remembered)).status, 200);
    hasher.calls = 0;
    // 200 wrong secrets from 127.0.0.2, for the remembered client's id and for made-up ids, all at once.
    const flood = Array.from({ length: 200 }, (_, i) => token({ client_id: i % 2 ? remembered.client_id : `cpo-${i}`, client_secret: 'wrong' }, '127.0.0.2'));
    const during = await Promise.all([token(remembered), token(fresh), token(remembered)]);
    assert.equal(during.map((a) => a.status), [200, 200, 200], 'valid clients are served during the flood');
    const answers = await Promise.all(flood);
    const limited = answers.filter((a) => a.status === 429);
    assert.ok(limited.length >= 190, `${limited.length} of 200 flood requests limited`);
    assert.ok(answers.every((a) => a.status === 401 || a.status === 429));
    const body = JSON.parse(limited[0].body.toString()) as { errorMessages: string[]; traceId: string };
    assert.match(body.errorMessages[0], /too many failed token requests/);
    assert.is(body.traceId, limited[0].headers['x-trace-id']);
    assert.match(limited[0].headers['retry-after'] ?? '', /^\d+$/);
    // Scrypt ran for at most the flood's allowance plus the fresh client's one check.
    assert.ok(hasher.calls <= 10 + 1, `${hasher.calls} scrypt calls`);
  } finally {
    await gateway.close();
    await env.close();
  }
});

test.run();
