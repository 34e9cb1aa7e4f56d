// The Bus contract on the in-process adapter, with work queues in the embedded SQLite store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryBus } from '../../actors/bus/index.ts';
import { openEmbeddedStore } from '../../actors/store/index.ts';
import { busContract } from './contract.ts';

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
