import { MongoClient } from 'mongodb';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connectMongoStore } from '../../actors/store/index.ts';
import { DEFAULT_SERVER_SELECTION_TIMEOUT_MS, mongoClientOptions, mongoIndexOf } from '../../actors/store/mongo.ts';
import { PncError } from '../../protocols/errors.ts';
import { storeContract } from './contract.ts';

const uri = process.env.MONGODB_URI;
if (uri) {
  let run = 0;
  storeContract('mongodb', async () => {
    const database = `openpnc_contract_${process.pid}_${run++}`;
    const store = await connectMongoStore(uri, { database });
    return {
      store,
      async cleanup() {
        await store.close();
        const admin = new MongoClient(uri);
        await admin.db(database).dropDatabase();
        await admin.close();
      },
    };
  });
} else {
  console.log('SKIPPED: MongoDB suite (set MONGODB_URI)');
}

// Needs no server: proves the failure path the CLI relies on for `--mongo`.
const unreachable = suite('mongodb unreachable');
unreachable('an unreachable server gives a one-line StoreUnavailable without the password', async () => {
  try {
    await connectMongoStore('mongodb://user:secret@127.0.0.1:1/openpnc', { serverSelectionTimeoutMs: 300 });
    assert.unreachable('should not connect');
  } catch (error) {
    assert.ok(PncError.is(error, 'StoreUnavailable'), String(error));
    assert.not.match(error.message, /\n/);
    assert.not.match(error.message, /secret/);
    assert.match(error.message, /127\.0\.0\.1:1/);
  }
});
unreachable('a malformed URI gives a one-line StoreUnavailable', async () => {
  try {
    await connectMongoStore('mongo://nowhere');
    assert.unreachable('should not connect');
  } catch (error) {
    assert.ok(PncError.is(error, 'StoreUnavailable'), String(error));
    assert.match(error.message, /not valid/);
  }
});
unreachable.run();

// What the adapter asks of the driver, checked without a server: these options are the whole of our
// part; that MongoDB honours them is the contract suite's to prove against a real replica set.
const requested = suite('mongodb options the adapter passes');
requested('every client asks for majority journaled writes, majority reads and retried writes', () => {
  const options = mongoClientOptions('mongodb://a:27017,b:27017,c:27017/openpnc?replicaSet=openpnc');
  assert.equal(options.writeConcern, { w: 'majority', journal: true });
  assert.equal(options.readConcern, { level: 'majority' });
  assert.is(options.retryWrites, true);
  assert.is(options.serverSelectionTimeoutMS, DEFAULT_SERVER_SELECTION_TIMEOUT_MS);
  // A timeout in the URI is the operator's: we do not override it; an explicit option wins over both.
  assert.is(mongoClientOptions('mongodb://a/openpnc?serverSelectionTimeoutMS=900').serverSelectionTimeoutMS, undefined);
  assert.is(mongoClientOptions('mongodb://a/openpnc?serverSelectionTimeoutMS=900', { serverSelectionTimeoutMs: 300 }).serverSelectionTimeoutMS, 300);
});
requested('an index spec becomes createIndex keys and options; a unique one is partial on $exists', () => {
  assert.equal(mongoIndexOf({ fields: ['summary.pcid'] }), { keys: { 'summary.pcid': 1 }, options: { name: 'ix_summary.pcid', unique: false } });
  assert.equal(mongoIndexOf({ fields: ['emaid', 'status'], unique: true }), {
    keys: { emaid: 1, status: 1 },
    options: { name: 'ux_emaid_status', unique: true, partialFilterExpression: { emaid: { $exists: true }, status: { $exists: true } } },
  });
  assert.throws(() => mongoIndexOf({ fields: ['$where'] }), (error: unknown) => PncError.is(error, 'InvalidStoreInput'));
});
requested.run();
