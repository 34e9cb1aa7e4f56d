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
  /** Where a finished line goes. @default writes to stdout */
  readonly write?: (line: string) => void;
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (value instanceof Error) return toPncError(value).toJSON();
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return value;
}

/** Serialises a value to JSON text, turning errors, bigints and bytes into plain JSON. */
export function toJsonText(value: unknown): string {
  return JSON.stringify(value, jsonSafe);
}

/**
 * Creates a JSON-line logger.
 * @example
 * const log = createLogger({ fields: { participant: 'cps' } });
 * log.info('actor.started', { id: 'job-1' }); // {"time":"…","level":"info","event":"actor.started","participant":"cps","id":"job-1"}
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
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
