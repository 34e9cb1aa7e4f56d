// Fuzzes every EXI decoder with mutated real streams (truncations, bit flips, random bytes, huge
// length prefixes, splices), seeded from the corpus. Each input must end in a document or a typed
// ExiDecodeError whose bitPosition lies in the input; no other exception, no hang, bounded memory.
//
// CI: 100,000 inputs with a fixed seed. Longer: `npm run fuzz:exi -- --iterations=2000000 [--seed=N]`
// (or FUZZ_ITERATIONS / FUZZ_SEED); a run without a seed picks one and prints it for replay.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Worker } from 'node:worker_threads';
import { loadCorpus, loadCorpusFailures } from '../helpers/exi-corpus.ts';
import { ExiDecodeError } from '../../protocols/exi/index.ts';
import { FUZZ_SCHEMAS, MAX_ALLOCATION_PER_INPUT, MUTATIONS, WATCH_HEADER_INTS, checkDecode, prng, watchBuffer, type FuzzReport } from './fuzz-engine.ts';

const DEFAULT_ITERATIONS = 100_000;
const CI_SEED = 15118;
/** An input that keeps one decoder busy this long counts as a hang (generous: 2 shared cores). */
const STALL_MS = 5_000;
/** Live heap may not grow more than this between warm-up and the end of the run. */
const MAX_HEAP_GROWTH = 32 * 1024 * 1024;

function option(name: string, env: string): number | undefined {
  const flag = process.argv.find((arg) => arg.startsWith(`--${name}=`));
  const text = flag ? flag.slice(name.length + 3) : process.env[env];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`--${name}/${env} must be a non-negative integer, got '${text}'`);
  return value;
}

const iterations = option('iterations', 'FUZZ_ITERATIONS') ?? DEFAULT_ITERATIONS;
const explicitSeed = option('seed', 'FUZZ_SEED');
const seed = explicitSeed ?? (iterations === DEFAULT_ITERATIONS ? CI_SEED : Date.now() % 2 ** 31);

function corpusSeeds(): Uint8Array[] {
  // The inputs the reference codec refused (ISO 15118-20 streams, deviations, broken logs) are good seeds too.
  return [...loadCorpus().map((row) => row.bytes), ...loadCorpusFailures().map((failure) => failure.bytes)];
}

/** Long inputs are cut in messages; the seed replays them whole. */
function shortHex(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return hex.length <= 400 ? hex : `${hex.slice(0, 400)}… (${bytes.length} bytes)`;
}

interface RunOptions {
  readonly iterations: number;
  readonly seed: number;
  readonly stallMs: number;
  /** Another module exporting decodeExi, for the watchdog's own test. */
  readonly decoderModule?: string;
}

function runWorker(seeds: Uint8Array[], { iterations, seed, stallMs, decoderModule }: RunOptions): Promise<FuzzReport> {
  const watch = watchBuffer();
  const progress = new Int32Array(watch, 0, WATCH_HEADER_INTS);
  const input = new Uint8Array(watch, WATCH_HEADER_INTS * 4);
  // Workers do not inherit the tsx loader: register it inside, then load the TypeScript worker.
  const tsx = import.meta.resolve('tsx/esm/api');
  const script = new URL('./fuzz-worker.ts', import.meta.url).href;
  const worker = new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(script)}); });`, {
    eval: true,
    workerData: { seeds, iterations, seed, watch, decoderModule },
  });
  return new Promise((resolve, reject) => {
    let lastCount = -1;
    let lastChange = Date.now();
    const watchdog = setInterval(() => {
      const count = Atomics.load(progress, 0);
      if (count !== lastCount || Atomics.load(progress, 3) === 0) {
        lastCount = count;
        lastChange = Date.now();
        return;
      }
      if (Date.now() - lastChange < stallMs) return;
      clearInterval(watchdog);
      const schema = FUZZ_SCHEMAS[Atomics.load(progress, 1)];
      const hex = shortHex(input.subarray(0, Atomics.load(progress, 2)));
      void worker.terminate();
      reject(new Error(`decoder '${schema}' made no progress for ${stallMs} ms on input ${count} (seed ${seed}): ${hex}`));
    }, 250);
    worker.once('message', (report: FuzzReport) => {
      clearInterval(watchdog);
      void worker.terminate();
      resolve(report);
    });
    worker.once('error', (error) => {
      clearInterval(watchdog);
      reject(error);
    });
  });
}

test('the checker flags every way a decoder can break the contract', () => {
  const input = Uint8Array.of(0x80, 0x98, 0x02);
  assert.is(checkDecode(input, () => ({ document: { V2G_Message: {} }, paddingBytes: 0 })).problem, undefined);
  assert.is(checkDecode(input, () => { throw new ExiDecodeError('truncated', 24); }).problem, undefined);
  assert.match(checkDecode(input, () => { throw new RangeError('Invalid typed array length'); }).problem!, /RangeError/);
  assert.match(checkDecode(input, () => { throw new ExiDecodeError('past the end', 25); }).problem!, /outside the 24-bit input/);
  assert.match(checkDecode(input, () => ({ document: {}, paddingBytes: 0 })).problem!, /not a document/);
  assert.match(checkDecode(input, () => ({ document: { a: 1 }, paddingBytes: 4 })).problem!, /paddingBytes 4/);
  let held: Uint8Array | undefined;
  const hog = checkDecode(input, () => {
    held = new Uint8Array(MAX_ALLOCATION_PER_INPUT + 1024 * 1024);
    throw new ExiDecodeError('length prefix too large', 8);
  });
  assert.match(hog.problem!, /new bytes for a 3-byte input/);
  assert.ok(held);
});

test('the huge-length mutation writes a multi-octet EXI unsigned integer into the stream', () => {
  const random = prng(1);
  const seed = new Uint8Array(64);
  const mutated = MUTATIONS.hugeLength(seed, random, [seed]);
  // At least four continuation octets (high bit set) appear, bit-shifted, where there were zeros.
  const ones = mutated.reduce((n, byte) => n + byte.toString(2).replace(/0/g, '').length, 0);
  assert.ok(ones >= 4, `only ${ones} bits set`);
});

test('the watchdog stops a decoder that hangs and names the input', async () => {
  const decoderModule = new URL('./hanging-decoder.ts', import.meta.url).href;
  const seeds = [Uint8Array.of(0x80, 0x98, 0x02, 0x10), Uint8Array.of(0x80, 0x00)];
  try {
    await runWorker(seeds, { iterations: 1_000, seed: 1, stallMs: 2_000, decoderModule });
    assert.unreachable('the hang went unnoticed');
  } catch (error) {
    assert.match((error as Error).message, /decoder '[\w-]+' made no progress for 2000 ms on input \d+ \(seed 1\): 80[0-9a-f]{8}$/);
  }
});

test(`${iterations} mutated inputs through all ${FUZZ_SCHEMAS.length} decoders end in a document or a typed ExiDecodeError`, async () => {
  const seeds = corpusSeeds();
  assert.ok(seeds.length > 3_000, 'the corpus seeds are there');
  const started = Date.now();
  const report = await runWorker(seeds, { iterations, seed, stallMs: STALL_MS });
  const growth = report.heapAtEnd - report.heapAfterWarmup;
  console.log(
    `fuzz: seed ${seed}, ${report.inputs} inputs, ${report.decodeCalls} decodes (${report.decoded} documents, ${report.typedErrors} ExiDecodeErrors) ` +
      `in ${((Date.now() - started) / 1000).toFixed(1)} s; slowest ${report.slowest.ms.toFixed(1)} ms (${report.slowest.schema}, ${report.slowest.bytes} B, ${report.slowest.mutation}: ${shortHex(Buffer.from(report.slowest.hex, 'hex'))}); ` +
      `largest allocation ${(report.maxAllocation / 1024).toFixed(0)} KiB; heap growth ${(growth / 1024).toFixed(0)} KiB`,
  );
  for (const failure of report.failures.slice(0, 5)) console.log(`  ${failure.problem} [${failure.mutation}] ${shortHex(Buffer.from(failure.hex, 'hex'))}`);
  assert.is(report.failures.length, 0, `${report.failures.length}+ inputs broke a decoder (replay with --seed=${seed})`);
  assert.is(report.inputs, iterations);
  assert.is(report.decoded + report.typedErrors, report.decodeCalls);
  assert.ok(report.typedErrors > 0 && report.decoded > 0, 'the mutations reach both outcomes');
  assert.ok(growth < MAX_HEAP_GROWTH, `live heap grew by ${growth} bytes`);
});

test.run();
