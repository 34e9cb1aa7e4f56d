// EXI unsigned integers of any size (BitWriter/BitReader uintBig, used for xs:integer such as
// X509SerialNumber): the octets are the 7-bit groups least significant first, each but the last
// with its high bit set (EXI 1.0 §7.1.6), however the runtime computes them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BitReader, BitWriter } from '../../protocols/exi/runtime.ts';
import { ExiDecodeError } from '../../protocols/exi/errors.ts';

/** The groups one at a time, as the spec states them. */
function groupsOf(value: bigint): number[] {
  const octets: number[] = [];
  while (value >= 128n) {
    octets.push(Number(value & 127n) | 128);
    value >>= 7n;
  }
  octets.push(Number(value));
  return octets;
}

/** Deterministic values: the edges of the number and 28-bit ranges, and lengths up to 40 octets. */
function values(): bigint[] {
  const edges = [0n, 1n, 127n, 128n, 2n ** 28n - 1n, 2n ** 28n, 2n ** 49n - 1n, 2n ** 49n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 56n, 2n ** 160n - 1n, 2n ** 4000n + 12345n];
  let seed = 0x2545f491;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  const random: bigint[] = [];
  for (let i = 0; i < 400; i++) {
    let value = 0n;
    for (let k = 1 + (i % 40); k > 0; k--) value = (value << 8n) | BigInt(next());
    random.push(value);
  }
  return [...edges, ...random];
}

test('uintBig writes the 7-bit groups and reads the value back (a number while it is safe), at any bit offset', () => {
  for (const value of values()) {
    for (const offset of [0, 3]) {
      const writer = new BitWriter();
      writer.bits(0, offset);
      writer.uintBig(value);
      const bytes = writer.finish();
      if (offset === 0) assert.equal([...bytes], groupsOf(value), String(value));
      const reader = new BitReader(bytes);
      reader.pos = offset;
      assert.is(reader.uintBig(), value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value, String(value));
    }
  }
});

test('uintBig reads leading zero groups as the value, and refuses more than 4096 bits', () => {
  assert.is(new BitReader(new Uint8Array([...Array(9).fill(0x80), 0x00])).uintBig(), 0);
  assert.is(new BitReader(new Uint8Array([...Array(9).fill(0x80), 0x01])).uintBig(), 2n ** 63n);
  const read = (continued: number) => new BitReader(new Uint8Array([...Array(continued).fill(0xff), 0x7f])).uintBig();
  assert.is(read(586), 2n ** (7n * 587n) - 1n);
  assert.throws(() => read(587), (error: unknown) => error instanceof ExiDecodeError && /longer than 4096 bits/.test((error as Error).message));
});

test.run();
