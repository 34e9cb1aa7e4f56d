// A durable saga survives `kill -9` of its host process at every step (embedded store + memory bus):
// after the restarts it confirms exactly once, with no lost and no duplicated effect or receipt.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openEmbeddedStore } from '../../actors/store/index.ts';
import { assertAppliedOnce, enqueueCommand, freshDataDir, killAtEveryStep, receiptsIn, runSagaHost, type HostRun } from '../fixtures/saga-runner.ts';

const ORDER = 'order-7';
const hostArgs = (dir: string) => ['--data', dir, '--order', ORDER];

/** A fresh data directory holding one durable CONFIRM command for the order. */
async function freshWithConfirm(): Promise<string> {
  const dir = freshDataDir();
  await enqueueCommand(dir, ORDER, 'CONFIRM');
  return dir;
}

async function verifyConfirmed(dir: string, run: HostRun): Promise<void> {
  assert.is(run.done?.value, 'confirmed', run.output);
  const store = await openEmbeddedStore(dir);
  await assertAppliedOnce(store, ORDER, ['reserve', 'charge', 'confirm'], run.done!.context);
  await store.close();
  assert.equal(await receiptsIn(dir, ORDER, {}, 1), [{ orderId: ORDER, amount: 100 }], 'exactly one receipt');
}

test('confirm path: killed at every step, the saga confirms once with each effect applied once', async () => {
  const baselineDir = await freshWithConfirm();
  const baseline = await runSagaHost(hostArgs(baselineDir));
  assert.is(baseline.code, 0, baseline.output);
  await verifyConfirmed(baselineDir, baseline);
  assert.ok(baseline.steps.includes('before:confirm') && baseline.steps.includes('command:CONFIRM'), baseline.steps.join(' '));
  const { kills, chains } = await killAtEveryStep({ baseline: baseline.steps, freshDataDir: freshWithConfirm, hostArgs, verify: verifyConfirmed });
  assert.ok(kills >= baseline.steps.length, `${kills} kills for ${baseline.steps.length} steps`);
  console.log(`confirm path: ${baseline.steps.length} steps, ${kills} kills over ${chains} resumed sagas`);
});

test.run();
