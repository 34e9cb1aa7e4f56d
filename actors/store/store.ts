/**
 * The Store port. Participants keep state only through it. Two adapters implement it:
 * the embedded durable default (actors/store/embedded.ts, SQLite in a data directory)
 * and MongoDB (actors/store/mongo.ts). Both pass test/store/contract.ts.
 *
 * Documents are JSON objects with a string `_id`. Every write bumps `_rev`, which makes
 * compare-and-set possible on both engines.
 */
export interface StoredDoc {
  readonly _id: string;
  /** Revision, 1 on insert, +1 on each replace. Managed by the store. */
  readonly _rev?: number;
}

/**
 * One of several values, each typed as in equality: all strings, all finite numbers or all booleans,
 * at most FILTER_IN_MAX of them (`_id` takes strings). A batch reads its documents in one query.
 */
export interface InFilter {
  readonly $in: readonly (string | number | boolean)[];
}

/**
 * Equality on top-level or dotted fields, typed: `5` never matches `'5'` or `true`;
 * `null` matches null or a missing field; `{ $in: [...] }` matches any of its values.
 * Anything else rejects with `InvalidStoreInput`.
 */
export type Filter = Readonly<Record<string, string | number | boolean | null | InFilter>>;

export interface FindOptions {
  readonly limit?: number;
  /** Field to sort by, ascending; prefix with `-` for descending. */
  readonly sort?: string;
}

export interface IndexSpec {
  /** Top-level or dotted field paths (`serial`, `issuer.name`). */
  readonly fields: readonly string[];
  /** Documents missing one of the fields are not constrained (SQLite NULLs, MongoDB partial index). */
  readonly unique?: boolean;
}

export interface Collection<T extends StoredDoc> {
  /** Creates the index if missing; idempotent. */
  ensureIndex(spec: IndexSpec): Promise<void>;
  /** Rejects with PncError `DuplicateKey` on an `_id` or unique-index clash. Durable when resolved. */
  insert(doc: T): Promise<T>;
  get(id: string): Promise<T | undefined>;
  find(filter?: Filter, options?: FindOptions): Promise<T[]>;
  /**
   * `_id` and the named top-level fields of what `find` returns, in its order, without reading whole
   * documents (a lookup that needs a summary, not a large body). A field a document lacks stays absent.
   */
  findFields<K extends Exclude<keyof T, '_id' | '_rev'> & string>(filter: Filter | undefined, fields: readonly K[], options?: FindOptions): Promise<Array<Pick<T, '_id' | K>>>;
  count(filter?: Filter): Promise<number>;
  /**
   * Replaces the whole document when its stored `_rev` equals `expectedRev`
   * (or unconditionally when omitted, inserting if absent). Rejects with `RevisionConflict`.
   */
  replace(doc: T, options?: { expectedRev?: number }): Promise<T>;
  /**
   * `replace` with `expectedRev`, for a writer that holds the document as JSON text already: `json` is
   * `JSON.stringify` of an object whose first field is `_id: id`, without `_rev`. Resolves with the new
   * `_rev` and no copy of the document (the writer keeps its own). The actor host serialises each
   * snapshot once, to compare it with the last, and writes that text (issue 14). Rejects with
   * `RevisionConflict`; with `InvalidStoreInput` when `json` does not start with that `_id` (MongoDB
   * also when it is not JSON; the embedded store writes the text as given).
   */
  replaceJson(id: string, json: string, options: { expectedRev: number }): Promise<number>;
  /** Resolves true when a document was deleted. Rejects with `RevisionConflict` when expectedRev is stale. */
  delete(id: string, options?: { expectedRev?: number }): Promise<boolean>;
  deleteMany(filter: Filter): Promise<number>;
}

export interface Store {
  readonly kind: 'embedded' | 'mongodb';
  collection<T extends StoredDoc>(name: string): Collection<T>;
  close(): Promise<void>;
}
