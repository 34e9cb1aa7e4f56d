// Runs every test/**/*.test.ts in its own Node process (uvu inside), two at a time,
// and closes with the one line CI reads: "N passed, N failed, N skipped".
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { availableParallelism } from 'node:os';

const root = new URL('.', import.meta.url).pathname;
const filters = process.argv.slice(2);
const concurrency = Number(process.env.TEST_CONCURRENCY ?? Math.max(1, Math.min(2, availableParallelism())));
const fileTimeoutMs = Number(process.env.TEST_FILE_TIMEOUT_MS ?? 600_000);

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
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => {
      output += `\n[run] ${relative(root, file)} exceeded ${fileTimeoutMs} ms, killed\n`;
      child.kill('SIGKILL');
    }, fileTimeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const total = count(output, 'Total') ?? 0;
      const passed = count(output, 'Passed') ?? 0;
      // uvu's Skipped counts test.skip(); our own suites print "SKIPPED: <suite> (<reason>)" lines.
      const skipped = (count(output, 'Skipped') ?? 0) + (output.match(/^SKIPPED: /gm)?.length ?? 0);
      let failed = Math.max(0, total - passed); // uvu's Total leaves out skipped tests
      if (code !== 0 && failed === 0) failed = 1; // crashed or died before its summary
      resolve({ file, passed, failed, skipped, output, ms: Date.now() - started });
    });
  });
}

const files = findTests(root).filter((f) => filters.length === 0 || filters.some((p) => f.includes(p)));
const results: FileResult[] = [];
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
console.log(`${sum('passed')} passed, ${sum('failed')} failed, ${sum('skipped')} skipped`);
process.exitCode = sum('failed') > 0 || files.length === 0 ? 1 : 0;
