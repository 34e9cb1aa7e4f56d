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

/** Runs the writer until it has acknowledged at least `minAcks` writes plus a random extra, then SIGKILLs it. */
function writeUntilKilled(dataDir: string, minAcks: number): Promise<{ acked: string[]; lastRev: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: string[] = [];
    let lastRev = 0;
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
        if (kind === 'rev') lastRev = Number(value);
      }
      if (acked.length >= killAt && child.exitCode === null && !child.killed) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve({ acked, lastRev });
      else reject(new Error(`writer exited on its own (code ${code}): ${stderr}`));
    });
  });
}

test('kill -9 mid-stream loses no acknowledged insert or compare-and-set update, three rounds', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'openpnc-crash-'));
  try {
    const everAcked: string[] = [];
    for (let round = 0; round < 3; round += 1) {
      const { acked, lastRev } = await writeUntilKilled(dataDir, 150);
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
});

test.run();
