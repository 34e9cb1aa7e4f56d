/**
 * The Store contract: every adapter (embedded SQLite, MongoDB) must pass this same suite.
 * `storeContract(label, open)` registers and runs a uvu suite; `open` gives a fresh store each test.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PncError } from '../../protocols/errors.ts';
import type { Store, StoredDoc } from '../../actors/store/store.ts';

export interface OpenedStore {
  readonly store: Store;
  /** Closes the store and removes everything the test created. */
  cleanup(): Promise<void>;
}

interface Cert extends StoredDoc {
  serial?: string;
  issuer?: { name: string; country?: string };
  status?: string;
  valid?: boolean;
  size?: number | string | null;
  tags?: string[];
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<PncError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof PncError, `expected a PncError, got ${String(error)}`);
    assert.is(error.code, code, error.message);
    assert.not.match(error.message, /\n/);
    return error;
  }
  assert.unreachable(`expected rejection with ${code}`);
  throw new Error('unreachable');
}

export function storeContract(label: string, open: () => Promise<OpenedStore>): void {
  const test = suite<{ opened?: OpenedStore; store: Store }>(`store contract: ${label}`, { store: undefined as unknown as Store });
  test.before.each(async (context) => {
    context.opened = await open();
    context.store = context.opened.store;
  });
  test.after.each(async (context) => {
    await context.opened?.cleanup();
  });

  test('insert then get returns the document with _rev 1; a missing id gives undefined', async ({ store }) => {
    const certs = store.collection<Cert>('certs');
    const inserted = await certs.insert({ _id: 'a', serial: '01', issuer: { name: 'MO Sub-CA 2' }, tags: ['x', 'ü'] });
    assert.is(inserted._rev, 1);
    assert.equal(await certs.get('a'), { _id: 'a', _rev: 1, serial: '01', issuer: { name: 'MO Sub-CA 2' }, tags: ['x', 'ü'] });
    assert.is(await certs.get('missing'), undefined);
  });

  test('inserting an existing _id rejects with DuplicateKey and keeps the first document', async ({ store }) => {
    const certs = store.collection<Cert>('certs');
    await certs.insert({ _id: 'a', serial: '01' });
    await rejectsWith(certs.insert({ _id: 'a', serial: '02' }), 'DuplicateKey');
    assert.is((await certs.get('a'))?.serial, '01');
  });

  test('replace with expectedRev is compare-and-set on _rev', async ({ store }) => {
    const certs = store.collection<Cert>('certs');
    await certs.insert({ _id: 'a', status: 'new' });
    const second = await certs.replace({ _id: 'a', status: 'valid' }, { expectedRev: 1 });
    assert.is(second._rev, 2);
    const conflict = await rejectsWith(certs.replace({ _id: 'a', status: 'stale writer' }, { expectedRev: 1 }), 'RevisionConflict');
    assert.ok(conflict.retryable);
    assert.equal(await certs.get('a'), { _id: 'a', _rev: 2, status: 'valid' });
    await rejectsWith(certs.replace({ _id: 'nobody', status: 'x' }, { expectedRev: 1 }), 'RevisionConflict');
    assert.is(await certs.get('nobody'), undefined);
  });

  test('replaceJson writes a document given as JSON text, compare-and-set on _rev, and resolves with the new _rev', async ({ store }) => {
    const certs = store.collection<Cert>('certs');
    await certs.insert({ _id: 'a', status: 'new' });
    assert.is(await certs.replaceJson('a', JSON.stringify({ _id: 'a', status: 'valid', issuer: { name: 'CA "1"' } }), { expectedRev: 1 }), 2);
    assert.equal(await certs.get('a'), { _id: 'a', _rev: 2, status: 'valid', issuer: { name: 'CA "1"' } });
    assert.equal(await certs.find({ 'issuer.name': 'CA "1"' }), [{ _id: 'a', _rev: 2, status: 'valid', issuer: { name: 'CA "1"' } }]);
    await rejectsWith(certs.replaceJson('a', JSON.stringify({ _id: 'a', status: 'stale writer' }), { expectedRev: 1 }), 'RevisionConflict');
    await rejectsWith(certs.replaceJson('nobody', JSON.stringify({ _id: 'nobody' }), { expectedRev: 1 }), 'RevisionConflict');
    await rejectsWith(certs.replaceJson('a', JSON.stringify({ _id: 'b', status: 'x' }), { expectedRev: 2 }), 'InvalidStoreInput');
    await rejectsWith(certs.replaceJson('a', JSON.stringify({ status: 'x', _id: 'a' }), { expectedRev: 2 }), 'InvalidStoreInput');
    assert.equal(await certs.get('a'), { _id: 'a', _rev: 2, status: 'valid', issuer: { name: 'CA "1"' } });
    assert.is(await certs.get('nobody'), undefined);
  });

  test('replace without expectedRev upserts and bumps _rev', async ({ store }) => {
    const certs = store.collection<Cert>('certs');
    assert.is((await certs.replace({ _id: 'u', status: 'one' }))._rev, 1);
    assert.is((await certs.replace({ _id: 'u', status: 'two', _rev: 99 }))._rev, 2);
    assert.equal(await certs.get('u'), { _id: 'u', _rev: 2, status: 'two' });
  });

  test('concurrent read-modify-write with compare-and-set loses no increment', async ({ store }) => {
    const counters = store.collection<StoredDoc & { n: number }>('counters');
    await counters.insert({ _id: 'c', n: 0 });
    let conflicts = 0;
    const increment = async (): Promise<void> => {
      for (;;) {
        const current = (await counters.get('c'))!;
        try {
          await counters.replace({ _id: 'c', n: current.n + 1 }, { expectedRev: current._rev });
          return;
        } catch (error) {
          if (!PncError.is(error, 'RevisionConflict')) throw error;
          conflicts += 1;
        }
      }
    };
    await Promise.all(Array.from({ length: 12 }, increment));
    const final = (await counters.get('c'))!;
    assert.is(final.n, 12);
    assert.is(final._rev, 13);
    assert.ok(conflicts > 0, 'the interleaved writers should have collided at least once');
  });

  test('a unique index on a dotted field rejects clashes on insert and replace; missing fields are not constrained', async ({ store }) => {
    const certs = store.collection<Cert>('certs');
    await certs.ensureIndex({ fields: ['issuer.name', 'serial'], unique: true });
    await certs.ensureIndex({ fields: ['issuer.name', 'serial'], unique: true }); // idempotent
    await certs.insert({ _id: 'a', serial: '01', issuer: { name: 'CA1' } });
    await certs.insert({ _id: 'b', serial: '01', issuer: { name: 'CA2' } });
    await rejectsWith(certs.insert({ _id: 'c', serial: '01', issuer: { name: 'CA1' } }), 'DuplicateKey');
    await rejectsWith(certs.replace({ _id: 'b', serial: '01', issuer: { name: 'CA1' } }), 'DuplicateKey');
    assert.is((await certs.get('b'))?.issuer?.name, 'CA2');
    await certs.insert({ _id: 'd', status: 'no serial' });
    await certs.insert({ _id: 'e', status: 'no serial either' });
    assert.is(await certs.count(), 4);
  });

  test('creating a unique index over existing duplicates rejects with DuplicateKey', async ({ store }) => {
    const certs = store.collection<Cert>('certs');
    await certs.insert({ _id: 'a', serial: '07' });
    await certs.insert({ _id: 'b', serial: '07' });
    await rejectsWith(certs.ensureIndex({ fields: ['serial'], unique: true }), 'DuplicateKey');
    await certs.insert({ _id: 'c', serial: '07' }); // no index was left behind
  });

  test('find and count filter on dotted fields with typed equality', async ({ store }) => {
    const certs = store.collection<Cert>('certs');
    await certs.ensureIndex({ fields: ['status'] });
    await certs.insert({ _id: '1', status: 'valid', valid: true, size: 5, issuer: { name: 'CA1', country: 'DE' } });
    await certs.insert({ _id: '2', status: 'revoked', valid: false, size: '5', issuer: { name: 'CA1' } });
    await certs.insert({ _id: '3', status: 'valid', valid: true, size: 1, issuer: { name: 'CA2', country: 'DE' } });
    await certs.insert({ _id: '4', status: 'expired', size: null });
    const ids = async (filter: Record<string, string | number | boolean | null>) => (await certs.find(filter)).map((d) => d._id);
    assert.equal(await ids({ status: 'valid' }), ['1', '3']);
    assert.equal(await ids({ 'issuer.name': 'CA1' }), ['1', '2']);
    assert.equal(await ids({ 'issuer.country': 'DE', status: 'valid' }), ['1', '3']);
    assert.equal(await ids({ valid: true }), ['1', '3']);
    assert.equal(await ids({ valid: false }), ['2']);
    assert.equal(await ids({ size: 5 }), ['1'], 'a number never matches a string');
    assert.equal(await ids({ size: '5' }), ['2'], 'a string never matches a number');
    assert.equal(await ids({ size: 1 }), ['3'], 'a number never matches true');
    assert.equal(await ids({ 'issuer.country': null }), ['2', '4'], 'null matches a missing field');
    assert.equal(await ids({ _id: '3' }), ['3']);
    assert.equal(await ids({ status: 'nothing' }), []);
    assert.is(await certs.count({ status: 'valid' }), 2);
    assert.is(await certs.count(), 4);
  });

  test('$in matches any of its values, typed as equality is, on _id and on indexed or unindexed fields', async ({ store }) => {
    const certs = store.collection<Cert>('certs');
    await certs.ensureIndex({ fields: ['status'] });
    await certs.insert({ _id: '1', status: 'valid', valid: true, size: 5, issuer: { name: 'CA1' } });
    await certs.insert({ _id: '2', status: 'revoked', valid: false, size: '5', issuer: { name: 'CA2' } });
    await certs.insert({ _id: '3', status: 'valid', valid: true, size: 1 });
    await certs.insert({ _id: '4', status: 'expired', size: null });
    const ids = async (filter: Parameters<typeof certs.find>[0]) => (await certs.find(filter)).map((d) => d._id);
    assert.equal(await ids({ _id: { $in: ['4', '2', 'missing'] } }), ['2', '4']);
    assert.equal(await ids({ status: { $in: ['revoked', 'expired'] } }), ['2', '4']);
    assert.equal(await ids({ 'issuer.name': { $in: ['CA2'] }, status: 'revoked' }), ['2']);
    assert.equal(await ids({ size: { $in: [5, 1] } }), ['1', '3'], 'numbers never match a string');
    assert.equal(await ids({ size: { $in: ['5'] } }), ['2'], 'a string never matches a number');
    assert.equal(await ids({ size: { $in: [true] } }), [], 'true never matches 1');
    assert.equal(await ids({ valid: { $in: [false] } }), ['2']);
    assert.equal(await ids({ valid: { $in: [true, false] } }), ['1', '2', '3']);
    assert.equal(await ids({ _id: { $in: [] } }), []);
    assert.is(await certs.count({ status: { $in: ['valid'] } }), 2);
    assert.equal(await certs.findFields({ _id: { $in: ['3', '1'] } }, ['size']), [{ _id: '1', size: 5 }, { _id: '3', size: 1 }]);
    assert.is(await certs.deleteMany({ _id: { $in: ['1', '2'] } }), 2);
    assert.equal(await ids({}), ['3', '4']);
  });

  test('a bad $in gets InvalidStoreInput and changes nothing', async ({ store }) => {
    const certs = store.collection<Cert>('certs');
    await certs.insert({ _id: 'a', status: 'valid', size: 5 });
    const bad: unknown[] = [
      { $in: 'valid' },
      { $in: ['valid', 5] },
      { $in: [null] },
      { $in: [Number.NaN] },
      { $in: [{ $gt: '' }] },
      { $in: [['valid']] },
      { $in: ['valid'], $nin: ['x'] },
      { $nin: ['x'] },
      { $in: Array.from({ length: 1001 }, (_, i) => String(i)) },
      Object.assign(Object.create(null), { $in: ['valid'] }),
    ];
    for (const value of bad) {
      await rejectsWith(certs.find({ status: value as string }), 'InvalidStoreInput');
      await rejectsWith(certs.deleteMany({ status: value as string }), 'InvalidStoreInput');
    }
    await rejectsWith(certs.find({ _id: { $in: [1, 2] } }), 'InvalidStoreInput');
    assert.is(await certs.count(), 1);
    assert.equal(await certs.find({ status: { $in: Array.from({ length: 1000 }, (_, i) => (i === 999 ? 'valid' : String(i))) } }).then((d) => d.map((x) => x._id)), ['a']);
  });

  test('find sorts ascending or descending by a field and limits', async ({ store }) => {
    const certs = store.collection<Cert & { notAfter: string }>('certs');
    for (const [id, notAfter] of [['a', '2027'], ['b', '2025'], ['c', '2030'], ['d', '2026']]) await certs.insert({ _id: id, notAfter });
    assert.equal((await certs.find({}, { sort: 'notAfter' })).map((d) => d._id), ['b', 'd', 'a', 'c']);
    assert.equal((await certs.find({}, { sort: '-notAfter', limit: 2 })).map((d) => d._id), ['c', 'a']);
    assert.equal((await certs.find(undefined, { limit: 0 })).length, 0);
  });

  test('findFields reads _id and the named top-level fields of what find returns, in its order; missing fields stay absent', async ({ store }) => {
    const certs = store.collection<Cert & { notAfter?: string }>('certs');
    await certs.insert({ _id: 'a', status: 'valid', notAfter: '2027', issuer: { name: 'CA1', country: 'DE' }, tags: ['x', 'ü'], size: null });
    await certs.insert({ _id: 'b', status: 'valid', notAfter: '2025', valid: false, size: 7 });
    await certs.insert({ _id: 'c', status: 'revoked', notAfter: '2030', serial: 'not read' });
    assert.equal(await certs.findFields({ status: 'valid' }, ['issuer', 'tags', 'size', 'valid'], { sort: '-notAfter' }), [
      { _id: 'a', issuer: { name: 'CA1', country: 'DE' }, tags: ['x', 'ü'], size: null },
      { _id: 'b', size: 7, valid: false },
    ]);
    assert.equal(await certs.findFields(undefined, ['notAfter'], { sort: 'notAfter', limit: 2 }), [{ _id: 'b', notAfter: '2025' }, { _id: 'a', notAfter: '2027' }]);
    assert.equal(await certs.findFields({ _id: 'c' }, []), [{ _id: 'c' }]);
    assert.equal(await certs.findFields({ status: 'nothing' }, ['serial']), []);
    await rejectsWith(certs.findFields({}, ['issuer.name' as 'issuer']), 'InvalidStoreInput');
    await rejectsWith(certs.findFields({}, ["x') --" as 'serial']), 'InvalidStoreInput');
  });

  test('delete, delete with expectedRev and deleteMany', async ({ store }) => {
    const certs = store.collection<Cert>('certs');
    for (const id of ['a', 'b', 'c', 'd']) await certs.insert({ _id: id, status: id < 'c' ? 'old' : 'new' });
    assert.is(await certs.delete('a'), true);
    assert.is(await certs.delete('a'), false);
    await certs.replace({ _id: 'b', status: 'old' }, { expectedRev: 1 });
    await rejectsWith(certs.delete('b', { expectedRev: 1 }), 'RevisionConflict');
    assert.is(await certs.delete('b', { expectedRev: 2 }), true);
    assert.is(await certs.deleteMany({ status: 'new' }), 2);
    assert.is(await certs.count(), 0);
  });

  test('collections are separate namespaces', async ({ store }) => {
    await store.collection<Cert>('left').insert({ _id: 'same', status: 'left' });
    await store.collection<Cert>('right').insert({ _id: 'same', status: 'right' });
    await store.collection<Cert>('v2g-root.authorities').insert({ _id: 'same', status: 'dotted' });
    assert.is((await store.collection<Cert>('v2g-root.authorities').get('same'))?.status, 'dotted');
    assert.is((await store.collection<Cert>('left').get('same'))?.status, 'left');
    assert.is((await store.collection<Cert>('right').get('same'))?.status, 'right');
  });

  test('bad names, paths, documents and filters get InvalidStoreInput', async ({ store }) => {
    for (const bad of ['bad name; drop', 'a..b', 'trailing.', '1st', 'system.users', 'x"y']) {
      assert.throws(() => store.collection(bad), (e: unknown) => PncError.is(e, 'InvalidStoreInput'), bad);
    }
    const certs = store.collection<Cert>('certs');
    await rejectsWith(certs.find({ 'a..b': 1 }), 'InvalidStoreInput');
    await rejectsWith(certs.find({ "x') OR 1=1 --": 1 }), 'InvalidStoreInput');
    await rejectsWith(certs.find({ $where: 'true' }), 'InvalidStoreInput');
    await rejectsWith(certs.find({ status: { $ne: 'x' } as unknown as string }), 'InvalidStoreInput');
    await rejectsWith(certs.find({}, { sort: '-' }), 'InvalidStoreInput');
    await rejectsWith(certs.find({}, { limit: -1 }), 'InvalidStoreInput');
    await rejectsWith(certs.insert({ serial: 'no id' } as unknown as Cert), 'InvalidStoreInput');
    await rejectsWith(certs.ensureIndex({ fields: [] }), 'InvalidStoreInput');
    assert.is(await certs.count(), 0);
  });

  test.run();
}
