/**
 * Structured logs: one JSON object per line, `{ time, level, event, ...fields }`.
 * Errors in fields are written in their wire form (code, message, retryable), never as stacks.
 */
import { toPncError } from '../../protocols/errors.ts';
import type { Logger } from './participant.ts';

export type LogLevel = 'info' | 'warn' | 'error';

export interface LoggerOptions {
  /** Fields added to every line (for example `{ participant: 'cps' }`). */
  readonly fields?: Record<string, unknown>;
  /** Where a finished line goes. @default stdout, the lines of one event-loop turn in one write */
  readonly write?: (line: string) => void;
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (value instanceof Error) return toPncError(value).toJSON();
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return value;
}

/** Deeper than any state we keep: past it, the replacer path runs (and reports a cycle as before). */
const PLAIN_DEPTH_LIMIT = 64;

/**
 * True when `JSON.stringify` alone gives the same text as with {@link jsonSafe}: no bigint, no error,
 * no bytes and nothing with its own `toJSON` anywhere in the value. Walking is far cheaper than a
 * replacer called back for every key, and a hosted actor serialises every snapshot it persists.
 * `refuse` also makes it false for any object it returns true for.
 */
export function isPlainJson(value: unknown, depth = 0, refuse?: (object: object) => boolean): boolean {
  if (typeof value === 'bigint') return false;
  if (typeof value !== 'object' || value === null) return true;
  if (depth > PLAIN_DEPTH_LIMIT || value instanceof Error || ArrayBuffer.isView(value) || typeof (value as { toJSON?: unknown }).toJSON === 'function' || refuse?.(value)) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (!isPlainJson(item, depth + 1, refuse)) return false;
    return true;
  }
  for (const key in value) if (!isPlainJson((value as Record<string, unknown>)[key], depth + 1, refuse)) return false;
  return true;
}

/** `value` itself when plain JSON already, else its JSON copy with errors, bigints and bytes made plain. */
export function asPlainJson<T>(value: T): T {
  return isPlainJson(value) ? value : (JSON.parse(JSON.stringify(value, jsonSafe)) as T);
}

/** Serialises a value to JSON text, turning errors, bigints and bytes into plain JSON (`plain`: what {@link isPlainJson} said of it). */
export function toJsonText(value: unknown, plain = isPlainJson(value)): string {
  return plain ? JSON.stringify(value) : JSON.stringify(value, jsonSafe);
}

/** Lines waiting for stdout: a busy pool logs a line per request, and each write is a system call. */
let pendingStdout: string[] = [];
let stdoutFlushScheduled = false;
let flushedOnExit = false;

function flushStdout(): void {
  stdoutFlushScheduled = false;
  if (pendingStdout.length === 0) return;
  const text = pendingStdout.join('');
  pendingStdout = [];
  process.stdout.write(text);
}

/**
 * Writes a line to stdout with the others of the same event-loop turn, in one write. The process's
 * `exit` flushes what is left synchronously (stdout on a pipe or file is synchronous on Linux).
 */
function writeStdoutLine(line: string): void {
  pendingStdout.push(`${line}\n`);
  if (stdoutFlushScheduled) return;
  if (!flushedOnExit) {
    flushedOnExit = true;
    process.on('exit', flushStdout);
  }
  stdoutFlushScheduled = true;
  setImmediate(flushStdout).unref();
}

/**
 * Creates a JSON-line logger.
 * @example
 * const log = createLogger({ fields: { participant: 'cps' } });
 * log.info('actor.started', { id: 'job-1' }); // {"time":"…","level":"info","event":"actor.started","participant":"cps","id":"job-1"}
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? writeStdoutLine;
  const base = options.fields ?? {};
  const emit = (level: LogLevel) => (event: string, fields?: Record<string, unknown>) => {
    write(toJsonText({ time: new Date().toISOString(), level, event, ...base, ...fields }));
  };
  return {
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (fields) => createLogger({ write, fields: { ...base, ...fields } }),
  };
}
