// The `openpnc` CLI as a user runs it: `node bin/openpnc.js …` in a child process.
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import * as assert from 'uvu/assert';

export const OPENPNC_BIN = new URL('../../bin/openpnc.js', import.meta.url).pathname;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs to completion; fails the test if it does not exit by itself within `timeoutMs`. */
export function openpncSync(args: readonly string[], options: { timeoutMs?: number } = {}): CliResult {
  const result = spawnSync(process.execPath, [OPENPNC_BIN, ...args], { encoding: 'utf8', timeout: options.timeoutMs ?? 30_000 });
  assert.is(result.error, undefined, `openpnc ${args.join(' ')} did not exit by itself`);
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs to completion without blocking the test's event loop; `stdin` is written and closed. */
export function openpnc(args: readonly string[], options: { stdin?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnOpenpnc(args, options.stdin === undefined ? 'ignore' : 'pipe');
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin?.end(options.stdin);
  });
}

/** A long-running command (`run`, `start --serve`, `opcp serve`) the test stops itself. */
export function spawnOpenpnc(args: readonly string[], stdin: 'ignore' | 'pipe' = 'ignore'): ChildProcessByStdio<Writable | null, Readable, Readable> {
  // stdout and stderr are always pipes, which the stdio option's union type cannot express.
  return spawn(process.execPath, [OPENPNC_BIN, ...args], { stdio: [stdin, 'pipe', 'pipe'] }) as ChildProcessByStdio<Writable | null, Readable, Readable>;
}

/** The CLI's failure form: one `openpnc: …` line on stderr, no stack trace, a non-zero exit. */
export function assertOneLineError(result: CliResult, pattern: RegExp, exitCode?: number): void {
  if (exitCode === undefined) assert.ok(result.code !== 0, `exit code ${result.code}`);
  else assert.is(result.code, exitCode, result.stderr);
  const lines = result.stderr.trimEnd().split('\n');
  assert.is(lines.length, 1, result.stderr);
  assert.match(lines[0], /^openpnc: /);
  assert.match(lines[0], pattern);
  assert.not.match(result.stderr, /\n\s+at /);
}
