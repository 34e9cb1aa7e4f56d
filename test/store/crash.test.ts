// Every write the embedded store acknowledged survives `kill -9` of the writing process.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openEmbeddedStore, type StoredDoc } from '../../actors/store/index.ts';
import { EMBEDDED_STORE_FILE } from '../../actors/store/embedded.ts';

const writer = new URL('../fixtures/store-writer.ts', import.meta.url).pathname;

/**
 * Runs the writer (with `workers` concurrent write loops) until it has acknowledged at least `minAcks`
 * writes plus a random extra, then SIGKILLs it. `lastRev` is the highest acknowledged counter revision.
 */
function writeUntilKilled(dataDir: string, minAcks: number, workers = 1): Promise<{ acked: string[]; lastRev: number; largestBatch: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, dataDir, String(workers)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: string[] = [];
    let lastRev = 0;
    let largestBatch = 0;
    let pending = '';
    let stderr = '';
    const killAt = minAcks + Math.floor(Math.random() * minAcks);
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!; // a torn last line is not an acknowledgement
      for (const line of lines) {
        const [kind, value] = line.split(' ');
        if (kind === 'ack') acked.push(value);
        if (kind === 'rev') lastRev = Math.max(lastRev, Number(value));
        if (kind === 'batch') largestBatch = Number(value);
      }
      if (acked.length >= killAt && child.exitCode === null && !child.killed) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve({ acked, lastRev, largestBatch });
      else reject(new Error(`writer exited on its own (code ${code}): ${stderr}`));
    });
  });
}

/** Kills the writer three times and checks after each round that every acknowledged write is there. */
async function threeRounds(workers: number): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'openpnc-crash-'));
  let largestBatch = 0;
  try {
    const everAcked: string[] = [];
    for (let round = 0; round < 3; round += 1) {
      const { acked, lastRev, largestBatch: largest } = await writeUntilKilled(dataDir, 150, workers);
      largestBatch = Math.max(largestBatch, largest);
      assert.ok(acked.length >= 150, `round ${round}: only ${acked.length} acks`);
      everAcked.push(...acked);
      const store = await openEmbeddedStore(dataDir);
      const writes = store.collection<StoredDoc>('writes');
      const missing = [];
      for (const id of everAcked) if ((await writes.get(id)) === undefined) missing.push(id);
      assert.equal(missing, [], `round ${round}: lost acknowledged writes`);
      const counter = (await store.collection<StoredDoc & { n: number }>('counter').get('c'))!;
      assert.ok(counter._rev! >= lastRev, `counter rev ${counter._rev} < acknowledged ${lastRev}`);
      assert.is(counter.n, counter._rev! - 1, 'every CAS increment landed exactly once');
      await store.close();
    }
    const raw = new Database(join(dataDir, EMBEDDED_STORE_FILE));
    assert.is(raw.pragma('integrity_check', { simple: true }), 'ok');
    raw.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  return largestBatch;
}

test('kill -9 mid-stream loses no acknowledged insert or compare-and-set update, three rounds', async () => {
  await threeRounds(1);
});

test('kill -9 amid concurrent writers, whose writes share commits, loses no acknowledged write, three rounds', async () => {
  const largestBatch = await threeRounds(16);
  assert.ok(largestBatch > 1, `the writes were never batched (largest batch ${largestBatch})`);
});

test.run();
