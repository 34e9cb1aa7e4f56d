/**
 * What both Store adapters share: the typed errors and the checks on names and filters,
 * so the embedded store and MongoDB reject the same input with the same codes.
 */
import { PncError } from '../../protocols/errors.ts';
import type { Filter, StoredDoc } from './store.ts';

/** The data directory or database cannot be used: missing, unwritable, locked or unreachable. */
export class StoreUnavailable extends PncError {
  override readonly name = 'StoreUnavailable';
  constructor(message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super('StoreUnavailable', message, { retryable: options.retryable ?? true, cause: options.cause });
  }
}

/** An insert or replace would break the uniqueness of `_id` or of a unique index. */
export class DuplicateKey extends PncError {
  override readonly name = 'DuplicateKey';
  constructor(collection: string, detail: string, options: { cause?: unknown } = {}) {
    super('DuplicateKey', `${collection}: duplicate key (${detail})`, { data: { collection }, cause: options.cause });
  }
}

/** A compare-and-set write found a different `_rev` (or no document) than the caller expected. */
export class RevisionConflict extends PncError {
  override readonly name = 'RevisionConflict';
  constructor(collection: string, id: string, expectedRev: number, actualRev: number | undefined) {
    super('RevisionConflict', `${collection}/${id}: expected _rev ${expectedRev}, found ${actualRev ?? 'no document'}`, {
      retryable: true,
      data: { collection, id, expectedRev, actualRev: actualRev ?? null },
    });
  }
}

/** A collection name, field path, document or filter the store cannot accept. */
export class InvalidStoreInput extends PncError {
  override readonly name = 'InvalidStoreInput';
  constructor(message: string) {
    super('InvalidStoreInput', message);
  }
}

/** Dot-separated tokens of letters, digits, `_` and `-` (`actors`, `v2g-root.authorities`), valid on both engines. */
const COLLECTION_NAME = /^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/;
const MAX_COLLECTION_NAME = 120;
const FIELD_SEGMENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function checkCollectionName(name: string): string {
  if (!COLLECTION_NAME.test(name) || name.length > MAX_COLLECTION_NAME || name.startsWith('system.')) {
    throw new InvalidStoreInput(`collection name '${name}' must be dot-separated tokens of letters, digits, '_' and '-', starting with a letter`);
  }
  return name;
}

/** A field path is dot-separated identifiers: `status`, `certificate.serialNumber`. */
export function checkFieldPath(path: string): string[] {
  const segments = path.split('.');
  if (!segments.every((s) => FIELD_SEGMENT.test(s))) throw new InvalidStoreInput(`field path '${path}' must be dot-separated identifiers`);
  return segments;
}

/** Field names `findFields` reads: top-level identifiers, not `_id` (always read). */
export function checkTopLevelFields<K extends string>(collection: string, fields: readonly K[]): K[] {
  for (const field of fields) {
    if (field === '_id' || checkFieldPath(field).length !== 1) throw new InvalidStoreInput(`${collection}: findFields reads top-level fields besides _id, not '${field}'`);
  }
  return [...fields];
}

export function checkDocument(collection: string, doc: StoredDoc): void {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new InvalidStoreInput(`${collection}: a document must be a JSON object`);
  if (typeof doc._id !== 'string' || doc._id.length === 0) throw new InvalidStoreInput(`${collection}: a document needs a non-empty string _id`);
}

/** What `replaceJson` takes: an object's JSON text whose first field is `_id: id`, and a revision to compare. */
export function checkJsonDocument(collection: string, id: string, json: string, expectedRev: number): void {
  if (typeof id !== 'string' || id.length === 0) throw new InvalidStoreInput(`${collection}: a document needs a non-empty string _id`);
  if (typeof json !== 'string' || !json.startsWith(`{"_id":${JSON.stringify(id)}`) || !json.endsWith('}')) {
    throw new InvalidStoreInput(`${collection}: replaceJson takes a JSON object whose first field is _id ${JSON.stringify(id)}`);
  }
  if (!Number.isInteger(expectedRev)) throw new InvalidStoreInput(`${collection}: expectedRev must be an integer, got ${expectedRev}`);
}

/** Most values one `$in` takes: a batch's worth (a PCP putBatch is 256). */
export const FILTER_IN_MAX = 1000;

/** A filter's value that matches by equality. */
export type EqualValue = string | number | boolean | null;
/** A checked filter entry: equality, or `$in` with the JSON type its values share. */
export type FilterEntry = readonly [path: string, value: EqualValue] | readonly [path: string, value: { readonly in: readonly (string | number | boolean)[]; readonly type: 'string' | 'number' | 'boolean' }];

function isEqualValue(value: unknown): value is EqualValue {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

/** The values of `{ $in: [...] }`, all of one type; anything else is `InvalidStoreInput`. */
function checkIn(path: string, value: object): FilterEntry {
  const keys = Object.keys(value);
  const values: unknown = (value as { $in?: unknown }).$in;
  if (Object.getPrototypeOf(value) !== Object.prototype || keys.length !== 1 || keys[0] !== '$in' || !Array.isArray(values)) {
    throw new InvalidStoreInput(`filter on '${path}' must be a string, finite number, boolean, null or { $in: [...] }`);
  }
  if (values.length > FILTER_IN_MAX) throw new InvalidStoreInput(`filter on '${path}': $in takes at most ${FILTER_IN_MAX} values, got ${values.length}`);
  const type = typeof values[0];
  if (!values.every((v) => isEqualValue(v) && v !== null && typeof v === type) || (path === '_id' && values.length > 0 && type !== 'string')) {
    throw new InvalidStoreInput(`filter on '${path}': $in values must be all strings, all finite numbers or all booleans${path === '_id' ? ' (strings for _id)' : ''}`);
  }
  return [path, { in: [...values] as (string | number | boolean)[], type: values.length === 0 ? 'string' : (type as 'string' | 'number' | 'boolean') }];
}

export function checkFilter(filter: Filter): FilterEntry[] {
  return Object.entries(filter).map(([path, value]): FilterEntry => {
    checkFieldPath(path);
    if (isEqualValue(value)) return [path, value];
    if (typeof value === 'object') return checkIn(path, value);
    throw new InvalidStoreInput(`filter on '${path}' must be a string, finite number, boolean, null or { $in: [...] }`);
  });
}

/** `-createdAt` → `{ path: 'createdAt', descending: true }`. */
export function parseSort(sort: string): { path: string; descending: boolean } {
  const descending = sort.startsWith('-');
  const path = descending ? sort.slice(1) : sort;
  checkFieldPath(path);
  return { path, descending };
}

export function checkLimit(limit: number | undefined): number | undefined {
  if (limit === undefined) return undefined;
  if (!Number.isInteger(limit) || limit < 0) throw new InvalidStoreInput(`limit must be a non-negative integer, got ${limit}`);
  return limit;
}
