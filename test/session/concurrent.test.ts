// Two stations, each with its own charger, serve one EV each at the same time in one process: the
// session machine is provided once per process and each session's effects (answers, charger
// commands, close) find their own connection and ports by the actor's system. Each EV must get its
// own SessionID, its own charger's values and limits, and one EV leaving must not end the other.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import 'reflect-metadata';
import { duplexPair } from '../../actors/transport/duplex-pair.ts';
import { createMemoryBus } from '../../actors/bus/memory.ts';
import { openEmbeddedStore } from '../../actors/store/index.ts';
import { createSeccStation } from '../../actors/participants/secc/index.ts';
import { SimulatedCharger } from '../../actors/participants/secc/charger.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { ScriptedEv, type Answer } from './scripted-ev.ts';

type Obj = Record<string, unknown>;
const voltageOf = (answer: Answer | undefined, name: string): number => {
  const value = answer?.content[name] as Obj | undefined;
  return Number(value?.Value) * 10 ** Number(value?.Multiplier);
};

test('two sessions in one process keep their own SessionID, charger and connection', async () => {
  const store = await openEmbeddedStore(tempDir('openpnc-concurrent-'));
  const bus = createMemoryBus({ store });
  const evs: { ev: ScriptedEv; served: Promise<{ outcome: string }> }[] = [];
  try {
    const stations = [400, 800].map((maxVoltage, i) => createSeccStation(bus, store, { name: `concurrent-${i}`, charger: new SimulatedCharger({ maxVoltage }) }));
    for (const station of stations) {
      const [evEnd, seccEnd] = duplexPair();
      evs.push({ ev: new ScriptedEv(evEnd), served: station.serve(seccEnd) });
    }
    // Interleaved: each step of one session runs while the other is mid-way through its own.
    const reached = await Promise.all(evs.map(({ ev }) => ev.eimThrough('CurrentDemandReq')));
    assert.not.equal(evs[0].ev.sessionId, evs[1].ev.sessionId);
    for (const [i, answer] of reached.entries()) {
      assert.is(answer.code, 'OK');
      assert.is(String(answer.header.SessionID), evs[i].ev.sessionId, `session ${i} answered with its own SessionID`);
      assert.is(voltageOf(answer, 'EVSEMaximumVoltageLimit'), [400, 800][i], `session ${i} answered with its own charger's limit`);
    }
    // Different targets: each charger follows its own EV's CurrentDemandReq, and the next answer
    // (built from the charger's status as the request arrives) reports it.
    const targets = [350, 420];
    await Promise.all(evs.map(({ ev }, i) => ev.send('CurrentDemandReq', ev.body('CurrentDemandReq', { EVTargetVoltage: { Multiplier: 0, Unit: 'V', Value: targets[i] } }))));
    assert.equal(stations.map((s) => s.charger.status().presentVoltage), targets);
    const answers = await Promise.all(evs.map(({ ev }) => ev.send('CurrentDemandReq', ev.body('CurrentDemandReq', { EVTargetVoltage: { Multiplier: 0, Unit: 'V', Value: 300 } }))));
    assert.equal(answers.map((a) => voltageOf(a, 'EVSEPresentVoltage')), targets);

    evs[0].ev.end();
    assert.is((await evs[0].served).outcome, 'disconnected');
    const after = await evs[1].ev.send('CurrentDemandReq');
    assert.is(after?.code, 'OK', 'the other session still charges');
    assert.is(String(after?.header.SessionID), evs[1].ev.sessionId);
    evs[1].ev.end();
    assert.is((await evs[1].served).outcome, 'disconnected');
  } finally {
    for (const { ev, served } of evs) {
      ev.end();
      await served;
    }
    await bus.close();
    await store.close();
  }
});

test.run();
