// The Bus contract on the in-process adapter, with work queues in the embedded SQLite store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryBus, DEAD_LETTER_COLLECTION, WORK_COLLECTION, type DeadLetter } from '../../actors/bus/index.ts';
import { openEmbeddedStore } from '../../actors/store/index.ts';
import { PncError } from '../../protocols/errors.ts';
import { busContract, eventually, sleep } from './contract.ts';

busContract('in-process (embedded store)', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pnc-bus-memory-'));
  const store = await openEmbeddedStore(dataDir);
  return {
    open: async () => createMemoryBus({ store }),
    target: { kind: 'memory', dataDir },
    cleanup: async () => {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
});

const durable = suite('in-process bus: work kept in the store across restarts');

durable('pending work and de-duplication survive closing and reopening the store; dead letters stay in the store', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pnc-bus-restart-'));
  try {
    let store = await openEmbeddedStore(dataDir);
    let bus = createMemoryBus({ store });
    await bus.enqueue('sign.csr', { csr: 'A' }, { id: 'a' });
    await bus.enqueue('sign.csr', { csr: 'B' }, { id: 'b' });
    await bus.close();
    await store.close();

    store = await openEmbeddedStore(dataDir);
    bus = createMemoryBus({ store });
    const seen: string[] = [];
    await bus.consume('sign.csr', async (item) => {
      seen.push(item.id);
      if (item.id === 'b') throw new PncError('Unsignable', 'bad CSR');
    }, { durable: 'signer' });
    await eventually('both items', () => seen.length === 2);
    await bus.close();
    await store.close();

    store = await openEmbeddedStore(dataDir);
    bus = createMemoryBus({ store });
    const again: string[] = [];
    await bus.consume('sign.csr', async (item) => void again.push(item.id), { durable: 'signer' });
    await bus.enqueue('sign.csr', { csr: 'A' }, { id: 'a' });
    await sleep(200);
    assert.equal(again, [], 'acknowledged and dead-lettered ids are not delivered again');
    const dead = await store.collection<DeadLetter & { _id: string }>(DEAD_LETTER_COLLECTION).find({ queue: 'sign.csr' });
    assert.equal(dead.map((d) => [d.id, d.attempts, d.error.code, d.payload]), [['b', 1, 'Unsignable', { csr: 'B' }]]);
    assert.is(await store.collection(WORK_COLLECTION).count({ queue: 'sign.csr', state: 'pending' }), 0);
    await bus.close();
    await store.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

durable.run();
