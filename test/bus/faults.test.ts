// The chaos fault layer on the in-process bus: each fault does what it says to what one
// participant sends, a bad plan is refused and the old one kept, and the clock skew moves Date.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryBus } from '../../actors/bus/index.ts';
import type { Bus } from '../../actors/bus/bus.ts';
import { FaultState, FaultyBus, serveChaosControl, setProcessClockSkew } from '../../actors/bus/faults.ts';
import { openEmbeddedStore } from '../../actors/store/index.ts';
import type { Store } from '../../actors/store/store.ts';
import { PncError } from '../../protocols/errors.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { eventually } from './contract.ts';
import { CHAOS_MEMORY_PREFIX, serveChaosMemory, type HeapFigures } from '../../actors/chaos/measure.ts';

let store: Store;
let bus: Bus;

test.before.each(async () => {
  store = await openEmbeddedStore(tempDir('openpnc-faults'));
  bus = createMemoryBus({ store });
});

test.after.each(async () => {
  await bus.close();
  await store.close();
});

function faulty(rules: Parameters<FaultState['set']>[0]['rules']) {
  const faults = new FaultState(() => 0); // every chance below 1 is taken
  faults.set({ rules });
  return { faults, sender: new FaultyBus(bus, faults) };
}

async function collect(subject: string): Promise<unknown[]> {
  const seen: unknown[] = [];
  await bus.subscribe(subject, ({ payload }) => void seen.push(payload));
  return seen;
}

test('drop loses the event; other subjects pass untouched', async () => {
  const { faults, sender } = faulty([{ subject: 'ccp.contract.*', drop: 1 }]);
  const dropped = await collect('ccp.contract.stored');
  const kept = await collect('mo.contract.changed');
  await sender.publish('ccp.contract.stored', { n: 1 });
  await sender.publish('mo.contract.changed', { n: 2 });
  await eventually('the untouched event arrives', () => kept.length === 1);
  assert.equal(dropped, []);
  assert.is(faults.counts.dropped, 1);
});

test('duplicate delivers twice, reorder lets the next message overtake the held one, delay still delivers', async () => {
  const { faults, sender } = faulty([{ subject: 'a.dup', duplicate: 1 }, { subject: 'a.order', reorder: 1 }, { subject: 'a.late', delayMs: 20 }]);
  const twice = await collect('a.dup');
  const order = await collect('a.order');
  const late = await collect('a.late');
  await sender.publish('a.dup', 'x');
  await sender.publish('a.late', 'y');
  await sender.publish('a.order', 'first');
  faults.set({ rules: [] }); // the second message is not held itself
  await sender.publish('a.order', 'second');
  await eventually('every message arrives', () => twice.length === 2 && order.length === 2 && late.length === 1);
  assert.equal(order, ['second', 'first']);
  assert.equal(faults.counts, { dropped: 0, duplicated: 1, delayed: 1, reordered: 1 });
});

test('a dropped request fails as a retryable Timeout; a duplicated one reaches the server twice', async () => {
  let handled = 0;
  await bus.serve('svc.echo', (request) => {
    handled += 1;
    return request;
  });
  const { sender } = faulty([{ subject: 'svc.echo', drop: 1 }]);
  const error = await sender.request('svc.echo', 1).catch((caught: unknown) => caught);
  assert.ok(PncError.is(error, 'Timeout') && error.retryable);
  assert.is(handled, 0);
  const twice = faulty([{ subject: 'svc.echo', duplicate: 1 }]);
  assert.is(await twice.sender.request('svc.echo', 2), 2);
  await eventually('the duplicate reaches the server', () => handled === 2);
});

test('a dropped work item is refused as retryable, unless the plan drops it acknowledged: then it is lost', async () => {
  const consumed: unknown[] = [];
  await bus.consume('work.sign', async (item) => void consumed.push(item.payload), { durable: 'signer' });
  const refused = faulty([{ subject: 'work.sign', drop: 1 }]);
  const error = await refused.sender.enqueue('work.sign', 'refused').catch((caught: unknown) => caught);
  assert.ok(PncError.is(error, 'BusUnavailable') && error.retryable);
  const lost = faulty([{ subject: 'work.sign', drop: 1, dropAcknowledged: true }]);
  await lost.sender.enqueue('work.sign', 'acknowledged but lost');
  await bus.enqueue('work.sign', 'after');
  await eventually('the later item is consumed', () => consumed.includes('after'));
  assert.equal(consumed, ['after']);
});

test('chaos.control: a valid plan is taken and answered with the counts, a bad one refused with the old plan kept', async () => {
  const faults = new FaultState(() => 0);
  await serveChaosControl(bus, 'ccp', faults);
  const reply = await bus.request<{ counts: unknown }>('chaos.control.ccp', { rules: [{ subject: 'ccp.>', drop: 0.5 }] });
  assert.equal(reply.counts, { dropped: 0, duplicated: 0, delayed: 0, reordered: 0 });
  for (const bad of [{ rules: [{ subject: 'a..b', drop: 1 }] }, { rules: [{ subject: 'x', drop: 2 }] }, { rules: [{ subject: 'x', explode: true }] }, { rules: 'all' }, null, { clockSkewMs: 1e18 }]) {
    const error = await bus.request('chaos.control.ccp', bad).catch((caught: unknown) => caught);
    assert.ok(PncError.is(error, 'InvalidPayload'), JSON.stringify(bad));
  }
  assert.equal(faults.plan.rules, [{ subject: 'ccp.>', drop: 0.5 }]);
});

test('chaos.memory: the process\'s memory, after a full GC when asked (what is unreachable is gone); a bad request refused', async () => {
  await serveChaosMemory(bus, 'mo');
  const ask = (collectGarbage: boolean) => bus.request<{ pid: number; memory: HeapFigures }>(`${CHAOS_MEMORY_PREFIX}mo`, { collectGarbage });
  let garbage: number[][] | undefined = Array.from({ length: 200 }, () => Array.from({ length: 20_000 }, (_, i) => i + 0.5)); // ~32 MB of doubles
  const holding = await ask(false);
  assert.is(holding.pid, process.pid);
  assert.ok(holding.memory.heapUsed > 30 * 1_048_576 && holding.memory.rss >= holding.memory.heapTotal, JSON.stringify(holding.memory));
  assert.is(garbage.length, 200);
  garbage = undefined;
  const collected = await ask(true);
  assert.ok(holding.memory.heapUsed - collected.memory.heapUsed > 25 * 1_048_576, `${holding.memory.heapUsed} → ${collected.memory.heapUsed}`);
  for (const bad of [{ collectGarbage: 'yes' }, { collectGarbage: true, more: 1 }, 'gc']) {
    const error = await bus.request(`${CHAOS_MEMORY_PREFIX}mo`, bad).catch((caught: unknown) => caught);
    assert.ok(PncError.is(error, 'InvalidPayload'), JSON.stringify(bad));
  }
});

test('the clock skew moves Date.now() and new Date() of this process, and 0 restores them', () => {
  const day = 86_400_000;
  const before = Date.now();
  setProcessClockSkew(day);
  try {
    assert.ok(Date.now() >= before + day);
    assert.ok(new Date().getTime() >= before + day);
    assert.is(new Date(0).getTime(), 0, 'explicit times are not skewed');
  } finally {
    setProcessClockSkew(0);
  }
  assert.ok(Date.now() < before + day);
});

test.run();
