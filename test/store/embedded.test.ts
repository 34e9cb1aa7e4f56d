import { execFile } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openEmbeddedStore, type StoredDoc } from '../../actors/store/index.ts';
import { EMBEDDED_STORE_FILE } from '../../actors/store/embedded.ts';
import { PncError } from '../../protocols/errors.ts';
import { storeContract } from './contract.ts';
import { tempDir } from '../harness/temp-dir.ts';


storeContract('embedded', async () => {
  const dir = tempDir();
  const store = await openEmbeddedStore(dir);
  return { store, cleanup: () => store.close() };
});

async function unavailable(promise: Promise<unknown>): Promise<PncError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(PncError.is(error, 'StoreUnavailable'), String(error));
    assert.not.match(error.message, /\n/);
    return error;
  }
  throw new Error('expected StoreUnavailable');
}

const embedded = suite('embedded store specifics');

embedded('data survives close and reopen, and the journal is WAL with synchronous=FULL', async () => {
  const dir = tempDir();
  const first = await openEmbeddedStore(dir);
  await first.collection<StoredDoc & { v: number }>('things').insert({ _id: 'x', v: 1 });
  await first.close();
  const second = await openEmbeddedStore(dir);
  assert.equal(await second.collection('things').get('x'), { _id: 'x', _rev: 1, v: 1 });
  await second.close();
  const raw = new Database(join(dir, EMBEDDED_STORE_FILE), { readonly: true });
  assert.is(raw.pragma('journal_mode', { simple: true }), 'wal');
  raw.close();
});

embedded('a data directory that cannot be created gives a one-line StoreUnavailable', async () => {
  const file = join(tempDir(), 'a-file');
  writeFileSync(file, 'not a directory');
  const error = await unavailable(openEmbeddedStore(join(file, 'data')));
  assert.match(error.message, /cannot be created \(ENOTDIR\)/);
});

embedded('a directory where the database file cannot be opened gives StoreUnavailable', async () => {
  const dir = tempDir();
  mkdirSync(join(dir, EMBEDDED_STORE_FILE)); // a directory squatting on the database file name
  const error = await unavailable(openEmbeddedStore(dir));
  assert.match(error.message, /is not writable|cannot be used/);
});

embedded('a file that is not a database gives StoreUnavailable', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, EMBEDDED_STORE_FILE), 'x'.repeat(4096));
  await unavailable(openEmbeddedStore(dir));
});

embedded('a database locked by another writer gives a retryable StoreUnavailable, at open and on write', async () => {
  const dir = tempDir();
  const store = await openEmbeddedStore(dir, { busyTimeoutMs: 50 });
  const things = store.collection<StoredDoc>('things');
  const other = new Database(join(dir, EMBEDDED_STORE_FILE));
  other.exec('BEGIN EXCLUSIVE');
  try {
    const onOpen = await unavailable(openEmbeddedStore(dir, { busyTimeoutMs: 50 }));
    assert.match(onOpen.message, /locked by another process/);
    assert.ok(onOpen.retryable);
    const onWrite = await unavailable(things.insert({ _id: 'blocked' }));
    assert.ok(onWrite.retryable);
  } finally {
    other.exec('ROLLBACK');
    other.close();
  }
  await things.insert({ _id: 'after' });
  assert.is(await things.count(), 1);
  await store.close();
});

embedded('several processes sharing a data directory lose no compare-and-set increment', async () => {
  const dir = tempDir();
  const store = await openEmbeddedStore(dir);
  await store.collection<StoredDoc & { n: number }>('counters').insert({ _id: 'shared', n: 0 });
  const incrementer = new URL('../fixtures/store-incrementer.ts', import.meta.url).pathname;
  const run = () => new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', incrementer, dir, '150'], (error, stdout) => (error ? reject(error) : resolve(stdout)));
  });
  const outputs = await Promise.all([run(), run(), run()]);
  const final = (await store.collection<StoredDoc & { n: number }>('counters').get('shared'))!;
  assert.is(final.n, 450, outputs.join(' '));
  assert.is(final._rev, 451);
  await store.close();
});

embedded('a closed store rejects with StoreUnavailable', async () => {
  const store = await openEmbeddedStore(tempDir());
  const things = store.collection<StoredDoc>('things');
  await store.close();
  await unavailable(things.get('x'));
});

embedded.run();
