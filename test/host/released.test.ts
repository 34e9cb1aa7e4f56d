// Issue 9 D6 and versioned snapshots: HostedActors lets idle actors go (no lease renewal, no memory
// held for them) and hosts them again on use; a snapshot of another machine version is refused loudly.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setup } from 'xstate';
import { createMemoryBus } from '../../actors/bus/memory.ts';
import type { Bus } from '../../actors/bus/bus.ts';
import { ACTORS_COLLECTION, createLogger, DEFAULT_RETENTION_MS, hostActor, pruneFinishedActors, retentionOf, type ActorRecord, type HostContext } from '../../actors/host/index.ts';
import { HostedActors } from '../../actors/participants/hosted.ts';
import { openEmbeddedStore, type Store } from '../../actors/store/index.ts';
import { PncError } from '../../protocols/errors.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { until } from '../harness/until.ts';

const ticket = (version?: string) => setup({ types: { events: {} as { type: 'PUNCH' } | { type: 'VOID' } } }).createMachine({
  id: 'ticket',
  ...(version ? { version } : {}),
  initial: 'valid',
  states: { valid: { on: { PUNCH: 'punched', VOID: 'void' } }, punched: { tags: ['idle'], on: { VOID: 'void' } }, void: { type: 'final' } },
});

let store: Store;
let bus: Bus;
let context: HostContext;

test.before(async () => {
  store = await openEmbeddedStore(tempDir('openpnc-released'));
  bus = createMemoryBus({ store });
  context = { bus, store, log: createLogger({ write: () => {} }) };
});
test.after(async () => {
  await bus?.close();
  await store?.close();
});


test('D6: an idle actor is released after idleMs without use, its lease given back and not renewed; the next use hosts it again', async () => {
  const hosted = new HostedActors({ participant: 'tickets', logic: ticket(), context, leaseMs: 60, idle: (s) => s.hasTag('idle') || s.status === 'done', idleMs: 50 });
  const records = store.collection<ActorRecord>(ACTORS_COLLECTION);
  try {
    const busy = await hosted.get('busy', undefined);
    const done = await hosted.get('done', undefined);
    // Both hosted before 'done' turns idle; once punched it may go as soon as idleMs passed since its `get`,
    // even while the punch is still being made durable (the commit no longer blocks the sweeper).
    assert.is(hosted.size, 2);
    await done.send({ type: 'PUNCH' });
    await until('the idle actor released', () => hosted.size === 1);
    // It leaves the map first and gives its lease back as its stop completes: wait for that, not for a moment.
    await until('the lease given back', async () => (await records.get('tickets/done'))!.leaseUntil === 0, 30_000);
    const released = (await records.get('tickets/done'))!;
    assert.is(released.leaseUntil, 0);
    assert.equal(released.tags, ['idle']);
    // Released means nothing renews it: the record stays as it was while the busy one is renewed.
    const busyRev = (await records.get('tickets/busy'))!._rev;
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.is((await records.get('tickets/done'))!._rev, released._rev);
    assert.ok((await records.get('tickets/busy'))!._rev! > busyRev!, 'the waiting actor keeps its lease');
    // Used again: restored from its snapshot, and it goes on.
    const again = await hosted.get('done', undefined);
    assert.is(again.getSnapshot().value, 'punched');
    await again.send({ type: 'VOID' });
    assert.is(busy.getSnapshot().value, 'valid');
    const { unfinished, all } = await hosted.stored(['idle']);
    assert.equal([...unfinished], ['busy']);
    assert.equal([...all].sort(), ['busy', 'done']);
  } finally {
    await hosted.stopAll();
  }
});

test('a snapshot written by another version of the machine is refused with SnapshotIncompatible, and left in the store', async () => {
  const first = await hostActor({ participant: 'tickets', id: 'versioned', logic: ticket('1'), context });
  await first.send({ type: 'PUNCH' });
  await first.stop();
  try {
    await hostActor({ participant: 'tickets', id: 'versioned', logic: ticket('2'), context });
    assert.unreachable('restored a version 1 snapshot into version 2');
  } catch (error) {
    assert.instance(error, PncError);
    assert.is((error as PncError).code, 'SnapshotIncompatible');
    assert.match((error as PncError).message, /version '1'.*version '2'/);
  }
  const record = (await store.collection<ActorRecord>(ACTORS_COLLECTION).get('tickets/versioned'))!;
  assert.is(record.version, '1');
  assert.is(record.value, 'punched');
  // The same version restores.
  const same = await hostActor({ participant: 'tickets', id: 'versioned', logic: ticket('1'), context });
  assert.is(same.getSnapshot().value, 'punched');
  await same.stop();
});

test('D6 retention: finished actor records older than the retention are deleted; unfinished and recent ones stay', async () => {
  const finished = await hostActor({ participant: 'jobs', id: 'old', logic: ticket(), context });
  await finished.send({ type: 'VOID' });
  const recent = await hostActor({ participant: 'jobs', id: 'recent', logic: ticket(), context });
  await recent.send({ type: 'VOID' });
  const open = await hostActor({ participant: 'jobs', id: 'open', logic: ticket(), context });
  await open.stop();
  const records = store.collection<ActorRecord>(ACTORS_COLLECTION);
  const old = (await records.get('jobs/old'))!;
  await records.replace({ ...old, updatedAt: new Date(Date.now() - 8 * 24 * 3600_000).toISOString() });
  assert.is(await pruneFinishedActors(store, 'jobs', new Date(Date.now() - DEFAULT_RETENTION_MS)), 1);
  assert.is(await records.get('jobs/old'), undefined);
  assert.ok(await records.get('jobs/recent'));
  assert.ok(await records.get('jobs/open'));
  assert.is(DEFAULT_RETENTION_MS, 7 * 24 * 3600_000);
  assert.is(retentionOf({ retentionDays: '1' }), 24 * 3600_000);
  assert.is(retentionOf({}), DEFAULT_RETENTION_MS);
});

test.run();
