/**
 * The embedded, durable Store: one SQLite database (better-sqlite3) in a data directory.
 *
 * - WAL journal with `synchronous=FULL`: a commit fsyncs the WAL before it returns, so a write whose
 *   promise resolved survives `kill -9` and also a power cut (NORMAL would survive `kill -9` only).
 * - Each collection is a table `(id, rev, doc JSON)`; indexes are expression indexes on
 *   `json_extract(doc, '$.path')`, and queries use the identical expression so SQLite picks them.
 * - Group commit: writes are queued and applied on the next turn of the event loop, all that queued
 *   meanwhile (up to {@link MAX_BATCH_WRITES}) in one `IMMEDIATE` transaction, hence one fsync. Each write
 *   runs in its own SAVEPOINT, so a `DuplicateKey` or `RevisionConflict` fails only its caller, and every
 *   promise settles only after the commit: an acknowledged write is as durable as before. Writes apply
 *   in the order they were issued. When idle the next turn comes at once, so a lone write waits no longer.
 * - Reads run at once and see committed state only: never a queued write, never part of a batch
 *   (a batch is one synchronous transaction, nothing interleaves with it). A caller that awaited its
 *   write reads it back; one that did not await may not yet.
 * - better-sqlite3 is synchronous, so nothing is held across an `await` and several processes may share
 *   a directory (SQLite's file locks serialise writers; a writer blocked longer than the busy timeout
 *   gets `StoreUnavailable`, retryable).
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PncError } from '../../protocols/errors.ts';
import { checkCollectionName, checkDocument, checkFieldPath, checkFilter, checkLimit, DuplicateKey, InvalidStoreInput, parseSort, RevisionConflict, StoreUnavailable } from './common.ts';
import type { Collection, Filter, FindOptions, IndexSpec, Store, StoredDoc } from './store.ts';

/** File name of the database inside the data directory. */
export const EMBEDDED_STORE_FILE = 'store.sqlite';
/** How long a write waits for another process's write lock before giving up. @default 2000 */
export const DEFAULT_BUSY_TIMEOUT_MS = 2000;
/** Query statements (find, count, deleteMany) kept prepared per collection; the oldest go first. */
const PREPARED_QUERIES_KEPT = 64;
/** Most writes one commit carries; more wait for the next, so one commit never blocks the event loop for long. */
export const MAX_BATCH_WRITES = 256;

type Db = Database.Database;
type SqlValue = string | number | null;

function sqliteCode(error: unknown): string | undefined {
  return error instanceof Database.SqliteError ? error.code : undefined;
}

/** Maps SQLite failures to the Store's typed errors; anything already typed passes through. */
function translate(error: unknown, collection: string): PncError {
  if (error instanceof PncError) return error;
  const code = sqliteCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') return new DuplicateKey(collection, message, { cause: error });
  if (code?.startsWith('SQLITE_BUSY') || code?.startsWith('SQLITE_LOCKED')) return new StoreUnavailable(`store is locked by another process (${code})`, { cause: error });
  if (code !== undefined) return new StoreUnavailable(`embedded store failed: ${message} (${code})`, { cause: error, retryable: false });
  return new PncError('Internal', message, { cause: error });
}

/** SQL for a field path: `_id` is the key column, anything else a JSON path into `doc`. */
function fieldSql(path: string): string {
  if (path === '_id') return 'id';
  const segments = checkFieldPath(path);
  return `json_extract(doc, '$.${segments.join('.')}')`;
}

function typeSql(path: string): string {
  return `json_type(doc, '$.${checkFieldPath(path).join('.')}')`;
}

/** Equality semantics shared with MongoDB: `null` also matches a missing field; types never coerce. */
function whereSql(filter: Filter | undefined): { sql: string; params: SqlValue[] } {
  const clauses: string[] = [];
  const params: SqlValue[] = [];
  for (const [path, value] of checkFilter(filter ?? {})) {
    const field = fieldSql(path);
    if (value === null) clauses.push(`${field} IS NULL`);
    else if (typeof value === 'boolean') clauses.push(`${field} = ${value ? 1 : 0} AND ${typeSql(path)} = '${value}'`);
    else if (typeof value === 'string') {
      clauses.push(path === '_id' ? `${field} = ?` : `${field} = ? AND ${typeSql(path)} = 'text'`);
      params.push(value);
    } else {
      clauses.push(`${field} = ? AND ${typeSql(path)} IN ('integer', 'real')`);
      params.push(value);
    }
  }
  return { sql: clauses.length ? ` WHERE ${clauses.join(' AND ')}` : '', params };
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Commit counters of an embedded store, for tests and benchmarks: `writes / commits` is the mean batch. */
export interface GroupCommitStats {
  /** Transactions committed (each one fsync with synchronous=FULL). */
  readonly commits: number;
  /** Writes applied, successful or not. */
  readonly writes: number;
  readonly largestBatch: number;
}

interface QueuedWrite {
  readonly apply: () => unknown;
  readonly collection: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: PncError) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** The write queue of one database: applies queued writes in batches, one transaction each. */
class GroupCommit {
  private queue: QueuedWrite[] = [];
  private scheduled = false;
  private stats = { commits: 0, writes: 0, largestBatch: 0 };
  private readonly commitBatch: (batch: QueuedWrite[]) => Outcome[];

  constructor(private readonly db: Db) {
    // Nested inside a transaction, a better-sqlite3 transaction function is a SAVEPOINT that rolls back on throw.
    const savepoint = db.transaction((apply: () => unknown) => apply());
    const batchTx = db.transaction((batch: QueuedWrite[]): Outcome[] =>
      batch.map((write) => {
        try {
          return { ok: true, value: savepoint(write.apply) };
        } catch (error) {
          // Some failures (disk full, I/O error) end the whole transaction: then nothing in the batch is kept.
          if (!db.inTransaction) throw error;
          return { ok: false, error };
        }
      }),
    );
    this.commitBatch = (batch) => batchTx.immediate(batch);
  }

  /** Queues a synchronous write; resolves with its result once the transaction carrying it committed. */
  submit<R>(collection: string, apply: () => R): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ apply, collection, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  counters(): GroupCommitStats {
    return { ...this.stats };
  }

  /** Commits everything still queued, now (before the database closes). */
  drain(): void {
    while (this.queue.length > 0) this.flush();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // Next turn of the event loop: writes issued until then (same tick, or I/O callbacks of this turn) join the batch.
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
      if (this.queue.length > 0) this.schedule();
    });
  }

  private flush(): void {
    if (this.queue.length === 0) return;
    const batch = this.queue.splice(0, MAX_BATCH_WRITES);
    let outcomes: Outcome[];
    try {
      outcomes = this.commitBatch(batch);
    } catch (error) {
      for (const write of batch) write.reject(translate(error, write.collection));
      return;
    }
    this.stats.commits += 1;
    this.stats.writes += batch.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
    batch.forEach((write, i) => {
      const outcome = outcomes[i];
      if (outcome.ok) write.resolve(outcome.value);
      else write.reject(translate(outcome.error, write.collection));
    });
  }
}

class EmbeddedCollection<T extends StoredDoc> implements Collection<T> {
  private readonly table: string;
  private readonly statements: {
    insert: Database.Statement;
    get: Database.Statement;
    rev: Database.Statement;
    update: Database.Statement;
    updateIfRev: Database.Statement;
    delete: Database.Statement;
    deleteIfRev: Database.Statement;
  };

  constructor(private readonly db: Db, private readonly name: string, private readonly isOpen: () => boolean, private readonly writes: GroupCommit) {
    this.table = quoteIdentifier(`c_${name}`);
    this.db.exec(`CREATE TABLE IF NOT EXISTS ${this.table} (id TEXT PRIMARY KEY NOT NULL, rev INTEGER NOT NULL, doc TEXT NOT NULL)`);
    this.statements = {
      insert: db.prepare(`INSERT INTO ${this.table} (id, rev, doc) VALUES (?, ?, ?)`),
      get: db.prepare(`SELECT doc FROM ${this.table} WHERE id = ?`).pluck(),
      rev: db.prepare(`SELECT rev FROM ${this.table} WHERE id = ?`).pluck(),
      update: db.prepare(`UPDATE ${this.table} SET rev = ?, doc = ? WHERE id = ?`),
      updateIfRev: db.prepare(`UPDATE ${this.table} SET rev = ?, doc = ? WHERE id = ? AND rev = ?`),
      delete: db.prepare(`DELETE FROM ${this.table} WHERE id = ?`),
      deleteIfRev: db.prepare(`DELETE FROM ${this.table} WHERE id = ? AND rev = ?`),
    };
  }

  private readonly queries = new Map<string, Database.Statement>();

  /** The statement for a query's SQL, prepared once: a contract lookup runs the same `find` per request. */
  private prepared(sql: string): Database.Statement {
    let statement = this.queries.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      if (this.queries.size >= PREPARED_QUERIES_KEPT) this.queries.delete(this.queries.keys().next().value!);
      this.queries.set(sql, statement);
    }
    return statement;
  }

  /** Runs one synchronous read now, translating failures. */
  private async run<R>(operation: () => R): Promise<R> {
    if (!this.isOpen()) throw new StoreUnavailable('embedded store is closed', { retryable: false });
    try {
      return operation();
    } catch (error) {
      throw translate(error, this.name);
    }
  }

  /** Queues one synchronous write for the next group commit; resolves only after SQLite committed it. */
  private async write<R>(operation: () => R): Promise<R> {
    if (!this.isOpen()) throw new StoreUnavailable('embedded store is closed', { retryable: false });
    return this.writes.submit(this.name, operation);
  }

  private encode(doc: T, rev: number): string {
    return JSON.stringify({ ...doc, _id: doc._id, _rev: rev });
  }

  async ensureIndex(spec: IndexSpec): Promise<void> {
    if (spec.fields.length === 0) throw new InvalidStoreInput(`${this.name}: an index needs at least one field`);
    const expressions = spec.fields.map(fieldSql);
    const indexName = quoteIdentifier(`${spec.unique ? 'ux' : 'ix'}:${this.name}:${spec.fields.join(',')}`);
    await this.write(() => this.db.exec(`CREATE ${spec.unique ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS ${indexName} ON ${this.table} (${expressions.join(', ')})`));
  }

  async insert(doc: T): Promise<T> {
    checkDocument(this.name, doc);
    const text = this.encode(doc, 1);
    await this.write(() => this.statements.insert.run(doc._id, 1, text));
    return JSON.parse(text) as T;
  }

  async get(id: string): Promise<T | undefined> {
    const text = await this.run(() => this.statements.get.get(id) as string | undefined);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  async find(filter?: Filter, options: FindOptions = {}): Promise<T[]> {
    const where = whereSql(filter);
    let sql = `SELECT doc FROM ${this.table}${where.sql}`;
    if (options.sort !== undefined) {
      const sort = parseSort(options.sort);
      sql += ` ORDER BY ${fieldSql(sort.path)} ${sort.descending ? 'DESC' : 'ASC'}, id ASC`;
    } else sql += ' ORDER BY id ASC';
    const limit = checkLimit(options.limit);
    if (limit !== undefined) sql += ` LIMIT ${limit}`;
    const rows = await this.run(() => this.prepared(sql).pluck().all(...where.params) as string[]);
    return rows.map((text) => JSON.parse(text) as T);
  }

  async count(filter?: Filter): Promise<number> {
    const where = whereSql(filter);
    return this.run(() => this.prepared(`SELECT count(*) FROM ${this.table}${where.sql}`).pluck().get(...where.params) as number);
  }

  async replace(doc: T, options: { expectedRev?: number } = {}): Promise<T> {
    checkDocument(this.name, doc);
    const { expectedRev } = options;
    const text = await this.write((): string => {
      if (expectedRev !== undefined) {
        const next = this.encode(doc, expectedRev + 1);
        if (this.statements.updateIfRev.run(expectedRev + 1, next, doc._id, expectedRev).changes === 0) {
          throw new RevisionConflict(this.name, doc._id, expectedRev, this.statements.rev.get(doc._id) as number | undefined);
        }
        return next;
      }
      const current = this.statements.rev.get(doc._id) as number | undefined;
      const next = this.encode(doc, (current ?? 0) + 1);
      if (current === undefined) this.statements.insert.run(doc._id, 1, next);
      else this.statements.update.run(current + 1, next, doc._id);
      return next;
    });
    return JSON.parse(text) as T;
  }

  async delete(id: string, options: { expectedRev?: number } = {}): Promise<boolean> {
    const { expectedRev } = options;
    return this.write((): boolean => {
      if (expectedRev === undefined) return this.statements.delete.run(id).changes > 0;
      if (this.statements.deleteIfRev.run(id, expectedRev).changes > 0) return true;
      throw new RevisionConflict(this.name, id, expectedRev, this.statements.rev.get(id) as number | undefined);
    });
  }

  async deleteMany(filter: Filter): Promise<number> {
    const where = whereSql(filter);
    return this.write(() => this.prepared(`DELETE FROM ${this.table}${where.sql}`).run(...where.params).changes);
  }
}

/** The embedded Store, with its group-commit counters. */
export interface EmbeddedStore extends Store {
  readonly kind: 'embedded';
  /** Commit counters since open (see {@link GroupCommitStats}). */
  stats(): GroupCommitStats;
}

class SqliteStore implements EmbeddedStore {
  readonly kind = 'embedded' as const;
  private readonly collections = new Map<string, EmbeddedCollection<StoredDoc>>();
  private open = true;
  private readonly writes: GroupCommit;

  constructor(private readonly db: Db, readonly file: string) {
    this.writes = new GroupCommit(db);
  }

  stats(): GroupCommitStats {
    return this.writes.counters();
  }

  collection<T extends StoredDoc>(name: string): Collection<T> {
    checkCollectionName(name);
    if (!this.open) throw new StoreUnavailable('embedded store is closed', { retryable: false });
    let collection = this.collections.get(name);
    if (!collection) {
      try {
        collection = new EmbeddedCollection(this.db, name, () => this.open, this.writes);
      } catch (error) {
        throw translate(error, name);
      }
      this.collections.set(name, collection);
    }
    return collection as unknown as Collection<T>;
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    // Writes already issued are committed, not dropped.
    this.writes.drain();
    this.db.close();
  }
}

/**
 * Opens (creating if needed) the embedded store in `dataDir`.
 * Rejects with a one-line `StoreUnavailable` when the directory cannot be created or written,
 * or the database is locked or not a database.
 *
 * @example
 * const store = await openEmbeddedStore('.data');
 * const certs = store.collection<{ _id: string; serial: string }>('certificates');
 * await certs.ensureIndex({ fields: ['serial'], unique: true });
 */
/** The embedded store's page cache, in KiB. */
export const EMBEDDED_CACHE_KIB = 2_000;

export async function openEmbeddedStore(dataDir: string, options: { busyTimeoutMs?: number } = {}): Promise<EmbeddedStore> {
  const dir = resolve(dataDir);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new StoreUnavailable(`data directory '${dataDir}' cannot be created (${code})`, { cause: error, retryable: false });
  }
  const file = join(dir, EMBEDDED_STORE_FILE);
  let db: Db | undefined;
  try {
    db = new Database(file, { timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
    if (db.pragma('journal_mode = WAL', { simple: true }) !== 'wal') throw new StoreUnavailable(`data directory '${dataDir}' does not support a WAL journal`, { retryable: false });
    db.pragma('synchronous = FULL');
    // SQLite's own default page cache (2 MiB), not better-sqlite3's 16 MiB: the cache fills as the store
    // grows and its pages are never given back, which was most of the MO's and OEM's RSS growth over
    // 1,000 contracts (issue 9); the OS page cache still holds the file.
    db.pragma(`cache_size = -${EMBEDDED_CACHE_KIB}`);
    // Proves the directory is writable now rather than at the first real write.
    db.exec('CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    db.prepare("INSERT INTO store_meta (key, value) VALUES ('opened_at', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(new Date().toISOString());
    return new SqliteStore(db, file);
  } catch (error) {
    db?.close();
    if (error instanceof StoreUnavailable) throw error;
    const code = sqliteCode(error) ?? (error as NodeJS.ErrnoException).code ?? 'error';
    const retryable = code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
    const why = retryable ? 'is locked by another process' : code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_READONLY') ? 'is not writable' : 'cannot be used';
    throw new StoreUnavailable(`data directory '${dataDir}' ${why} (${code})`, { cause: error, retryable });
  }
}
