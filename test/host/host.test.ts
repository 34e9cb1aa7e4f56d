// The actor host in one process: persistence order, restore, lease, typed rejections that keep
// the actor serving, rollback, deadlines across restarts, inspection stream, idempotent effects.
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assign, fromPromise, setup } from 'xstate';
import { z } from 'zod';
import type { Bus } from '../../actors/bus/bus.ts';
import { createMemoryBus } from '../../actors/bus/memory.ts';
import { ACTORS_COLLECTION, createLogger, EFFECTS_COLLECTION, hostActor, idempotentEffect, type ActorRecord, type HostContext } from '../../actors/host/index.ts';
import { openEmbeddedStore, StoreUnavailable, type Collection, type Store, type StoredDoc } from '../../actors/store/index.ts';
import { PncError } from '../../protocols/errors.ts';
import { withDeadline, withoutDeadline, type DeadlineEvent, type Deadlines } from '../../statecharts/deadlines.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { eventually } from '../bus/contract.ts';

interface DoorContext {
  openedBy: string[];
  deadlines: Deadlines;
}
type DoorEvent = { type: 'OPEN'; by: string } | { type: 'CLOSE' } | { type: 'BREAK' } | { type: 'ARM'; ms: number } | DeadlineEvent<'autoClose'>;

const doorMachine = setup({
  types: { context: {} as DoorContext, events: {} as DoorEvent },
  actions: {
    explode: () => {
      throw new Error('the hinge broke');
    },
  },
}).createMachine({
  id: 'door',
  context: { openedBy: [], deadlines: {} },
  initial: 'closed',
  states: {
    closed: { on: { OPEN: { target: 'open', actions: assign({ openedBy: ({ context, event }) => [...context.openedBy, event.by] }) } } },
    open: {
      on: {
        CLOSE: 'closed',
        BREAK: { target: 'closed', actions: 'explode' },
        ARM: { actions: assign({ deadlines: ({ context, event }) => withDeadline(context.deadlines, 'autoClose', Date.now() + event.ms) }) },
        'deadline.autoClose': { target: 'closed', actions: assign({ deadlines: ({ context }) => withoutDeadline(context.deadlines, 'autoClose') }) },
      },
    },
  },
});

const doorEvents = z.discriminatedUnion('type', [
  z.object({ type: z.literal('OPEN'), by: z.string().min(1) }),
  z.object({ type: z.literal('CLOSE') }),
  z.object({ type: z.literal('BREAK') }),
  z.object({ type: z.literal('ARM'), ms: z.number().int().positive() }),
]);


interface World {
  store: Store;
  bus: Bus;
  context: HostContext;
  logs: Array<Record<string, unknown>>;
}

async function world(): Promise<World> {
  const store = await openEmbeddedStore(tempDir('openpnc-host'));
  const logs: Array<Record<string, unknown>> = [];
  const log = createLogger({ write: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  const bus = createMemoryBus({ store, log });
  return { store, bus, logs, context: { bus, store, log } };
}

async function close(w: World): Promise<void> {
  await w.bus.close();
  await w.store.close();
}

async function rejects(promise: Promise<unknown>, code: string): Promise<PncError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(PncError.is(error, code), `expected ${code}, got ${String(error)}`);
    return error;
  }
  assert.unreachable(`expected ${code}`);
  throw new Error('unreachable');
}

const record = (w: World, id: string) => w.store.collection<ActorRecord>(ACTORS_COLLECTION).get(`door/${id}`);
const door = (w: World, id: string, extra: { owner?: string; leaseMs?: number } = {}) =>
  hostActor({ participant: 'door', id, logic: doorMachine, context: w.context, events: doorEvents, owner: 'test-a', ...extra });

const host = suite('actor host');

host('send resolves only after the new snapshot is in the store; a new host restores it', async () => {
  const w = await world();
  const first = await door(w, 'd1');
  assert.is((await record(w, 'd1'))?.value, 'closed');
  await first.send({ type: 'OPEN', by: 'alice' });
  const stored = (await record(w, 'd1'))!;
  assert.is(stored.value, 'open');
  assert.equal((stored.snapshot as { context: DoorContext }).context.openedBy, ['alice']);
  await first.stop();
  assert.is((await record(w, 'd1'))!.leaseUntil, 0, 'a graceful stop releases the lease');
  const second = await door(w, 'd1', { owner: 'test-b' });
  assert.is(second.getSnapshot().value, 'open');
  assert.equal(second.getSnapshot().context.openedBy, ['alice']);
  await second.stop();
  await close(w);
});

host('a second owner gets ActorLeased while the lease holds; the same owner resumes at once', async () => {
  const w = await world();
  const first = await door(w, 'd2', { leaseMs: 60_000 });
  const leased = await rejects(door(w, 'd2', { owner: 'intruder' }), 'ActorLeased');
  assert.ok(leased.retryable);
  assert.match(leased.message, /driven by test-a/);
  await first.send({ type: 'OPEN', by: 'bob' });
  // A restarted process with the same owner id takes over without waiting (the old one is gone).
  const restarted = await door(w, 'd2', { leaseMs: 60_000 });
  assert.is(restarted.getSnapshot().value, 'open');
  // The superseded host can no longer write: its compare-and-set fails and it stops driving.
  await rejects(first.send({ type: 'CLOSE' }), 'ActorLeaseLost');
  await rejects(first.send({ type: 'CLOSE' }), 'ActorLeaseLost');
  assert.ok(w.logs.some((l) => l.event === 'actor.lease_lost'));
  await restarted.send({ type: 'CLOSE' });
  assert.is((await record(w, 'd2'))!.value, 'closed');
  await restarted.stop();
  await first.stop();
  await close(w);
});

host('the lease of a dead process on this machine is taken over at once; a live one holds', async () => {
  const w = await world();
  const actors = w.store.collection<ActorRecord>(ACTORS_COLLECTION);
  const deadPid = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['-e', '0']);
    child.on('exit', () => resolve(child.pid!));
  });
  const first = await door(w, 'd11', { leaseMs: 60_000 });
  await first.send({ type: 'OPEN', by: 'kim' });
  const held = (await actors.get('door/d11'))!;
  await actors.replace({ ...held, owner: `${hostname()}:${process.ppid}:0badcafe` }, { expectedRev: held._rev }); // the test runner: alive
  await rejects(hostActor({ participant: 'door', id: 'd11', logic: doorMachine, context: w.context }), 'ActorLeased');
  const alive = (await actors.get('door/d11'))!;
  await actors.replace({ ...alive, owner: `${hostname()}:${deadPid}:0badcafe` }, { expectedRev: alive._rev }); // as if killed with -9
  const resumed = await hostActor({ participant: 'door', id: 'd11', logic: doorMachine, context: w.context });
  assert.is(resumed.getSnapshot().value, 'open');
  assert.match((await actors.get('door/d11'))!.owner, new RegExp(`^${hostname()}:${process.pid}:[0-9a-f]{8}$`));
  await resumed.stop();
  await close(w);
});

host('a running actor renews its lease; a finished one stops rewriting its record', async () => {
  const w = await world();
  const actors = w.store.collection<ActorRecord>(ACTORS_COLLECTION);
  // A lease long enough that a loaded machine's late renewals cannot let it lapse; renewals are awaited, not timed.
  const d = await door(w, 'd12', { leaseMs: 1_500 });
  const startRev = (await actors.get('door/d12'))!._rev!;
  await eventually('two lease renewals', async () => (await actors.get('door/d12'))!._rev! >= startRev + 2);
  await rejects(door(w, 'd12', { owner: 'intruder', leaseMs: 1_500 }), 'ActorLeased');
  await d.stop();

  const once = setup({}).createMachine({ id: 'once', initial: 'open', states: { open: { on: { GO: 'finished' } }, finished: { type: 'final' } } });
  const finished = await hostActor({ participant: 'once', id: 'o1', logic: once, context: w.context, leaseMs: 60 });
  await finished.send({ type: 'GO' });
  const doneRev = (await actors.get('once/o1'))!._rev;
  await new Promise((r) => setTimeout(r, 200));
  assert.is((await actors.get('once/o1'))!._rev, doneRev);
  await rejects(finished.send({ type: 'GO' }), 'EventNotAccepted');
  await finished.stop();
  await close(w);
});

host('an expired lease can be taken over by another owner', async () => {
  const w = await world();
  const first = await door(w, 'd3', { leaseMs: 60_000 });
  await first.send({ type: 'OPEN', by: 'carol' });
  const actors = w.store.collection<ActorRecord>(ACTORS_COLLECTION);
  const current = (await actors.get('door/d3'))!;
  await actors.replace({ ...current, leaseUntil: Date.now() - 1 }, { expectedRev: current._rev }); // as if its renewals had stopped
  const other = await door(w, 'd3', { owner: 'test-b' });
  assert.is(other.getSnapshot().value, 'open');
  await rejects(first.send({ type: 'CLOSE' }), 'ActorLeaseLost');
  await other.stop();
  await close(w);
});

host('invalid and unacceptable events get typed errors and the actor keeps serving', async () => {
  const w = await world();
  const d = await door(w, 'd4');
  const send = (event: unknown) => d.send(event as never);
  await rejects(send(null), 'InvalidEvent');
  await rejects(send('OPEN'), 'InvalidEvent');
  await rejects(send({ by: 'x' }), 'InvalidEvent');
  await rejects(send({ type: 'xstate.init' }), 'InvalidEvent');
  await rejects(send({ type: 'deadline.autoClose', at: 0 }), 'InvalidEvent');
  const schema = await rejects(send({ type: 'OPEN', by: '' }), 'InvalidEvent');
  assert.match(schema.message, /by:/);
  await rejects(send({ type: 'OPEN', by: 1n }), 'InvalidEvent');
  const notAccepted = await rejects(d.send({ type: 'CLOSE' }), 'EventNotAccepted');
  assert.match(notAccepted.message, /"closed"/);
  await d.send({ type: 'OPEN', by: 'dave' });
  assert.is((await record(w, 'd4'))!.value, 'open');
  await d.stop();
  await close(w);
});

host('a transition that throws is rolled back to the last persisted snapshot; the actor keeps serving', async () => {
  const w = await world();
  const d = await door(w, 'd5');
  await d.send({ type: 'OPEN', by: 'erin' });
  const failed = await rejects(d.send({ type: 'BREAK' }), 'TransitionFailed');
  assert.match(failed.message, /hinge broke/);
  assert.is(d.getSnapshot().value, 'open');
  assert.is(d.getSnapshot().status, 'active');
  assert.is((await record(w, 'd5'))!.value, 'open');
  await d.send({ type: 'CLOSE' });
  assert.is((await record(w, 'd5'))!.value, 'closed');
  await d.stop();
  await close(w);
});

/** A store whose `actors` writes fail while `failing` is set, as when the disk is full. */
function flakyStore(inner: Store, state: { failing: boolean }): Store {
  return {
    kind: inner.kind,
    close: () => inner.close(),
    collection<T extends StoredDoc>(name: string): Collection<T> {
      const collection = inner.collection<T>(name);
      if (name !== ACTORS_COLLECTION) return collection;
      return {
        ...collection,
        ensureIndex: (spec) => collection.ensureIndex(spec),
        insert: (doc) => collection.insert(doc),
        get: (id) => collection.get(id),
        find: (filter, options) => collection.find(filter, options),
        count: (filter) => collection.count(filter),
        delete: (id, options) => collection.delete(id, options),
        deleteMany: (filter) => collection.deleteMany(filter),
        replace: (doc, options) => (state.failing ? Promise.reject(new StoreUnavailable('disk full')) : collection.replace(doc, options)),
        replaceJson: (id, json, options) => (state.failing ? Promise.reject(new StoreUnavailable('disk full')) : collection.replaceJson(id, json, options)),
      };
    },
  };
}

host('a failed write rejects the send with StoreUnavailable and rolls the actor back', async () => {
  const w = await world();
  const state = { failing: false };
  const d = await hostActor({ participant: 'door', id: 'd6', logic: doorMachine, context: { ...w.context, store: flakyStore(w.store, state) }, owner: 'test-a' });
  state.failing = true;
  await rejects(d.send({ type: 'OPEN', by: 'frank' }), 'StoreUnavailable');
  assert.is(d.getSnapshot().value, 'closed', 'nothing half-written: memory matches the store');
  state.failing = false;
  await d.send({ type: 'OPEN', by: 'frank' });
  assert.equal(d.getSnapshot().context.openedBy, ['frank'], 'the retried event applied once');
  await d.stop();
  await close(w);
});

/** When the host logged that the deadline due `at` fired: its own record, not the test's clock at assertion time. */
async function firedAt(w: World, at: number): Promise<number> {
  const fired = () => w.logs.find((l) => l.event === 'actor.deadline_fired' && l.at === at);
  await eventually(`the deadline_fired line for ${at}`, () => fired() !== undefined);
  return Date.parse(fired()!.time as string);
}

host('a deadline kept in context fires, also after a restart, and a passed one fires at once', async () => {
  const w = await world();
  const d = await door(w, 'd7');
  await d.send({ type: 'OPEN', by: 'gina' });
  await d.send({ type: 'ARM', ms: 150 });
  const firstDue = (d.getSnapshot().context.deadlines as Record<string, number>).autoClose;
  await d.waitFor((s) => s.value === 'closed', 30_000);
  assert.ok((await firedAt(w, firstDue)) >= firstDue, 'not early');
  assert.equal(d.getSnapshot().context.deadlines, {});

  await d.send({ type: 'OPEN', by: 'gina' });
  await d.send({ type: 'ARM', ms: 400 });
  const due = (d.getSnapshot().context.deadlines as Record<string, number>).autoClose;
  await d.stop(); // the process "goes down" before the deadline
  const resumed = await door(w, 'd7');
  assert.is(resumed.getSnapshot().value, 'open');
  await resumed.waitFor((s) => s.value === 'closed', 30_000);
  assert.ok((await firedAt(w, due)) >= due, 'the re-armed deadline did not fire early');

  await resumed.send({ type: 'OPEN', by: 'gina' });
  await resumed.send({ type: 'ARM', ms: 50 });
  await resumed.stop();
  const lateDue = (resumed.getSnapshot().context.deadlines as Record<string, number>).autoClose;
  while (Date.now() <= lateDue) await new Promise((r) => setTimeout(r, lateDue - Date.now() + 1)); // passes while nobody hosts the actor
  const late = await door(w, 'd7');
  await late.waitFor((s) => s.value === 'closed', 30_000);
  assert.ok(w.logs.some((l) => l.event === 'actor.deadline_fired' && l.deadline === 'autoClose'));
  await late.stop();
  await close(w);
});

host('every received event and snapshot is published on inspect.<participant>.<id>', async () => {
  const w = await world();
  const seen: Array<{ kind: string; event?: { type: string }; value?: unknown; participant: string; id: string }> = [];
  await w.bus.subscribe('inspect.door.d8', (delivery) => void seen.push(delivery.payload as (typeof seen)[number]));
  const d = await door(w, 'd8');
  await d.send({ type: 'OPEN', by: 'hugo' });
  await d.send({ type: 'CLOSE' });
  await eventually('three events and three snapshots', () => seen.length >= 6);
  assert.equal(seen.filter((m) => m.kind === 'event').map((m) => m.event!.type), ['xstate.init', 'OPEN', 'CLOSE']);
  assert.equal(seen.filter((m) => m.kind === 'snapshot').map((m) => m.value), ['closed', 'open', 'closed']);
  assert.ok(seen.every((m) => m.participant === 'door' && m.id === 'd8'));
  await d.stop();
  await close(w);
});

host('a listener that subscribes to inspect.<participant>.<id> while the actor runs gets what follows, an effect finishing included; none after it leaves', async () => {
  const w = await world();
  let finish: (value: string) => void = () => undefined;
  const machine = setup({ actors: { work: fromPromise(() => new Promise<string>((resolve) => { finish = resolve; })) } }).createMachine({
    id: 'late', initial: 'idle', states: { idle: { on: { GO: 'working' } }, working: { invoke: { src: 'work', onDone: 'done' } }, done: { on: { AGAIN: 'idle' } } },
  });
  const late = await hostActor({ participant: 'late', id: 'l1', logic: machine, context: w.context });
  const seen: Array<{ kind: string; event?: { type: string }; value?: unknown }> = [];
  await late.send({ type: 'GO' }); // no listener yet
  const subscription = await w.bus.subscribe('inspect.late.l1', (delivery) => void seen.push(delivery.payload as (typeof seen)[number]));
  finish('ok'); // the effect ends with no send to wait for: only the listener's subscription turned inspection on
  await late.waitFor((s) => s.value === 'done', 5_000);
  await eventually('the effect-driven snapshot', () => seen.some((m) => m.kind === 'snapshot' && m.value === 'done'));
  assert.not.ok(seen.some((m) => m.kind === 'event' && m.event!.type === 'GO'), 'nothing from before the subscription');
  await subscription.unsubscribe();
  const before = seen.length;
  await late.send({ type: 'AGAIN' });
  await new Promise((resolve) => setImmediate(resolve));
  assert.is(seen.length, before, 'nothing after the listener left');
  await late.stop();
  await close(w);
});

host('a listener present when the actor is created sees the effect its initial state invokes', async () => {
  const w = await world();
  let finish: (value: string) => void = () => undefined;
  const machine = setup({ actors: { fetch: fromPromise(() => new Promise<string>((resolve) => { finish = resolve; })) } }).createMachine({
    id: 'eager', initial: 'fetching', states: { fetching: { invoke: { src: 'fetch', onDone: 'done' } }, done: {} },
  });
  const seen: Array<{ kind: string; effect?: string; value?: unknown }> = [];
  const subscription = await w.bus.subscribe('inspect.eager.e1', (delivery) => void seen.push(delivery.payload as (typeof seen)[number]));
  const eager = await hostActor({ participant: 'eager', id: 'e1', logic: machine, context: w.context });
  finish('ok');
  await eager.waitFor((s) => s.value === 'done', 5_000);
  await eventually('the done snapshot', () => seen.some((m) => m.kind === 'snapshot' && m.value === 'done'));
  // The inspector's timeline starts with this effect (the MO contract's fetchProvisioningChain).
  assert.equal(seen.filter((m) => m.kind === 'effect').map((m) => m.effect), ['fetch']);
  await subscription.unsubscribe();
  await eager.stop();
  await close(w);
});

host('a stored snapshot of another machine or a bad actor id is refused with a typed error', async () => {
  const w = await world();
  const d = await door(w, 'd9');
  await d.send({ type: 'OPEN', by: 'ivy' });
  await d.stop();
  const other = setup({}).createMachine({ id: 'window', initial: 'shut', states: { shut: {} } });
  await rejects(hostActor({ participant: 'door', id: 'd9', logic: other, context: w.context }), 'SnapshotIncompatible');
  await rejects(hostActor({ participant: 'door', id: 'a.b', logic: doorMachine, context: w.context }), 'InvalidActorId');
  await close(w);
});

host('an effect failing with no onError stops the actor; the last good snapshot stays for the next host', async () => {
  const w = await world();
  const machine = setup({ actors: { work: fromPromise(async () => Promise.reject(new Error('no handler'))) } }).createMachine({
    id: 'fragile', initial: 'idle', states: { idle: { on: { GO: 'working' } }, working: { invoke: { src: 'work' } } },
  });
  const fragile = await hostActor({ participant: 'fragile', id: 'f1', logic: machine, context: w.context });
  await fragile.send({ type: 'GO' }).catch(() => undefined);
  await eventually('the actor to fail', () => w.logs.some((l) => l.event === 'actor.failed'));
  await rejects(fragile.send({ type: 'GO' }), 'ActorNotRunning');
  const stored = (await w.store.collection<ActorRecord>(ACTORS_COLLECTION).get('fragile/f1'))!;
  assert.is.not(stored.status, 'error');
  await close(w);
});

host('waitFor rejects with Timeout when no persisted snapshot matches', async () => {
  const w = await world();
  const d = await door(w, 'd10');
  await rejects(d.waitFor((s) => s.value === 'open', 50), 'Timeout');
  await d.stop();
  await close(w);
});

host.run();

const effects = suite('idempotent effects');

effects('a recorded effect answers from the record; non-retryable failures are recorded, retryable ones are not', async () => {
  const w = await world();
  let calls = 0;
  const once = idempotentEffect(w.store, 'stamp', async (input: { effectKey: string; fail?: 'hard' | 'soft' }) => {
    calls += 1;
    if (input.fail === 'hard') throw new PncError('Declined', 'no');
    if (input.fail === 'soft') throw new PncError('Busy', 'later', { retryable: true });
    return { stamp: calls };
  });
  const machine = setup({ actors: { once } }).createMachine({
    id: 'stamper',
    context: ({ input }: { input: { effectKey: string; fail?: 'hard' | 'soft' } }) => ({ ...input, result: undefined as unknown }),
    initial: 'running',
    states: {
      running: {
        invoke: {
          src: 'once',
          input: ({ context }) => ({ effectKey: context.effectKey, ...(context.fail ? { fail: context.fail } : {}) }),
          onDone: { target: 'done', actions: assign({ result: ({ event }) => event.output }) },
          onError: { target: 'done', actions: assign({ result: ({ event }) => (event.error as PncError).code }) },
        },
      },
      done: { type: 'final' },
    },
  });
  const run = async (id: string, input: { effectKey: string; fail?: 'hard' | 'soft' }) => {
    const actor = await hostActor({ participant: 'stamper', id, logic: machine, context: w.context, input });
    const final = await actor.waitFor((s) => s.status === 'done', 30_000);
    await actor.stop();
    return final.context.result;
  };
  assert.equal(await run('s1', { effectKey: 'k1' }), { stamp: 1 });
  assert.equal(await run('s2', { effectKey: 'k1' }), { stamp: 1 }, 'same key: recorded output, no second call');
  assert.is(calls, 1);
  assert.is(await run('s3', { effectKey: 'k2', fail: 'hard' }), 'Declined');
  assert.is(await run('s4', { effectKey: 'k2', fail: 'hard' }), 'Declined');
  assert.is(calls, 2, 'a recorded non-retryable failure is not retried');
  assert.is(await run('s5', { effectKey: 'k3', fail: 'soft' }), 'Busy');
  assert.is(await run('s6', { effectKey: 'k3', fail: 'soft' }), 'Busy');
  assert.is(calls, 4, 'a retryable failure runs again');
  assert.is(await w.store.collection(EFFECTS_COLLECTION).count(), 2);
  await close(w);
});

effects.run();

const logs = suite('JSON-line logger');
logs('writes one JSON object per line with inherited fields and errors in wire form', () => {
  const lines: string[] = [];
  const log = createLogger({ fields: { participant: 'cps' }, write: (line) => lines.push(line) }).child({ actor: 'job-1' });
  log.error('actor.failed', { error: new PncError('Declined', 'no\nway'), bytes: new Uint8Array([1, 255]) });
  assert.is(lines.length, 1);
  assert.not.match(lines[0], /\n/);
  const entry = JSON.parse(lines[0]) as Record<string, unknown>;
  assert.is(entry.level, 'error');
  assert.is(entry.event, 'actor.failed');
  assert.is(entry.participant, 'cps');
  assert.is(entry.actor, 'job-1');
  assert.equal(entry.error, { code: 'Declined', message: 'no\nway', retryable: false });
  assert.is(entry.bytes, '01ff');
  assert.ok(!Number.isNaN(Date.parse(entry.time as string)));
});
logs.run();
