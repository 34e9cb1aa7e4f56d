// The saga over a real 3-node NATS cluster (JetStream replicas 3): a NATS node is lost in each
// run while the host process is also killed with -9 mid-saga; after the restarts it confirms
// exactly once, with no lost and no duplicated effect or receipt.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openEmbeddedStore } from '../../actors/store/index.ts';
import { natsServerAvailable, startNatsCluster, type NatsCluster, type NatsNode } from '../harness/nats.ts';
import { assertAppliedOnce, enqueueCommand, freshDataDir, receiptsIn, runSagaHost, type SagaBus } from '../fixtures/saga-runner.ts';

if (natsServerAvailable('NATS saga suite')) {
  const test = suite('saga on a 3-node NATS cluster');
  let cluster: NatsCluster;
  test.before(async () => {
    cluster = await startNatsCluster(3);
  });
  test.after(async () => cluster?.stop());

  /**
   * Runs the host; if it dies of a NATS client error instead of its planned end (a known bus-adapter
   * issue: an unhandled JetStream API TIMEOUT while the cluster elects leaders), that is one more
   * crash the saga must survive: logged, and the host is started again, at most twice.
   */
  async function runHost(args: string[], options: Parameters<typeof runSagaHost>[1] = {}) {
    for (let attempt = 1; ; attempt += 1) {
      const run = await runSagaHost(args, options);
      const unplanned = run.signal !== 'SIGKILL' && run.code !== 0 && /NatsError/.test(run.output);
      if (!unplanned || attempt > 2) return run;
      const error = run.output.slice(run.output.indexOf('NatsError')).split('\n').slice(0, 30).join('\n');
      console.log(`host died of a NATS client error (attempt ${attempt}), starting it again:\n${error}`);
    }
  }

  test('a NATS node lost in every run and the host killed twice (the second time after the receipt went out): the saga confirms exactly once', async () => {
    const order = `order-nats-${Date.now()}`;
    const where: SagaBus = { nats: { servers: cluster.urls, replicas: 3 } };
    const dir = freshDataDir();
    await enqueueCommand(dir, order, 'CONFIRM', where);
    const args = ['--data', dir, '--order', order, '--nats', cluster.urls.join(','), '--replicas', '3'];
    /** Kills `node` when the host reaches `step`; the run goes on over the other two. */
    const loseNodeAt = (step: string, node: NatsNode) => {
      let lost: Promise<void> | undefined;
      return { onStep: (seen: string) => void (seen === step && !lost && (lost = node.kill())), lost: () => lost };
    };

    const first = loseNodeAt('after:reserve', cluster.nodes[0]);
    const run1 = await runHost([...args, '--crash-at', 'applied:charge'], first);
    assert.is(run1.signal, 'SIGKILL', run1.output);
    assert.ok(first.lost(), 'node 0 was lost during run 1');
    await first.lost();
    await cluster.nodes[0].restart();

    const second = loseNodeAt('applied:charge', cluster.nodes[1]); // the replayed charge
    const run2 = await runHost([...args, '--crash-at', 'after:confirm'], second); // receipt sent, not yet recorded
    assert.is(run2.signal, 'SIGKILL', run2.output);
    assert.ok(second.lost(), 'node 1 was lost during run 2');
    await second.lost();

    // Run 3 with node 1 still down: the confirm replays and sends the receipt again; JetStream de-duplicates it by id.
    const run3 = await runHost(args);
    assert.is(run3.code, 0, run3.output);
    assert.is(run3.done?.value, 'confirmed', run3.output);
    const store = await openEmbeddedStore(dir);
    await assertAppliedOnce(store, order, ['reserve', 'charge', 'confirm'], run3.done!.context);
    await store.close();
    assert.equal(await receiptsIn(dir, order, where, 1), [{ orderId: order, amount: 100 }], 'exactly one receipt on JetStream');
    await cluster.nodes[1].restart();
    assert.equal(await receiptsIn(dir, order, where), [], 'and it stays consumed after the node returns');
  });

  test.run();
}
