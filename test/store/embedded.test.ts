import { execFile } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openEmbeddedStore, type StoredDoc } from '../../actors/store/index.ts';
import { EMBEDDED_STORE_FILE, MAX_BATCH_WRITES } from '../../actors/store/embedded.ts';
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

/** Runs `body` while another connection holds an exclusive lock on the database in `dir`. */
async function whileLockedElsewhere<R>(dir: string, body: () => Promise<R>): Promise<R> {
  const other = new Database(join(dir, EMBEDDED_STORE_FILE));
  other.exec('BEGIN EXCLUSIVE');
  try {
    return await body();
  } finally {
    other.exec('ROLLBACK');
    other.close();
  }
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
  await whileLockedElsewhere(dir, async () => {
    const onOpen = await unavailable(openEmbeddedStore(dir, { busyTimeoutMs: 50 }));
    assert.match(onOpen.message, /locked by another process/);
    assert.ok(onOpen.retryable);
    const onWrite = await unavailable(things.insert({ _id: 'blocked' }));
    assert.ok(onWrite.retryable);
  });
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

const groupCommit = suite('embedded store group commit');

groupCommit('writes issued together share one commit; a lone write commits alone', async () => {
  const store = await openEmbeddedStore(tempDir());
  const things = store.collection<StoredDoc & { n: number }>('things');
  await things.insert({ _id: 'lone', n: 0 });
  assert.equal(store.stats(), { commits: 1, writes: 1, largestBatch: 1 });
  await Promise.all(Array.from({ length: 50 }, (_, n) => things.insert({ _id: `t${n}`, n })));
  assert.equal(store.stats(), { commits: 2, writes: 51, largestBatch: 50 });
  assert.is(await things.count(), 51);
  await store.close();
});

groupCommit(`a batch holds at most ${MAX_BATCH_WRITES} writes; the rest go in the next commits`, async () => {
  const store = await openEmbeddedStore(tempDir());
  const things = store.collection<StoredDoc>('things');
  const total = 2 * MAX_BATCH_WRITES + 10;
  await Promise.all(Array.from({ length: total }, (_, n) => things.insert({ _id: `t${n}` })));
  assert.equal(store.stats(), { commits: 3, writes: total, largestBatch: MAX_BATCH_WRITES });
  assert.is(await things.count(), total);
  await store.close();
});

groupCommit('a failing write fails only its caller; the others in its batch commit, and it leaves nothing behind', async () => {
  const store = await openEmbeddedStore(tempDir());
  const things = store.collection<StoredDoc & { v: string }>('things');
  await things.ensureIndex({ fields: ['v'], unique: true });
  await things.insert({ _id: 'kept', v: 'original' });
  const before = store.stats().commits;
  const outcomes = await Promise.allSettled([
    things.insert({ _id: 'a', v: 'a' }),
    things.insert({ _id: 'kept', v: 'clash on _id' }),
    things.replace({ _id: 'kept', v: 'stale' }, { expectedRev: 7 }),
    things.insert({ _id: 'b', v: 'a' }), // clashes with 'a', written earlier in the same batch
    things.delete('kept', { expectedRev: 3 }),
    things.replace({ _id: 'kept', v: 'a' }), // an update that clashes on the unique index
    things.replaceJson('kept', JSON.stringify({ _id: 'kept', v: 'c' }), { expectedRev: 1 }), // clashes with 'c', written later: not yet
    things.insert({ _id: 'c', v: 'c' }), // so this one clashes
  ]);
  assert.is(store.stats().commits, before + 1, 'one commit for the whole batch');
  const codes = outcomes.map((o) => (o.status === 'fulfilled' ? 'ok' : (o.reason as PncError).code));
  assert.equal(codes, ['ok', 'DuplicateKey', 'RevisionConflict', 'DuplicateKey', 'RevisionConflict', 'DuplicateKey', 'ok', 'DuplicateKey']);
  assert.equal((await things.find()).map((d) => [d._id, d.v, d._rev]), [['a', 'a', 1], ['kept', 'c', 2]]);
  await store.close();
});

groupCommit('writes in one batch apply in the order issued: chained compare-and-set updates all land', async () => {
  const store = await openEmbeddedStore(tempDir());
  const counters = store.collection<StoredDoc & { n: number }>('counters');
  await counters.insert({ _id: 'c', n: 0 });
  const revs = await Promise.all([1, 2, 3, 4].map((expectedRev) => counters.replace({ _id: 'c', n: expectedRev }, { expectedRev }).then((d) => d._rev)));
  assert.equal(revs, [2, 3, 4, 5]);
  assert.equal(await counters.get('c'), { _id: 'c', _rev: 5, n: 4 });
  await store.close();
});

groupCommit('reads see committed state only: a write not yet committed is invisible until its promise resolves', async () => {
  const store = await openEmbeddedStore(tempDir());
  const things = store.collection<StoredDoc>('things');
  const pending = things.insert({ _id: 'x' });
  assert.is(await things.get('x'), undefined);
  await pending;
  assert.equal(await things.get('x'), { _id: 'x', _rev: 1 });
  await store.close();
});

groupCommit('close commits the writes already issued before it closes the database', async () => {
  const dir = tempDir();
  const store = await openEmbeddedStore(dir);
  const things = store.collection<StoredDoc>('things');
  const pending = [things.insert({ _id: 'x' }), things.insert({ _id: 'y' })];
  await store.close();
  await Promise.all(pending);
  await unavailable(things.insert({ _id: 'z' }));
  const reopened = await openEmbeddedStore(dir);
  assert.is(await reopened.collection('things').count(), 2);
  await reopened.close();
});

groupCommit('a batch that cannot start (database locked by another process) fails each of its writes with a retryable StoreUnavailable', async () => {
  const dir = tempDir();
  const store = await openEmbeddedStore(dir, { busyTimeoutMs: 50 });
  const things = store.collection<StoredDoc>('things');
  const errors = await whileLockedElsewhere(dir, () => Promise.all([things.insert({ _id: 'a' }), things.insert({ _id: 'b' })].map((p) => unavailable(p))));
  assert.ok(errors.every((e) => e.retryable));
  assert.is(await things.count(), 0);
  await store.close();
});

groupCommit.run();
