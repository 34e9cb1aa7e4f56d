/** Where the bus reports failures that have nobody to answer to (subscriber errors, store or JetStream trouble). */
import type { Logger } from '../host/participant.ts';

export type BusLog = Pick<Logger, 'warn' | 'error'>;

/** The default: one JSON line per event on stderr. */
export const stderrLog: BusLog = {
  warn: (event, fields) => process.stderr.write(`${JSON.stringify({ level: 'warn', event, ...fields })}\n`),
  error: (event, fields) => process.stderr.write(`${JSON.stringify({ level: 'error', event, ...fields })}\n`),
};
