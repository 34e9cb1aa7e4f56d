import { MongoClient } from 'mongodb';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connectMongoStore } from '../../actors/store/index.ts';
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
