// The EV's own timers (charging-session.md §2) on a manual clock: a charger that does not answer
// ends the session after the EVCC message timeout of the request, 2 s for the handshake and 250 ms
// in the CurrentDemand loop; an SECC answering Ongoing for longer than 60 s ends it too.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { duplexPair } from '../../actors/transport/duplex-pair.ts';
import { openEmbeddedStore } from '../../actors/store/index.ts';
import type { Store } from '../../actors/store/store.ts';
import { createEv } from '../../actors/participants/ev/index.ts';
import { createSeccStation } from '../../actors/participants/secc/index.ts';
import { SimulatedCharger } from '../../actors/participants/secc/charger.ts';
import { createMemoryBus } from '../../actors/bus/memory.ts';
import type { Vehicle } from '../../actors/story/vehicle.ts';
import { V2gtpConnection } from '../../actors/transport/v2gtp-connection.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { ManualClock } from '../harness/manual-clock.ts';

const VEHICLE = { pcid: 'OPNCEVTIMEOUTS001', provisioningChain: { certificate: '', subCertificates: [] }, provisioningKey: '', v2gRoots: [], producedAt: '' } as unknown as Vehicle;
let store: Store;
test.before(async () => { store = await openEmbeddedStore(tempDir('openpnc-ev-timeouts-')); });
test.after(async () => { await store?.close(); });
const tick = () => new Promise((resolve) => setImmediate(resolve));

test('a charger that never answers supportedAppProtocolReq: the EV gives up after 2 s, not before', async () => {
  const clock = new ManualClock();
  const ev = createEv(store, VEHICLE, { clock });
  const [charger, car] = duplexPair();
  const silent = new V2gtpConnection(charger);
  let requests = 0;
  silent.on('frame', () => requests++);
  const session = ev.charge(car, { payment: 'ExternalPayment' });
  await tick();
  assert.is(requests, 1);
  clock.advance(1_999);
  await tick();
  assert.not.ok(silent.isClosed, 'still waiting at 1.999 s');
  clock.advance(1);
  const output = await session;
  assert.is(output.outcome, 'failed');
  assert.match(output.reason ?? '', /no supportedAppProtocolRes within the EVCC timeout/);
});

test('a charger that stops answering in the CurrentDemand loop: the EV gives up after 250 ms, not before', async () => {
  const clock = new ManualClock();
  const bus = createMemoryBus({ store });
  let answered = 0;
  let mute = false;
  // The SECC's third CurrentDemandRes, and everything after it, never reaches the EV.
  const station = createSeccStation(bus, store, {
    name: 'ev-timeouts', clock, charger: new SimulatedCharger({ now: clock.now }),
    trace: (entry) => { if (entry.direction === 'out' && entry.name === 'CurrentDemandRes' && ++answered >= 3) mute = true; },
  });
  const ev = createEv(store, VEHICLE, { clock, battery: { soc: 50 } });
  const [a, b] = duplexPair();
  const write = a.write.bind(a) as (chunk: Uint8Array) => boolean;
  a.write = ((chunk: Uint8Array) => (mute ? true : write(chunk))) as typeof a.write;
  const served = station.serve(a);
  const session = ev.charge(b, { payment: 'ExternalPayment', loopIntervalMs: 0, targetSoc: 100, energyMode: 'DC_extended' });
  // Loop pauses of 0 ms are timers too: the manual clock fires them when told.
  for (let i = 0; i < 500 && !mute; i++) { await tick(); clock.advance(0); }
  assert.ok(mute, 'the loop reached its third CurrentDemandRes');
  await tick();
  clock.advance(249);
  await tick();
  let ended = false;
  void session.then(() => { ended = true; });
  await tick();
  assert.not.ok(ended, 'still waiting at 249 ms');
  clock.advance(1);
  const output = await session;
  assert.is(output.outcome, 'failed');
  assert.match(output.reason ?? '', /no CurrentDemandRes within the EVCC timeout/);
  await served;
  await bus.close();
});

test.run();
