// What every benchmark shares: its command-line numbers and the statistics it prints.
import type { ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';

/** `--name=N` from the command line, a positive number, or the fallback. */
export function flag(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  const value = arg ? Number(arg.slice(name.length + 3)) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The value below which a fraction `p` (0–1) of an ascending list lies. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

export interface LoadSample {
  readonly perSecond: number;
  /** Latency percentiles in milliseconds. */
  readonly p50: number;
  readonly p99: number;
}

/** Runs `concurrency` call loops for `runMs` (or until `count` calls were made); returns throughput and latency percentiles. */
export async function measureLoad(call: (n: number) => Promise<unknown>, concurrency: number, runMs: number, count?: number): Promise<LoadSample> {
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + runMs;
  let n = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (count === undefined ? performance.now() < deadline : n < count) {
      const t0 = performance.now();
      await call(n++);
      latencies.push(performance.now() - t0);
    }
  }));
  const elapsed = performance.now() - started;
  const sorted = Float64Array.from(latencies).sort();
  return { perSecond: (latencies.length * 1000) / elapsed, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
}

/** The machine's 1-minute load average (other processes share the cores: read every figure beside it). */
export function machineLoad(): number {
  return loadavg()[0];
}

/** One line of the `npm run bench` summary: a benchmark prints one per target it checks. */
export interface SummaryRow {
  /** What was measured, e.g. "EXI CurrentDemandReq encode (typed)". */
  readonly path: string;
  /** The figure the target applies to, as printed (a rate, or a ratio to the baseline). */
  readonly value: number;
  readonly unit: string;
  /** Lowest and highest value over the rounds. */
  readonly min: number;
  readonly max: number;
  /** The target as a number, compared with `value` (≥ unless `atMost`); none for a figure kept to read, not to meet. */
  readonly target?: number;
  readonly atMost?: boolean;
  /** The same-run baseline the value is judged against, in words with its figure. */
  readonly baseline: string;
  readonly loadStart: number;
  readonly loadEnd: number;
}

/** Prefix of the machine-readable summary lines that bench/run.ts collects from each benchmark's output. */
export const SUMMARY_PREFIX = 'bench-summary ';

/** Whether the row meets its target; undefined for a row without one. */
export const targetMet = (row: SummaryRow): boolean | undefined => (row.target === undefined ? undefined : row.atMost ? row.value <= row.target : row.value >= row.target);

/** The target column: "≥ 6.00" or "≤ 25", "no target" without one. */
export const targetText = (row: SummaryRow, figure: (v: number) => string): string => (row.target === undefined ? 'no target' : `${row.atMost ? '≤' : '≥'} ${figure(row.target)}`);

/** Prints a row for people (target, verdict, baseline, load) and once more for bench/run.ts. */
export function printSummary(row: SummaryRow): void {
  const figure = (v: number) => (Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2));
  console.log(
    `${row.path}: ${figure(row.value)} ${row.unit} (min–max ${figure(row.min)}–${figure(row.max)}), ${row.target === undefined ? 'no target' : `target ${targetText(row, figure)}: ${targetMet(row) ? 'met' : 'NOT met'}`}; ` +
      `baseline ${row.baseline}; load ${row.loadStart.toFixed(1)} → ${row.loadEnd.toFixed(1)}`,
  );
  console.log(SUMMARY_PREFIX + JSON.stringify(row));
}

/**
 * Seconds of CPU this process has used (user + system, all its threads). On a machine whose cores other
 * processes share, a single-threaded benchmark divides by this rather than by wall time: time spent
 * waiting for a core is not a cost of the code measured.
 */
export function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/**
 * For a benchmark's child processes: `ask(child, message, kind)` sends `message` and resolves with the
 * child's first reply of `kind`, or rejects with its `error` reply. `const ask = childAsker<ToChild, FromChild>();`
 */
export function childAsker<To, From extends { kind: string }>() {
  return <K extends From['kind']>(child: ChildProcess, message: To, kind: K): Promise<Extract<From, { kind: K }>> =>
    new Promise((resolve, reject) => {
      const onMessage = (m: From) => {
        if (m.kind !== kind && m.kind !== 'error') return;
        child.off('message', onMessage);
        if (m.kind === 'error') reject(new Error((m as { message?: string }).message));
        else resolve(m as Extract<From, { kind: K }>);
      };
      child.on('message', onMessage);
      child.send(message as object);
    });
}

/** Calls made and the CPU seconds they took. */
export interface TimedCalls {
  readonly calls: number;
  readonly seconds: number;
}

/**
 * One round of cases measured side by side, cut into `slices`: each slice measures every case in turn, the
 * order turning by one each slice, so a burst of load from other processes lands on a case and its
 * baseline alike and no case always follows the same one (and its garbage). `measure(i)` runs case `i`
 * for its share of the slice. Returns calls per CPU-second of each case.
 */
export async function slicedRound(cases: number, slices: number, measure: (i: number) => TimedCalls | Promise<TimedCalls>): Promise<number[]> {
  const calls = new Array<number>(cases).fill(0);
  const seconds = new Array<number>(cases).fill(0);
  for (let slice = 0; slice < slices; slice++) {
    for (let turn = 0; turn < cases; turn++) {
      const i = (slice + turn) % cases;
      const part = await measure(i);
      calls[i] += part.calls;
      seconds[i] += part.seconds;
    }
  }
  return calls.map((n, i) => n / seconds[i]);
}
