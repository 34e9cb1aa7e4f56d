/**
 * The JSON shape of exi.md (binary as lowercase hex, integers as numbers, `{Id, CONTENT}` for simple
 * content with attributes, arrays for maxOccurs > 1) mapped to and from the typed values the
 * generated codecs use (Uint8Array, number | bigint). Driven by the generated schema model.
 */
import { ExiEncodeError } from './errors.ts';
import type { ModelParticle, ModelType, ModelValue, SchemaModel } from './model-types.ts';

interface FieldSpec {
  readonly value?: ModelValue;
  readonly type?: string;
  readonly array: boolean;
  /** A single simple value whose JSON form is its typed form (not hex, not a big integer): copied as it is. */
  readonly same: boolean;
}

const sameInBothForms = (value: ModelValue | undefined): boolean =>
  value !== undefined && value.kind !== 'binary' && !((value.kind === 'uint' || value.kind === 'int') && value.big);

const fieldSpec = (value: ModelValue | undefined, type: string | undefined, array: boolean): FieldSpec => ({ value, type, array, same: !array && sameInBothForms(value) });

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function bytesToHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]];
  return s;
}

const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  NIBBLE['0123456789abcdef'.charCodeAt(i)] = i;
  NIBBLE['0123456789ABCDEF'.charCodeAt(i)] = i;
}

function hexToBytes(hex: string, path: string): Uint8Array {
  if (hex.length % 2 !== 0) throw new ExiEncodeError(path, 'expected a hex string of whole octets');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = NIBBLE[hex.charCodeAt(2 * i) & 127];
    const lo = NIBBLE[hex.charCodeAt(2 * i + 1) & 127];
    if (hi < 0 || lo < 0 || hex.charCodeAt(2 * i) > 127 || hex.charCodeAt(2 * i + 1) > 127) throw new ExiEncodeError(path, 'expected a hex string of whole octets');
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** Looks up types across one or more generated modules and converts between JSON and typed values. */
export class JsonMapper {
  private readonly types: Record<string, ModelType> = {};
  private readonly fieldCache = new Map<string, Map<string, FieldSpec>>();

  constructor(models: readonly SchemaModel[]) {
    for (const m of models) Object.assign(this.types, m.types);
  }

  private fields(typeName: string): Map<string, FieldSpec> {
    let fields = this.fieldCache.get(typeName);
    if (fields) return fields;
    const t = this.types[typeName];
    if (!t) throw new Error(`unknown type ${typeName}`);
    fields = new Map<string, FieldSpec>();
    for (const a of t.attributes) fields.set(a.name, fieldSpec(a.value, undefined, false));
    if (t.content.kind === 'simple') fields.set('CONTENT', fieldSpec(t.content.value, undefined, false));
    if (t.content.kind === 'particle') collect(t.content.particle, fields);
    this.fieldCache.set(typeName, fields);
    return fields;
  }

  /** JSON → typed, for an element of complex type `typeName` or simple value `value`. */
  fromJson(json: unknown, spec: { type?: string; value?: ModelValue }, path: string): unknown {
    if (spec.value) return valueFromJson(json, spec.value, path);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ExiEncodeError(path, 'expected an element object');
    const fields = this.fields(spec.type!);
    const out: Record<string, unknown> = {};
    // for…in with hasOwn visits what Object.entries does without an array of pairs per element
    // (the SECC encodes a CurrentDemandRes 4 times a second per session); a path string is built
    // only where a conversion can fail.
    for (const key in json) {
      if (!Object.hasOwn(json, key)) continue;
      const field = fields.get(key);
      if (!field) throw new ExiEncodeError(`${path}.${key}`, `not an attribute or child element of ${spec.type}`);
      const x = (json as Record<string, unknown>)[key];
      if (x === undefined) continue;
      if (field.same) {
        out[key] = x;
        continue;
      }
      const childPath = `${path}.${key}`;
      // A repeated element given as a single object (as the corpus decodings write xmldsig Transform) is a list of one.
      out[key] = field.array ? (Array.isArray(x) ? x : [x]).map((item) => this.fromJson(item, field, childPath)) : this.fromJson(x, field, childPath);
    }
    return out;
  }
}

function collect(root: ModelParticle, into: Map<string, FieldSpec>): void {
  const walk = (p: ModelParticle): void => {
    if (p.k === 'el') into.set(p.name, fieldSpec(p.value, p.type, maxOccurrences(root, p.name) > 1));
    else if (p.k !== 'any') p.items.forEach(walk);
  };
  walk(root);
}

/** How often element `name` can occur in a content model: a list (maxOccurs > 1) in the typed and JSON shapes when above 1. */
export function maxOccurrences(p: ModelParticle, name: string): number {
  const times = (n: number): number => (p.max === -1 ? (n > 0 ? Infinity : 0) : n * p.max);
  if (p.k === 'el') return p.name === name ? (p.max === -1 ? Infinity : p.max) : 0;
  if (p.k === 'any') return 0;
  const inner = p.items.map((item) => maxOccurrences(item, name));
  return times(p.k === 'seq' ? inner.reduce((a, b) => a + b, 0) : Math.max(0, ...inner));
}

function valueFromJson(x: unknown, value: ModelValue, path: string): unknown {
  if (value.kind === 'binary') {
    if (typeof x !== 'string') throw new ExiEncodeError(path, 'expected a hex string');
    return hexToBytes(x, path);
  }
  if ((value.kind === 'uint' || value.kind === 'int') && value.big) {
    if (typeof x === 'string' && /^-?\d+$/.test(x)) {
      const n = BigInt(x);
      return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
    }
  }
  return x;
}

/**
 * Typed → JSON: bytes to lowercase hex, integers beyond 2^53 to decimal strings, or kept as
 * bigints with `exactIntegers` (for a writer that prints them as numbers, exact-json.ts).
 */
export function toJson(value: unknown, exactIntegers = false): unknown {
  if (value instanceof Uint8Array) return bytesToHex(value);
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) && BigInt(Number(value)) === value ? Number(value) : exactIntegers ? value : value.toString();
  if (Array.isArray(value)) return value.map((item) => toJson(item, exactIntegers));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJson(v, exactIntegers);
    return out;
  }
  return value;
}
