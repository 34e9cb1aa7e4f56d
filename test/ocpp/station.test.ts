// Our station library (actors/ocpp/station.ts) driven by an independent test CSMS on ocpp-rpc's
// strict RPCServer: boot, roots, SignV2GCertificate → SignCertificate → CertificateSigned, a PnC
// transaction, GetCertificateStatus cached for stapling, the device model, and the queue across a
// CSMS outage. The test CSMS signs and answers OCSP from a test PKI of its own.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { RPCServer, type RPCClient } from 'ocpp-rpc';
import { ChargingStation, stationFromConfig } from '../../actors/ocpp/station.ts';
import { openEmbeddedStore } from '../../actors/store/index.ts';
import type { Store } from '../../actors/store/store.ts';
import { buildOcspRequest, createOcspResponder, createTestPki, issueFromCsr, type TestPki } from '../../protocols/pki/index.ts';
import { until } from './helpers.ts';

type Payload = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
interface Received { method: string; params: Payload }

let pki: TestPki;
let store: Store;
let server: InstanceType<typeof RPCServer>;
let port: number;
let station: ChargingStation;
const received: Received[] = [];
let csmsClient: { call(method: string, params: Payload): Promise<unknown> } | undefined;

async function startTestCsms(onPort = 0): Promise<void> {
  server = new RPCServer({ protocols: ['ocpp2.0.1'], strictMode: true });
  server.auth((accept, reject, handshake) => (handshake.password?.toString() === 'station-secret-0123456789' ? accept() : reject(401, 'no')));
  server.on('client', (client: RPCClient) => {
    csmsClient = client;
    const record = (method: string, answer: (params: Payload) => Payload | Promise<Payload>) =>
      client.handle(method, async ({ params }: { params?: unknown }) => { received.push({ method, params: params as Payload }); return answer(params as Payload); });
    record('BootNotification', () => ({ status: 'Accepted', currentTime: new Date().toISOString(), interval: 300 }));
    record('Heartbeat', () => ({ currentTime: new Date().toISOString() }));
    record('TransactionEvent', () => ({}));
    record('Authorize', () => ({ idTokenInfo: { status: 'Accepted' }, certificateStatus: 'Accepted' }));
    record('SignCertificate', async ({ csr }) => {
      const leaf = await issueFromCsr({ role: 'secc', csr, issuer: pki.authorities['cpo-sub-ca-2'] });
      const chain = [leaf, ...pki.secc.chain.slice(1)].map((c) => c.toString('pem')).join('\n');
      setImmediate(() => void client.call('CertificateSigned', { certificateChain: chain, certificateType: 'V2GCertificate' }).then((answer: unknown) => received.push({ method: 'CertificateSigned.conf', params: answer as Payload })));
      return { status: 'Accepted' };
    });
    record('GetCertificateStatus', async ({ ocspRequestData: { responderURL, ...hashData } }) => {
      const name = String(responderURL).split('/').at(-1)!;
      const authority = pki.authorities[name];
      const responder = createOcspResponder({ issuer: authority.certificate, signer: { certificate: authority.certificate, privateKey: authority.privateKey }, lookup: () => ({ status: 'good' }) });
      const response = await responder.respond(buildOcspRequest({ hashData }).der);
      return { status: 'Accepted', ocspResult: Buffer.from(response).toString('base64') };
    });
  });
  const http = await server.listen(onPort, '127.0.0.1');
  port = (http.address() as AddressInfo).port;
}

test.before(async () => {
  pki = await createTestPki({ ocspBaseUrl: 'http://ocsp.test' });
  store = await openEmbeddedStore(mkdtempSync(join(tmpdir(), 'openpnc-station-')));
  await startTestCsms();
  station = new ChargingStation({
    url: `ws://127.0.0.1:${port}/ocpp`, stationId: 'CS-LIB', password: 'station-secret-0123456789', store,
    backoff: { initialDelayMs: 50, maxDelayMs: 200 }, deviceModel: { SeccId: 'SECC-CS-LIB', OrganizationName: 'Test CPO' },
  });
  await station.start();
});
test.after(async () => {
  await station?.stop();
  await server?.close({ force: true });
  await store?.close();
});

const callStation = async (method: string, params: Payload) => (await csmsClient!.call(method, params)) as Payload;

test('boot, then M05 roots installed by the CSMS and M03 listed', async () => {
  assert.is(received[0].method, 'BootNotification');
  assert.is(received[0].params.reason, 'PowerUp');
  assert.equal(await callStation('InstallCertificate', { certificateType: 'V2GRootCertificate', certificate: pki.trustAnchors.v2g[0].toString('pem') }), { status: 'Accepted' });
  assert.equal(await callStation('InstallCertificate', { certificateType: 'MORootCertificate', certificate: pki.trustAnchors.mo[0].toString('pem') }), { status: 'Accepted' });
  const notRoot = await callStation('InstallCertificate', { certificateType: 'V2GRootCertificate', certificate: pki.secc.certificate.toString('pem') });
  assert.is(notRoot.status, 'Rejected');
  const ids = await callStation('GetInstalledCertificateIds', { certificateType: ['V2GRootCertificate', 'MORootCertificate'] });
  assert.is(ids.status, 'Accepted');
  assert.equal(ids.certificateHashDataChain.map((c: Payload) => c.certificateType).sort(), ['MORootCertificate', 'V2GRootCertificate']);
});

test('F06 TriggerMessage(SignV2GCertificate) → A03 SignCertificate with a DC=CPO CSR → CertificateSigned installed after the hierarchy check', async () => {
  const installed = new Promise((resolve) => station.once('v2gCertificateInstalled', resolve));
  assert.equal(await callStation('TriggerMessage', { requestedMessage: 'SignV2GCertificate' }), { status: 'Accepted' });
  await installed;
  const sign = received.find((r) => r.method === 'SignCertificate')!;
  assert.is(sign.params.certificateType, 'V2GCertificate');
  assert.match(sign.params.csr, /BEGIN CERTIFICATE REQUEST/);
  await until(() => received.some((r) => r.method === 'CertificateSigned.conf'), 10_000, 'the CertificateSigned answer');
  assert.equal(received.find((r) => r.method === 'CertificateSigned.conf')!.params, { status: 'Accepted' });
  const chain = await station.security.v2gChain();
  assert.is(chain[0].subjectName.getField('CN')[0], 'SECC-CS-LIB');
  assert.ok((await station.security.v2gLeafExpiryDays()) > 30);
  // Not due: a fresh leaf is not renewed; a chain for a key the station never asked for is Rejected.
  assert.is(await station.renewV2GCertificateIfDue(), false);
  const foreign = await callStation('CertificateSigned', { certificateChain: pki.secc.chain.map((c) => c.toString('pem')).join('\n'), certificateType: 'V2GCertificate' });
  assert.is(foreign.status, 'Rejected');
});

test('C07 PnC transaction: Authorize with hash data (MO root installed), TransactionEvents seqNo 0..2 with the eMAID', async () => {
  const contract = pki.contracts[0];
  const chainPem = contract.chain.map((c) => c.toString('pem')).join('\n');
  const authorized = await station.authorizeContract(contract.identifier!, chainPem);
  assert.equal(authorized, { idTokenInfo: { status: 'Accepted' }, certificateStatus: 'Accepted', source: 'csms' });
  const authorize = received.filter((r) => r.method === 'Authorize').at(-1)!;
  assert.is(authorize.params.certificate, undefined);
  assert.ok(authorize.params.iso15118CertificateHashData.length >= 1);
  const idToken = { idToken: contract.identifier!, type: 'eMAID' };
  const tx = await station.startTransaction({ evseId: 1, idToken, meterWh: 0 });
  await station.updateTransaction(tx, { meterWh: 1200 });
  await station.endTransaction(tx, { meterWh: 2400 });
  await until(() => received.filter((r) => r.method === 'TransactionEvent').length === 3, 10_000, 'three TransactionEvents');
  const events = received.filter((r) => r.method === 'TransactionEvent').map((r) => r.params);
  assert.equal(events.map((e) => [e.seqNo, e.eventType]), [[0, 'Started'], [1, 'Updated'], [2, 'Ended']]);
  assert.is(events[0].idToken.idToken, contract.identifier);
  assert.is(events[2].meterValue[0].sampledValue[0].value, 2400);
});

test('M06 GetCertificateStatus for the V2G chain but its root, answers cached for stapling', async () => {
  const cached = await station.refreshOcsp();
  assert.ok(cached >= 2, `cached ${cached}`);
  const [first] = await station.security.v2gOcspRequestData();
  assert.ok(await station.security.cachedOcsp(first));
});

test('M04 DeleteCertificate and the ISO15118Ctrlr variables over GetVariables/SetVariables', async () => {
  const ids = await callStation('GetInstalledCertificateIds', { certificateType: ['MORootCertificate'] });
  assert.equal(await callStation('DeleteCertificate', { certificateHashData: ids.certificateHashDataChain[0].certificateHashData }), { status: 'Accepted' });
  assert.equal(await callStation('DeleteCertificate', { certificateHashData: ids.certificateHashDataChain[0].certificateHashData }), { status: 'NotFound' });
  const set = await callStation('SetVariables', { setVariableData: [{ component: { name: 'ISO15118Ctrlr' }, variable: { name: 'CentralContractValidationAllowed' }, attributeValue: 'false' }] });
  assert.is(set.setVariableResult[0].attributeStatus, 'Accepted');
  const got = await callStation('GetVariables', { getVariableData: [{ component: { name: 'ISO15118Ctrlr' }, variable: { name: 'PnCEnabled' } }, { component: { name: 'ISO15118Ctrlr' }, variable: { name: 'Nope' } }] });
  assert.equal(got.getVariableResult.map((r: Payload) => [r.attributeStatus, r.attributeValue]), [['Accepted', 'true'], ['UnknownVariable', undefined]]);
  // Without the MO root the chain cannot be checked locally and central validation is now off: Invalid without asking.
  const contract = pki.contracts[0];
  assert.equal(await station.authorizeContract(contract.identifier!, contract.chain.map((c) => c.toString('pem')).join('\n')), { idTokenInfo: { status: 'Invalid' }, source: 'local' });
});

test('offline: events queued while the CSMS is gone arrive after it is back, in order, seqNo without gaps', async () => {
  const before = received.filter((r) => r.method === 'TransactionEvent').length;
  await server.close({ force: true });
  await until(() => !station.online, 10_000, 'station offline');
  const tx = await station.startTransaction({ evseId: 1, meterWh: 0 });
  for (let i = 1; i <= 5; i++) await station.updateTransaction(tx, { meterWh: i * 100 });
  await station.endTransaction(tx, { meterWh: 600 });
  assert.is(await station.pendingCount(), 7);
  await startTestCsms(port);
  await until(async () => (await station.pendingCount()) === 0, 15_000, 'queue drained');
  const events = received.filter((r) => r.method === 'TransactionEvent').slice(before).map((r) => r.params);
  assert.equal(events.map((e) => e.seqNo), [0, 1, 2, 3, 4, 5, 6]);
  assert.ok(events.every((e) => e.offline === true && e.transactionInfo.transactionId === tx));
});

test('OCPP is an edge chosen by configuration: no ocpp.url, no station; ocpp.url gives one that boots at that CSMS', async () => {
  assert.is(stationFromConfig({}, store), undefined);
  assert.throws(() => stationFromConfig({ 'ocpp.url': `ws://127.0.0.1:${port}/ocpp` }, store), (error: Error & { code?: string }) => error.code === 'ConfigInvalid');
  assert.throws(() => stationFromConfig({ 'ocpp.url': 'http://x', 'ocpp.stationId': 'A' }, store), (error: Error & { code?: string }) => error.code === 'ConfigInvalid');
  const configured = stationFromConfig({ 'ocpp.url': `ws://127.0.0.1:${port}/ocpp`, 'ocpp.stationId': 'CS-CONFIG', 'ocpp.password': 'station-secret-0123456789' }, store)!;
  const boots = received.filter((r) => r.method === 'BootNotification').length;
  await configured.start();
  await configured.stop();
  assert.is(received.filter((r) => r.method === 'BootNotification').length, boots + 1);
});

test.run();
