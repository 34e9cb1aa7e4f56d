// The CSMS edge against an independent strict OCPP 2.0.1 test station (and an OCPP 1.6 one using
// the OCA Plug&Charge DataTransfer): every message of issue 12, over real TLS WebSockets, with the
// back office of the story behind it on the bus.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import type { RPCClient } from 'ocpp-rpc';
import { requestSubjectReply } from '../../actors/bus/typed.ts';
import { cpoInterface } from '../../protocols/catalogue/cpo.ts';
import { ocppInterface } from '../../protocols/catalogue/ocpp.ts';
import { moInterface } from '../../protocols/catalogue/mo.ts';
import { buildInstallationRequest, checkContractResponse, checkInstallationResponse, updateRequestParts } from '../../actors/story/vehicle.ts';
import { ContractStore } from '../../actors/participants/ev/contracts.ts';
import { encodeExi } from '../../protocols/exi/index.ts';
import { bootRequest, hashDataOf, makeTestCsr, startBackOffice, testStation, until, type BackOffice } from './helpers.ts';

let office: BackOffice;
const stations: RPCClient[] = [];
const MO_OCSP = 'http://ocsp.openpnc.test/mo';

test.before(async () => {
  office = await startBackOffice();
});
test.after(async () => {
  await Promise.all(stations.map((station) => station.close({ force: true })));
  await office?.stop();
});

async function connected(identity: string, protocol: 'ocpp2.0.1' | 'ocpp1.6' = 'ocpp2.0.1', strict = true): Promise<RPCClient> {
  const { password } = await office.csms.credentials.add(identity);
  const station = testStation({ url: office.csms.url, ca: office.csms.caCertificate, identity, password, protocol, strict });
  stations.push(station);
  await station.connect();
  return station;
}

async function rpcErrorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { rpcErrorCode?: string }).rpcErrorCode ?? `not an RPC error: ${(error as Error).message}`;
  }
  return 'resolved';
}

test('B01/B02: nothing before an accepted BootNotification (SecurityError, connection kept); then Heartbeat, StatusNotification, NotifyEvent, MeterValues', async () => {
  const station = await connected('CS-BOOT');
  assert.is(await rpcErrorCode(station.call('Heartbeat', {})), 'SecurityError');
  const boot = await station.call('BootNotification', bootRequest) as { status: string; interval: number; currentTime: string };
  assert.is(boot.status, 'Accepted');
  assert.ok(boot.interval > 0);
  const heartbeat = await station.call('Heartbeat', {}) as { currentTime: string };
  assert.ok(!Number.isNaN(Date.parse(heartbeat.currentTime)));
  const timestamp = new Date().toISOString();
  assert.equal(await station.call('StatusNotification', { timestamp, connectorStatus: 'Occupied', evseId: 1, connectorId: 1 }), {});
  assert.equal(await station.call('NotifyEvent', { generatedAt: timestamp, seqNo: 0, eventData: [{ eventId: 1, timestamp, trigger: 'Delta', actualValue: 'Occupied', eventNotificationType: 'HardWiredNotification', component: { name: 'Connector' }, variable: { name: 'AvailabilityState' } }] }), {});
  assert.equal(await station.call('MeterValues', { evseId: 1, meterValue: [{ timestamp, sampledValue: [{ value: 1234.5, measurand: 'Energy.Active.Import.Register' }] }] }), {});
});

test('E01–E06 TransactionEvent with the eMAID idToken of a PnC session and meter values; a resend is kept once; idTokenInfo from C07', async () => {
  const station = await connected('CS-TX');
  await station.call('BootNotification', bootRequest);
  const emaid = office.story.contract.emaid;
  const idToken = { idToken: emaid, type: 'eMAID' };
  const authorized = await station.call('Authorize', { idToken, certificate: office.contractChainPem }) as { idTokenInfo: { status: string } };
  assert.is(authorized.idTokenInfo.status, 'Accepted');
  const event = (eventType: string, seqNo: number, energy: number) => ({
    eventType, seqNo, timestamp: new Date().toISOString(), triggerReason: eventType === 'Started' ? 'Authorized' : eventType === 'Ended' ? 'StopAuthorized' : 'MeterValuePeriodic',
    transactionInfo: { transactionId: 'TX-1', ...(eventType === 'Ended' ? { stoppedReason: 'Local' } : {}) },
    ...(eventType === 'Started' ? { idToken, evse: { id: 1, connectorId: 1 } } : {}),
    meterValue: [{ timestamp: new Date().toISOString(), sampledValue: [{ value: energy, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' } }] }],
  });
  const started = await station.call('TransactionEvent', event('Started', 0, 0)) as { idTokenInfo?: { status: string } };
  assert.is(started.idTokenInfo?.status, 'Accepted');
  await station.call('TransactionEvent', event('Updated', 1, 500));
  await station.call('TransactionEvent', event('Updated', 1, 500));
  await station.call('TransactionEvent', event('Ended', 2, 1000));
  const { events } = await requestSubjectReply(office.story.bus, cpoInterface.requests.transactions, { stationId: 'CS-TX' });
  assert.equal(events.map((e) => [e.seqNo, e.eventType]), [[0, 'Started'], [1, 'Updated'], [2, 'Ended']]);
  assert.is(events[0].idToken, emaid);
});

test('C07 Authorize: hash data with OCSP at the MO, the chain, and the pairing of idTokenInfo.status with certificateStatus', async () => {
  const station = await connected('CS-AUTH');
  await station.call('BootNotification', bootRequest);
  const [leaf, sub2, sub1] = office.contractChain;
  const idToken = { idToken: office.story.contract.emaid, type: 'eMAID' };
  const hashData = [hashDataOf(leaf, sub2, MO_OCSP), hashDataOf(sub2, sub1, MO_OCSP)];
  assert.equal(await station.call('Authorize', { idToken, iso15118CertificateHashData: hashData }), { idTokenInfo: { status: 'Accepted' }, certificateStatus: 'Accepted' });
  assert.equal(await station.call('Authorize', { idToken, certificate: office.contractChainPem }), { idTokenInfo: { status: 'Accepted' }, certificateStatus: 'Accepted' });
  // Another eMAID than the certificate's: no certificateStatus fits, the token is Invalid.
  assert.equal(await station.call('Authorize', { idToken: { idToken: 'DEXYZC12345678', type: 'eMAID' }, certificate: office.contractChainPem }), { idTokenInfo: { status: 'Invalid' } });
  // Not a contract chain (the vehicle's provisioning chain): CertChainError + Invalid, judged before the eMAID.
  const provisioning = [office.vehicle.provisioningChain.certificate, ...office.vehicle.provisioningChain.subCertificates].map((der) => new x509.X509Certificate(Buffer.from(der, 'base64')).toString('pem')).join('\n');
  assert.equal(await station.call('Authorize', { idToken, certificate: provisioning }), { idTokenInfo: { status: 'Invalid' }, certificateStatus: 'CertChainError' });
  assert.equal(await station.call('Authorize', { idToken, certificate: 'no certificate here' }), { idTokenInfo: { status: 'Invalid' }, certificateStatus: 'NoCertificateAvailable' });
  // A responder outside the back office is never asked (no SSRF): the leaf is then unvouched for.
  assert.equal(await station.call('Authorize', { idToken, iso15118CertificateHashData: [hashDataOf(leaf, sub2, 'http://169.254.169.254/latest')] }), { idTokenInfo: { status: 'Invalid' }, certificateStatus: 'CertChainError' });
});

test('M01/M02 Get15118EVCertificate: the EV\'s EXI to the CCP and back; an Update with an installation request and garbage are Failed with OCPP reason codes', async () => {
  const station = await connected('CS-INSTALL');
  await station.call('BootNotification', bootRequest);
  const exiRequest = Buffer.from(await buildInstallationRequest(office.vehicle)).toString('base64');
  const answer = await station.call('Get15118EVCertificate', { iso15118SchemaVersion: 'urn:iso:15118:2:2013:MsgDef', action: 'Install', exiRequest }) as { status: string; exiResponse: string };
  assert.is(answer.status, 'Accepted');
  const check = await checkInstallationResponse(new Uint8Array(Buffer.from(answer.exiResponse, 'base64')), office.vehicle);
  assert.is(check.emaid, office.story.contract.emaid);
  const update = await station.call('Get15118EVCertificate', { iso15118SchemaVersion: 'urn:iso:15118:2:2013:MsgDef', action: 'Update', exiRequest }) as { status: string; statusInfo: { reasonCode: string }; exiResponse: string };
  assert.equal([update.status, update.statusInfo.reasonCode, update.exiResponse], ['Failed', 'InvalidValue', '']);
  const garbage = await station.call('Get15118EVCertificate', { iso15118SchemaVersion: 'urn:iso:15118:2:2013:MsgDef', action: 'Install', exiRequest: Buffer.from('not EXI').toString('base64') }) as { status: string; statusInfo: { reasonCode: string; additionalInfo: string } };
  assert.equal([garbage.status, garbage.statusInfo.reasonCode], ['Failed', 'InvalidValue']);
  assert.match(garbage.statusInfo.additionalInfo, /^Exi(DecodeError|Invalid): /);
});

test('M02 Get15118EVCertificate Update: after the MO renewed the contract, the EV\'s CertificateUpdateReq gets the renewed contract, its key for the current contract key', async () => {
  const station = await connected('CS-UPDATE');
  await station.call('BootNotification', bootRequest);
  const admin = office.story.identities.handle(office.story.bus, 'admin', { role: 'admin', prefixes: [] });
  const renewed = await requestSubjectReply(admin, moInterface.requests.renew, { emaid: office.story.contract.emaid! });
  // The story's EV installed the contract: its store holds the current certificate and key.
  const contracts = new ContractStore(office.story.store, office.vehicle.pcid);
  const contract = (await contracts.valid())!;
  const parts = await updateRequestParts(office.vehicle, contract, await contracts.signingKey());
  const exiRequest = Buffer.from(encodeExi('iso2', { V2G_Message: { Header: { SessionID: '0102030405060708', Signature: parts.signature }, Body: { CertificateUpdateReq: parts.body } } })).toString('base64');
  const answer = await station.call('Get15118EVCertificate', { iso15118SchemaVersion: 'urn:iso:15118:2:2013:MsgDef', action: 'Update', exiRequest }) as { status: string; exiResponse: string };
  assert.is(answer.status, 'Accepted');
  const check = await checkContractResponse(new Uint8Array(Buffer.from(answer.exiResponse, 'base64')), office.vehicle, 'CertificateUpdateRes', await contracts.keyScalar());
  assert.is(check.emaid, office.story.contract.emaid);
  assert.is(Buffer.from(check.contractChainHex.certificate, 'hex').toString('base64'), renewed.renewedCertificate);
  assert.is(check.sessionId, '0102030405060708');
});

test('A02/A03 SignCertificate → CertificateSigned for V2G and station certificates; a wrong CN or a broken CSR is Rejected; the signed station certificate opens profile 3', async () => {
  const station = await connected('CS-SIGN');
  const signed: Array<{ certificateType: string; certificateChain: string }> = [];
  station.handle('CertificateSigned', async ({ params }) => {
    signed.push(params as { certificateType: string; certificateChain: string });
    return { status: 'Accepted' };
  });
  await station.call('BootNotification', bootRequest);
  const v2g = await makeTestCsr('CN=SECC-CS-SIGN, O=Test CPO, C=DE, DC=CPO');
  assert.equal(await station.call('SignCertificate', { csr: v2g.csr, certificateType: 'V2GCertificate' }), { status: 'Accepted' });
  await until(() => signed.length === 1, 10_000, 'CertificateSigned (V2G)');
  assert.is(signed[0].certificateType, 'V2GCertificate');
  const v2gChain = signed[0].certificateChain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!;
  assert.is(v2gChain.length, 3);
  assert.is(new x509.X509Certificate(v2gChain[0]).subjectName.getField('CN')[0], 'SECC-CS-SIGN');

  const own = await makeTestCsr('CN=CS-SIGN, O=Test CPO');
  assert.equal(await station.call('SignCertificate', { csr: own.csr, certificateType: 'ChargingStationCertificate' }), { status: 'Accepted' });
  await until(() => signed.length === 2, 10_000, 'CertificateSigned (station)');
  const other = await makeTestCsr('CN=CS-SOMEONE-ELSE');
  const refused = await station.call('SignCertificate', { csr: other.csr }) as { status: string; statusInfo: { reasonCode: string } };
  assert.equal([refused.status, refused.statusInfo.reasonCode], ['Rejected', 'InvalidCSR']);
  const broken = await station.call('SignCertificate', { csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----', certificateType: 'V2GCertificate' }) as { status: string; statusInfo: { reasonCode: string } };
  assert.equal([broken.status, broken.statusInfo.reasonCode], ['Rejected', 'InvalidCSR']);

  // Security profile 3 with the certificate the CSMS just signed.
  const mtls = testStation({ url: office.csms.url, ca: office.csms.caCertificate, identity: 'CS-SIGN', cert: signed[1].certificateChain, key: own.keyPem });
  stations.push(mtls);
  await mtls.connect();
  assert.is((await mtls.call('BootNotification', bootRequest) as { status: string }).status, 'Accepted');
});

test('M06 GetCertificateStatus: an OCSP response from the MO for the station to staple', async () => {
  const station = await connected('CS-OCSP');
  await station.call('BootNotification', bootRequest);
  const [leaf, sub2] = office.contractChain;
  const answer = await station.call('GetCertificateStatus', { ocspRequestData: hashDataOf(leaf, sub2, MO_OCSP) }) as { status: string; ocspResult: string };
  assert.is(answer.status, 'Accepted');
  assert.ok(Buffer.from(answer.ocspResult, 'base64')[0] === 0x30, 'a DER OCSPResponse');
});

test('M03/M04/M05/F06: the CSMS installs roots, lists and deletes them, and triggers SignV2GCertificate, over the bus subject ocpp.station.call', async () => {
  const station = await connected('CS-ROOTS');
  const installed: string[] = [];
  station.handle('InstallCertificate', async ({ params }) => { installed.push((params as { certificateType: string }).certificateType); return { status: 'Accepted' }; });
  station.handle('GetInstalledCertificateIds', async () => ({ status: 'Accepted', certificateHashDataChain: [{ certificateType: 'V2GRootCertificate', certificateHashData: { hashAlgorithm: 'SHA256', issuerNameHash: 'aa', issuerKeyHash: 'bb', serialNumber: '1' } }] }));
  station.handle('DeleteCertificate', async () => ({ status: 'Accepted' }));
  const triggered: string[] = [];
  station.handle('TriggerMessage', async ({ params }) => { triggered.push((params as { requestedMessage: string }).requestedMessage); return { status: 'Accepted' }; });
  await station.call('BootNotification', bootRequest);
  const statuses = await office.csms.installRoots('CS-ROOTS');
  assert.ok(statuses.length >= 2 && statuses.every((status) => status === 'Accepted'), statuses.join());
  assert.ok(installed.includes('V2GRootCertificate') && installed.includes('MORootCertificate'));
  const bus = office.story.bus;
  const ids = await requestSubjectReply(bus, ocppInterface.requests.call, { stationId: 'CS-ROOTS', action: 'GetInstalledCertificateIds', payload: { certificateType: ['V2GRootCertificate'] } });
  assert.is(ids.response.status, 'Accepted');
  const deleted = await requestSubjectReply(bus, ocppInterface.requests.call, { stationId: 'CS-ROOTS', action: 'DeleteCertificate', payload: { certificateHashData: { hashAlgorithm: 'SHA256', issuerNameHash: 'aa', issuerKeyHash: 'bb', serialNumber: '1' } } });
  assert.is(deleted.response.status, 'Accepted');
  await requestSubjectReply(bus, ocppInterface.requests.call, { stationId: 'CS-ROOTS', action: 'TriggerMessage', payload: { requestedMessage: 'SignV2GCertificate' } });
  assert.equal(triggered, ['SignV2GCertificate']);
  // An invalid payload never leaves the CSMS (strict mode as caller); a station not connected is a typed error.
  const failureOf = async (promise: Promise<unknown>) => promise.then(() => 'resolved', (error: { code: string; data?: { rpcErrorCode?: string } }) => [error.code, error.data?.rpcErrorCode].filter(Boolean).join(' '));
  assert.is(await failureOf(requestSubjectReply(bus, ocppInterface.requests.call, { stationId: 'CS-ROOTS', action: 'DeleteCertificate', payload: {} })), 'StationRejected OccurenceConstraintViolation');
  assert.is(await failureOf(requestSubjectReply(bus, ocppInterface.requests.call, { stationId: 'CS-NOWHERE', action: 'TriggerMessage', payload: { requestedMessage: 'SignV2GCertificate' } })), 'StationNotConnected');
});

test('OCPP 1.6 with the OCA PnC whitepaper: DataTransfer org.openchargealliance.iso15118pnc gets the same service both ways', async () => {
  const station = await connected('CS-16', 'ocpp1.6');
  const boot = await station.call('BootNotification', { chargePointVendor: 'Open PnC tests', chargePointModel: 'Box16' }) as { status: string };
  assert.is(boot.status, 'Accepted');
  const tunnel = async (messageId: string, payload: unknown) => {
    const answer = await station.call('DataTransfer', { vendorId: 'org.openchargealliance.iso15118pnc', messageId, data: JSON.stringify(payload) }) as { status: string; data?: string };
    return { status: answer.status, data: answer.data === undefined ? undefined : JSON.parse(answer.data) };
  };
  const [leaf, sub2] = office.contractChain;
  const idToken = { idToken: office.story.contract.emaid, type: 'eMAID' };
  assert.equal(await tunnel('Authorize', { idToken, iso15118CertificateHashData: [hashDataOf(leaf, sub2, MO_OCSP)] }), { status: 'Accepted', data: { idTokenInfo: { status: 'Accepted' }, certificateStatus: 'Accepted' } });
  const exiRequest = Buffer.from(await buildInstallationRequest(office.vehicle)).toString('base64');
  const installed = await tunnel('Get15118EVCertificate', { iso15118SchemaVersion: 'urn:iso:15118:2:2013:MsgDef', action: 'Install', exiRequest });
  assert.is(installed.data.status, 'Accepted');
  // The inner payload is held to the 2.0.1 schema: an idToken over 36 characters is a format violation, spelt the 1.6 way on a 1.6 connection.
  assert.is(await rpcErrorCode(station.call('DataTransfer', { vendorId: 'org.openchargealliance.iso15118pnc', messageId: 'Authorize', data: JSON.stringify({ idToken: { idToken: 'X'.repeat(37), type: 'eMAID' } }) })), 'FormationViolation');
  assert.equal(await station.call('DataTransfer', { vendorId: 'com.example', messageId: 'Authorize' }), { status: 'UnknownVendorId' });
  assert.equal(await station.call('DataTransfer', { vendorId: 'org.openchargealliance.iso15118pnc', messageId: 'Reset', data: '{}' }), { status: 'UnknownMessageId' });
  // CSMS → 1.6 station: InstallCertificate inside DataTransfer.
  const received: Array<{ messageId: string; data: { certificateType: string } }> = [];
  station.handle('DataTransfer', async ({ params }) => {
    const { messageId, data } = params as { messageId: string; data: string };
    received.push({ messageId, data: JSON.parse(data) });
    return { status: 'Accepted', data: JSON.stringify({ status: 'Accepted' }) };
  });
  const statuses = await office.csms.installRoots('CS-16');
  assert.ok(statuses.every((status) => status === 'Accepted'));
  assert.ok(received.some((r) => r.messageId === 'InstallCertificate' && r.data.certificateType === 'V2GRootCertificate'));
});

// Last: it ends the story's contract.
test('C07 after the MO terminated the contract: both paths answer ContractCancelled + Invalid (revoked for cessationOfOperation), from the same table', async () => {
  const station = await connected('CS-CANCELLED');
  await station.call('BootNotification', bootRequest);
  const [leaf, sub2] = office.contractChain;
  await requestSubjectReply(office.story.identities.handle(office.story.bus, 'admin', { role: 'admin', prefixes: [] }), moInterface.requests.terminate, { emaid: office.story.contract.emaid! });
  const idToken = { idToken: office.story.contract.emaid, type: 'eMAID' };
  const cancelled = { idTokenInfo: { status: 'Invalid' }, certificateStatus: 'ContractCancelled' };
  assert.equal(await station.call('Authorize', { idToken, iso15118CertificateHashData: [hashDataOf(leaf, sub2, MO_OCSP)] }), cancelled);
  assert.equal(await station.call('Authorize', { idToken, certificate: office.contractChainPem }), cancelled);
});

test.run();
