// A durable saga survives `kill -9` of its host process at every step, including while it waits:
// its deadline (kept as an absolute time in context) still fires after a restart, never early,
// and the compensation (refund, release) runs exactly once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openEmbeddedStore } from '../../actors/store/index.ts';
import { assertAppliedOnce, freshDataDir, killAtEveryStep, receiptsIn, runSagaHost, type HostRun } from '../fixtures/saga-runner.ts';

const ORDER = 'order-9';
const CONFIRM_WITHIN_MS = 1000;
const hostArgs = (dir: string) => ['--data', dir, '--order', ORDER, '--confirm-within', String(CONFIRM_WITHIN_MS)];

async function verifyCancelledByDeadline(dir: string, run: HostRun): Promise<void> {
  assert.is(run.done?.value, 'cancelled', run.output);
  assert.equal(run.done!.context.deadlines, {}, 'the deadline was consumed');
  const store = await openEmbeddedStore(dir);
  const applied = await assertAppliedOnce(store, ORDER, ['reserve', 'charge', 'refund', 'release'], run.done!.context);
  await store.close();
  assert.ok(applied.get('refund')!.at >= applied.get('charge')!.at + CONFIRM_WITHIN_MS, 'the deadline never fires early');
  assert.equal(await receiptsIn(dir, ORDER), [], 'no receipt for a cancelled order');
}

test('deadline path: killed at every step, the deadline still fires and compensation runs once', async () => {
  const baselineDir = freshDataDir();
  const baseline = await runSagaHost(hostArgs(baselineDir));
  assert.is(baseline.code, 0, baseline.output);
  await verifyCancelledByDeadline(baselineDir, baseline);
  assert.ok(baseline.steps.includes('state:"awaitingConfirmation"'), baseline.steps.join(' '));
  const { kills, chains } = await killAtEveryStep({ baseline: baseline.steps, freshDataDir: async () => freshDataDir(), hostArgs, verify: verifyCancelledByDeadline });
  assert.ok(kills >= baseline.steps.length, `${kills} kills for ${baseline.steps.length} steps`);
  console.log(`deadline path: ${baseline.steps.length} steps, ${kills} kills over ${chains} resumed sagas`);
});

test.run();
