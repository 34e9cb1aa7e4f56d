/**
 * The embedded store's commit thread (see embedded.ts): its own SQLite connection to the same file,
 * applying each batch of writes the main thread posts in one `IMMEDIATE` transaction (one fsync with
 * synchronous=FULL) and answering with one outcome per write. The main thread keeps running actors
 * while a commit and its fsync are under way, and settles a write's promise only on this answer,
 * so an acknowledged write is as durable as when the main thread committed it itself.
 *
 * Writes cross the thread boundary as data (operation, table, key, JSON text), never as closures.
 * The thread runs {@link commitThread} from its source text: no loader to register, so it starts in milliseconds.
 */
import type Database from 'better-sqlite3';
import type { MessagePort } from 'node:worker_threads';

export type SqlValue = string | number | null;

/** One write, as the main thread describes it. `table` is the quoted table name. */
export type WriteOp =
  | { readonly op: 'insert'; readonly table: string; readonly id: string; readonly text: string }
  /** Compare-and-set: `text` already carries `_rev` = expectedRev + 1. */
  | { readonly op: 'replaceIfRev'; readonly table: string; readonly id: string; readonly expectedRev: number; readonly text: string }
  /** Unconditional: `body` is the document without `_rev`; the stored revision + 1 is appended here. */
  | { readonly op: 'replace'; readonly table: string; readonly id: string; readonly body: string }
  | { readonly op: 'delete'; readonly table: string; readonly id: string; readonly expectedRev?: number }
  | { readonly op: 'deleteMany'; readonly sql: string; readonly params: SqlValue[] }
  | { readonly op: 'exec'; readonly sql: string };

/** A failure as it crosses threads: the SQLite code survives, the error object does not. */
export interface WireError {
  readonly code?: string;
  readonly message: string;
}

export type WriteOutcome =
  | { readonly ok: true; readonly value?: number | boolean }
  | { readonly ok: false; readonly error: WireError }
  /** A compare-and-set found another revision (or no document). */
  | { readonly ok: false; readonly conflict: number | null };

/**
 * A batch as it crosses to the commit thread: each write as 5 values in a row (what, table, key,
 * revision or parameters, text), with no property names to copy and look up again: a batch of objects cost both
 * threads twice as much to send (issue 14).
 */
export type WireOps = ReadonlyArray<string | number | null | readonly SqlValue[]>;

export interface CommitRequest {
  readonly seq: number;
  readonly ops: WireOps;
}

/** The wire form of `ops` (see {@link WireOps}). */
export function toWire(ops: readonly WriteOp[]): WireOps {
  const wire: Array<string | number | null | readonly SqlValue[]> = [];
  for (const op of ops) {
    switch (op.op) {
      case 'insert':
        wire.push(op.op, op.table, op.id, null, op.text);
        break;
      case 'replaceIfRev':
        wire.push(op.op, op.table, op.id, op.expectedRev, op.text);
        break;
      case 'replace':
        wire.push(op.op, op.table, op.id, null, op.body);
        break;
      case 'delete':
        wire.push(op.op, op.table, op.id, op.expectedRev ?? null, null);
        break;
      case 'deleteMany':
        wire.push(op.op, null, null, op.params, op.sql);
        break;
      case 'exec':
        wire.push(op.op, null, null, null, op.sql);
        break;
    }
  }
  return wire;
}

export type CommitReply =
  /** One outcome per write; left out when every write succeeded without a value (the common batch: less to copy across). */
  | { readonly seq: number; readonly outcomes?: readonly WriteOutcome[] }
  /** The transaction could not start or commit: nothing of the batch is kept. */
  | { readonly seq: number; readonly failed: WireError }
  | { readonly ready: true }
  | { readonly openFailed: WireError };

export interface CommitWorkerData {
  readonly file: string;
  readonly busyTimeoutMs: number;
}

/** Marks the end of the request stream: commit nothing more, close the connection. */
export const CLOSE_REQUEST = 'close' as const;

interface TableStatements {
  readonly insert: Database.Statement;
  readonly rev: Database.Statement;
  readonly update: Database.Statement;
  readonly updateIfRev: Database.Statement;
  readonly delete: Database.Statement;
  readonly deleteIfRev: Database.Statement;
}

/**
 * Commits whole batches on `db`: what the commit thread runs, and the main thread for a lone write.
 * It also runs from its source text (see embedded.ts), so it refers to nothing outside itself.
 */
export function batchCommitter(db: Database.Database, Driver: typeof Database): (request: CommitRequest) => CommitReply {
  const wireError = (error: unknown): WireError => {
    const code = error instanceof Driver.SqliteError ? error.code : undefined;
    return { ...(code === undefined ? {} : { code }), message: error instanceof Error ? error.message : String(error) };
  };
  const OK: WriteOutcome = { ok: true };
  const tables = new Map<string, TableStatements>();
  const statementsOf = (table: string): TableStatements => {
    let statements = tables.get(table);
    if (!statements) {
      statements = {
        insert: db.prepare(`INSERT INTO ${table} (id, rev, doc) VALUES (?, ?, ?)`),
        rev: db.prepare(`SELECT rev FROM ${table} WHERE id = ?`).pluck(),
        update: db.prepare(`UPDATE ${table} SET rev = ?, doc = ? WHERE id = ?`),
        updateIfRev: db.prepare(`UPDATE ${table} SET rev = ?, doc = ? WHERE id = ? AND rev = ?`),
        delete: db.prepare(`DELETE FROM ${table} WHERE id = ?`),
        deleteIfRev: db.prepare(`DELETE FROM ${table} WHERE id = ? AND rev = ?`),
      };
      tables.set(table, statements);
    }
    return statements;
  };

  // Each write is read from its row of the wire form (toWire): `w` is the index of its first value.
  const apply = (wire: WireOps, w: number): WriteOutcome => {
    const table = wire[w + 1] as string;
    const id = wire[w + 2] as string;
    switch (wire[w] as WriteOp['op']) {
      case 'insert':
        statementsOf(table).insert.run(id, 1, wire[w + 4]);
        return OK;
      case 'replaceIfRev': {
        const s = statementsOf(table);
        const expectedRev = wire[w + 3] as number;
        if (s.updateIfRev.run(expectedRev + 1, wire[w + 4], id, expectedRev).changes > 0) return OK;
        return { ok: false, conflict: (s.rev.get(id) as number | undefined) ?? null };
      }
      case 'replace': {
        const s = statementsOf(table);
        const current = s.rev.get(id) as number | undefined;
        const rev = (current ?? 0) + 1;
        const text = `${(wire[w + 4] as string).slice(0, -1)},"_rev":${rev}}`;
        if (current === undefined) s.insert.run(id, rev, text);
        else s.update.run(rev, text, id);
        return { ok: true, value: rev };
      }
      case 'delete': {
        const s = statementsOf(table);
        const expectedRev = wire[w + 3] as number | null;
        if (expectedRev === null) return { ok: true, value: s.delete.run(id).changes > 0 };
        if (s.deleteIfRev.run(id, expectedRev).changes > 0) return { ok: true, value: true };
        return { ok: false, conflict: (s.rev.get(id) as number | undefined) ?? null };
      }
      case 'deleteMany':
        return { ok: true, value: db.prepare(wire[w + 4] as string).run(...(wire[w + 3] as SqlValue[])).changes };
      case 'exec':
        db.exec(wire[w + 4] as string);
        tables.clear(); // a schema change: prepare afresh
        return OK;
    }
  };

  // A failing write must fail its own caller only. Every write but `exec` changes rows with one statement, and
  // SQLite backs out a failing statement by itself (a DuplicateKey is an ABORT: the statement's changes go, the
  // transaction and the batch's earlier writes stay), so those need no SAVEPOINT, which cost about a third of
  // the commit thread's CPU per write (issue 14). `exec` may run several statements: nested inside a
  // transaction, a better-sqlite3 transaction function is a SAVEPOINT that rolls back on throw. A conflict
  // throws nothing, so nothing was changed either.
  const savepoint = db.transaction(apply);
  const batchTx = db.transaction((wire: WireOps): WriteOutcome[] => {
    const outcomes: WriteOutcome[] = [];
    for (let w = 0; w < wire.length; w += 5) { // 5 values a write (toWire)
      try {
        outcomes.push(wire[w] === 'exec' ? savepoint(wire, w) : apply(wire, w));
      } catch (error) {
        // Some failures (disk full, I/O error) end the whole transaction: then nothing in the batch is kept.
        if (!db.inTransaction) throw error;
        outcomes.push({ ok: false, error: wireError(error) });
      }
    }
    return outcomes;
  });

  return (request) => {
    try {
      const outcomes = batchTx.immediate(request.ops);
      return outcomes.every((outcome) => outcome === OK) ? { seq: request.seq } : { seq: request.seq, outcomes };
    } catch (error) {
      return { seq: request.seq, failed: wireError(error) };
    }
  };
}

/**
 * The commit thread's body. It runs from its source text (see embedded.ts), so it refers to nothing
 * outside itself: the driver and {@link batchCommitter} come in as arguments.
 */
export function commitThread(port: MessagePort, { file, busyTimeoutMs }: CommitWorkerData, Driver: typeof Database, committer: typeof batchCommitter): void {
  let db: Database.Database;
  try {
    db = new Driver(file, { timeout: busyTimeoutMs });
    db.pragma('synchronous = FULL'); // per connection: this one makes the writes durable
  } catch (error) {
    port.postMessage({ openFailed: { code: (error as { code?: string }).code, message: (error as Error).message } } satisfies CommitReply);
    return;
  }
  const commit = committer(db, Driver);
  port.on('message', (request: CommitRequest | 'close') => {
    if (request === 'close') {
      db.close();
      port.close();
      return;
    }
    port.postMessage(commit(request));
  });
  port.postMessage({ ready: true } satisfies CommitReply);
}
