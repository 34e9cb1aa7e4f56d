// The OPCP gateway as a hostile client meets it (issue 8 §1): targets that used to kill the process,
// malformed percent-encodings, a 10 MB body, and a body that names its own caller.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestPki, type TestPki } from '../../protocols/pki/index.ts';
import { bytesToBase64 } from '../../actors/pools/common.ts';
import { head, rawRequest, type RawAnswer } from '../helpers/raw-http.ts';
import { startStack, type Stack } from './helpers.ts';

const b64 = (c: { rawData: ArrayBuffer }) => bytesToBase64(c.rawData);
let stack: Stack;
let pki: TestPki;

test.before(async () => {
  pki = await createTestPki({ vehicles: 1 });
  stack = await startStack();
  for (const [anchor, rootType] of [[pki.trustAnchors.v2g[0], 'V2G'], [pki.trustAnchors.oem[0], 'OEM'], [pki.trustAnchors.mo[0], 'MO']] as const) {
    assert.is((await stack.call('admin', 'PUT', '/v1/root/rootCerts', { body: { caCertificate: b64(anchor), rootType } })).status, 200);
  }
});
test.after(async () => stack?.stop());

/** The OPCP Error body: `{ errorMessages: [..], traceId }`, and the trace id also as a header. */
function assertOpcpError(answer: RawAnswer, status: number, pattern: RegExp): void {
  assert.is(answer.status, status, answer.body.toString());
  assert.match(answer.headers['content-type'] ?? '', /^application\/json/);
  const body = JSON.parse(answer.body.toString('utf8')) as { errorMessages: string[]; traceId: string };
  assert.ok(Array.isArray(body.errorMessages) && body.errorMessages.length > 0);
  assert.match(body.errorMessages.join(' '), pattern);
  assert.is(body.traceId, answer.headers['x-trace-id']);
}

async function stillServes(): Promise<void> {
  assert.is((await stack.call('cpo', 'GET', '/v1/root/rootCerts')).status, 200, 'the gateway still serves');
}

test('targets that used to crash the process answer 400 with the OPCP error body', async () => {
  const auth = { authorization: `Bearer ${stack.tokens.oem}` };
  for (const target of ['//', 'http://[::1', '//x:99999/v1/root/rootCerts', 'http://x:99999/v1/root/rootCerts', '*']) {
    assertOpcpError(await rawRequest(stack.gateway.port, head('GET', target, auth)), 400, /request target/);
  }
  for (const target of ['/v1/oem/provCerts/%E0%A4%A', '/v1/oem/provCerts/%zz', '/v2g-root/%zz', '/v1/oem/provCerts/%C0%AF', '/v1/root/rootCerts?rootType=%zz']) {
    assertOpcpError(await rawRequest(stack.gateway.port, head('GET', target, auth)), 400, /percent-encoding/);
  }
  await stillServes();
});

test('a 10 MB body is answered 413 with the OPCP error body, declared or chunked, and the client reads it', async () => {
  const big = Buffer.alloc(10 << 20, 0x20);
  const declared = await fetch(`${stack.gateway.url}/v1/oem/provCerts`, { method: 'PUT', headers: { authorization: `Bearer ${stack.tokens.oem}`, 'content-type': 'application/json' }, body: big });
  assert.is(declared.status, 413);
  assert.match(((await declared.json()) as { errorMessages: string[] }).errorMessages[0], /over the limit/);
  const chunked = await rawRequest(stack.gateway.port, head('PUT', '/v1/oem/provCerts', { authorization: `Bearer ${stack.tokens.oem}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' }), Buffer.concat([Buffer.from(`${big.length.toString(16)}\r\n`), big, Buffer.from('\r\n0\r\n\r\n')]));
  assertOpcpError(chunked, 413, /over the limit/);
  assertOpcpError(await rawRequest(stack.gateway.port, head('GET', '/v1/root/rootCerts', { 'x-filler': 'a'.repeat(64 << 10) })), 431, /request head/);
  await stillServes();
});

test('identity comes from the token only: a body naming a caller is refused and nothing is written', async () => {
  const [leaf, sub2, sub1] = pki.provisioning[0].chain;
  const pcid = pki.provisioning[0].identifier!;
  const chain = { vehicleCertificate: b64(leaf), subCA2Certificate: b64(sub2), subCA1Certificate: b64(sub1) };
  // The OEM with WMI XYZ claims to be the OEM of this vehicle's WMI.
  const forged = await stack.call('otherOem', 'PUT', '/v1/oem/provCerts', { body: { ...chain, caller: { role: 'oem', prefixes: [pcid.slice(0, 3)] } } });
  assert.is(forged.status, 400);
  assert.match(forged.body.errorMessages[0], /may not carry caller/);
  assert.is((await stack.call('oem', 'GET', `/v1/oem/provCerts/${pcid}`)).status, 404, 'no vehicle was created');
  // An admin role claimed in the body of a root upload is refused the same way.
  const extra = await createTestPki();
  const asAdmin = await stack.call('cpo', 'PUT', '/v1/root/rootCerts', { body: { caCertificate: b64(extra.trustAnchors.v2g[0]), rootType: 'V2G', caller: { role: 'admin', prefixes: [] } } });
  assert.is(asAdmin.status, 403, 'the role check comes first and uses the token');
  // Without the forged field the token's identity decides: XYZ may not, the vehicle's own OEM may.
  assert.is((await stack.call('otherOem', 'PUT', '/v1/oem/provCerts', { body: chain })).status, 403);
  assert.is((await stack.call('oem', 'PUT', '/v1/oem/provCerts', { body: chain })).status, 200);
  // The rightful owner's chain cannot be overwritten by XYZ either.
  assert.is((await stack.call('otherOem', 'PUT', '/v1/oem/provCerts', { body: { ...chain, caller: { role: 'oem', prefixes: [pcid.slice(0, 3)] } } })).status, 400);
  assert.is((await stack.call('oem', 'GET', `/v1/oem/provCerts/${pcid}`)).status, 200);
});

test('wrong content type 415, bad JSON 400, every one with the error body', async () => {
  const auth = { authorization: `Bearer ${stack.tokens.oem}` };
  assertOpcpError(await rawRequest(stack.gateway.port, head('PUT', '/v1/oem/provCerts', { ...auth, 'content-type': 'text/plain', 'content-length': 2 }), '{}'), 415, /content type text\/plain/);
  assertOpcpError(await rawRequest(stack.gateway.port, head('PUT', '/v1/oem/provCerts', { ...auth, 'content-type': 'application/json', 'content-length': 3 }), Buffer.from([0x22, 0xff, 0x22])), 400, /not valid JSON/);
  await stillServes();
});

test.run();
