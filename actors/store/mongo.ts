/**
 * The MongoDB Store adapter (driver `mongodb`). Same contract as the embedded store:
 * - writes use `w: 'majority', journal: true`, so a resolved write survives a server crash and the loss of
 *   a replica-set member; reads use read concern `majority`, so no read returns what a failover may roll back;
 * - compare-and-set is `findOneAndReplace({ _id, _rev: expected }, …)`, atomic per document;
 * - unique indexes are partial (`$exists: true` on every field) so documents missing an indexed
 *   field are not constrained, as with SQLite's NULLs; server error `E11000` becomes `DuplicateKey`.
 */
import { MongoClient, type Collection as MongoCollection, type CreateIndexesOptions, type Document, type MongoClientOptions } from 'mongodb';
import { PncError } from '../../protocols/errors.ts';
import { checkCollectionName, checkDocument, checkFieldPath, checkJsonDocument, checkFilter, checkTopLevelFields, checkLimit, DuplicateKey, InvalidStoreInput, parseSort, RevisionConflict, StoreUnavailable } from './common.ts';
import type { Collection, Filter, FindOptions, IndexSpec, Store, StoredDoc } from './store.ts';

/** Database used when the URI names none. */
export const DEFAULT_MONGO_DATABASE = 'openpnc';
/** How long to look for a reachable server before failing. @default 5000 */
export const DEFAULT_SERVER_SELECTION_TIMEOUT_MS = 5000;
/** Upsert retries under contention before giving up with `RevisionConflict`. */
const MAX_UPSERT_ATTEMPTS = 20;

const DUPLICATE_KEY = 11000;
const UNREACHABLE_ERRORS = new Set(['MongoNetworkError', 'MongoServerSelectionError', 'MongoNetworkTimeoutError', 'MongoTopologyClosedError', 'MongoNotConnectedError']);

type MongoDoc = Document & { _id: string; _rev: number };

function errorCode(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : undefined;
}

function isIdClash(error: unknown): boolean {
  const keyPattern = (error as { keyPattern?: Record<string, unknown> }).keyPattern;
  return errorCode(error) === DUPLICATE_KEY && keyPattern !== undefined && Object.keys(keyPattern).join() === '_id';
}

function translate(error: unknown, collection: string): PncError {
  if (error instanceof PncError) return error;
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0];
  const name = error instanceof Error ? error.name : '';
  if (errorCode(error) === DUPLICATE_KEY) return new DuplicateKey(collection, message, { cause: error });
  if (UNREACHABLE_ERRORS.has(name)) return new StoreUnavailable(`MongoDB unavailable: ${message}`, { cause: error });
  return new StoreUnavailable(`MongoDB failed: ${message}`, { cause: error, retryable: false });
}

function mongoFilter(filter: Filter | undefined): Document {
  return Object.fromEntries(checkFilter(filter ?? {}).map(([path, value]) => [path, value !== null && typeof value === 'object' ? { $in: value.in } : value]));
}

/** The stored shape → the Store's shape (`_rev` kept, nothing else added). */
function fromMongo<T>(doc: Document | null): T | undefined {
  return doc === null ? undefined : (doc as T);
}

function withoutId(doc: StoredDoc, rev: number): Document {
  const { _id: _ignored, ...rest } = doc as unknown as Document;
  return { ...rest, _rev: rev };
}

/**
 * The `createIndex` arguments for an index spec: ascending keys, a stable name (`ix_…`, `ux_…`), unique
 * indexes partial on `$exists` so that documents without the fields are not constrained (as SQLite's NULLs).
 */
export function mongoIndexOf(spec: IndexSpec): { keys: Record<string, 1>; options: CreateIndexesOptions } {
  spec.fields.forEach(checkFieldPath);
  const keys = Object.fromEntries(spec.fields.map((field) => [field, 1 as const]));
  const name = `${spec.unique ? 'ux' : 'ix'}_${spec.fields.join('_')}`;
  const partialFilterExpression = spec.unique ? Object.fromEntries(spec.fields.map((field) => [field, { $exists: true }])) : undefined;
  return { keys, options: { name, unique: spec.unique ?? false, ...(partialFilterExpression ? { partialFilterExpression } : {}) } };
}

class MongoStoreCollection<T extends StoredDoc> implements Collection<T> {
  constructor(private readonly collection: MongoCollection<MongoDoc>, private readonly name: string) {}

  private async run<R>(operation: () => Promise<R>): Promise<R> {
    try {
      return await operation();
    } catch (error) {
      throw translate(error, this.name);
    }
  }

  async ensureIndex(spec: IndexSpec): Promise<void> {
    if (spec.fields.length === 0) throw new InvalidStoreInput(`${this.name}: an index needs at least one field`);
    const { keys, options } = mongoIndexOf(spec);
    await this.run(() => this.collection.createIndex(keys, options));
  }

  async insert(doc: T): Promise<T> {
    checkDocument(this.name, doc);
    const stored = { ...withoutId(doc, 1), _id: doc._id } as MongoDoc;
    await this.run(() => this.collection.insertOne(stored));
    return stored as unknown as T;
  }

  async get(id: string): Promise<T | undefined> {
    return fromMongo<T>(await this.run(() => this.collection.findOne({ _id: id })));
  }

  /** What `find` reads, all of each document or only `projection`'s fields. */
  private async query<R>(filter: Filter | undefined, options: FindOptions, projection?: Document): Promise<R[]> {
    const query = mongoFilter(filter);
    const limit = checkLimit(options.limit);
    const sort = options.sort === undefined ? undefined : parseSort(options.sort);
    if (limit === 0) return []; // MongoDB reads limit 0 as "no limit"
    return this.run(async () => {
      let cursor = this.collection.find(query, projection ? { projection } : {}).sort(sort ? { [sort.path]: sort.descending ? -1 : 1, _id: 1 } : { _id: 1 });
      if (limit !== undefined) cursor = cursor.limit(limit);
      return (await cursor.toArray()) as unknown as R[];
    });
  }

  find(filter?: Filter, options: FindOptions = {}): Promise<T[]> {
    return this.query<T>(filter, options);
  }

  async findFields<K extends Exclude<keyof T, '_id' | '_rev'> & string>(filter: Filter | undefined, fields: readonly K[], options: FindOptions = {}): Promise<Array<Pick<T, '_id' | K>>> {
    // The server sends only the projected fields (and _id).
    return this.query(filter, options, Object.fromEntries(checkTopLevelFields(this.name, fields).map((field) => [field, 1])));
  }

  async count(filter?: Filter): Promise<number> {
    const query = mongoFilter(filter);
    return this.run(() => this.collection.countDocuments(query));
  }

  private async compareAndSet(doc: T, expectedRev: number): Promise<T | undefined> {
    const replaced = await this.run(() => this.collection.findOneAndReplace({ _id: doc._id, _rev: expectedRev }, withoutId(doc, expectedRev + 1) as MongoDoc, { returnDocument: 'after' }));
    return fromMongo<T>(replaced);
  }

  async replace(doc: T, options: { expectedRev?: number } = {}): Promise<T> {
    checkDocument(this.name, doc);
    if (options.expectedRev !== undefined) {
      const replaced = await this.compareAndSet(doc, options.expectedRev);
      if (replaced) return replaced;
      throw new RevisionConflict(this.name, doc._id, options.expectedRev, (await this.get(doc._id))?._rev);
    }
    for (let attempt = 0; attempt < MAX_UPSERT_ATTEMPTS; attempt += 1) {
      const current = await this.get(doc._id);
      if (current === undefined) {
        try {
          return await this.insert(doc);
        } catch (error) {
          if (isIdClash((error as PncError).cause)) continue; // someone inserted first: go again
          throw error;
        }
      }
      const replaced = await this.compareAndSet(doc, current._rev ?? 0);
      if (replaced) return replaced;
    }
    throw new RevisionConflict(this.name, doc._id, -1, (await this.get(doc._id))?._rev);
  }

  async replaceJson(id: string, json: string, { expectedRev }: { expectedRev: number }): Promise<number> {
    checkJsonDocument(this.name, id, json, expectedRev);
    let doc: unknown;
    try {
      doc = JSON.parse(json);
    } catch (error) {
      throw new InvalidStoreInput(`${this.name}: replaceJson takes JSON text: ${(error as Error).message}`);
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || (doc as StoredDoc)._id !== id) throw new InvalidStoreInput(`${this.name}: replaceJson takes a JSON object with _id ${JSON.stringify(id)}`);
    // replaceOne, not findOneAndReplace: the caller keeps its own copy, so nothing is read back.
    const { matchedCount } = await this.run(() => this.collection.replaceOne({ _id: id, _rev: expectedRev }, withoutId(doc as StoredDoc, expectedRev + 1) as MongoDoc));
    if (matchedCount === 1) return expectedRev + 1;
    throw new RevisionConflict(this.name, id, expectedRev, (await this.get(id))?._rev);
  }

  async delete(id: string, options: { expectedRev?: number } = {}): Promise<boolean> {
    const { expectedRev } = options;
    const filter = expectedRev === undefined ? { _id: id } : { _id: id, _rev: expectedRev };
    const { deletedCount } = await this.run(() => this.collection.deleteOne(filter));
    if (deletedCount > 0) return true;
    if (expectedRev === undefined) return false;
    throw new RevisionConflict(this.name, id, expectedRev, (await this.get(id))?._rev);
  }

  async deleteMany(filter: Filter): Promise<number> {
    const query = mongoFilter(filter);
    return (await this.run(() => this.collection.deleteMany(query))).deletedCount;
  }
}

class MongoStore implements Store {
  readonly kind = 'mongodb' as const;

  constructor(private readonly client: MongoClient, private readonly databaseName: string) {}

  collection<T extends StoredDoc>(name: string): Collection<T> {
    checkCollectionName(name);
    return new MongoStoreCollection<T>(this.client.db(this.databaseName).collection<MongoDoc>(name), name);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/** The database named in the URI path, if any. */
function databaseFromUri(uri: string): string | undefined {
  const match = /^mongodb(?:\+srv)?:\/\/[^/]*\/([^?]+)/.exec(uri);
  return match ? decodeURIComponent(match[1]) : undefined;
}

/** Host part only, so a password in the URI never reaches a log line or error. */
function describe(uri: string): string {
  return uri.replace(/\/\/[^@/]*@/, '//***@').replace(/\?.*$/, '');
}

export interface MongoStoreOptions {
  /** @default DEFAULT_SERVER_SELECTION_TIMEOUT_MS */
  readonly serverSelectionTimeoutMs?: number;
  /** Overrides the database named in the URI (tests use a fresh one per run). */
  readonly database?: string;
}

/**
 * What the driver is asked for, whatever the URI says: write concern majority with journal, read
 * concern majority, retried writes; the server selection timeout from the options, the URI, or ours.
 */
export function mongoClientOptions(uri: string, options: MongoStoreOptions = {}): MongoClientOptions {
  const timeoutInUri = /[?&]serverSelectionTimeoutMS=/i.test(uri);
  const serverSelectionTimeoutMS = options.serverSelectionTimeoutMs ?? (timeoutInUri ? undefined : DEFAULT_SERVER_SELECTION_TIMEOUT_MS);
  return {
    ...(serverSelectionTimeoutMS === undefined ? {} : { serverSelectionTimeoutMS }),
    writeConcern: { w: 'majority', journal: true },
    readConcern: { level: 'majority' },
    retryWrites: true,
    appName: 'openpnc',
  };
}

/**
 * Connects and pings. Rejects with a one-line `StoreUnavailable` for a malformed URI or an unreachable server.
 */
export async function connectMongoStore(uri: string, options: MongoStoreOptions = {}): Promise<Store> {
  let client: MongoClient;
  try {
    client = new MongoClient(uri, mongoClientOptions(uri, options));
  } catch (error) {
    throw new StoreUnavailable(`MongoDB URI '${describe(uri)}' is not valid: ${(error as Error).message.split('\n')[0]}`, { retryable: false, cause: error });
  }
  const databaseName = options.database ?? databaseFromUri(uri) ?? DEFAULT_MONGO_DATABASE;
  try {
    await client.connect();
    await client.db(databaseName).command({ ping: 1 });
  } catch (error) {
    await client.close().catch(() => undefined);
    throw new StoreUnavailable(`MongoDB at '${describe(uri)}' is unreachable: ${(error as Error).message.split('\n')[0]}`, { cause: error });
  }
  return new MongoStore(client, databaseName);
}
