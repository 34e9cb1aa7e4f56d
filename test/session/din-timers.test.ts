// DIN 70121 sessions run on DIN's timers (charging-session.md §2, DIN SPEC 70121 §9.6), ISO-2 sessions
// on ISO-2's, on a manual clock: the EV waits 2 s for PowerDeliveryRes in DIN and 5 s in ISO-2; a DIN
// SECC ends a cable check that has not confirmed isolation after 38 s, where ISO-2 leaves it to the
// EV's 40 s; a DIN EV gives PowerDelivery(Start) 150 s from ChargeParameterDiscovery.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor } from 'xstate';
import { duplexPair } from '../../actors/transport/duplex-pair.ts';
import { openEmbeddedStore } from '../../actors/store/index.ts';
import type { Store } from '../../actors/store/store.ts';
import { createEv } from '../../actors/participants/ev/index.ts';
import { createSeccStation } from '../../actors/participants/secc/index.ts';
import { SimulatedCharger } from '../../actors/participants/secc/charger.ts';
import { createMemoryBus } from '../../actors/bus/memory.ts';
import type { Vehicle } from '../../actors/story/vehicle.ts';
import type { TraceEntry } from '../../actors/participants/v2g/runner.ts';
import { evSessionMachine, type EvOutput } from '../../statecharts/ev-session.ts';
import type { SeccOutput } from '../../statecharts/secc-session.ts';
import type { SessionProtocol } from '../../statecharts/secc/messages.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { withCleanup } from '../harness/cleanup.ts';
import { ManualClock } from '../harness/manual-clock.ts';

const VEHICLE = { pcid: 'OPNCDINTIMERS0001', provisioningChain: { certificate: '', subCertificates: [] }, provisioningKey: '', v2gRoots: [], producedAt: '' } as unknown as Vehicle;
let store: Store;
test.before(async () => { store = await openEmbeddedStore(tempDir('openpnc-din-timers-')); });
test.after(async () => { await store?.close(); });
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** An EIM DC session of `protocol` between our EV and SECC on one manual clock, over an in-memory pair. */
function session(protocol: SessionProtocol, options: { cableCheckRounds?: number; loopIntervalMs?: number; onTrace?: (entry: TraceEntry, clock: ManualClock) => void; muteAfter?: (entry: TraceEntry) => boolean }) {
  const clock = new ManualClock();
  const bus = createMemoryBus({ store });
  let mute = false;
  const station = createSeccStation(bus, store, {
    name: `din-timers-${protocol}`, clock, charger: new SimulatedCharger({ now: clock.now, cableCheckRounds: options.cableCheckRounds }),
    trace: (entry) => {
      options.onTrace?.(entry, clock);
      if (options.muteAfter?.(entry)) mute = true;
    },
  });
  const ev = createEv(store, VEHICLE, { clock, battery: { soc: 50 } });
  const [a, b] = duplexPair();
  // Once muted, nothing the SECC writes reaches the EV.
  const write = a.write.bind(a) as (chunk: Uint8Array) => boolean;
  a.write = ((chunk: Uint8Array) => (mute ? true : write(chunk))) as typeof a.write;
  let evOutput: EvOutput | undefined;
  let seccOutput: SeccOutput | undefined;
  const served = station.serve(a).then((output) => { seccOutput = output; });
  const charged = ev.charge(b, { protocols: [protocol], payment: 'ExternalPayment', loopIntervalMs: options.loopIntervalMs ?? 0, targetSoc: 100, energyMode: 'DC_extended' }).then((output) => { evOutput = output; });
  return {
    clock, isMuted: () => mute, ev: () => evOutput, secc: () => seccOutput,
    async settle() { await Promise.all([served, charged]); await bus.close(); },
  };
}

for (const [protocol, timeoutMs] of [['din', 2_000], ['iso2', 5_000]] as const) {
  test(`${protocol}: the EV waits ${timeoutMs} ms for PowerDeliveryRes, not a millisecond less`, withCleanup(async (defer) => {
    const s = session(protocol, { muteAfter: (entry) => entry.side === 'secc' && entry.direction === 'out' && entry.name === 'PowerDeliveryRes' });
    defer(() => s.settle());
    // Loop pauses of 0 ms are timers too: the manual clock fires them when told.
    for (let i = 0; i < 500 && !s.isMuted(); i++) { await tick(); s.clock.advance(0); }
    assert.ok(s.isMuted(), 'the session reached PowerDeliveryReq(Start)');
    await tick();
    s.clock.advance(timeoutMs - 1);
    await tick();
    assert.is(s.ev(), undefined, `still waiting at ${timeoutMs - 1} ms`);
    s.clock.advance(1);
    for (let i = 0; i < 50 && !s.ev(); i++) await tick();
    assert.is(s.ev()?.outcome, 'failed');
    assert.match(s.ev()?.reason ?? '', /no PowerDeliveryRes within the EVCC timeout/);
  }));
}

test('din: the SECC answers CableCheckRes FAILED once isolation is unconfirmed 38 s after the first CableCheckReq', withCleanup(async (defer) => {
  let firstCableCheck: number | undefined;
  const s = session('din', {
    cableCheckRounds: Number.MAX_SAFE_INTEGER, loopIntervalMs: 1_000,
    onTrace: (entry, clock) => { if (entry.side === 'secc' && entry.direction === 'in' && entry.name === 'CableCheckReq') firstCableCheck ??= clock.now(); },
  });
  defer(() => s.settle());
  for (let i = 0; i < 1_000 && !s.secc(); i++) { await tick(); s.clock.advance(firstCableCheck === undefined ? 0 : 250); }
  const secc = s.secc();
  assert.ok(secc && firstCableCheck !== undefined, 'the SECC closed after cable checks');
  assert.is(secc!.outcome, 'failed');
  assert.is(secc!.lastCode, 'FAILED');
  assert.match(secc!.closeReason ?? '', /V2G_SECC_CableCheck_Performance_Time \(38000 ms\)/);
  const elapsed = s.clock.now() - firstCableCheck!;
  assert.ok(elapsed >= 38_000 && elapsed < 40_000, `closed ${elapsed} ms after the first CableCheckReq: at 38 s, before the EV's 40 s`);
}));

test('iso2: the SECC keeps answering Ongoing; the EV gives up after its 40 s', withCleanup(async (defer) => {
  const s = session('iso2', { cableCheckRounds: Number.MAX_SAFE_INTEGER, loopIntervalMs: 1_000 });
  defer(() => s.settle());
  for (let i = 0; i < 1_000 && !s.ev(); i++) { await tick(); s.clock.advance(250); }
  assert.is(s.ev()?.outcome, 'failed');
  assert.is(s.ev()?.reason, 'CableCheck took longer than 40 s');
  assert.is(s.ev()?.last?.code, 'OK', 'the last CableCheckRes was OK/Ongoing, not FAILED');
}));

test('din EV machine: V2G_EVCC_ReadyToCharge_Timeout (150 s) from the first ChargeParameterDiscoveryReq; ISO-2 has none', () => {
  for (const protocol of ['din', 'iso2'] as const) {
    const ev = createActor(evSessionMachine, {
      input: { plan: { protocols: [protocol], payment: 'ExternalPayment', energyMode: 'DC_extended', evccId: '010203040506', targetSoc: 80, pause: false, installContract: false, loopIntervalMs: 0 }, vehicle: { soc: 50, capacityWh: 40_000, maxVoltage: 450, maxCurrent: 200, maxPower: 90_000, batteryVoltage: 380, targetCurrent: 100 }, now: 0 },
    }).start();
    const vehicle = ev.getSnapshot().context.vehicle;
    const respond = (name: string, body: Record<string, unknown>, now: number) => ev.send({ type: `res.${name}`, header: { SessionID: 'a1a2a3a4a5a6a7a8' }, body: { [name]: body }, exi: new Uint8Array(), now, vehicle });
    const [offered] = ev.getSnapshot().context.request!.body.AppProtocol as { SchemaID: number }[];
    respond('supportedAppProtocolRes', { ResponseCode: 'OK_SuccessfulNegotiation', SchemaID: offered.SchemaID }, 10);
    respond('SessionSetupRes', { ResponseCode: 'OK_NewSessionEstablished', EVSEID: 'DE*OPC*E1' }, 20);
    respond('ServiceDiscoveryRes', { ResponseCode: 'OK', PaymentOptionList: { PaymentOption: ['ExternalPayment'] }, ChargeService: { ServiceID: 1, ServiceCategory: 'EVCharging', FreeService: false, SupportedEnergyTransferMode: { EnergyTransferMode: ['DC_extended'] } } }, 30);
    respond('PaymentServiceSelectionRes', { ResponseCode: 'OK' }, 40);
    respond('AuthorizationRes', { ResponseCode: 'OK', EVSEProcessing: 'Finished' }, 50);
    const snapshot = ev.getSnapshot();
    assert.is(snapshot.context.request?.name, 'ChargeParameterDiscoveryReq', `${protocol}: ${snapshot.output?.reason ?? ''}`);
    if (protocol === 'iso2') {
      assert.is(snapshot.context.deadlines.readyToCharge, undefined);
      continue;
    }
    assert.is(snapshot.context.deadlines.readyToCharge, 50 + 150_000);
    ev.send({ type: 'deadline.readyToCharge', at: 150_050 });
    assert.is(ev.getSnapshot().output?.outcome, 'failed');
    assert.match(ev.getSnapshot().output?.reason ?? '', /V2G_EVCC_ReadyToCharge_Timeout/);
  }
});

test.run();
