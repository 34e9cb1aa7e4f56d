// `npm run bench`: every benchmark in turn, each with rounds short enough that the whole run takes a few
// minutes, then one markdown table of the targets they check (the `bench-summary` lines each prints),
// to stdout and to bench/results/summary-<time>.md (gitignored) beside the full output of each.
// A benchmark that prints no summary line still gets a row, with its exit status and the machine load.
//
//   npm run bench [-- --only=exi,pki]
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { machineLoad, SUMMARY_PREFIX, targetMet, targetText, type SummaryRow } from './stats.ts';

/** Script name in package.json → the short arguments used here. */
const BENCHMARKS: readonly (readonly [string, readonly string[]])[] = [
  ['bench:exi', ['--runs=5', '--ms=200']],
  ['bench:pki', ['--runs=5', '--ms=300']],
  ['bench:bus', ['--rounds=3', '--ms=500']],
  ['bench:store', ['--rounds=3', '--ops=500']],
  ['bench:opcp', ['--rounds=3', '--ms=1000']],
  ['bench:token', ['--samples=20', '--rounds=2', '--ms=1500']],
  ['bench:pools', ['--runs=2', '--ms=1500', '--certificates=10000', '--first-installs=200']],
];

const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const selected = BENCHMARKS.filter(([script]) => !only || only.includes(script.replace('bench:', '')));
const root = fileURLToPath(new URL('..', import.meta.url));
const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(resultsDir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');

interface Outcome {
  readonly script: string;
  readonly rows: SummaryRow[];
  readonly status: number | null;
  readonly seconds: number;
  readonly loadStart: number;
  readonly loadEnd: number;
}

function run(script: string, args: readonly string[]): Promise<Outcome> {
  const loadStart = machineLoad();
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', script, '--', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const take = (chunk: Buffer, to: NodeJS.WriteStream) => {
      const text = chunk.toString();
      output += text;
      // The people-readable lines go through; the machine-readable ones are for the table.
      to.write(text.split('\n').filter((line) => !line.startsWith(SUMMARY_PREFIX)).join('\n'));
    };
    child.stdout.on('data', (chunk: Buffer) => take(chunk, process.stdout));
    child.stderr.on('data', (chunk: Buffer) => take(chunk, process.stderr));
    child.on('close', (status) => {
      writeFileSync(`${resultsDir}${stamp}-${script.replace(':', '-')}.log`, output);
      const rows = output.split('\n').filter((line) => line.startsWith(SUMMARY_PREFIX)).map((line) => JSON.parse(line.slice(SUMMARY_PREFIX.length)) as SummaryRow);
      resolve({ script, rows, status, seconds: (performance.now() - started) / 1000, loadStart, loadEnd: machineLoad() });
    });
  });
}

const figure = (v: number): string => (Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2));
const cell = (text: string): string => text.replace(/\|/g, '\\|');

const outcomes: Outcome[] = [];
for (const [script, args] of selected) {
  console.log(`\n## npm run ${script} -- ${args.join(' ')}\n`);
  outcomes.push(await run(script, args));
}

function metText(row: SummaryRow): string {
  const met = targetMet(row);
  return met === undefined ? '' : met ? 'yes' : '**no**';
}

const lines = [
  `# Benchmark summary, ${new Date().toISOString()}`,
  '',
  `Node ${process.version}, ${availableParallelism()} cores. Figures are medians over rounds; a ratio is to a baseline measured in the same run; load is the 1-minute load average at the start and end.`,
  '',
  '| benchmark | path | value | min–max | target | met | same-run baseline | load start → end |',
  '|---|---|---|---|---|---|---|---|',
];
for (const o of outcomes) {
  for (const row of o.rows) {
    lines.push(`| ${o.script} | ${cell(row.path)} | ${figure(row.value)} ${row.unit} | ${figure(row.min)}–${figure(row.max)} | ${targetText(row, figure)} | ${metText(row)} | ${cell(row.baseline)} | ${row.loadStart.toFixed(1)} → ${row.loadEnd.toFixed(1)} |`);
  }
  if (o.rows.length === 0) {
    const what = o.status === 0 ? 'prints no summary line yet: see its log' : `**exited with status ${o.status}**: see its log`;
    lines.push(`| ${o.script} | (${what}) | | | | | | ${o.loadStart.toFixed(1)} → ${o.loadEnd.toFixed(1)} |`);
  }
}
lines.push('', `Run times: ${outcomes.map((o) => `${o.script} ${o.seconds.toFixed(0)} s`).join(', ')}. Full output: bench/results/${stamp}-*.log.`);
const table = lines.join('\n') + '\n';
const file = `${resultsDir}summary-${stamp}.md`;
writeFileSync(file, table);
console.log(`\n${table}\nwritten to ${file}`);
process.exitCode = outcomes.some((o) => o.status !== 0) ? 1 : 0;
