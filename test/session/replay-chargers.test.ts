// Replay of commercial DC chargers (charging-session.md §5): the answers of Alpitronic, Compleo,
// ABB and Tesla Supercharger in the pyPLC captures (DIN 70121, EIM) drive our EV through its
// sequence to each capture's end — every captured answer consumed in order by a request of its type.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { duplexPair } from '../../actors/transport/duplex-pair.ts';
import { openEmbeddedStore } from '../../actors/store/index.ts';
import type { Store } from '../../actors/store/store.ts';
import { createEv } from '../../actors/participants/ev/index.ts';
import type { Vehicle } from '../../actors/story/vehicle.ts';
import { decodeExi } from '../../protocols/exi/index.ts';
import { valueOf } from '../../statecharts/secc/messages.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { loadCaptures } from './captures.ts';
import { answerFromCapture } from './replay.ts';

type Obj = Record<string, unknown>;
let store: Store;
test.before(async () => { store = await openEmbeddedStore(tempDir('openpnc-replay-chargers-')); });
test.after(async () => { await store?.close(); });

// EIM needs no provisioning certificate: the vehicle record only names the car.
const VEHICLE = { pcid: 'OPNCREPLAY0000001', provisioningChain: { certificate: '', subCertificates: [] }, provisioningKey: '', v2gRoots: [], producedAt: '' } as unknown as Vehicle;

const CHARGERS = /ABB|compleo|alpi|SuperCharger/i;
const captures = loadCaptures().filter((c) => CHARGERS.test(c.name) && c.responses.length > 0);

test('the corpus holds the commercial chargers named in charging-session.md §5', () => {
  for (const charger of ['ABB', 'compleo', 'alpi', 'SuperCharger']) assert.ok(captures.some((c) => c.name.toLowerCase().includes(charger.toLowerCase())), charger);
});

for (const capture of captures) {
  test(`our EV through ${capture.name}: ${capture.responses.length} captured answers`, async () => {
    const body = (i: number) => Object.values(((decodeExi('din', capture.responses[i].bytes).document as Obj).V2G_Message as Obj).Body as Obj)[0] as Obj;
    const preCharges = capture.responses.map((r, i) => [r, i] as const).filter(([r]) => r.message === 'PreChargeRes');
    // The pack sits at the voltage the charger reached when it let the car close its contactors.
    const voltage = preCharges.length ? valueOf(body(preCharges.at(-1)![1]).EVSEPresentVoltage) : 400;
    const loops = capture.responses.filter((r) => r.message === 'CurrentDemandRes').length;
    const ev = createEv(store, VEHICLE, { battery: { soc: 30, fixedVoltage: voltage } });
    const [charger, car] = duplexPair();
    const played = answerFromCapture(charger, capture.responses);
    const skipWeldingDetection = !capture.responses.some((r) => r.message === 'WeldingDetectionRes');
    const output = await ev.charge(car, { protocols: ['din'], payment: 'ExternalPayment', loopIntervalMs: 0, targetSoc: 100, stopAfterLoops: Math.max(1, loops), skipWeldingDetection });
    const replay = await played;
    assert.equal(replay.unmatched, [], `our EV asked what the capture never answered (EV: ${output.outcome} ${output.reason ?? ''}; requests ${replay.requests.slice(0, 40).join(' ')})`);
    // Our EV ends its session at the charger's first FAILED answer; otherwise it takes every answer.
    const firstFailed = capture.responses.findIndex((_, i) => String(body(i).ResponseCode ?? '').startsWith('FAILED'));
    const expected = firstFailed >= 0 ? firstFailed + 1 : capture.responses.length;
    assert.is(replay.consumed, expected, `captured answers consumed in order (EV: ${output.outcome} ${output.reason ?? ''} last ${output.last?.name} ${output.last?.code})`);
    if (firstFailed >= 0) {
      assert.is(output.outcome, 'failed', 'a FAILED answer ends our session');
      assert.is(output.last?.code, String(body(firstFailed).ResponseCode));
    }
  });
}

test.run();
