// The Bus contract on a three-node NATS cluster (JetStream replicas 3), and work surviving the loss of a node.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connectNatsBus } from '../../actors/bus/index.ts';
import type { Bus, WorkItem } from '../../actors/bus/index.ts';
import { WORK_STREAM } from '../../actors/bus/nats.ts';
import { natsServerAvailable, startNatsCluster, type NatsCluster, type NatsNode } from '../harness/nats.ts';
import { busContract, eventually, sleep } from './contract.ts';

/** The node leading the work stream's Raft group, as the cluster's monitoring reports it. */
async function workStreamLeader(cluster: NatsCluster): Promise<NatsNode> {
  for (const node of cluster.nodes.filter((n) => n.running)) {
    const jsz = await (await fetch(`http://127.0.0.1:${node.monitorPort}/jsz?accounts=true&streams=true`)).json() as {
      account_details?: { stream_detail?: { name: string; cluster?: { leader?: string } }[] }[];
    };
    const leader = jsz.account_details?.flatMap((a) => a.stream_detail ?? []).find((s) => s.name === WORK_STREAM)?.cluster?.leader;
    if (leader) return cluster.nodes.find((n) => n.name === leader)!;
  }
  throw new Error(`no leader for ${WORK_STREAM}`);
}

if (natsServerAvailable('NATS cluster bus suite')) {
  const started = startNatsCluster(3);
  const connect = async (): Promise<Bus> => connectNatsBus({ servers: (await started).urls, replicas: 3, name: 'cluster-contract' });

  busContract('NATS (3-node cluster, replicas 3)', async () => ({
    open: connect,
    target: { kind: 'nats', servers: (await started).urls, replicas: 3 },
    cleanup: async () => {}, // the node-loss suite below runs next and stops the cluster
  }));

  const loss = suite('NATS cluster: node loss');
  loss.after(async () => (await started).stop());

  loss('work enqueued before the stream leader is killed is consumed exactly once per id', async () => {
    const cluster = await started;
    const producer = await connect();
    const queue = `loss.${Date.now()}`;
    const ids = Array.from({ length: 30 }, (_, i) => `item-${i}`);
    for (const id of ids) await producer.enqueue(queue, { id }, { id });
    await producer.close();

    const victim = await workStreamLeader(cluster);
    await victim.kill();

    const consumer = await connect();
    const seen: WorkItem[] = [];
    await consumer.consume(queue, async (item) => void seen.push(item), { durable: 'survivors', ackWaitMs: 1000 });
    await eventually('all items after the node loss', () => seen.length >= ids.length, 30_000);
    await sleep(1500); // longer than the ack wait: a lost ack would show up as a duplicate
    assert.equal(seen.map((item) => item.id).sort(), [...ids].sort());
    assert.ok(seen.every((item) => (item.payload as { id: string }).id === item.id));

    await victim.restart();
    await producer.close();
    await consumer.close();
  });

  loss.run();
}
