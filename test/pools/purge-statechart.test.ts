// The pools' purge schedule statechart, pure (no host): the earliest expiry wins, the purge effect's
// answer sets the next deadline, a failed purge retries after RETRY_MS, and the deadline event starts a purge.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor, fromPromise, waitFor } from 'xstate';
import { purgeScheduleMachine, RETRY_MS, type PurgeResult } from '../../statecharts/pool-purge.ts';
import { PncError } from '../../protocols/errors.ts';
import { EffectFailed } from '../../statecharts/retry.ts';

function run(purge: (now: number) => Promise<PurgeResult>) {
  const calls: number[] = [];
  // The effect reads the clock (the machine does not) and reports the time with its answer or failure.
  const actor = createActor(purgeScheduleMachine('test').provide({
    actors: {
      purge: fromPromise(async () => {
        const now = Date.now();
        calls.push(now);
        try {
          return { ...(await purge(now)), at: now };
        } catch (error) {
          throw new EffectFailed(error, now);
        }
      }),
    },
  }));
  actor.start();
  return { actor, calls };
}

test('the earliest expiry becomes the deadline; later ones do not move it', () => {
  const { actor } = run(async () => ({ purged: 0, nextPurgeAt: null }));
  actor.send({ type: 'EXPIRY_ADDED', at: 5_000 });
  actor.send({ type: 'EXPIRY_ADDED', at: 9_000 });
  assert.is(actor.getSnapshot().context.deadlines.purge, 5_000);
  actor.send({ type: 'EXPIRY_ADDED', at: 1_000 });
  assert.is(actor.getSnapshot().context.deadlines.purge, 1_000);
  assert.ok(actor.getSnapshot().can({ type: 'EXPIRY_ADDED', at: 99_999 }), 'a later expiry is accepted (the host refuses events a state cannot take)');
});

test('the deadline event purges, and the answer sets the next deadline', async () => {
  const next = Date.now() + 60_000;
  const { actor, calls } = run(async () => ({ purged: 3, nextPurgeAt: next }));
  actor.send({ type: 'EXPIRY_ADDED', at: Date.now() - 1 });
  actor.send({ type: 'deadline.purge', at: Date.now() });
  const done = await waitFor(actor, (s) => s.matches('waiting') && s.context.purgeRuns === 1);
  assert.is(calls.length, 1);
  assert.is(done.context.purgedTotal, 3);
  assert.is(done.context.deadlines.purge, next);
});

test('nothing left to expire clears the deadline; a failed purge retries later', async () => {
  const { actor } = run(async () => ({ purged: 1, nextPurgeAt: null }));
  actor.send({ type: 'PURGE_DUE' });
  assert.is((await waitFor(actor, (s) => s.context.purgeRuns === 1)).context.deadlines.purge, undefined);

  const failing = run(async () => {
    throw new PncError('StoreUnavailable', 'disk gone', { retryable: true });
  });
  const before = Date.now();
  failing.actor.send({ type: 'PURGE_DUE' });
  const failed = await waitFor(failing.actor, (s) => s.matches('waiting') && s.context.failure !== undefined);
  assert.is(failed.context.failure!.code, 'StoreUnavailable');
  assert.ok(failed.context.deadlines.purge! >= before + RETRY_MS);
});

test.run();
