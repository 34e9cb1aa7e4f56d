// The EXI decoder fuzzer: mutates real corpus streams and checks every decoder ends in a document or
// a typed ExiDecodeError inside the input. Runs in a worker (fuzz-worker.ts) so the test can stop it
// when one input hangs; shared memory tells the watchdog which input is running.
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { decodeExi, ExiDecodeError, type ExiSchemaId } from '../../protocols/exi/index.ts';

export const FUZZ_SCHEMAS: readonly ExiSchemaId[] = ['app', 'iso2', 'din', 'iso2-frag', 'iso2-xmldsig'];
/** Mutated inputs never exceed this, so the watchdog's copy of the running input always fits. */
export const MAX_FUZZ_INPUT_BYTES = 16 * 1024;
/** One decode may not hold more than this much new memory (heap + ArrayBuffers) for an input of at most 16 KiB. */
export const MAX_ALLOCATION_PER_INPUT = 64 * 1024 * 1024;

/**
 * Shared between worker and watchdog: [inputs done, schema index, input length, started] + the input
 * bytes. `started` turns 1 when the loop begins, so slow module loading on a busy machine is no hang.
 */
export const WATCH_HEADER_INTS = 4;
export function watchBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(WATCH_HEADER_INTS * 4 + MAX_FUZZ_INPUT_BYTES);
}

export interface FuzzFailure {
  readonly schema: ExiSchemaId;
  readonly hex: string;
  readonly mutation: string;
  readonly problem: string;
}

export interface FuzzReport {
  readonly inputs: number;
  readonly decodeCalls: number;
  readonly decoded: number;
  readonly typedErrors: number;
  readonly failures: FuzzFailure[];
  readonly slowest: { readonly ms: number; readonly schema: ExiSchemaId; readonly bytes: number; readonly mutation: string; readonly hex: string };
  /** Live heap after a full GC: once the warm-up is over, and at the end. */
  readonly heapAfterWarmup: number;
  readonly heapAtEnd: number;
  readonly maxAllocation: number;
}

/** mulberry32: small, fast, seedable; the same seed replays the same inputs. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Mutation = (input: Uint8Array, random: () => number, seeds: readonly Uint8Array[]) => Uint8Array;

const int = (random: () => number, below: number) => Math.floor(random() * below);

/** Writes `value` as `width` bits at bit offset `at` (MSB first), growing the input if needed. */
function writeBits(input: Uint8Array, at: number, width: number, value: bigint): Uint8Array {
  const out = new Uint8Array(Math.max(input.length, Math.ceil((at + width) / 8)));
  out.set(input);
  for (let i = 0; i < width; i++) {
    const bit = Number((value >> BigInt(width - 1 - i)) & 1n);
    const p = at + i;
    out[p >> 3] = (out[p >> 3] & ~(0x80 >> (p & 7))) | (bit << (7 - (p & 7)));
  }
  return out;
}

/** EXI unsigned-integer octets (7 bits per octet, least significant group first) for a huge value. */
function exiUnsigned(value: bigint): { bits: number; value: bigint } {
  const octets: number[] = [];
  do {
    const group = Number(value & 0x7fn);
    value >>= 7n;
    octets.push(value > 0n ? group | 0x80 : group);
  } while (value > 0n);
  return { bits: octets.length * 8, value: octets.reduce((acc, o) => (acc << 8n) | BigInt(o), 0n) };
}

const HUGE_VALUES = [2n ** 31n - 1n, 2n ** 32n - 1n, 2n ** 32n + 2n, 2n ** 53n, 2n ** 63n, 2n ** 64n + 7n, 2n ** 120n, 1_000_000n, 65_537n];

export const MUTATIONS: Record<string, Mutation> = {
  truncate: (input, random) => input.subarray(0, int(random, input.length)),
  bitFlips: (input, random) => {
    const out = Uint8Array.from(input);
    if (out.length === 0) return out;
    for (let n = 1 + int(random, 8); n > 0; n--) {
      const bit = int(random, out.length * 8);
      out[bit >> 3] ^= 0x80 >> (bit & 7);
    }
    return out;
  },
  randomBytes: (_input, random) => {
    const out = new Uint8Array(int(random, 96));
    for (let i = 0; i < out.length; i++) out[i] = int(random, 256);
    if (out.length > 0 && random() < 0.7) out[0] = 0x80; // past the EXI header check more often
    return out;
  },
  hugeLength: (input, random) => {
    // A huge unsigned integer at any bit offset lands, sooner or later, on a string/binary length,
    // an array count or an integer value.
    const { bits, value } = exiUnsigned(HUGE_VALUES[int(random, HUGE_VALUES.length)]);
    return writeBits(input, 8 + int(random, Math.max(1, input.length * 8 - 8)), bits, value);
  },
  setByte: (input, random) => {
    const out = Uint8Array.from(input);
    if (out.length > 0) out[int(random, out.length)] = [0x00, 0xff, 0x7f, 0x80, 0xfe, 0x01][int(random, 6)];
    return out;
  },
  insertBytes: (input, random) => {
    const at = int(random, input.length + 1);
    const extra = Uint8Array.from({ length: 1 + int(random, 16) }, () => int(random, 256));
    return Buffer.concat([input.subarray(0, at), extra, input.subarray(at)]);
  },
  deleteBytes: (input, random) => {
    const at = int(random, input.length + 1);
    return Buffer.concat([input.subarray(0, at), input.subarray(Math.min(input.length, at + 1 + int(random, 16)))]);
  },
  duplicateRun: (input, random) => {
    const at = int(random, input.length + 1);
    const run = input.subarray(at, at + 1 + int(random, 32));
    return Buffer.concat([input.subarray(0, at), run, run, run, input.subarray(at)]);
  },
  splice: (input, random, seeds) => {
    const other = seeds[int(random, seeds.length)];
    return Buffer.concat([input.subarray(0, int(random, input.length + 1)), other.subarray(int(random, other.length + 1))]);
  },
  appendGarbage: (input, random) => Buffer.concat([input, Uint8Array.from({ length: 1 + int(random, 8) }, () => (random() < 0.5 ? 0 : int(random, 256)))]),
};
const MUTATION_NAMES = Object.keys(MUTATIONS);

/** One mutated input: 1–3 stacked mutations of a random seed. */
export function mutate(seeds: readonly Uint8Array[], random: () => number): { bytes: Uint8Array; mutation: string } {
  let bytes = seeds[int(random, seeds.length)];
  const names: string[] = [];
  for (let n = 1 + int(random, 3); n > 0; n--) {
    const name = MUTATION_NAMES[int(random, MUTATION_NAMES.length)];
    bytes = MUTATIONS[name](bytes, random, seeds);
    names.push(name);
  }
  if (bytes.length > MAX_FUZZ_INPUT_BYTES) bytes = bytes.subarray(0, MAX_FUZZ_INPUT_BYTES);
  return { bytes, mutation: names.join('+') };
}

function fullGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const liveBytes = () => {
  const s = getHeapStatistics();
  return s.used_heap_size + s.external_memory;
};

export interface DecodeOutcome {
  /** What broke the contract, if anything. */
  readonly problem?: string;
  readonly decoded: boolean;
  readonly ms: number;
  /** New live memory (heap + ArrayBuffers) right after the call. */
  readonly allocated: number;
}

/**
 * Runs one decode and judges it: a document with padding inside the input, or an ExiDecodeError whose
 * bitPosition lies in the input; any other exception, or holding more than MAX_ALLOCATION_PER_INPUT, is a problem.
 */
export function checkDecode(bytes: Uint8Array, run: () => { document: unknown; paddingBytes: number }): DecodeOutcome {
  const before = liveBytes();
  const started = performance.now();
  const judged = judge(bytes, run);
  const ms = performance.now() - started;
  const allocated = liveBytes() - before;
  const problem = judged.problem ?? (allocated > MAX_ALLOCATION_PER_INPUT ? `held ${allocated} new bytes for a ${bytes.length}-byte input` : undefined);
  return { problem, decoded: judged.decoded, ms, allocated };
}

function judge(bytes: Uint8Array, run: () => { document: unknown; paddingBytes: number }): { problem?: string; decoded: boolean } {
  try {
    const { document, paddingBytes } = run();
    if (typeof document !== 'object' || document === null || Object.keys(document).length !== 1) return { problem: 'decoded to something that is not a document', decoded: true };
    if (!Number.isInteger(paddingBytes) || paddingBytes < 0 || paddingBytes > bytes.length) return { problem: `paddingBytes ${paddingBytes} outside the input`, decoded: true };
    return { decoded: true };
  } catch (error) {
    if (!(error instanceof ExiDecodeError)) {
      const name = error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error);
      return { problem: `threw ${name} instead of ExiDecodeError`, decoded: false };
    }
    const at = error.bitPosition;
    if (!Number.isInteger(at) || at < 0 || at > bytes.length * 8) return { problem: `ExiDecodeError at bit ${at}, outside the ${bytes.length * 8}-bit input`, decoded: false };
    return { decoded: false };
  }
}

/**
 * Runs `iterations` mutated inputs through every decoder. `watch` (optional) is updated before each
 * input so a watchdog in another thread can name the input that hangs.
 */
export function fuzz(
  seeds: readonly Uint8Array[],
  options: { iterations: number; seed: number; watch?: SharedArrayBuffer; decode?: typeof decodeExi },
): FuzzReport {
  const random = prng(options.seed);
  const decode = options.decode ?? decodeExi;
  const gc = fullGc();
  const watchInts = options.watch ? new Int32Array(options.watch, 0, WATCH_HEADER_INTS) : undefined;
  const watchBytes = options.watch ? new Uint8Array(options.watch, WATCH_HEADER_INTS * 4) : undefined;
  const failures: FuzzFailure[] = [];
  let decoded = 0;
  let typedErrors = 0;
  let decodeCalls = 0;
  let maxAllocation = 0;
  let slowest: FuzzReport['slowest'] = { ms: 0, schema: 'app', bytes: 0, mutation: '', hex: '' };
  let heapAfterWarmup = 0;
  const warmup = Math.min(5_000, Math.floor(options.iterations / 10));
  if (watchInts) Atomics.store(watchInts, 3, 1);

  for (let i = 0; i < options.iterations; i++) {
    if (i === warmup) {
      gc();
      heapAfterWarmup = getHeapStatistics().used_heap_size;
    }
    const { bytes, mutation } = mutate(seeds, random);
    if (watchBytes) watchBytes.set(bytes);
    for (let s = 0; s < FUZZ_SCHEMAS.length; s++) {
      const schema = FUZZ_SCHEMAS[s];
      if (watchInts) {
        Atomics.store(watchInts, 1, s);
        Atomics.store(watchInts, 2, bytes.length);
      }
      const outcome = checkDecode(bytes, () => decode(schema, bytes));
      decodeCalls++;
      if (outcome.decoded) decoded++;
      else if (!outcome.problem) typedErrors++;
      if (outcome.ms > slowest.ms) slowest = { ms: outcome.ms, schema, bytes: bytes.length, mutation, hex: Buffer.from(bytes).toString('hex') };
      if (outcome.allocated > maxAllocation) maxAllocation = outcome.allocated;
      const problem = outcome.problem;
      if (problem && failures.length < 20) failures.push({ schema, hex: Buffer.from(bytes).toString('hex'), mutation, problem });
    }
    if (watchInts) Atomics.add(watchInts, 0, 1);
  }
  gc();
  return {
    inputs: options.iterations,
    decodeCalls,
    decoded,
    typedErrors,
    failures,
    slowest,
    heapAfterWarmup,
    heapAtEnd: getHeapStatistics().used_heap_size,
    maxAllocation,
  };
}
