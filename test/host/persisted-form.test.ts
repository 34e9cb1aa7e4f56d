// The snapshot a hosted actor writes is XState's getPersistedSnapshot, field for field and in its order, whichever
// way the host made it (its own shortcut for a childless, history-free active snapshot, or XState's own), and a
// restore from it gives the same state.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assign, createActor, fromPromise, setup, type AnyStateMachine } from 'xstate';
import { createMemoryBus } from '../../actors/bus/memory.ts';
import { ACTORS_COLLECTION, createLogger, hostActor, type ActorRecord } from '../../actors/host/index.ts';
import { openEmbeddedStore } from '../../actors/store/index.ts';
import { tempDir } from '../harness/temp-dir.ts';

type Ev = { type: 'NEXT'; note: string } | { type: 'TOGGLE' } | { type: 'SPAWN' } | { type: 'LEAVE' } | { type: 'BACK' } | { type: 'FINISH' };

const machine = setup({
  types: { context: {} as { notes: Array<string | null>; nested: { deep: { n: number; text: string } } }, events: {} as Ev },
  actors: { slow: fromPromise(() => new Promise<string>(() => {})) },
}).createMachine({
  id: 'forms',
  context: { notes: [], nested: { deep: { n: 0, text: 'ünïcödé "quoted" \\ \n' } } },
  initial: 'running',
  states: {
    running: {
      type: 'parallel',
      on: { FINISH: 'end' },
      states: {
        main: {
          initial: 'idle',
          states: {
            idle: {
              tags: ['b-tag', 'a-tag'],
              on: {
                NEXT: { actions: assign({ notes: ({ context, event }) => [...context.notes, event.note, null], nested: ({ context }) => ({ deep: { ...context.nested.deep, n: context.nested.deep.n + 1 } }) }) },
                SPAWN: 'working',
                LEAVE: 'away',
              },
            },
            working: { invoke: { src: 'slow' }, on: { TOGGLE: 'idle' } },
            away: { on: { BACK: 'remembered' } },
            remembered: { type: 'history' },
          },
        },
        light: { initial: 'off', states: { off: { on: { TOGGLE: 'on' } }, on: { on: { TOGGLE: 'off' } } } },
      },
    },
    end: { type: 'final' },
  },
  output: ({ context }) => ({ notes: context.notes.length }),
});

async function host(dir: string, logic: AnyStateMachine) {
  const store = await openEmbeddedStore(dir);
  const bus = createMemoryBus({ store });
  const actor = await hostActor({ participant: 'test', id: 'forms', logic, context: { bus, store, log: createLogger({ write: () => {} }) } });
  const record = async () => (await store.collection<ActorRecord>(ACTORS_COLLECTION).get('test/forms'))!;
  return { actor, record, close: async () => { await actor.stop(); await bus.close(); await store.close(); } };
}

const test = suite('persisted form');

test('every write is XState’s persisted snapshot, in its field order', async () => {
  const dir = tempDir('persisted-form');
  const { actor, record, close } = await host(dir, machine);
  const expectWritten = async (what: string) => {
    const expected = JSON.stringify(machine.getPersistedSnapshot(actor.getSnapshot() as never));
    assert.is(JSON.stringify((await record()).snapshot), expected, what);
  };
  await expectWritten('initial');
  await actor.send({ type: 'NEXT', note: 'one' });
  await expectWritten('context changed');
  await actor.send({ type: 'TOGGLE' });
  await expectWritten('parallel region changed');
  await actor.send({ type: 'SPAWN' });
  await expectWritten('with a child');
  await actor.send({ type: 'TOGGLE' });
  await actor.send({ type: 'LEAVE' });
  await actor.send({ type: 'BACK' });
  await expectWritten('with a history value');
  await close();
});

test('a context object XState takes for an actor is persisted as XState persists it', async () => {
  const dir = tempDir('persisted-form');
  const withFake = setup({ types: { context: {} as { fake: object } } }).createMachine({ id: 'forms', context: { fake: { sessionId: 's', send: 'x', ref: 'r', id: 'child' } } });
  const { actor, record, close } = await host(dir, withFake);
  assert.is(JSON.stringify((await record()).snapshot), JSON.stringify(withFake.getPersistedSnapshot(actor.getSnapshot() as never)));
  await close();
});

test('a final snapshot with output, and a restore from the shortcut’s text', async () => {
  const dir = tempDir('persisted-form');
  const first = await host(dir, machine);
  await first.actor.send({ type: 'NEXT', note: 'kept' });
  await first.close();
  const second = await host(dir, machine);
  const restored = second.actor.getSnapshot();
  const fresh = createActor(machine).start();
  fresh.send({ type: 'NEXT', note: 'kept' });
  assert.equal(restored.value, fresh.getSnapshot().value);
  assert.equal(restored.context, fresh.getSnapshot().context);
  assert.equal([...restored.tags].sort(), [...fresh.getSnapshot().tags].sort());
  await second.actor.send({ type: 'FINISH' });
  assert.is(JSON.stringify((await second.record()).snapshot), JSON.stringify(machine.getPersistedSnapshot(second.actor.getSnapshot() as never)));
  fresh.stop();
  await second.close();
});

test.run();
