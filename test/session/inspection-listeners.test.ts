// A charging session publishes its inspection stream (`inspect.secc.<SessionID>`, the `~trace` steps)
// only while someone subscribes: without a listener the charging loop builds nothing (issue 11,
// 1,000 sessions at 4 Hz), with one the inspector gets every event, snapshot and step as before.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryBus } from '../../actors/bus/memory.ts';
import type { Bus } from '../../actors/bus/bus.ts';
import { DelegatingBus } from '../../actors/bus/decorator.ts';
import { openEmbeddedStore } from '../../actors/store/index.ts';
import { createSeccStation } from '../../actors/participants/secc/index.ts';
import { duplexPair } from '../../actors/transport/duplex-pair.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { ScriptedEv } from './scripted-ev.ts';

/** Counts what the station publishes on `inspect.`; the session's publishes go through this bus. */
class CountingBus extends DelegatingBus {
  readonly inspectPublishes: string[] = [];
  override publish(subject: string, payload: unknown, headers?: Record<string, string>): Promise<void> {
    if (subject.startsWith('inspect.')) this.inspectPublishes.push(subject);
    return super.publish(subject, payload, headers);
  }
}

async function chargeOnce(bus: Bus, store: Awaited<ReturnType<typeof openEmbeddedStore>>): Promise<string> {
  const [evEnd, seccEnd] = duplexPair();
  const served = createSeccStation(bus, store, { name: 'inspection' }).serve(seccEnd);
  const ev = new ScriptedEv(evEnd);
  const answer = await ev.eimThrough('CurrentDemandReq');
  assert.is(answer.code, 'OK');
  ev.end();
  await served;
  return ev.sessionId;
}

test('the in-process bus says whether a subject has subscribers: plain, wildcard, queue group, after unsubscribe', async () => {
  const store = await openEmbeddedStore(tempDir('openpnc-inspection-bus-'));
  const bus = createMemoryBus({ store });
  try {
    assert.is(bus.mayHaveSubscribers('inspect.secc.00aa'), false);
    const all = await bus.subscribe('inspect.>', () => {});
    assert.is(bus.mayHaveSubscribers('inspect.secc.00aa'), true);
    assert.is(bus.mayHaveSubscribers('cpo.authorize'), false);
    await all.unsubscribe();
    assert.is(bus.mayHaveSubscribers('inspect.secc.00aa'), false, 'the route cache forgets a subscription that ended');
    const grouped = await bus.subscribe('inspect.*.00aa', () => {}, { queue: 'inspectors' });
    assert.is(bus.mayHaveSubscribers('inspect.secc.00aa'), true);
    await grouped.unsubscribe();
    assert.is(new CountingBus(bus).mayHaveSubscribers('inspect.secc.00aa'), false, 'a decorator asks the bus it wraps');
    await bus.close();
    assert.is(bus.mayHaveSubscribers('inspect.secc.00aa'), false);
  } finally {
    await store.close();
  }
});

test('a session without listeners publishes no inspection; with an inspector on inspect.> it publishes events, snapshots and its steps under the SessionID', async () => {
  const store = await openEmbeddedStore(tempDir('openpnc-inspection-session-'));
  const memory = createMemoryBus({ store });
  const bus = new CountingBus(memory);
  try {
    await chargeOnce(bus, store);
    assert.equal(bus.inspectPublishes, [], 'nothing built for no one');

    const received: { subject: string; payload: Record<string, unknown> }[] = [];
    const inspector = await memory.subscribe('inspect.>', (delivery) => void received.push({ subject: delivery.subject, payload: delivery.payload as Record<string, unknown> }));
    const sessionId = await chargeOnce(bus, store);
    await new Promise((resolve) => setImmediate(resolve));
    const own = received.filter((m) => m.subject === `inspect.secc.${sessionId}`);
    assert.ok(own.some((m) => m.payload.kind === 'event' && (m.payload.event as { type: string }).type === 'req.CurrentDemandReq'), 'the CurrentDemandReq event');
    assert.ok(own.some((m) => m.payload.kind === 'snapshot' && m.payload.status === 'done'), 'the final snapshot');
    const steps = received.filter((m) => m.subject === 'inspect.secc.~trace').map((m) => m.payload);
    // CableCheck repeats while the isolation check is Ongoing.
    assert.equal([...new Set(steps.map((s) => s.summary))], ['supportedAppProtocolRes', 'SessionSetupRes', 'ServiceDiscoveryRes', 'PaymentServiceSelectionRes', 'AuthorizationRes', 'ChargeParameterDiscoveryRes', 'CableCheckRes', 'PreChargeRes', 'PowerDeliveryRes', 'CurrentDemandRes']);
    assert.ok(steps.every((s) => (s.keys as { sessionId?: string }).sessionId === sessionId), 'every step carries the agreed SessionID, the handshake too');
    await inspector.unsubscribe();
  } finally {
    await memory.close();
    await store.close();
  }
});

test.run();
