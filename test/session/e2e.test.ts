// EV and SECC end to end with the back office on the in-process bus: PnC with and without prior
// installation, EIM, AC and DC, ISO 15118-2 and DIN 70121, pause and resume, over an in-memory
// Duplex pair and over loopback TCP.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, connect, type AddressInfo } from 'node:net';
import { duplexPair } from '../../actors/transport/duplex-pair.ts';
import type { StoryResult } from '../../actors/story/index.ts';
import type { SeccStation } from '../../actors/participants/secc/index.ts';
import type { Ev } from '../../actors/participants/ev/index.ts';
import type { TraceEntry } from '../../actors/participants/v2g/runner.ts';
import { backOffice, station, vehicleOf } from './helpers.ts';
import { SeccSecurity } from '../../actors/participants/secc/security.ts';
import { seccParticipant } from '../../actors/participants/secc/index.ts';
import { participantHandle } from '../../actors/host/credentials.ts';
import { evParticipant } from '../../actors/participants/ev/index.ts';
import { createLogger } from '../../actors/host/log.ts';
import { requestSubjectReply } from '../../actors/bus/typed.ts';
import { seccInterface } from '../../protocols/catalogue/secc.ts';
import { evInterface } from '../../protocols/catalogue/ev.ts';
import { DEFAULT_SECC_CONFIG } from '../../statecharts/secc/charger.ts';
import type { PncError } from '../../protocols/errors.ts';
import { busCpoBackend } from '../../actors/participants/secc/backend.ts';

let story: StoryResult;
let secc: SeccStation;
let ev: Ev;
const trace: TraceEntry[] = [];

test.before(async () => {
  story = await backOffice();
  secc = await station(story, { trace: (entry) => trace.push(entry) });
  ev = vehicleOf(story);
});
test.after(async () => {
  await story?.stop();
});

async function session(plan: Parameters<Ev['charge']>[1]) {
  const [charger, car] = duplexPair();
  const [seccOutput, evOutput] = await Promise.all([secc.serve(charger), ev.charge(car, { loopIntervalMs: 0, ...plan })]);
  return { seccOutput, evOutput };
}

test('ISO-2 PnC DC: CertificateInstallation, PaymentDetails, signed Authorization, CurrentDemand, MeteringReceipt, SessionStop', async () => {
  trace.length = 0;
  await ev.contracts.forget(); // the story's own charge installed it already; the CCP keeps it for the next installation
  assert.not.ok(await ev.contracts.valid(), 'no contract before the session');
  const { seccOutput, evOutput } = await session({ energyMode: 'DC_extended' });
  assert.is(evOutput.outcome, 'completed', evOutput.reason);
  assert.is(evOutput.protocol, 'iso2');
  assert.is(evOutput.emaid, story.contract.emaid);
  assert.ok(evOutput.loops >= 1);
  assert.is(evOutput.receiptsSigned, 1);
  assert.is(seccOutput.outcome, 'terminated');
  assert.is(seccOutput.sessionId, evOutput.sessionId);
  assert.is((await ev.contracts.valid())?.emaid, story.contract.emaid);
  assert.is((await secc.receipts()).length, 1, 'the signed receipt is stored');
  const sent = trace.filter((e) => e.side === 'secc' && e.direction === 'in').map((e) => e.name);
  for (const name of ['supportedAppProtocolReq', 'SessionSetupReq', 'ServiceDiscoveryReq', 'ServiceDetailReq', 'PaymentServiceSelectionReq', 'CertificateInstallationReq', 'PaymentDetailsReq', 'AuthorizationReq', 'ChargeParameterDiscoveryReq', 'CableCheckReq', 'PreChargeReq', 'PowerDeliveryReq', 'CurrentDemandReq', 'MeteringReceiptReq', 'WeldingDetectionReq', 'SessionStopReq']) {
    assert.ok(sent.includes(name), `the SECC received ${name}`);
  }
  assert.ok(sent.indexOf('CertificateInstallationReq') < sent.indexOf('PaymentDetailsReq'));
});

test('ISO-2 PnC AC with the contract already installed: no CertificateInstallation, ChargingStatus loop', async () => {
  trace.length = 0;
  ev.battery.charge(0);
  const { seccOutput, evOutput } = await session({ energyMode: 'AC_three_phase_core', targetSoc: ev.battery.soc + 0.5 });
  assert.is(evOutput.outcome, 'completed', evOutput.reason);
  assert.is(seccOutput.outcome, 'terminated');
  const names = trace.filter((e) => e.side === 'secc' && e.direction === 'in').map((e) => e.name);
  assert.not.ok(names.includes('CertificateInstallationReq'));
  assert.ok(names.includes('ChargingStatusReq'));
  assert.ok(names.includes('PaymentDetailsReq'));
});

test('ISO-2 EIM AC and DC', async () => {
  for (const energyMode of ['AC_three_phase_core', 'DC_extended'] as const) {
    trace.length = 0;
    const { seccOutput, evOutput } = await session({ payment: 'ExternalPayment', energyMode, targetSoc: ev.battery.soc + 0.3 });
    assert.is(evOutput.outcome, 'completed', evOutput.reason);
    assert.is(seccOutput.outcome, 'terminated');
    assert.not.ok(trace.some((e) => e.name === 'PaymentDetailsReq'));
  }
});

test('DIN 70121 DC with EIM (ServicePaymentSelection, ContractAuthentication) when the EV offers only DIN', async () => {
  trace.length = 0;
  const { seccOutput, evOutput } = await session({ protocols: ['din'], payment: 'ExternalPayment', energyMode: 'DC_extended', targetSoc: ev.battery.soc + 0.3 });
  assert.is(evOutput.outcome, 'completed', evOutput.reason);
  assert.is(evOutput.protocol, 'din');
  assert.is(seccOutput.protocol, 'din');
  const names = trace.filter((e) => e.side === 'secc' && e.direction === 'in').map((e) => e.name);
  assert.ok(names.includes('ServicePaymentSelectionReq'));
  assert.ok(names.includes('ContractAuthenticationReq'));
});

test('an EV offering DIN first and ISO-2 second gets ISO-2 (the SECC prefers ISO-2)', async () => {
  const { evOutput } = await session({ protocols: ['din', 'iso2'], payment: 'ExternalPayment', targetSoc: ev.battery.soc + 0.2 });
  assert.is(evOutput.outcome, 'completed', evOutput.reason);
  assert.is(evOutput.protocol, 'iso2');
});

test('pause with SessionStop(Pause), then resume by SessionID: OK_OldSessionJoined', async () => {
  const first = await session({ pause: true, targetSoc: ev.battery.soc + 0.2 });
  assert.is(first.evOutput.outcome, 'paused', first.evOutput.reason);
  assert.is(first.seccOutput.outcome, 'paused');
  const paused = await secc.pausedSessions();
  assert.ok(paused.some((p) => p._id === first.seccOutput.sessionId), 'the paused session is in the store');
  const second = await session({ resumeSessionId: first.evOutput.sessionId, targetSoc: ev.battery.soc + 0.2 });
  assert.is(second.evOutput.outcome, 'completed', second.evOutput.reason);
  assert.ok(second.evOutput.joinedOldSession);
  assert.is(second.evOutput.sessionId, first.evOutput.sessionId);
  assert.not.ok((await secc.pausedSessions()).some((p) => p._id === first.seccOutput.sessionId), 'joined, so no longer paused');
});

test('over loopback TCP: ISO-2 PnC DC', async () => {
  const served: Promise<unknown>[] = [];
  const server = createServer((socket) => { served.push(secc.serve(socket)); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    const evOutput = await ev.charge(socket, { loopIntervalMs: 0, targetSoc: ev.battery.soc + 0.3 });
    assert.is(evOutput.outcome, 'completed', evOutput.reason);
    const [seccOutput] = (await Promise.all(served)) as { outcome: string }[];
    assert.is(seccOutput.outcome, 'terminated');
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('evse_security: SECC leaf from a CSR signed by the CPO backend, verified, renewed when fewer than 30 days remain', async () => {
  let now = Date.now();
  const security = new SeccSecurity(story.store, 'renewal-test', () => now);
  const backend = busCpoBackend(story.bus);
  const subject = { commonName: 'SECC-RENEWAL', organization: 'Open Plug&Charge CPO' };
  assert.is(await security.leafExpiryDays(), 0, 'no leaf yet');
  assert.is(await security.ensureLeaf(backend, subject), 'renewed');
  const first = (await security.leaf())!;
  assert.is(first.chain.length, 3, 'leaf, CPO Sub-CA 2, Sub-CA 1');
  assert.is(first.chain[0].subjectName.getField('DC')[0], 'CPO');
  assert.ok((await security.leafExpiryDays()) > 30);
  assert.is(await security.ensureLeaf(backend, subject), 'valid', 'no renewal while more than 30 days remain');
  assert.is(await security.verifyCertificate(first.chain.map((c) => c.toString('pem')).join('')), 'Valid');
  assert.is(await security.verifyCertificate('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), 'InvalidChain');
  assert.is(await security.installCaCertificate('not a certificate', 'MO'), 'InvalidFormat');
  assert.ok((await security.installedCertificates()).some((c) => c.type === 'V2GCertificateChain'));
  now = first.chain[0].notAfter.getTime() - 29 * 86_400_000;
  assert.is(await security.leafExpiryDays(), 29);
  assert.is(await security.ensureLeaf(backend, subject), 'renewed');
  assert.is.not((await security.leaf())!.chain[0].serialNumber, first.chain[0].serialNumber, 'a new leaf');
});

test('participants: secc and ev on the bus report their state; malformed requests get InvalidPayload and they keep serving', async () => {
  // Each with its own identity on the bus, as a host gives it (the EV has the OEM sign its CSR).
  const context = (name: string) => ({ bus: participantHandle(story.identities, story.bus, name), store: story.store, log: createLogger({ write: () => {} }), dataDir: '', config: {} });
  const running = [await seccParticipant.start(context('secc')), await evParticipant.start(context('ev'))];
  try {
    const status = await requestSubjectReply(story.bus, seccInterface.requests.status, {});
    assert.is(status.evseId, DEFAULT_SECC_CONFIG.evseId);
    assert.is(status.activeSessions, 0);
    const car = await requestSubjectReply(story.bus, evInterface.requests.status, {});
    assert.match(car.pcid, /^[A-Za-z0-9]{17,18}$/);
    assert.is(car.emaid, undefined, 'a new vehicle holds no contract');
    for (const subject of [seccInterface.requests.status.subject, evInterface.requests.status.subject]) {
      for (const bad of [null, 'text', 42, [], true]) {
        const error = await story.bus.request(subject, bad).then(() => undefined, (e: unknown) => e as PncError);
        assert.is(error?.code, 'InvalidPayload', `${subject} with ${JSON.stringify(bad)}`);
      }
    }
    assert.is((await requestSubjectReply(story.bus, seccInterface.requests.status, {})).activeSessions, 0, 'still serving');
  } finally {
    for (const participant of running) await participant.stop();
  }
});

test.run();
