/**
 * Bit-level reader and writer for schema-informed, bit-packed EXI 1.0 (the alignment ISO 15118-2 and
 * DIN 70121 use). The generated codecs in `generated/` call these; nothing here knows a schema.
 * No allocation per bit; byte fields decode as views into the input when they start on a byte boundary.
 */
import { ExiDecodeError, ExiEncodeError } from './errors.ts';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

export class BitReader {
  // Fields are declared for TypeScript only and assigned in the constructor: an ES2022 class field
  // definition runs an initializer per instance, and a reader is made for every decode.
  declare readonly bytes: Uint8Array;
  /** Current position in bits from the start of `bytes`. */
  declare pos: number;
  declare readonly end: number;

  constructor(bytes: Uint8Array, startBit = 0) {
    this.bytes = bytes;
    this.pos = startBit;
    this.end = bytes.length * 8;
    this.globalValues = undefined;
    this.localValues = undefined;
  }

  fail(message: string, at = this.pos): never {
    throw new ExiDecodeError(message, at);
  }

  private overrun(wanted: number): never {
    this.fail(`unexpected end of input: ${wanted} more bits needed, ${this.end - this.pos} left`);
  }

  /** Reads an n-bit unsigned integer, most significant bit first (n <= 24). */
  bits(n: number): number {
    const p = this.pos;
    const buf = this.bytes;
    const i = p >>> 3;
    // Kept small so V8 inlines it into the generated decoders; the last 3 octets and n = 0 take bitsNearEnd.
    if (i + 3 < buf.length && n !== 0) {
      // A 32-bit big-endian window holds the (at most 24 + 7) bits we need, so the window check is the bounds check.
      this.pos = p + n;
      return ((((buf[i] << 24) | (buf[i + 1] << 16) | (buf[i + 2] << 8) | buf[i + 3]) << (p & 7)) >>> (32 - n));
    }
    return this.bitsNearEnd(n);
  }

  private bitsNearEnd(n: number): number {
    const p = this.pos;
    if (p + n > this.end) this.overrun(n);
    if (n === 0) return 0;
    this.pos = p + n;
    const buf = this.bytes;
    const i = p >>> 3;
    // Fewer than 4 octets are left (i is one of them, as p < end): a 32-bit window with zeros past the end.
    const window = (buf[i] << 24) | (i + 1 < buf.length ? buf[i + 1] << 16 : 0) | (i + 2 < buf.length ? buf[i + 2] << 8 : 0);
    return (window << (p & 7)) >>> (32 - n);
  }

  /** Non-zero bits where a combined read expected only zero event codes (single-production states, CH, EE). */
  deviation(at: number, where: string): never {
    this.fail(`${where}: unexpected event code or schema deviation (second-level event), which V2G streams do not use`, at);
  }

  /** Reads 8 bits, fast when aligned. */
  byte(): number {
    const p = this.pos;
    if (p + 8 > this.end) this.overrun(8);
    this.pos = p + 8;
    const shift = p & 7;
    if (shift === 0) return this.bytes[p >>> 3];
    return ((this.bytes[p >>> 3] << shift) | (this.bytes[(p >>> 3) + 1] >>> (8 - shift))) & 0xff;
  }

  bool(): boolean {
    return this.bits(1) === 1;
  }

  /** EXI unsigned integer (7-bit groups, least significant first) that must fit a safe JS number. */
  uint(): number {
    const p = this.pos;
    const buf = this.bytes;
    const i = p >>> 3;
    // One or two octets (most V2G values) from one 32-bit window, as in bits(); the rest in uintLong.
    if (i + 3 < buf.length) {
      const window = (((buf[i] << 24) | (buf[i + 1] << 16) | (buf[i + 2] << 8) | buf[i + 3]) << (p & 7)) >>> 0;
      const low = window >>> 24;
      if (low < 128) {
        this.pos = p + 8;
        return low;
      }
      const high = (window >>> 16) & 0xff;
      if (high < 128) {
        this.pos = p + 16;
        return (low & 127) | (high << 7);
      }
    }
    return this.uintLong();
  }

  private uintLong(): number {
    const start = this.pos;
    const buf = this.bytes;
    const shift = start & 7;
    let p = start;
    let result = 0;
    let factor = 1;
    // The octets read in place (not through byte()): most values are one or two octets.
    for (;;) {
      if (p + 8 > this.end) {
        this.pos = p;
        this.overrun(8);
      }
      const i = p >>> 3;
      const b = shift === 0 ? buf[i] : ((buf[i] << shift) | (buf[i + 1] >>> (8 - shift))) & 0xff;
      p += 8;
      result += (b & 127) * factor;
      if (b < 128) break;
      factor *= 128;
      if (factor > 2 ** 56) {
        this.pos = p;
        this.fail('unsigned integer longer than 8 octets', start);
      }
    }
    this.pos = p;
    if (result > MAX_SAFE) this.fail('unsigned integer larger than 2^53-1', start);
    return result;
  }

  /** EXI unsigned integer of any size: a number while it is safe, else a bigint. */
  uintBig(): number | bigint {
    const start = this.pos;
    // Up to 7 groups (49 bits) the value is exact as a number. A longer one (a certificate serial
    // number) keeps its further 7-bit groups and becomes a BigInt 28 bits at a time: a 20-octet
    // serial costs a few BigInt steps instead of two per group.
    let low = 0;
    let factor = 1;
    for (let groups = 0; groups < 7; groups++) {
      const b = this.byte();
      low += (b & 127) * factor;
      if (b < 128) return low;
      factor *= 128;
    }
    const high: number[] = [];
    for (let groups = 7; ; ) {
      const b = this.byte();
      high.push(b & 127);
      if (b < 128) break;
      // An xs:integer of more than 4096 bits is not a V2G value; stop before the work grows unbounded.
      if (++groups > 586) this.fail('unsigned integer longer than 4096 bits', start);
    }
    let result = 0n;
    let k = high.length;
    for (let take = ((k - 1) % 4) + 1; k > 0; k -= take, take = 4) {
      let chunk = 0;
      for (let j = k - 1; j >= k - take; j--) chunk = chunk * 128 + high[j];
      result = (result << BigInt(7 * take)) | BigInt(chunk);
    }
    result = (result << 49n) | BigInt(low);
    return result <= BigInt(MAX_SAFE) ? Number(result) : result;
  }

  /** EXI integer: sign bit, then the magnitude (negative values store -value-1). */
  int(): number {
    const negative = this.bits(1) === 1;
    const magnitude = this.uint();
    return negative ? -magnitude - 1 : magnitude;
  }

  intBig(): number | bigint {
    const negative = this.bits(1) === 1;
    const magnitude = this.uintBig();
    if (!negative) return magnitude;
    if (typeof magnitude === 'number' && magnitude < MAX_SAFE) return -magnitude - 1;
    const value = -BigInt(magnitude) - 1n;
    return value >= BigInt(-MAX_SAFE) ? Number(value) : value;
  }

  /** An enumeration index read as part of a combined read; `at` is where its bits started. */
  index(value: number, count: number, at: number): number {
    if (value >= count) this.fail(`enumeration index ${value} out of range (${count} values)`, at);
    return value;
  }

  /** An n-bit integer read as part of a combined read, checked against maxInclusive. */
  upTo(value: number, max: number, at: number): number {
    if (value > max) this.fail(`integer ${value} above maxInclusive ${max}`, at);
    return value;
  }

  /** An n-bit offset from `min` (bounded integer ranges). */
  nbit(n: number, min: number, max: number): number {
    const at = this.pos;
    const value = this.bits(n) + min;
    if (value > max) this.fail(`integer ${value} above maxInclusive ${max}`, at);
    return value;
  }

  uintMax(max: number): number {
    const at = this.pos;
    const value = this.uint();
    if (value > max) this.fail(`integer ${value} above maxInclusive ${max}`, at);
    return value;
  }

  intRange(min: number, max: number): number {
    return this.intRangeAfterSign(this.bits(1) === 1, min, max);
  }

  /** The magnitude of an EXI integer whose sign bit ended the combined read just before, checked against [min, max]. */
  intRangeAfterSign(negative: boolean, min: number, max: number): number {
    const at = this.pos - 1;
    const magnitude = this.uint();
    const value = negative ? -magnitude - 1 : magnitude;
    if (value < min || value > max) this.fail(`integer ${value} outside [${min}, ${max}]`, at);
    return value;
  }

  bigRange(value: number | bigint, min: bigint | undefined, max: bigint | undefined): number | bigint {
    if ((min !== undefined && value < min) || (max !== undefined && value > max)) this.fail(`integer ${value} outside [${min ?? ''}, ${max ?? ''}]`);
    return value;
  }

  /** hexBinary/base64Binary: length, then the octets. A view into the input when aligned, else a copy. */
  binary(maxLength: number): Uint8Array {
    const start = this.pos;
    const length = this.uint();
    if (length > maxLength) this.fail(`binary of ${length} octets exceeds maxLength ${maxLength}`, start);
    if (length * 8 > this.end - this.pos) this.overrun(length * 8);
    const p = this.pos;
    this.pos = p + length * 8;
    if ((p & 7) === 0) {
      const bytes = this.bytes;
      // subarray() looks up the species constructor on every call; a plain Uint8Array view is made directly (a Buffer stays a Buffer).
      return bytes.constructor === Uint8Array ? new Uint8Array(bytes.buffer, bytes.byteOffset + (p >>> 3), length) : bytes.subarray(p >>> 3, (p >>> 3) + length);
    }
    const out = new Uint8Array(length);
    const shift = p & 7;
    const back = 8 - shift;
    const buf = this.bytes;
    let i = p >>> 3;
    // Each output octet straddles two input octets; carry the left one instead of reading it twice.
    let left = buf[i];
    for (let k = 0; k < length; k++) {
      const right = buf[++i];
      out[k] = ((left << shift) | (right >>> back)) & 0xff;
      left = right;
    }
    return out;
  }

  /** String table (EXI 7.3): every non-empty string value read, globally and per qname, for value hits. */
  private declare globalValues: string[] | undefined;
  private declare localValues: Map<string, string[]> | undefined;

  /**
   * A string value: length+2 then code points, or a string table hit (0 = local, 1 = global, then an
   * index). V2G encoders write no hits, but EXI allows them, so a decoder follows them.
   * `partition` is the element or attribute qname the value belongs to.
   */
  string(maxLength: number, partition: string): string {
    const start = this.pos;
    const n = this.uint();
    if (n < 2) {
      const table = n === 0 ? this.localValues?.get(partition) : this.globalValues;
      const size = table?.length ?? 0;
      if (size === 0) this.fail(`string table ${n === 0 ? 'local' : 'global'} value hit with no values yet`, start);
      const index = this.bits(size === 1 ? 0 : Math.ceil(Math.log2(size)));
      if (index >= size) this.fail(`string table index ${index} out of range (${size} values)`, start);
      const hit = table![index];
      if (hit.length > maxLength) this.fail(`string of ${hit.length} characters exceeds maxLength ${maxLength}`, start);
      return hit;
    }
    const length = n - 2;
    if (length > maxLength) this.fail(`string of ${length} characters exceeds maxLength ${maxLength}`, start);
    if (length * 8 > this.end - this.pos) this.overrun(length * 8);
    let s = '';
    for (let k = 0; k < length; k++) {
      const b = this.byte();
      if (b < 128) {
        s += String.fromCharCode(b);
        continue;
      }
      this.pos -= 8;
      const at = this.pos;
      const cp = this.uint();
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) this.fail(`code point ${cp} is not a Unicode scalar value`, at);
      s += String.fromCodePoint(cp);
    }
    if (length > 0) {
      (this.globalValues ??= []).push(s);
      const locals = (this.localValues ??= new Map());
      const local = locals.get(partition);
      if (local) local.push(s);
      else locals.set(partition, [s]);
    }
    return s;
  }

  /** An n-bit enumeration index that must name one of `count` literals. */
  enumIndex(n: number, count: number): number {
    const at = this.pos;
    const index = this.bits(n);
    if (index >= count) this.fail(`enumeration index ${index} out of range (${count} values)`, at);
    return index;
  }

  /** Event code of the CH or EE that follows SE in a simple-typed element; anything but 0 is a deviation. */
  expectZero(n: number, what: string): void {
    const at = this.pos;
    if (this.bits(n) !== 0) this.fail(`${what}: schema deviation (second-level event) is not supported`, at);
  }

  /** An event code that no production of the current grammar state has, or one we do not accept. */
  unexpected(code: number, width: number, state: string): never {
    this.fail(`event code ${code} not allowed in ${state}`, this.pos - width);
  }
}

/** Appends bits to a growable buffer through a small accumulator. One instance is reused across encodes. */
export class BitWriter {
  private buf = new Uint8Array(512);
  /** Complete bytes written. */
  private len = 0;
  /** Pending bits (fewer than 8) and their count. */
  private acc = 0;
  private cnt = 0;
  reset(): void {
    this.len = 0;
    this.acc = 0;
    this.cnt = 0;
  }

  /** Bits written so far. */
  get pos(): number {
    return this.len * 8 + this.cnt;
  }

  /** The bytes written so far, padded with zero bits to a byte boundary (a copy). */
  finish(): Uint8Array {
    if (this.cnt > 0) this.buf[this.len] = this.acc << (8 - this.cnt);
    // slice() of the plain Uint8Array: a byte loop cost twice as much even for a 45-byte message (Node 20).
    return this.buf.slice(0, this.len + (this.cnt > 0 ? 1 : 0));
  }

  private grow(bytes: number): Uint8Array<ArrayBuffer> {
    let size = this.buf.length * 2;
    while (size < this.len + bytes + 16) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    return next;
  }

  /** Appends the low n bits of value (value < 2^n, n <= 24). */
  bits(value: number, n: number): void {
    // At most 7 pending + 24 new bits: the accumulator stays a 31-bit integer and at most 3 octets complete.
    const acc = (this.acc << n) | value;
    let cnt = this.cnt + n;
    if (cnt < 8) {
      // No octet completes (most event codes): no buffer access at all.
      this.acc = acc;
      this.cnt = cnt;
      return;
    }
    let len = this.len;
    let buf = this.buf;
    if (len + 3 > buf.length) buf = this.grow(3);
    cnt -= 8;
    buf[len++] = acc >>> cnt; // a Uint8Array store keeps the low 8 bits
    if (cnt >= 8) {
      cnt -= 8;
      buf[len++] = acc >>> cnt;
      if (cnt >= 8) {
        cnt -= 8;
        buf[len++] = acc >>> cnt;
      }
    }
    this.len = len;
    this.acc = acc & ((1 << cnt) - 1);
    this.cnt = cnt;
  }

  byte(b: number): void {
    if (this.cnt === 0) {
      if (this.len + 1 > this.buf.length) this.grow(1);
      this.buf[this.len++] = b;
    } else this.bits(b, 8);
  }

  uint(value: number): void {
    // Small values (most of V2G's) in one write of 8 or 16 bits.
    if (value < 128) return this.bits(value, 8);
    if (value < 16384) return this.bits((((value & 127) | 128) << 8) | (value >>> 7), 16);
    while (value >= 128) {
      this.byte((value % 128) | 128);
      value = Math.floor(value / 128);
    }
    this.byte(value);
  }

  /** uint(value), then the low n bits of `bits` (n <= 8): a small value and the codes after it in one write. */
  uintThen(value: number, bits: number, n: number): void {
    if (value < 128) return this.bits((value << n) | bits, 8 + n);
    if (value < 16384) return this.bits((((((value & 127) | 128) << 8) | (value >>> 7)) << n) | bits, 16 + n);
    this.uint(value);
    this.bits(bits, n);
  }

  uintBig(value: number | bigint): void {
    if (typeof value === 'number') return this.uint(value);
    // 28 bits at a time through a number (four groups, each followed by more): see the reader's uintBig.
    while (value >= 0x10000000n) {
      let chunk = Number(value & 0xfffffffn);
      value >>= 28n;
      for (let k = 0; k < 4; k++) {
        this.byte((chunk & 127) | 128);
        chunk >>>= 7;
      }
    }
    while (value >= 128n) {
      this.byte(Number(value & 127n) | 128);
      value >>= 7n;
    }
    this.byte(Number(value));
  }

  int(value: number): void {
    if (value < 0) {
      this.bits(1, 1);
      this.uint(-value - 1);
    } else {
      this.bits(0, 1);
      this.uint(value);
    }
  }

  intBig(value: number | bigint): void {
    if (typeof value === 'number') return this.int(value);
    if (value < 0n) {
      this.bits(1, 1);
      this.uintBig(-value - 1n);
    } else {
      this.bits(0, 1);
      this.uintBig(value);
    }
  }

  binary(bytes: Uint8Array): void {
    const length = bytes.length;
    this.uint(length);
    if (this.len + length + 4 > this.buf.length) this.grow(length + 4);
    const buf = this.buf;
    if (this.cnt === 0) {
      buf.set(bytes, this.len);
      this.len += length;
      return;
    }
    // Each input octet completes the pending bits and leaves the same number pending.
    const cnt = this.cnt;
    const mask = (1 << cnt) - 1;
    let acc = this.acc;
    let len = this.len;
    for (let k = 0; k < length; k++) {
      const combined = (acc << 8) | bytes[k];
      buf[len++] = combined >>> cnt;
      acc = combined & mask;
    }
    this.acc = acc;
    this.len = len;
  }

  /** Writes a string value (length+2, code points); `length` is its count of code points. */
  string(s: string, length: number): void {
    this.uint(length + 2);
    for (let k = 0; k < s.length; k++) {
      const c = s.charCodeAt(k);
      if (c < 128) this.byte(c);
      else {
        const cp = s.codePointAt(k)!;
        if (cp > 0xffff) k++;
        this.uint(cp);
      }
    }
  }

  /**
   * Rethrows an error from the child element `name` (item `index` of a list) with that name in front of
   * its path. The generated encoders call children inside try/catch and build the path as an error
   * unwinds: keeping the path of every element on the writer cost an eighth of a small message's encode.
   */
  within(error: unknown, name: string, index = -1): never {
    if (!(error instanceof ExiEncodeError)) throw error;
    const head = index >= 0 ? `${name}[${index}]` : name;
    throw new ExiEncodeError(error.path === '' ? head : `${head}.${error.path}`, error.detail);
  }

  /** Fails at child `field` of the element being encoded (the element itself when undefined); callers put their names in front (within). */
  fail(field: string | undefined, message: string): never {
    throw new ExiEncodeError(field ?? '', message);
  }

  /** No production for `field` (or for the end, when undefined) in the current state; `expected` lists what the state allows. */
  unexpected(expected: string, field: string | undefined): never {
    const allowed = expected.split('|');
    if (field === undefined) {
      const missing = allowed.filter((name) => name !== '(end)');
      this.fail(missing.length === 1 ? missing[0] : undefined, missing.length === 1 ? 'required element missing' : `content incomplete, expected one of ${missing.join(', ')}`);
    }
    this.fail(field, `not allowed here (expected ${allowed.join(', ')}): a choice already made, maxOccurs reached, or an earlier required element missing`);
  }

  // Value checks shared by every generated encoder; each names the offending child on failure.

  private wrongType(value: unknown, field: string, expected: string): never {
    this.fail(field, value === undefined ? 'required element missing' : `expected ${expected}, got ${describe(value)}`);
  }

  checkString(value: unknown, field: string, minLength: number, maxLength: number): number {
    if (typeof value !== 'string') this.wrongType(value, field, 'a string');
    let length = value.length;
    for (let k = 0; k < value.length; k++) {
      const c = value.charCodeAt(k);
      if (c >= 0xd800 && c <= 0xdbff) {
        const next = value.charCodeAt(k + 1);
        if (next >= 0xdc00 && next <= 0xdfff) {
          length--;
          k++;
        } else this.fail(field, 'string contains a lone surrogate');
      } else if (c >= 0xdc00 && c <= 0xdfff) this.fail(field, 'string contains a lone surrogate');
    }
    if (length < minLength || length > maxLength) this.fail(field, `string length ${length} outside [${minLength}, ${maxLength}]`);
    return length;
  }

  checkBinary(value: unknown, field: string, minLength: number, maxLength: number): Uint8Array {
    if (!(value instanceof Uint8Array)) this.wrongType(value, field, 'a Uint8Array');
    if (value.length < minLength || value.length > maxLength) this.fail(field, `byte length ${value.length} outside [${minLength}, ${maxLength}]`);
    return value;
  }

  checkInt(value: unknown, field: string, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value)) this.wrongType(value, field, 'an integer');
    if (value < min || value > max) this.fail(field, `integer ${value} outside [${min}, ${max}]`);
    return value;
  }

  checkBigInt(value: unknown, field: string, min: bigint | undefined, max: bigint | undefined): number | bigint {
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value)) this.fail(field, `expected an exact integer, got ${value}`);
    } else if (typeof value !== 'bigint') this.wrongType(value, field, 'an integer');
    if ((min !== undefined && value < min) || (max !== undefined && value > max)) this.fail(field, `integer ${value} outside [${min ?? ''}, ${max ?? ''}]`);
    return value;
  }

  checkBool(value: unknown, field: string): boolean {
    if (typeof value !== 'boolean') this.wrongType(value, field, 'a boolean');
    return value;
  }

  checkObject(value: unknown, field: string): void {
    // isView first, one type check: instanceof walks a plain object's prototype chain (about 3 ns, ten times in a CurrentDemandReq).
    if (typeof value !== 'object' || value === null || Array.isArray(value) || (ArrayBuffer.isView(value) && value instanceof Uint8Array)) this.wrongType(value, field, 'an element object');
  }

  checkArray(value: unknown, field: string, min: number, max: number): unknown[] {
    if (!Array.isArray(value)) this.fail(field, `expected an array, got ${describe(value)}`);
    if (value.length < min || value.length > max) this.fail(field, `${value.length} occurrences outside [${min}, ${max === Infinity ? 'unbounded' : max}] (maxOccurs)`);
    return value;
  }

  /** Checks the index a generated literal switch found for `value` (-1: not a literal of the enumeration). */
  enumIndex(index: number, value: unknown, field: string, literals: readonly string[]): number {
    if (index < 0) {
      if (value === undefined) this.wrongType(value, field, 'an enumeration value');
      this.fail(field, `${describe(value)} is not one of ${literals.join(', ')}`);
    }
    return index;
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return 'bytes';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value === 'object' ? 'an object' : String(value);
}
