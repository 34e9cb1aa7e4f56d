// OCSP stapling end to end with the back office on the in-process bus: the station's OCSP cache is
// filled through the CPO backend (M06, real responses of the CPO's responder for CPO Sub-CA 2) on its
// own schedule (manual clock), the V2GTP server on loopback TLS staples the leaf's response, and the
// EV charges on a good staple, proceeds without one, and refuses a revoked or stale one before
// SupportedAppProtocolReq. A new leaf drops the old leaf's staple and gets its own at once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import 'reflect-metadata';
import { X509Certificate } from '@peculiar/x509';
import type { StoryResult } from '../../actors/story/index.ts';
import type { SeccStation } from '../../actors/participants/secc/index.ts';
import { busCpoBackend } from '../../actors/participants/secc/backend.ts';
import { SeccSecurity, type OcspRefresh } from '../../actors/participants/secc/security.ts';
import type { OcspRefresher } from '../../actors/participants/secc/ocsp-refresh.ts';
import { Revocations } from '../../actors/participants/revocation.ts';
import type { TraceEntry } from '../../actors/participants/v2g/runner.ts';
import { serveNewLeaves } from '../../actors/participants/v2g/link.ts';
import { V2gtpServer } from '../../actors/transport/v2gtp-server.ts';
import type { SeccTlsCredentials } from '../../actors/transport/tls.ts';
import { connectV2gtp } from '../../actors/transport/v2gtp-client.ts';
import { TransportError } from '../../actors/transport/errors.ts';
import { normalizeSerialNumber, OCSP_RETRY_MS } from '../../protocols/pki/index.ts';
import type { PncError } from '../../protocols/errors.ts';
import { ManualClock } from '../harness/manual-clock.ts';
import { until } from '../harness/until.ts';
import { backOffice, station, vehicleOf } from './helpers.ts';

const HOUR = 3_600_000;
let story: StoryResult;
let secc: SeccStation;
let refresher: OcspRefresher;
const clock = new ManualClock();
const trace: TraceEntry[] = [];
/** Who waits for the refresher's next round. */
const waiting: ((outcome: OcspRefresh | PncError) => void)[] = [];
let v2gRoots: string[];

test.before(async () => {
  story = await backOffice();
  secc = await station(story, { name: 'secc-ocsp', clock, trace: (entry) => trace.push(entry) });
  v2gRoots = story.vehicle.v2gRoots.map((der) => new X509Certificate(Buffer.from(der, 'base64')).toString('pem'));
});
test.after(async () => {
  refresher?.stop();
  await story?.stop();
});

/** A V2GTP server on loopback TLS stapling `station`'s cached leaf response, for one test. */
async function serving<T>(of: SeccStation, run: (port: number) => Promise<T>, credentials?: SeccTlsCredentials): Promise<T> {
  credentials ??= await of.security.tlsCredentials();
  const server = await V2gtpServer.start({
    host: '127.0.0.1',
    security: { kind: 'tls', credentials: credentials!, ocspStaple: (serialNumber) => of.security.ocspStaple(serialNumber) },
    onConnection: (socket) => void of.serve(socket),
  });
  try {
    return await run(server.port);
  } finally {
    await server.close();
  }
}

/** What the station would staple for its installed leaf now. */
async function stapleOf(of: SeccStation | SeccSecurity): Promise<Uint8Array | undefined> {
  const security = of instanceof SeccSecurity ? of : of.security;
  return security.ocspStaple((await security.leaf())!.chain[0].serialNumber);
}

const connect = (port: number, at?: Date) => connectV2gtp({ host: '127.0.0.1', port, security: { kind: 'tls', v2gRoots, ...(at ? { at } : {}) } });

async function chargesWith(port: number): Promise<string> {
  const { connection, tls } = await connect(port);
  const ev = vehicleOf(story);
  const output = await ev.charge(connection, { energyMode: 'DC_extended', loopIntervalMs: 0, targetSoc: ev.battery.soc + 0.2 });
  assert.is(output.outcome, 'completed', output.reason);
  return tls!.ocsp;
}

async function refusedWith(port: number, at?: Date): Promise<{ ocsp: string; ocspError?: string }> {
  const seen = trace.length;
  try {
    await connect(port, at);
  } catch (error) {
    assert.instance(error, TransportError);
    assert.is((error as TransportError).code, 'SeccOcspRejected', (error as Error).message);
    assert.is(trace.length, seen, 'no V2G message reached the SECC');
    return (error as TransportError).data as { ocsp: string; ocspError?: string };
  }
  assert.unreachable('expected SeccOcspRejected');
  throw new Error('unreachable');
}

const nextRefresh = () => new Promise<OcspRefresh | PncError>((resolve) => waiting.push(resolve));

test('the first round caches the chain\'s responses from the CPO; the EV charges on the stapled leaf status: ocsp good', async () => {
  assert.is(await stapleOf(secc), undefined, 'nothing cached yet');
  refresher = secc.keepOcspFresh((outcome) => waiting.splice(0).forEach((resolve) => resolve(outcome)));
  const first = await refresher.ready;
  assert.ok('cached' in first, String(first));
  assert.is(first.leaf, 'good');
  assert.ok(first.cached >= 1);
  // Due an hour before the leaf response's nextUpdate (the CPO answers for 24 h), within the day.
  assert.ok(refresher.nextAt! <= clock.now() + 24 * HOUR && refresher.nextAt! >= Math.min(...first.nextUpdates) - HOUR - 1_000, String(refresher.nextAt));
  assert.ok(await stapleOf(secc));
  assert.is(await serving(secc, chargesWith), 'good');
  assert.ok(trace.some((entry) => entry.name === 'supportedAppProtocolReq'));
});

test('a stapled response stale on the EV clock (past nextUpdate) is refused before SupportedAppProtocolReq', async () => {
  const data = await serving(secc, (port) => refusedWith(port, new Date(Date.now() + 25 * HOUR)));
  assert.equal(data, { ocsp: 'invalid', ocspError: 'OcspStale' });
});

test('the SECC staples nothing once its cached response is past nextUpdate on its own clock', async () => {
  const later = new SeccSecurity(story.store, 'secc-ocsp', () => Date.now() + 25 * HOUR);
  assert.is(await stapleOf(later), undefined);
  assert.ok(await stapleOf(new SeccSecurity(story.store, 'secc-ocsp', () => Date.now())));
});

test('the leaf revoked at the CPO: the scheduled round fetches the revoked status and the EV refuses before SAP', async () => {
  const leaf = (await secc.security.leaf())!.chain[0];
  await new Revocations(story.store, 'cpo').revoke(leaf.serialNumber, 'keyCompromise');
  const refreshed = nextRefresh();
  clock.advance(refresher.nextAt! - clock.now());
  const outcome = await refreshed;
  assert.ok('cached' in outcome && outcome.leaf === 'revoked', JSON.stringify(outcome));
  assert.equal(await serving(secc, (port) => refusedWith(port)), { ocsp: 'revoked' });
});

test('a new leaf drops the old leaf\'s staple and gets its own round at once: the EV charges again', async () => {
  const old = normalizeSerialNumber((await secc.security.leaf())!.chain[0].serialNumber);
  const oldCredentials = (await secc.security.tlsCredentials())!;
  assert.ok(await secc.security.cachedOcsp(old));
  const refreshed = nextRefresh();
  const csr = await secc.security.generateCsr({ commonName: 'SECC-TEST', organization: 'Open Plug&Charge CPO' });
  assert.is(await secc.security.updateLeafCertificate(await busCpoBackend(story.bus).signSeccCsr(csr)), 'Accepted');
  assert.is(await secc.security.cachedOcsp(old), undefined, 'the old leaf\'s response is gone with it');
  const outcome = await refreshed;
  assert.ok('cached' in outcome && outcome.leaf === 'good', JSON.stringify(outcome));
  assert.is(await serving(secc, chargesWith), 'good');
  // A server still presenting the old leaf staples by that leaf's serial: nothing now, never the new leaf's response.
  assert.is(await serving(secc, async (port) => {
    const { connection, tls } = await connect(port);
    connection.end();
    return tls!.ocsp;
  }, oldCredentials), 'absent');
});

test('no staple (a station whose cache is empty): the EV proceeds and records ocsp absent', async () => {
  const empty = await station(story, { name: 'secc-ocsp-empty' });
  assert.is(await stapleOf(empty), undefined);
  assert.is(await serving(empty, chargesWith), 'absent');
});

test('a backend that cannot answer: the round reports it, the next comes 5 minutes later on the clock, and then caches', async () => {
  const backend = busCpoBackend(story.bus);
  let down = true;
  const flaky = { ...backend, certificateStatus: (request: Parameters<typeof backend.certificateStatus>[0]) => (down ? Promise.reject(new Error('CSMS unreachable')) : backend.certificateStatus(request)) };
  const own = await station(story, { name: 'secc-ocsp-flaky', clock, backend: flaky });
  const outcomes: (OcspRefresh | PncError)[] = [];
  let next!: (outcome: OcspRefresh | PncError) => void;
  const flakyRefresher = own.keepOcspFresh((outcome) => { outcomes.push(outcome); next?.(outcome); });
  try {
    const first = await flakyRefresher.ready;
    assert.ok('cached' in first && first.cached === 0 && first.failed >= 1, JSON.stringify(first));
    assert.is(flakyRefresher.nextAt, clock.now() + OCSP_RETRY_MS);
    assert.is(await stapleOf(own), undefined);
    down = false;
    const second = new Promise<OcspRefresh | PncError>((resolve) => (next = resolve));
    clock.advance(OCSP_RETRY_MS - 1);
    assert.is(outcomes.length, 1, 'not before the retry is due');
    clock.advance(1);
    const outcome = await second;
    assert.ok('cached' in outcome && outcome.leaf === 'good' && outcome.failed === 0, JSON.stringify(outcome));
    assert.ok(await stapleOf(own));
  } finally {
    flakyRefresher.stop();
  }
});

test('renewLeaf: the round due when the leaf enters its 30-day window renews it, and the running server presents the new leaf to the next EV', async () => {
  const ownClock = new ManualClock();
  const own = await station(story, { name: 'secc-leaf-renewal', clock: ownClock });
  const rounds: (OcspRefresh | PncError)[] = [];
  let next: ((outcome: OcspRefresh | PncError) => void) | undefined;
  const keeper = own.keepOcspFresh((outcome) => { rounds.push(outcome); next?.(outcome); }, { commonName: 'SECC-RENEWED', organization: 'Open Plug&Charge CPO' });
  const server = await V2gtpServer.start({
    host: '127.0.0.1',
    security: { kind: 'tls', credentials: (await own.security.tlsCredentials())!, ocspStaple: (serialNumber) => own.security.ocspStaple(serialNumber) },
    onConnection: (socket) => void own.serve(socket),
  });
  const stopServingNewLeaves = serveNewLeaves(own, server);
  const presented = async () => {
    const { connection, tls } = await connect(server.port);
    connection.end();
    return tls!.seccSubject;
  };
  try {
    const first = await keeper.ready;
    assert.ok('cached' in first && first.leafCheck === 'valid', JSON.stringify(first));
    const renewAt = (await own.security.leafRenewalAt())!;
    assert.ok(keeper.nextAt! <= renewAt, 'a round is due by the time the leaf enters its window');
    assert.match(await presented(), /CN=SECC-TEST/);
    // A day's round before the window keeps the leaf; the first round inside it renews.
    const installed = new Promise<void>((resolve) => own.security.once('leafInstalled', () => resolve()));
    const renewed = new Promise<OcspRefresh | PncError>((resolve) => (next = (outcome) => { if ('cached' in outcome && outcome.leafCheck === 'renewed') resolve(outcome); }));
    ownClock.advance(renewAt - ownClock.now() + 1);
    await renewed;
    await installed;
    assert.ok(rounds.every((outcome) => 'cached' in outcome && outcome.leafCheck !== undefined && !(outcome.leafCheck instanceof Error)), JSON.stringify(rounds));
    await until('the running server presenting the renewed leaf', async () => /CN=SECC-RENEWED/.test(await presented()));
    // The renewing round refreshes the new leaf's OCSP itself: no second round for its own leafInstalled.
    // A round asked for now runs after any round still due, so the count holds once it is done.
    await keeper.refreshNow();
    assert.is(rounds.length, 3, JSON.stringify(rounds.map((outcome) => ('cached' in outcome ? outcome.leafCheck : outcome.code))));
  } finally {
    stopServingNewLeaves();
    keeper.stop();
    await server.close();
  }
});

test('the story\'s own charge: the station staples, the EV says so on its TLS line', () => {
  const lines = story.timeline.entries.map((entry) => `${entry.participant} ${entry.subject}`);
  assert.ok(lines.some((line) => /^secc tls OCSP cache: \d+ response\(s\) from the CPO backend; stapling the leaf's \(good\)/.test(line)), lines.filter((l) => l.includes('tls')).join('\n'));
  assert.ok(lines.some((line) => /^ev tls TLSv1\.2 .* OCSP good \(stapled\)/.test(line)), lines.filter((l) => l.includes('tls')).join('\n'));
});

test.run();
