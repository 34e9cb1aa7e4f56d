// Malformed-request corpus against both HTTP servers of ours, raw over a socket: the OPCP gateway
// and the OCSP responder (RFC 6960 A.1). Bad targets, bad encodings, bad HTTP framing, huge heads and
// bodies, path traversal, wrong methods and content types; for the gateway also bad JSON, wrong types,
// forged, expired, `alg: none` and foreign tokens, identity fields in bodies. Every answer is the
// server's own typed error (OPCP `{errorMessages, traceId}`, or a DER OCSPResponse that is not
// `successful`), never a 5xx, and afterwards each server still answers a valid request.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as asn1js from 'asn1js';
import { SignJWT, decodeJwt } from 'jose';
import { v2gRootParticipant } from '../../actors/participants/v2g-root.ts';
import type { RunningParticipant } from '../../actors/host/participant.ts';
import { OAuthService } from '../../actors/opcp/auth.ts';
import { requestSubjectReply } from '../../actors/bus/typed.ts';
import { certificateOf } from '../../actors/participants/authority.ts';
import { v2gRootInterface } from '../../protocols/catalogue/v2g-root.ts';
import { buildOcspRequest, ocspResponseStatuses } from '../../protocols/pki/ocsp.ts';
import { freePort } from '../harness/nats.ts';
import { head, rawRequest, type RawAnswer } from '../helpers/raw-http.ts';
import { startStack, type Stack } from '../opcp/helpers.ts';

interface Case {
  readonly name: string;
  readonly head: string | Buffer;
  readonly body?: string | Buffer;
}

let stack: Stack;
let v2gRoot: RunningParticipant;
let ocspPort = 0;
let validOcspRequest: Uint8Array;

test.before(async () => {
  stack = await startStack();
  ocspPort = await freePort();
  v2gRoot = await v2gRootParticipant.start({ bus: stack.env.bus, store: stack.env.store, log: stack.env.log, dataDir: stack.env.dir, config: { ocspHttpPort: String(ocspPort) } });
  const { certificates: [root] } = await requestSubjectReply(stack.env.bus, v2gRootInterface.requests.ca, {});
  validOcspRequest = buildOcspRequest({ certificate: certificateOf(root), issuer: certificateOf(root) }).der;
});

test.after(async () => {
  await v2gRoot?.stop();
  await stack?.stop();
});

const big = Buffer.alloc(10 << 20, 0x41);
const chunked = (payload: Buffer) => Buffer.concat([Buffer.from(`${payload.length.toString(16)}\r\n`), payload, Buffer.from('\r\n0\r\n\r\n')]);
const withBody = (method: string, target: string, body: string | Buffer, headers: Record<string, string | number> = {}): Case => ({
  name: `${method} ${target} ${String(headers['content-type'] ?? '')} ${Buffer.from(body).subarray(0, 24).toString('latin1')}`,
  head: head(method, target, { 'content-length': Buffer.byteLength(body), ...headers }),
  body,
});
const get = (target: string, headers: Record<string, string | number> = {}): Case => ({ name: `GET ${target.slice(0, 60)}`, head: head('GET', target, headers) });
const rawHead = (name: string, text: string): Case => ({ name, head: Buffer.from(text, 'latin1') });

/** What any HTTP server of ours must refuse, whatever its paths: `prefix` is a path it serves. */
function commonCorpus(prefix: string): Case[] {
  return [
    get('//'),
    get('http://[::1'),
    get('//x:99999/a'),
    get('http://x:99999/a'),
    get('http://user@host/a'),
    get('*'),
    get('a/b'),
    get(`${prefix}/%zz`),
    get(`${prefix}/%E0%A4%A`),
    get(`${prefix}/%`),
    get(`${prefix}/%C0%AF`),
    get(`${prefix}/%ED%A0%80`),
    get(`${prefix}?x=%FF`),
    get(`${prefix}?%zz=1`),
    get('/../../../../etc/passwd'),
    get('/%2e%2e/%2e%2e/etc/passwd'),
    get(`${prefix}/..%2F..%2F..%2Fetc%2Fpasswd`),
    get(`${prefix}/a\\b`),
    get(`${prefix}/a"b`),
    get(`${prefix}/<script>`),
    rawHead('non-ASCII target', `GET ${prefix}/\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
    rawHead('control character in target', `GET ${prefix}/\x01 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
    rawHead('HTTP/9.9', `GET ${prefix} HTTP/9.9\r\nHost: x\r\n\r\n`),
    rawHead('not HTTP at all', 'HELLO THERE\r\n\r\n'),
    rawHead('header without a colon', `GET ${prefix} HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n`),
    rawHead('space before the colon', `GET ${prefix} HTTP/1.1\r\nHost : x\r\n\r\n`),
    rawHead('bare LF line endings and NUL', `GET ${prefix} HTTP/1.1\nHost: x\nX: a\x00b\n\n`),
    get(prefix, { 'x-filler': 'a'.repeat(64 << 10) }),
    { name: '2000 headers', head: `GET ${prefix} HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 2000 }, (_, i) => `X-H${i}: v\r\n`).join('')}\r\n` },
    { name: '10 MB body, declared', head: head('POST', prefix, { 'content-length': big.length, 'content-type': 'application/octet-stream' }), body: big },
    { name: '10 MB body, chunked', head: head('POST', prefix, { 'transfer-encoding': 'chunked', 'content-type': 'application/octet-stream' }), body: chunked(big) },
    rawHead('negative content-length', `POST ${prefix} HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n`),
    rawHead('content-length not a number', `POST ${prefix} HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n`),
    rawHead('two different content-lengths', `POST ${prefix} HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab`),
    rawHead('content-length with transfer-encoding (smuggling)', `POST ${prefix} HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`),
    rawHead('chunk size not hex', `POST ${prefix} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n`),
    rawHead('unknown method', `BREW ${prefix} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
    rawHead('CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'),
    { name: 'TRACE', head: head('TRACE', prefix) },
    { name: 'PATCH', head: head('PATCH', prefix, { 'content-length': 0 }) },
    { name: 'Expect: 200-ok', head: head('POST', prefix, { expect: '200-ok', 'content-length': 2 }), body: '{}' },
  ];
}

/** The gateway's own: bad JSON, wrong types and content types, bad tokens, identity fields in bodies. */
async function gatewayCorpus(): Promise<Case[]> {
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  const oem = auth(stack.tokens.oem);
  const [header, payload, signature] = stack.tokens.oem.split('.');
  const claims = decodeJwt(stack.tokens.oem);
  const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const expired = (await stack.gateway.oauth.issueToken(stack.credentials.oem, new Date(Date.now() - 3 * 86_400_000))).access_token;
  const foreignService = new OAuthService(stack.env.store, { issuer: 'urn:someone-else' });
  const foreign = (await foreignService.issueToken(stack.credentials.oem)).access_token;
  const hs256 = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('a shared secret the gateway never had'));
  const tokens: Array<[string, Record<string, string>]> = [
    ['no token', {}],
    ['empty bearer', { authorization: 'Bearer ' }],
    ['basic auth', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
    ['garbage token', auth('abc.def.ghi')],
    ['not a JWT', auth('x'.repeat(300))],
    ['forged role', auth(`${header}.${b64url({ ...claims, [`${stack.gateway.oauth.claimNamespace}role`]: ['ADMIN'] })}.${signature}`)],
    ['alg none', auth(`${b64url({ alg: 'none', typ: 'JWT' })}.${payload}.`)],
    ['alg none, no dot', auth(`${b64url({ alg: 'none' })}.${payload}`)],
    ['HS256 with a guessed secret', auth(hs256)],
    ['expired', auth(expired)],
    ['another issuer', auth(foreign)],
    ['x-api-key garbage', { 'x-api-key': 'not-a-token' }],
  ];
  const chain = { vehicleCertificate: 'MIIB', subCA1Certificate: 'MIIB' };
  const json = { 'content-type': 'application/json' };
  return [
    ...tokens.map(([name, headers]): Case => ({ name: `token: ${name}`, head: head('GET', '/v1/root/rootCerts', headers) })),
    withBody('PUT', '/v1/oem/provCerts', '{', { ...oem, ...json }),
    withBody('PUT', '/v1/oem/provCerts', '{"vehicleCertificate": "a",}', { ...oem, ...json }),
    withBody('PUT', '/v1/oem/provCerts', '{"a":1}trailing', { ...oem, ...json }),
    withBody('PUT', '/v1/oem/provCerts', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), { ...oem, ...json }),
    withBody('PUT', '/v1/oem/provCerts', 'null', { ...oem, ...json }),
    withBody('PUT', '/v1/oem/provCerts', '[]', { ...oem, ...json }),
    withBody('PUT', '/v1/oem/provCerts', '"just a string"', { ...oem, ...json }),
    withBody('PUT', '/v1/oem/provCerts', JSON.stringify({ vehicleCertificate: 123, subCA1Certificate: [] }), { ...oem, ...json }),
    withBody('PUT', '/v1/oem/provCerts', '['.repeat(50_000), { ...oem, ...json }),
    withBody('PUT', '/v1/root/rootCerts', JSON.stringify({ caCertificate: 'MIIB', rootType: 'XYZ' }), { ...auth(stack.tokens.admin), ...json }),
    withBody('PUT', '/v1/oem/provCerts', JSON.stringify(chain), { ...oem, 'content-type': 'text/plain' }),
    withBody('PUT', '/v1/oem/provCerts', '<xml/>', { ...oem, 'content-type': 'application/xml' }),
    withBody('PUT', '/v1/oem/provCerts', 'vehicleCertificate=MIIB', { ...oem, 'content-type': 'application/x-www-form-urlencoded' }),
    withBody('PUT', '/v1/oem/provCerts', '--b\r\n\r\n--b--', { ...oem, 'content-type': 'multipart/form-data; boundary=b' }),
    withBody('PUT', '/v1/oem/provCerts', JSON.stringify({ ...chain, caller: { role: 'oem', prefixes: ['OPN'] } }), { ...auth(stack.tokens.otherOem), ...json }),
    withBody('PUT', '/v1/oem/provCerts', JSON.stringify({ ...chain, caller: { role: 'admin', prefixes: [] } }), { ...oem, ...json }),
    withBody('POST', '/v1/ccp/signedContractData', JSON.stringify({ certificateInstallationReq: 'gAE=', xsdMsgDefNamespace: 'urn:iso:15118:2:2013:MsgDef', caller: { role: 'pool', prefixes: [] } }), { ...auth(stack.tokens.cpo), ...json }),
    withBody('PUT', '/v1/root/rootCerts', JSON.stringify({ caCertificate: 'MIIB', rootType: 'V2G', caller: { role: 'admin', prefixes: [] } }), { ...auth(stack.tokens.cpo), ...json }),
    get('/v1/oem/provCerts/..%2F..%2Froot%2FrootCerts', oem),
    get('/v1/oem/provCerts/%00', oem),
    { name: 'DELETE on a read-only path', head: head('DELETE', '/v1/ccp/lookupContract/DEOPNC00000001', oem) },
    withBody('POST', '/oauth/token', '{', json),
    withBody('POST', '/oauth/token', JSON.stringify({ client_id: 1, client_secret: ['x'], grant_type: 'client_credentials' }), json),
    withBody('POST', '/oauth/token', JSON.stringify({ client_id: stack.credentials.cpo.client_id, client_secret: 'x'.repeat(100_000) }), json),
    withBody('POST', '/oauth/token', JSON.stringify({ ...stack.credentials.cpo, grant_type: 'password' }), json),
    withBody('POST', '/oauth/token', 'client_id=%zz&client_secret=x', { 'content-type': 'application/x-www-form-urlencoded' }),
    withBody('POST', '/oauth/token', 'client_id=a', { 'content-type': 'text/plain' }),
  ];
}

/** The OCSP responder's own: undecodable requests, unknown CAs, wrong methods and content types. */
function ocspCorpus(): Case[] {
  const ocsp = { 'content-type': 'application/ocsp-request' };
  const base64 = Buffer.from(validOcspRequest).toString('base64');
  return [
    withBody('POST', '/v2g-root', Buffer.alloc(0), ocsp),
    withBody('POST', '/v2g-root', Buffer.from('not DER at all'), ocsp),
    withBody('POST', '/v2g-root', Buffer.from(validOcspRequest).subarray(0, 20), ocsp),
    withBody('POST', '/v2g-root', Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), ocsp),
    withBody('POST', '/v2g-root', Buffer.from(validOcspRequest), { 'content-type': 'application/json' }),
    withBody('POST', '/v2g-root/extra/path', Buffer.from(validOcspRequest), ocsp),
    withBody('POST', '/no-such-ca', Buffer.from(validOcspRequest), ocsp),
    withBody('PUT', '/v2g-root', Buffer.from(validOcspRequest), ocsp),
    { name: 'DELETE', head: head('DELETE', '/v2g-root') },
    get('/v2g-root'),
    get('/v2g-root/'),
    get('/v2g-root/!!!notbase64'),
    get('/v2g-root/AAAA'),
    get(`/v2g-root/${base64.slice(0, -3)}`),
    get(`/v2g-root/${base64}%`),
    get(`/no-such-ca/${encodeURIComponent(base64)}`),
    get(`/v2g-root/${encodeURIComponent(base64)}%2`),
  ];
}

function assertOpcpError(answer: RawAnswer, name: string): void {
  assert.ok(answer.status >= 400 && answer.status < 500, `${name}: status ${answer.status} ${answer.body.toString().slice(0, 200)}`);
  const body = JSON.parse(answer.body.toString('utf8')) as { errorMessages?: unknown; traceId?: unknown; error?: unknown };
  // The token endpoint answers RFC 6749 §5.2 errors ({error, error_description}); everything else the OPCP body.
  if (typeof body.error === 'string') return;
  assert.ok(Array.isArray(body.errorMessages) && body.errorMessages.length > 0 && body.errorMessages.every((m) => typeof m === 'string'), `${name}: ${answer.body.toString().slice(0, 200)}`);
  assert.is(typeof body.traceId, 'string', name);
}

/** An OCSPResponse (RFC 6960 §4.2.1) whose responseStatus is not `successful`. */
function ocspStatusOf(answer: RawAnswer): number {
  const parsed = asn1js.fromBER(new Uint8Array(answer.body));
  assert.is(parsed.offset, answer.body.length, 'one whole DER value');
  const status = (parsed.result as asn1js.Sequence).valueBlock.value[0];
  assert.instance(status, asn1js.Enumerated);
  return (status as asn1js.Enumerated).valueBlock.valueDec;
}

function assertOcspError(answer: RawAnswer, name: string): void {
  assert.ok(answer.status === 200 || (answer.status >= 400 && answer.status < 500), `${name}: status ${answer.status}`);
  assert.is(answer.headers['content-type'], 'application/ocsp-response', name);
  assert.ok(ocspStatusOf(answer) !== ocspResponseStatuses.successful, `${name}: answered successful`);
}

test('the corpus against the OPCP gateway: typed 4xx answers only, then a valid request is served', async () => {
  const cases = [...commonCorpus('/v1/root/rootCerts'), ...(await gatewayCorpus())];
  assert.ok(cases.length >= 60, `${cases.length} requests`);
  for (const item of cases) assertOpcpError(await rawRequest(stack.gateway.port, item.head, item.body), item.name);
  assert.is((await stack.call('cpo', 'GET', '/v1/root/rootCerts')).status, 200);
  const credentials = JSON.stringify({ client_id: stack.credentials.cps.client_id, client_secret: stack.credentials.cps.client_secret, grant_type: 'client_credentials' });
  const issued = await rawRequest(stack.gateway.port, head('POST', '/oauth/token', { 'content-type': 'application/json', 'content-length': Buffer.byteLength(credentials) }), credentials);
  assert.is(issued.status, 200);
  console.log(`gateway: ${cases.length} malformed requests answered`);
});

test('the corpus against the OCSP responder: OCSPResponse errors only, then a valid request is served', async () => {
  const cases = [...commonCorpus('/v2g-root'), ...ocspCorpus()];
  assert.ok(cases.length >= 55, `${cases.length} requests`);
  for (const item of cases) assertOcspError(await rawRequest(ocspPort, item.head, item.body), item.name);
  const valid = await rawRequest(ocspPort, head('POST', '/v2g-root', { 'content-type': 'application/ocsp-request', 'content-length': validOcspRequest.length }), Buffer.from(validOcspRequest));
  assert.is(valid.status, 200);
  assert.is(ocspStatusOf(valid), ocspResponseStatuses.successful);
  const viaGet = await rawRequest(ocspPort, head('GET', `/v2g-root/${encodeURIComponent(Buffer.from(validOcspRequest).toString('base64'))}`));
  assert.is(ocspStatusOf(viaGet), ocspResponseStatuses.successful);
  console.log(`ocsp: ${cases.length} malformed requests answered`);
});

test.run();
