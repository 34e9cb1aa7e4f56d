// Security of the CSMS edge and its malformed-input corpus: wrong passwords, a station certificate
// not under the CSMS root, a certificate for another station id and oversized frames are refused;
// hostile frames are answered with the right OCPP-J CALLERROR and the connection stays up; one
// station cannot touch another's data.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import WebSocket from 'ws';
import type { RPCClient } from 'ocpp-rpc';
import { requestSubjectReply } from '../../actors/bus/typed.ts';
import { cpoInterface } from '../../protocols/catalogue/cpo.ts';
import { bootRequest, makeTestCsr, startBackOffice, testStation, type BackOffice } from './helpers.ts';

let office: BackOffice;
const open: RPCClient[] = [];
const sockets: WebSocket[] = [];

test.before(async () => {
  office = await startBackOffice();
});
test.after(async () => {
  for (const socket of sockets) socket.terminate();
  await Promise.all(open.map((station) => station.close({ force: true })));
  await office?.stop();
});

/** Resolves with the HTTP status of a refused upgrade, or 101 when it was accepted. */
async function upgradeStatus(station: RPCClient): Promise<number> {
  try {
    await station.connect();
    open.push(station);
    return 101;
  } catch (error) {
    return (error as { response?: { statusCode?: number } }).response?.statusCode ?? -1;
  }
}

/** A station certificate under a CA of our own making, not the CSMS root. */
async function foreignCertificate(commonName: string): Promise<{ cert: string; key: string }> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const caKeys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({ name: 'CN=Rogue CA', keys: caKeys, signingAlgorithm: algorithm, extensions: [new x509.BasicConstraintsExtension(true, 0, true)] });
  const { csr, keyPem } = await makeTestCsr(`CN=${commonName}`);
  const request = new x509.Pkcs10CertificateRequest(csr);
  const cert = await x509.X509CertificateGenerator.create({ subject: request.subject, issuer: ca.subject, publicKey: request.publicKey, signingKey: caKeys.privateKey, signingAlgorithm: algorithm, serialNumber: '01', notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000) });
  return { cert: cert.toString('pem'), key: keyPem };
}

test('profile 2: a wrong password, an unknown station and no password are refused with 401', async () => {
  const { password } = await office.csms.credentials.add('CS-SEC-A');
  const { url, caCertificate: ca } = office.csms;
  assert.is(await upgradeStatus(testStation({ url, ca, identity: 'CS-SEC-A', password: `${password}x` })), 401);
  assert.is(await upgradeStatus(testStation({ url, ca, identity: 'CS-SEC-UNKNOWN', password })), 401);
  assert.is(await upgradeStatus(testStation({ url, ca, identity: 'CS-SEC-A' })), 401);
  assert.is(await upgradeStatus(testStation({ url, ca, identity: 'CS-SEC-A', password })), 101);
});

test('profile 3: a certificate not under the CSMS root, and one for another station id, are refused', async () => {
  const { url, caCertificate: ca } = office.csms;
  const rogue = await foreignCertificate('CS-SEC-B');
  assert.is(await upgradeStatus(testStation({ url, ca, identity: 'CS-SEC-B', ...rogue })), 401);
  // A genuine station certificate for CS-SEC-C, signed by the CPO (A02), presented as CS-SEC-D.
  const { csr, keyPem } = await makeTestCsr('CN=CS-SEC-C');
  const signed = await requestSubjectReply(office.story.bus, cpoInterface.requests.signSeccCsr, { csr, certificateType: 'ChargingStationCertificate', stationId: 'CS-SEC-C' });
  assert.is(await upgradeStatus(testStation({ url, ca, identity: 'CS-SEC-D', cert: signed.certificateChain, key: keyPem })), 401);
  assert.is(await upgradeStatus(testStation({ url, ca, identity: 'CS-SEC-C', cert: signed.certificateChain, key: keyPem })), 101);
});

/** A raw WebSocket with Basic auth, for frames no OCPP library would send. */
async function rawSocket(identity: string): Promise<{ socket: WebSocket; next(): Promise<unknown>; closed: Promise<number> }> {
  const { password } = await office.csms.credentials.add(identity);
  const socket = new WebSocket(`${office.csms.url}/${identity}`, ['ocpp2.0.1'], { ca: office.csms.caCertificate, headers: { authorization: `Basic ${Buffer.from(`${identity}:${password}`).toString('base64')}` } });
  sockets.push(socket);
  const inbox: unknown[] = [];
  let waiting: ((value: unknown) => void) | undefined;
  socket.on('message', (data) => {
    const message = JSON.parse(String(data));
    if (waiting) { waiting(message); waiting = undefined; } else inbox.push(message);
  });
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  await new Promise((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject); });
  return { socket, closed, next: () => (inbox.length ? Promise.resolve(inbox.shift()) : new Promise((resolve) => { waiting = resolve; })) };
}

test('malformed-frame corpus: each answered with the right CALLERROR, the connection kept', async () => {
  const raw = await rawSocket('CS-SEC-RAW');
  const exchange = async (frame: string) => { raw.socket.send(frame); return raw.next() as Promise<unknown[]>; };
  const boot = await exchange(JSON.stringify([2, 'b1', 'BootNotification', bootRequest]));
  assert.equal([boot[0], (boot[2] as { status: string }).status], [3, 'Accepted']);
  const corpus: Array<[string, string]> = [
    ['not json at all', 'RpcFrameworkError'],
    ['{"an":"object"}', 'RpcFrameworkError'],
    [JSON.stringify([2, 'm1', 'NoSuchAction', {}]), 'NotImplemented'],
    [JSON.stringify([2, 'm2', 'Authorize', { idToken: { idToken: 'X'.repeat(37), type: 'eMAID' } }]), 'FormatViolation'],
    [JSON.stringify([2, 'm3', 'Authorize', {}]), 'OccurenceConstraintViolation'],
    // ocpp-rpc's strict mode maps an enum violation to FormatViolation.
    [JSON.stringify([2, 'm4', 'Authorize', { idToken: { idToken: 'DEX', type: 'Bogus' } }]), 'FormatViolation'],
    [JSON.stringify([2, 'm5', 'Heartbeat', { extra: 1 }]), 'PropertyConstraintViolation'],
    [JSON.stringify([2, 'm6', 'TransactionEvent', { eventType: 'Started', timestamp: '2026-12-05T21:00:00Z', triggerReason: 'Authorized', seqNo: 'zero', transactionInfo: { transactionId: 'T' } }]), 'TypeConstraintViolation'],
    [JSON.stringify([2, 'm7', 'Get15118EVCertificate', { iso15118SchemaVersion: 'urn:iso:15118:2:2013:MsgDef', action: 'Install', exiRequest: 'A'.repeat(5601) }]), 'FormatViolation'],
  ];
  for (const [frame, code] of corpus) {
    const answer = await exchange(frame);
    assert.is(answer[0], 4, `CALLERROR for ${frame.slice(0, 60)}`);
    assert.is(answer[2], code, `${frame.slice(0, 60)} → ${String(answer[2])}`);
  }
  const heartbeat = await exchange(JSON.stringify([2, 'h1', 'Heartbeat', {}]));
  assert.is(heartbeat[0], 3, 'still connected and served');
});

test('an oversized frame closes the connection (1009); the CSMS keeps serving others', async () => {
  const raw = await rawSocket('CS-SEC-BIG');
  raw.socket.send(JSON.stringify([2, 'x', 'Heartbeat', { pad: 'A'.repeat(70 * 1024) }]));
  assert.is(await raw.closed, 1009);
  const { password } = await office.csms.credentials.add('CS-SEC-AFTER');
  const station = testStation({ url: office.csms.url, ca: office.csms.caCertificate, identity: 'CS-SEC-AFTER', password });
  open.push(station);
  await station.connect();
  assert.is((await station.call('BootNotification', bootRequest) as { status: string }).status, 'Accepted');
});

test('one station cannot reach another\'s data: the same transactionId from another station is kept apart', async () => {
  const connect = async (identity: string) => {
    const { password } = await office.csms.credentials.add(identity);
    const station = testStation({ url: office.csms.url, ca: office.csms.caCertificate, identity, password });
    open.push(station);
    await station.connect();
    await station.call('BootNotification', bootRequest);
    return station;
  };
  const [victim, intruder] = [await connect('CS-SEC-VICTIM'), await connect('CS-SEC-INTRUDER')];
  const event = (seqNo: number, eventType: string) => ({ eventType, seqNo, timestamp: new Date().toISOString(), triggerReason: 'Authorized', transactionInfo: { transactionId: 'SHARED-TX' } });
  await victim.call('TransactionEvent', event(0, 'Started'));
  // The intruder replays the victim's transaction id and seqNo, and claims its identity in customData: nothing of the victim's changes.
  await intruder.call('TransactionEvent', { ...event(0, 'Ended'), customData: { vendorId: 'CS-SEC-VICTIM' } });
  const bus = office.story.bus;
  const victimEvents = await requestSubjectReply(bus, cpoInterface.requests.transactions, { stationId: 'CS-SEC-VICTIM' });
  const intruderEvents = await requestSubjectReply(bus, cpoInterface.requests.transactions, { stationId: 'CS-SEC-INTRUDER' });
  assert.equal(victimEvents.events.map((e) => e.eventType), ['Started']);
  assert.equal(intruderEvents.events.map((e) => e.eventType), ['Ended']);
  // A refused station never gets a connection, so it has nothing to send.
  assert.is(await upgradeStatus(testStation({ url: office.csms.url, ca: office.csms.caCertificate, identity: 'CS-SEC-VICTIM', password: 'guessed-password-123' })), 401);
});

test.run();
