/**
 * A consumer process for the crash test: takes work from a queue, prints `GOT <id> <attempt>` and
 * never acknowledges, so the parent can SIGKILL it mid-work.
 * Usage: node --import tsx test/bus/work-child.ts '<target JSON>' <queue> <durable> <ackWaitMs>
 */
import type { Bus } from '../../actors/bus/bus.ts';
import { connectNatsBus, createMemoryBus } from '../../actors/bus/index.ts';
import { openEmbeddedStore } from '../../actors/store/index.ts';

export type WorkerTarget =
  | { readonly kind: 'memory'; readonly dataDir: string }
  | { readonly kind: 'nats'; readonly servers: readonly string[]; readonly replicas?: number };

/** Opens a bus on the backend a fixture describes. */
export async function openTarget(target: WorkerTarget): Promise<Bus> {
  if (target.kind === 'nats') return connectNatsBus({ servers: target.servers, replicas: target.replicas, name: 'work-child' });
  return createMemoryBus({ store: await openEmbeddedStore(target.dataDir) });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [targetJson, queue, durable, ackWaitMs] = process.argv.slice(2);
  const bus = await openTarget(JSON.parse(targetJson) as WorkerTarget);
  await bus.consume(queue, async (item) => {
    process.stdout.write(`GOT ${item.id} ${item.attempt}\n`);
    await new Promise(() => {}); // holds the item until killed
  }, { durable, ackWaitMs: Number(ackWaitMs) });
}
