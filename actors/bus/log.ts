/** Where the bus reports failures that have nobody to answer to (subscriber errors, store or JetStream trouble). */
import { createLogger } from '../host/log.ts';
import type { Logger } from '../host/participant.ts';

export type BusLog = Pick<Logger, 'warn' | 'error'>;

/** The default: the house JSON-line logger, on stderr so it never mixes with a command's output. */
export const stderrLog: BusLog = createLogger({ write: (line) => process.stderr.write(`${line}\n`) });
