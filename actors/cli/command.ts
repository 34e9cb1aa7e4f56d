import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A failure the user caused or can fix: printed as one line, never a stack trace. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}

export interface Command {
  /** One line for `openpnc --help`. */
  readonly summary: string;
  /** Full text for `openpnc <command> --help`. */
  readonly usage: string;
  /** Returns the exit code. Throws CliError for a user-facing failure. */
  run(argv: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs with strict checking, turning its errors into one-line CliErrors. */
export function parseFlags<O extends Options>(argv: string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (error) {
    throw new CliError((error as Error).message.split('\n')[0]);
  }
}

export function wantsHelp(argv: string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}
