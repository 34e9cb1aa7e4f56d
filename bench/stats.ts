// What every benchmark shares: its command-line numbers and the statistics it prints.

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

/** Runs `concurrency` call loops for `runMs`; returns throughput and latency percentiles. */
export async function measureLoad(call: (n: number) => Promise<unknown>, concurrency: number, runMs: number): Promise<LoadSample> {
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + runMs;
  let n = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      await call(n++);
      latencies.push(performance.now() - t0);
    }
  }));
  const elapsed = performance.now() - started;
  const sorted = Float64Array.from(latencies).sort();
  return { perSecond: (latencies.length * 1000) / elapsed, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
}
