/**
 * The embedded, durable Store: one SQLite database (better-sqlite3) in a data directory.
 *
 * - WAL journal with `synchronous=FULL`: a commit fsyncs the WAL before it returns, so a write whose
 *   promise resolved survives `kill -9` and also a power cut (NORMAL would survive `kill -9` only).
 * - Each collection is a table `(id, rev, doc JSON)`; indexes are expression indexes on
 *   `json_extract(doc, '$.path')`, and queries use the identical expression so SQLite picks them.
 * - Group commit: writes are queued and sent on the next turn of the event loop, all that queued
 *   meanwhile (up to {@link MAX_BATCH_WRITES}) in one `IMMEDIATE` transaction, hence one fsync. A failing write
 *   is backed out alone (its one statement, or the SAVEPOINT of an `exec`), so a `DuplicateKey` or
 *   `RevisionConflict` fails only its caller, and every
 *   promise settles only after the commit: an acknowledged write is as durable as before. Writes apply
 *   in the order they were issued. When idle the next turn comes at once, so a lone write waits no longer.
 * - A batch of several writes commits on a commit thread (commit-worker.ts, its own connection, started by the
 *   first such batch, ended after COMMIT_THREAD_IDLE_MS idle), one batch at a time: while batch N commits and fsyncs, the main thread keeps running and
 *   batch N+1 fills. A lone write commits inline, as a thread handoff would only add to its latency.
 * - Reads run at once and see committed state only: never a queued write, never part of a batch
 *   (a batch is one synchronous transaction, nothing interleaves with it). A caller that awaited its
 *   write reads it back; one that did not await may not yet.
 * - better-sqlite3 is synchronous, so nothing is held across an `await` and several processes may share
 *   a directory (SQLite's file locks serialise writers; a writer blocked longer than the busy timeout
 *   gets `StoreUnavailable`, retryable).
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { join, resolve } from 'node:path';
import { PncError } from '../../protocols/errors.ts';
import { checkCollectionName, checkDocument, checkFieldPath, checkJsonDocument, checkFilter, checkTopLevelFields, checkLimit, DuplicateKey, InvalidStoreInput, parseSort, RevisionConflict, StoreUnavailable } from './common.ts';
import { batchCommitter, CLOSE_REQUEST, commitThread, toWire, type CommitReply, type CommitRequest, type CommitWorkerData, type SqlValue, type WireError, type WriteOp, type WriteOutcome } from './commit-worker.ts';
import type { Collection, Filter, FindOptions, IndexSpec, Store, StoredDoc } from './store.ts';

/** File name of the database inside the data directory. */
export const EMBEDDED_STORE_FILE = 'store.sqlite';
/** How long a write waits for another process's write lock before giving up. @default 2000 */
export const DEFAULT_BUSY_TIMEOUT_MS = 2000;
/** Query statements (find, count, deleteMany) kept prepared per collection; the oldest go first. */
const PREPARED_QUERIES_KEPT = 64;
/** Most writes one commit carries; more wait for the next, so one commit never blocks the event loop for long. */
export const MAX_BATCH_WRITES = 256;
/** How long a store stays idle before its commit thread ends (a new one starts with the next batch). */
export const COMMIT_THREAD_IDLE_MS = 10_000;

type Db = Database.Database;
/** The driver module the commit thread loads: the same better-sqlite3 as this thread's. */
const DRIVER_PATH = createRequire(import.meta.url).resolve('better-sqlite3');

function sqliteCode(error: unknown): string | undefined {
  return error instanceof Database.SqliteError ? error.code : undefined;
}

/** Maps SQLite failures to the Store's typed errors; anything already typed passes through. */
function translate(error: unknown, collection: string): PncError {
  if (error instanceof PncError) return error;
  return translateCode(sqliteCode(error), error instanceof Error ? error.message : String(error), collection, error);
}

/** A failure the commit thread reported. */
function translateWire(error: WireError, collection: string): PncError {
  return translateCode(error.code, error.message, collection, error);
}

function translateCode(code: string | undefined, message: string, collection: string, error: unknown): PncError {
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

/** The `json_type` a value of each JSON type has (SQLite gives true and false each their own). */
const JSON_TYPE_SQL = { string: `= 'text'`, number: `IN ('integer', 'real')`, boolean: `IN ('true', 'false')` } as const;

/** Equality semantics shared with MongoDB: `null` also matches a missing field; types never coerce. */
function whereSql(filter: Filter | undefined): { sql: string; params: SqlValue[] } {
  const clauses: string[] = [];
  const params: SqlValue[] = [];
  for (const [path, value] of checkFilter(filter ?? {})) {
    const field = fieldSql(path);
    if (value === null) clauses.push(`${field} IS NULL`);
    else if (typeof value === 'object') {
      // One parameter, a JSON array, whatever the count: one prepared statement serves every batch size.
      // json_each gives true/false as 1/0, as json_extract does; the type check keeps `5` from matching `'5'`.
      const member = `${field} IN (SELECT value FROM json_each(?))`;
      clauses.push(path === '_id' ? member : `${member} AND ${typeSql(path)} ${JSON_TYPE_SQL[value.type]}`);
      params.push(JSON.stringify(value.in));
    }
    else if (typeof value === 'boolean') clauses.push(`${field} = ${value ? 1 : 0} AND ${typeSql(path)} = '${value}'`);
    else if (typeof value === 'string') {
      clauses.push(path === '_id' ? `${field} = ?` : `${field} = ? AND ${typeSql(path)} ${JSON_TYPE_SQL.string}`);
      params.push(value);
    } else {
      clauses.push(`${field} = ? AND ${typeSql(path)} ${JSON_TYPE_SQL.number}`);
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
  readonly op: WriteOp;
  readonly collection: string;
  readonly resolve: (value: number | boolean | undefined) => void;
  readonly reject: (error: PncError) => void;
}

/**
 * The write queue of one database: posts queued writes to the commit thread in batches, one transaction
 * each, one batch in flight at a time. While a batch commits, the next one fills.
 */
class GroupCommit {
  private queue: QueuedWrite[] = [];
  private inFlight: QueuedWrite[] | undefined;
  private scheduled = false;
  private seq = 0;
  /** Set once the commit thread is gone: every write from then on fails with it. */
  private broken: PncError | undefined;
  private idleWaiters: Array<() => void> = [];
  private stats = { commits: 0, writes: 0, largestBatch: 0 };

  /** The commit thread, started by the first write: a store opened only to read never pays for one. */
  private thread: Worker | undefined;
  /** Ends the commit thread once the store has been idle for COMMIT_THREAD_IDLE_MS. */
  private retireTimer: NodeJS.Timeout | undefined;

  /** Commits a lone write here, on the main connection: with nothing to overlap, a thread handoff would only add latency. */
  private readonly commitInline: (request: CommitRequest) => CommitReply;

  constructor(db: Db, private readonly startThread: () => Worker) {
    this.commitInline = batchCommitter(db, Database);
  }

  private get worker(): Worker {
    if (!this.thread) {
      const worker = this.startThread();
      worker.on('message', (reply: CommitReply) => this.settle(reply));
      worker.on('error', (error) => this.breakDown(new StoreUnavailable(`embedded store commit thread failed: ${error.message}`, { cause: error, retryable: false })));
      worker.on('exit', () => this.breakDown(new StoreUnavailable('embedded store is closed', { retryable: false })));
      worker.unref(); // an idle store never keeps a process alive; a batch in flight does
      this.thread = worker;
    }
    return this.thread;
  }

  /** Queues a write; resolves with its result once the transaction carrying it committed. */
  submit(collection: string, op: WriteOp): Promise<number | boolean | undefined> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.queue.push({ op, collection, resolve, reject });
      this.schedule();
    });
  }

  counters(): GroupCommitStats {
    return { ...this.stats };
  }

  /** Resolves once every write issued so far has settled, then ends the commit thread (before the database closes). */
  async close(): Promise<void> {
    clearTimeout(this.retireTimer);
    while (!this.broken && (this.queue.length > 0 || this.inFlight)) {
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
    if (this.broken || !this.thread) return;
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.ref();
    this.worker.postMessage(CLOSE_REQUEST);
    await exited;
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight || this.queue.length === 0) return;
    this.scheduled = true;
    // Next turn of the event loop: writes issued until then (same tick, or I/O callbacks of this turn) join the batch.
    setImmediate(() => {
      this.scheduled = false;
      this.post();
    });
  }

  private post(): void {
    if (this.inFlight || this.queue.length === 0 || this.broken) return;
    const batch = this.queue.splice(0, MAX_BATCH_WRITES);
    this.inFlight = batch;
    this.seq += 1;
    if (batch.length === 1) {
      this.settle(this.commitInline({ seq: this.seq, ops: toWire([batch[0].op]) }));
      return;
    }
    clearTimeout(this.retireTimer);
    this.worker.ref();
    this.worker.postMessage({ seq: this.seq, ops: toWire(batch.map((write) => write.op)) } satisfies CommitRequest);
  }

  private settle(reply: CommitReply): void {
    if ('openFailed' in reply) {
      this.breakDown(translateWire(reply.openFailed, 'store'));
      return;
    }
    const batch = this.inFlight;
    if (!batch || !('seq' in reply) || reply.seq !== this.seq) return;
    this.inFlight = undefined;
    if ('failed' in reply) {
      for (const write of batch) write.reject(translateWire(reply.failed, write.collection));
    } else {
      this.stats.commits += 1;
      this.stats.writes += batch.length;
      this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
      batch.forEach((write, i) => {
        const outcome = reply.outcomes?.[i] ?? OK;
        if (outcome.ok) write.resolve(outcome.value);
        else if ('conflict' in outcome) write.reject(conflictOf(write, outcome.conflict));
        else write.reject(translateWire(outcome.error, write.collection));
      });
    }
    if (this.queue.length > 0) this.schedule();
    else this.idle();
  }

  private idle(): void {
    if (this.thread) {
      this.thread.unref();
      clearTimeout(this.retireTimer);
      this.retireTimer = setTimeout(() => this.retireThread(), COMMIT_THREAD_IDLE_MS).unref();
    }
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * An idle store gives its commit thread back (its isolate is some 15 MB of a participant's RSS, issue
   * 9); the next batch starts another. Whatever the retired thread says from now on is not this store's.
   */
  private retireThread(): void {
    const worker = this.thread;
    if (!worker || this.inFlight || this.queue.length > 0) return;
    this.thread = undefined;
    worker.removeAllListeners();
    worker.on('error', () => undefined);
    worker.postMessage(CLOSE_REQUEST);
  }

  private breakDown(error: PncError): void {
    if (this.broken) return;
    this.broken = error;
    const pending = [...(this.inFlight ?? []), ...this.queue];
    this.inFlight = undefined;
    this.queue = [];
    for (const write of pending) write.reject(error);
    this.idle();
  }
}

const OK: WriteOutcome = { ok: true };

function conflictOf(write: QueuedWrite, actualRev: number | null): RevisionConflict {
  const { op } = write;
  const expectedRev = op.op === 'replaceIfRev' || op.op === 'delete' ? (op.expectedRev ?? 0) : 0;
  const id = 'id' in op ? op.id : '';
  return new RevisionConflict(write.collection, id, expectedRev, actualRev ?? undefined);
}

class EmbeddedCollection<T extends StoredDoc> implements Collection<T> {
  private readonly table: string;
  private readonly statements: {
    get: Database.Statement;
  };

  constructor(private readonly db: Db, private readonly name: string, private readonly isOpen: () => boolean, private readonly writes: GroupCommit) {
    this.table = quoteIdentifier(`c_${name}`);
    this.db.exec(`CREATE TABLE IF NOT EXISTS ${this.table} (id TEXT PRIMARY KEY NOT NULL, rev INTEGER NOT NULL, doc TEXT NOT NULL)`);
    this.statements = {
      get: db.prepare(`SELECT doc FROM ${this.table} WHERE id = ?`).pluck(),
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

  /** Queues one write for the next group commit; resolves only after SQLite committed it. Not async: no extra promise per write. */
  private write(op: WriteOp): Promise<number | boolean | undefined> {
    if (!this.isOpen()) return Promise.reject(new StoreUnavailable('embedded store is closed', { retryable: false }));
    return this.writes.submit(this.name, op);
  }

  private encode(doc: T, rev: number): string {
    return JSON.stringify({ ...doc, _id: doc._id, _rev: rev });
  }

  async ensureIndex(spec: IndexSpec): Promise<void> {
    if (spec.fields.length === 0) throw new InvalidStoreInput(`${this.name}: an index needs at least one field`);
    const expressions = spec.fields.map(fieldSql);
    const indexName = quoteIdentifier(`${spec.unique ? 'ux' : 'ix'}:${this.name}:${spec.fields.join(',')}`);
    await this.write({ op: 'exec', sql: `CREATE ${spec.unique ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS ${indexName} ON ${this.table} (${expressions.join(', ')})` });
  }

  async insert(doc: T): Promise<T> {
    checkDocument(this.name, doc);
    const text = this.encode(doc, 1);
    await this.write({ op: 'insert', table: this.table, id: doc._id, text });
    return JSON.parse(text) as T;
  }

  async get(id: string): Promise<T | undefined> {
    const text = await this.run(() => this.statements.get.get(id) as string | undefined);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  /** The SELECT of `columns` that `find` and `findFields` run: filter, order (then by id) and limit. */
  private query(columns: string, filter: Filter | undefined, options: FindOptions): { sql: string; params: SqlValue[] } {
    const where = whereSql(filter);
    let sql = `SELECT ${columns} FROM ${this.table}${where.sql}`;
    if (options.sort !== undefined) {
      const sort = parseSort(options.sort);
      sql += ` ORDER BY ${fieldSql(sort.path)} ${sort.descending ? 'DESC' : 'ASC'}, id ASC`;
    } else sql += ' ORDER BY id ASC';
    const limit = checkLimit(options.limit);
    if (limit !== undefined) sql += ` LIMIT ${limit}`;
    return { sql, params: where.params };
  }

  async find(filter?: Filter, options: FindOptions = {}): Promise<T[]> {
    const { sql, params } = this.query('doc', filter, options);
    const rows = await this.run(() => this.prepared(sql).pluck().all(...params) as string[]);
    return rows.map((text) => JSON.parse(text) as T);
  }

  async findFields<K extends Exclude<keyof T, '_id' | '_rev'> & string>(filter: Filter | undefined, fields: readonly K[], options: FindOptions = {}): Promise<Array<Pick<T, '_id' | K>>> {
    const names = checkTopLevelFields(this.name, fields);
    // `->` gives each field's JSON text (SQL NULL when the document lacks it): only those small texts are parsed here.
    const { sql, params } = this.query(['id', ...names.map((field) => `doc -> '$.${field}'`)].join(', '), filter, options);
    const rows = await this.run(() => this.prepared(sql).raw().all(...params) as Array<Array<string | null>>);
    return rows.map((row) => {
      const doc: Record<string, unknown> = { _id: row[0] };
      for (let i = 0; i < names.length; i++) if (row[i + 1] !== null) doc[names[i]] = JSON.parse(row[i + 1]!);
      return doc as Pick<T, '_id' | K>;
    });
  }

  async count(filter?: Filter): Promise<number> {
    const where = whereSql(filter);
    return this.run(() => this.prepared(`SELECT count(*) FROM ${this.table}${where.sql}`).pluck().get(...where.params) as number);
  }

  async replace(doc: T, options: { expectedRev?: number } = {}): Promise<T> {
    checkDocument(this.name, doc);
    const { expectedRev } = options;
    if (expectedRev !== undefined) {
      const text = this.encode(doc, expectedRev + 1);
      await this.write({ op: 'replaceIfRev', table: this.table, id: doc._id, expectedRev, text });
      return JSON.parse(text) as T;
    }
    // The stored revision is known only inside the commit: the document goes without `_rev`, which is appended there.
    const body = JSON.stringify({ ...doc, _id: doc._id, _rev: undefined });
    const rev = (await this.write({ op: 'replace', table: this.table, id: doc._id, body })) as number;
    return { ...(JSON.parse(body) as T), _rev: rev };
  }

  async replaceJson(id: string, json: string, { expectedRev }: { expectedRev: number }): Promise<number> {
    checkJsonDocument(this.name, id, json, expectedRev);
    const rev = expectedRev + 1;
    // The caller's text as it is, `_rev` appended: neither parsed nor serialised again here.
    await this.write({ op: 'replaceIfRev', table: this.table, id, expectedRev, text: `${json.slice(0, -1)},"_rev":${rev}}` });
    return rev;
  }

  async delete(id: string, options: { expectedRev?: number } = {}): Promise<boolean> {
    const { expectedRev } = options;
    return (await this.write({ op: 'delete', table: this.table, id, ...(expectedRev === undefined ? {} : { expectedRev }) })) as boolean;
  }

  async deleteMany(filter: Filter): Promise<number> {
    const where = whereSql(filter);
    return (await this.write({ op: 'deleteMany', sql: `DELETE FROM ${this.table}${where.sql}`, params: where.params })) as number;
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

  constructor(private readonly db: Db, readonly file: string, startCommitThread: () => Worker) {
    this.writes = new GroupCommit(db, startCommitThread);
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
    await this.writes.close();
    this.db.close();
  }
}

/**
 * Starts the commit thread of a database and waits until its connection is open. Workers do not inherit
 * the tsx loader (registering it costs seconds), so the thread runs {@link commitThread} from its source
 * text; `__name` is the helper the TypeScript transform may call to keep function names. Not awaited: writes
 * posted meanwhile wait in the thread's inbox, and a connection that fails to open fails them (the main
 * connection already proved the file usable).
 */
function startCommitThread(data: CommitWorkerData): Worker {
  const source = [
    "var __name = (f, name) => Object.defineProperty(f, 'name', { value: name, configurable: true });",
    "const { parentPort, workerData } = require('node:worker_threads');",
    `(${commitThread.toString()})(parentPort, workerData.data, require(workerData.driver), (${batchCommitter.toString()}));`,
  ].join('\n');
  const worker = new Worker(source, { eval: true, workerData: { data, driver: DRIVER_PATH } });
  return worker;
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
    return new SqliteStore(db, file, () => startCommitThread({ file, busyTimeoutMs: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS }));
  } catch (error) {
    db?.close();
    if (error instanceof StoreUnavailable) throw error;
    const code = sqliteCode(error) ?? (error as NodeJS.ErrnoException).code ?? 'error';
    const retryable = code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
    const why = retryable ? 'is locked by another process' : code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_READONLY') ? 'is not writable' : 'cannot be used';
    throw new StoreUnavailable(`data directory '${dataDir}' ${why} (${code})`, { cause: error, retryable });
  }
}
