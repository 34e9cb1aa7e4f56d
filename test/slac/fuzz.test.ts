// Fuzzes the SLAC frame decoder with mutated frames of every message type: bit flips, byte writes,
// truncations, extensions, swapped MMTYPEs, huge length bytes. Each input must decode or fail with
// a SlacCodecError; a decoded known message must re-encode and decode to the same message; the live
// heap stays bounded. CI: 100,000 inputs, fixed seed. `npm run fuzz:slac` runs 1,000,000
// (FUZZ_ITERATIONS / --iterations=N, FUZZ_SEED / --seed=N).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SLAC_SPECS, SlacCodecError, decodeSlacFrame, encodeSlacFrame } from '../../protocols/slac/index.ts';
import { sampleFrames } from './samples.ts';
import { seededRandom } from '../../actors/link/row.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function option(name: string, env: string, fallback: number): number {
  const flag = process.argv.find((arg) => arg.startsWith(`--${name}=`));
  const text = flag ? flag.slice(name.length + 3) : process.env[env];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`--${name}/${env} must be a non-negative integer`);
  return value;
}

const iterations = option('iterations', 'FUZZ_ITERATIONS', 100_000);
const seed = option('seed', 'FUZZ_SEED', 15118);
const MAX_HEAP_GROWTH = 16 * 1024 * 1024;
const MMTYPES = [...Object.values(SLAC_SPECS).map((s) => s.mmtype), 0xa14e, 0x6099];

function mutate(seedFrame: Uint8Array, random: () => number): Uint8Array {
  const int = (n: number) => Math.floor(random() * n);
  let frame = seedFrame.slice();
  const rounds = 1 + int(4);
  for (let r = 0; r < rounds; r++) {
    switch (int(8)) {
      case 0: if (frame.length) frame[int(frame.length)] ^= 1 << int(8); break;
      case 1: if (frame.length) frame[int(frame.length)] = int(256); break;
      case 2: frame = frame.subarray(0, int(frame.length + 1)); break;
      case 3: { const grown = new Uint8Array(frame.length + int(64)); grown.set(frame); for (let i = frame.length; i < grown.length; i++) grown[i] = int(256); frame = grown; break; }
      case 4: if (frame.length >= 17) { const t = MMTYPES[int(MMTYPES.length)]; frame[15] = t & 0xff; frame[16] = t >> 8; } break;
      case 5: if (frame.length > 19) frame[19 + int(frame.length - 19)] = 0xff; break;
      case 6: if (frame.length >= 15) frame[14] = int(4); break;
      default: frame = Uint8Array.from({ length: int(200) }, () => int(256));
    }
  }
  return frame;
}

test(`${iterations} mutated frames: only typed errors, stable round trips, bounded memory (seed ${seed})`, () => {
  const random = seededRandom(seed);
  const seeds = sampleFrames();
  const outcomes = { decoded: 0, unknown: 0, errors: new Map<string, number>() };
  let baseline = 0;
  for (let i = 0; i < iterations; i++) {
    if (i === 1000) { gc(); baseline = process.memoryUsage().heapUsed; }
    const input = mutate(seeds[i % seeds.length], random);
    let frame;
    try {
      frame = decodeSlacFrame(input);
    } catch (error) {
      if (!(error instanceof SlacCodecError)) throw new Error(`input ${i} threw ${String(error)}: ${Buffer.from(input).toString('hex')}`);
      outcomes.errors.set(error.reason, (outcomes.errors.get(error.reason) ?? 0) + 1);
      continue;
    }
    if (frame.message.type === 'Unknown') { outcomes.unknown++; continue; }
    outcomes.decoded++;
    let again;
    try {
      again = decodeSlacFrame(encodeSlacFrame(frame.message, frame));
    } catch (error) {
      throw new Error(`input ${i} decoded but did not round-trip (${String(error)}): ${Buffer.from(input).toString('hex')}`);
    }
    if (JSON.stringify(again.message) !== JSON.stringify(frame.message)) assert.unreachable(`input ${i} changed on re-encode: ${Buffer.from(input).toString('hex')}`);
  }
  gc();
  const growth = process.memoryUsage().heapUsed - baseline;
  console.log(`fuzz:slac ${iterations} inputs: ${outcomes.decoded} decoded, ${outcomes.unknown} unknown, errors ${JSON.stringify(Object.fromEntries(outcomes.errors))}, heap growth ${(growth / 1e6).toFixed(1)} MB`);
  assert.ok(outcomes.decoded > 0 && outcomes.errors.size > 0, 'the mutations reach both outcomes');
  assert.ok(growth < MAX_HEAP_GROWTH, `heap grew ${growth} bytes`);
});

test.run();
