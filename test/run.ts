// Runs every test/**/*.test.ts in its own Node process (uvu inside), two at a time,
// and closes with the one line CI reads: "N passed, N failed, N skipped".
// A file gets TEST_FILE_TIMEOUT_MS (120 s) in all; once uvu printed its summary the file must exit
// (2 s after a failure, 10 s after a pass): a file held open by a server or timer is killed with its
// process group and counted as failed, so a failing file never hangs the run.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { availableParallelism } from 'node:os';

const root = new URL('.', import.meta.url).pathname;
const filters = process.argv.slice(2);
const concurrency = Number(process.env.TEST_CONCURRENCY ?? Math.max(1, Math.min(2, availableParallelism())));
const fileTimeoutMs = Number(process.env.TEST_FILE_TIMEOUT_MS ?? 120_000);
const exitGraceMs = { failed: 2_000, passed: 10_000 };

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

interface FileResult { file: string; passed: number; failed: number; skipped: number; output: string; ms: number }

function count(output: string, label: string): number | undefined {
  const match = new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm').exec(output);
  return match ? Number(match[1]) : undefined;
}

function runFile(file: string): Promise<FileResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    // Its own process group, so a kill also ends what the file started (nats-server, openssl, CLIs).
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    let killedFor: string | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    const kill = (why: string) => {
      if (killedFor) return;
      killedFor = why;
      output += `\n[run] ${relative(root, file)} ${why}, killed\n`;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const onOutput = (chunk: Buffer) => {
      output += chunk;
      if (graceTimer || !/^\s*Duration:/m.test(output)) return;
      const failedTests = (count(output, 'Total') ?? 0) > (count(output, 'Passed') ?? 0);
      const grace = failedTests ? exitGraceMs.failed : exitGraceMs.passed;
      graceTimer = setTimeout(() => kill(`did not exit within ${grace} ms of its summary (a server, client or timer left open)`), grace);
    };
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);
    const timer = setTimeout(() => kill(`exceeded ${fileTimeoutMs} ms`), fileTimeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      clearTimeout(graceTimer);
      const total = count(output, 'Total') ?? 0;
      const passed = count(output, 'Passed') ?? 0;
      // uvu's Skipped counts test.skip(); our own suites print "SKIPPED: <suite> (<reason>)" lines.
      const skipped = (count(output, 'Skipped') ?? 0) + (output.match(/^SKIPPED: /gm)?.length ?? 0);
      let failed = Math.max(0, total - passed); // uvu's Total leaves out skipped tests
      if ((code !== 0 || killedFor) && failed === 0) failed = 1; // crashed, hung, or died before its summary
      // actors/bus/typed.ts warns when a subject answers a code its catalogue entry does not declare.
      const undeclared = output.match(/UndeclaredErrorCode: .*/g) ?? [];
      if (undeclared.length) {
        output += `\n[run] ${relative(root, file)}: ${undeclared.length} undeclared error code(s) (DEVELOPERS.md: declare the codes in the catalogue)\n`;
        failed += 1;
      }
      resolve({ file, passed, failed, skipped, output, ms: Date.now() - started });
    });
  });
}

const files = findTests(root).filter((f) => filters.length === 0 || filters.some((p) => relative(root, f).includes(p)));
const results: FileResult[] = [];
const runStarted = Date.now();
let next = 0;
async function worker(): Promise<void> {
  while (next < files.length) {
    const file = files[next++];
    const result = await runFile(file);
    results.push(result);
    const status = result.failed ? 'FAIL' : 'ok  ';
    process.stdout.write(`${status} ${relative(root, file)} (${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped, ${(result.ms / 1000).toFixed(1)} s)\n`);
    if (result.failed || process.env.TEST_VERBOSE) process.stdout.write(result.output.replace(/^/gm, '    | ') + '\n');
    else for (const line of result.output.split('\n')) if (line.startsWith('SKIPPED: ')) process.stdout.write(`${line}\n`);
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
const sum = (key: 'passed' | 'failed' | 'skipped') => results.reduce((n, r) => n + r[key], 0);
if (files.length === 0) console.log('no test files matched');
const slowest = [...results].sort((a, b) => b.ms - a.ms).slice(0, 5);
if (slowest.length > 1) console.log(`slowest: ${slowest.map((r) => `${relative(root, r.file)} ${(r.ms / 1000).toFixed(1)} s`).join(', ')}`);
console.log(`wall time: ${((Date.now() - runStarted) / 1000).toFixed(1)} s`);
console.log(`${sum('passed')} passed, ${sum('failed')} failed, ${sum('skipped')} skipped`);
process.exitCode = sum('failed') > 0 || files.length === 0 ? 1 : 0;
