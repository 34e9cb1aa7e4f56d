// The session machines alone, with no sockets, EXI or stores: the EV machine's requests are the
// SECC machine's events and its answers the EV's, effects are provided as plain functions, time is
// a number. What the charger and the vehicle report is data in the events.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor, fromPromise } from 'xstate';
import { seccSessionMachine, type SeccResponse } from '../../statecharts/secc-session.ts';
import { evSessionMachine, type EvRequest, type VehicleStatus } from '../../statecharts/ev-session.ts';
import { DEFAULT_SECC_CONFIG, type ChargerStatus } from '../../statecharts/secc/charger.ts';
import { machineName, type ResponseCode } from '../../statecharts/secc/messages.ts';

type Obj = Record<string, unknown>;

const charger = (isolation: ChargerStatus['isolation'] = 'Valid'): ChargerStatus => ({
  presentVoltage: 380, presentCurrent: 100, isolation, ready: true,
  dcLimits: { maxVoltage: 920, maxCurrent: 300, maxPower: 150_000, minVoltage: 150, minCurrent: 0 },
  acLimits: { nominalVoltage: 230, maxCurrent: 32 },
  meter: { meterId: 'M1', energyWh: 1000, timestamp: 1_700_000_000 },
});

function secc(now = 1_000) {
  const responses: SeccResponse[] = [];
  let closed = false;
  const actor = createActor(seccSessionMachine.provide({
    actions: { respond: ({ context }) => { if (context.response) responses.push(context.response); }, close: () => { closed = true; } },
    actors: { authorize: fromPromise(async (): Promise<{ code: ResponseCode }> => ({ code: 'OK' })) },
  }), { input: { config: DEFAULT_SECC_CONFIG, sessionId: '0102030405060708', now } }).start();
  const request = (name: string, body: Obj = {}, sessionId = '0102030405060708', at = now) =>
    actor.send({ type: `req.${name}`, header: { SessionID: sessionId }, body: { [name]: body }, exi: new Uint8Array(), now: at, charger: charger() });
  return { actor, responses, request, isClosed: () => closed, last: () => responses.at(-1) as { name: string; body: Obj } };
}

const iso2 = [{ ProtocolNamespace: 'urn:iso:15118:2:2013:MsgDef', VersionNumberMajor: 2, VersionNumberMinor: 0, SchemaID: 10, Priority: 1 }];

test('SECC machine: handshake picks ISO-2 and answers with the EV\'s SchemaID; SessionSetup issues the SessionID', () => {
  const s = secc();
  s.actor.send({ type: 'sap', appProtocols: iso2, now: 1_000 });
  assert.equal(s.last().body, { ResponseCode: 'OK_SuccessfulNegotiation', SchemaID: 10 });
  s.request('SessionSetupReq', { EVCCID: '010203040506' }, '0000000000000000');
  assert.is(s.last().name, 'SessionSetupRes');
  assert.is(s.last().body.ResponseCode, 'OK_NewSessionEstablished');
  assert.is(s.actor.getSnapshot().context.sessionId, '0102030405060708');
});

test('SECC machine: a request out of sequence gets its own response type with FAILED_SequenceError and the session closes', () => {
  const s = secc();
  s.actor.send({ type: 'sap', appProtocols: iso2, now: 1_000 });
  s.request('SessionSetupReq', { EVCCID: '010203040506' }, '00');
  s.request('ChargeParameterDiscoveryReq', { RequestedEnergyTransferMode: 'DC_extended', DC_EVChargeParameter: {} });
  assert.is(s.last().name, 'ChargeParameterDiscoveryRes');
  assert.is(s.last().body.ResponseCode, 'FAILED_SequenceError');
  assert.ok('DC_EVSEChargeParameter' in s.last().body || 'AC_EVSEChargeParameter' in s.last().body, 'the failed response carries what the XSD requires');
  assert.ok(s.isClosed());
  assert.is(s.actor.getSnapshot().status, 'done');
});

test('SECC machine: V2G_SECC_Sequence_Timeout is a deadline in context, re-armed by every answer [V2G2-443]', () => {
  const s = secc(5_000);
  assert.is(s.actor.getSnapshot().context.deadlines.sequence, 65_000);
  s.actor.send({ type: 'sap', appProtocols: iso2, now: 7_000 });
  assert.is(s.actor.getSnapshot().context.deadlines.sequence, 67_000);
  s.actor.send({ type: 'deadline.sequence', at: 67_000 });
  assert.ok(s.isClosed());
  assert.match(s.actor.getSnapshot().output!.closeReason!, /Sequence_Timeout/);
});

test('SECC machine: the charging loop state is tagged `loop`, the durable states `durable`', () => {
  const nodes = Object.values(seccSessionMachine.root.states.session.states);
  const tagged = (tag: string) => nodes.filter((node) => node.tags.includes(tag)).map((node) => node.key);
  assert.equal(tagged('loop'), ['charging']);
  assert.equal(tagged('durable').sort(), ['pausing', 'storingReceipt']);
});

test('EV and SECC machines alone complete an ISO-2 EIM DC session and a DIN one', async () => {
  for (const protocols of [['iso2'], ['din']] as const) {
    let time = 10_000;
    let soc = 79.5;
    const vehicle = (): VehicleStatus => ({ soc, capacityWh: 40_000, maxVoltage: 450, maxCurrent: 200, maxPower: 90_000, batteryVoltage: 380, targetCurrent: 100 });
    let ev: ReturnType<typeof createActor<typeof evSessionMachine>>;
    const s = createActor(seccSessionMachine.provide({
      actions: {
        respond: ({ context }) => {
          const response = context.response!;
          if (response.schema === 'relay') return;
          soc += response.name === 'CurrentDemandRes' ? 0.2 : 0;
          const name = response.schema === 'app' ? response.name : machineName(response.schema, response.name);
          queueMicrotask(() => ev.send({ type: `res.${name}`, header: { SessionID: context.sessionId }, body: { [name]: response.body }, exi: new Uint8Array(), now: (time += 10), vehicle: vehicle() }));
        },
      },
      actors: { authorize: fromPromise(async (): Promise<{ code: ResponseCode }> => ({ code: 'OK' })) },
    }), { input: { config: DEFAULT_SECC_CONFIG, sessionId: 'a1a2a3a4a5a6a7a8', now: time } }).start();
    ev = createActor(evSessionMachine.provide({
      actions: {
        send: ({ context }) => {
          const request = context.request as EvRequest;
          queueMicrotask(() => {
            if (request.schema === 'app') s.send({ type: 'sap', appProtocols: (request.body.AppProtocol as never), now: (time += 10) });
            else s.send({ type: `req.${request.name}`, header: { SessionID: request.sessionId }, body: { [request.name]: request.body }, exi: new Uint8Array(), now: (time += 10), charger: charger() });
          });
        },
      },
    }), { input: { plan: { protocols: [...protocols], payment: 'ExternalPayment', energyMode: 'DC_extended', evccId: '010203040506', targetSoc: 80, pause: false, installContract: false, loopIntervalMs: 0 }, vehicle: vehicle(), now: time } });
    const done = new Promise<void>((resolve) => ev.subscribe({ complete: () => resolve() }));
    ev.start();
    // Loop pauses are deadlines the participant would fire; here they fire as soon as they are set.
    ev.subscribe((snapshot) => { const at = snapshot.context.deadlines.next; if (at !== undefined && snapshot.status === 'active') queueMicrotask(() => ev.send({ type: 'deadline.next', at })); });
    await done;
    const output = ev.getSnapshot().output!;
    assert.is(output.outcome, 'completed', `${protocols[0]}: ${output.reason ?? output.last?.code}`);
    assert.is(output.protocol, protocols[0]);
    assert.is(s.getSnapshot().output?.outcome, 'terminated');
  }
});

test.run();
