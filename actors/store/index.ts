/**
 * The Store: one port (store.ts), two adapters. The embedded SQLite store is the durable default;
 * MongoDB is loaded only when asked for, so commands that never touch it never load its driver.
 */
export type { Collection, Filter, FindOptions, IndexSpec, Store, StoredDoc } from './store.ts';
export { DuplicateKey, InvalidStoreInput, RevisionConflict, StoreUnavailable } from './common.ts';
export { openEmbeddedStore, type EmbeddedStore, type GroupCommitStats } from './embedded.ts';
import type { Store } from './store.ts';
import type { MongoStoreOptions } from './mongo.ts';

/**
 * Connects to MongoDB (`mongodb://…` or `mongodb+srv://…`); the database is the one named in the URI
 * (default `openpnc`). Rejects with a one-line `StoreUnavailable` when the server cannot be reached.
 */
export async function connectMongoStore(uri: string, options: MongoStoreOptions = {}): Promise<Store> {
  return (await import('./mongo.ts')).connectMongoStore(uri, options);
}
