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

  /**
   * JSON → typed, for an element of complex type `typeName` or simple value `value`. Copy on write:
   * an element none of whose values needs converting (no bytes, no big integer as a string, no
   * repeated element given as a single object) is returned as it is, so a message with a few byte
   * fields costs a copy of the elements on the paths to them, not of every element (the SECC encodes
   * a CurrentDemandRes 4 times a second per session).
   */
  fromJson(json: unknown, spec: { type?: string; value?: ModelValue }, path: string): unknown {
    if (spec.value) return valueFromJson(json, spec.value, path);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ExiEncodeError(path, 'expected an element object');
    const element = json as Record<string, unknown>;
    const fields = this.fields(spec.type!);
    let out: Record<string, unknown> | undefined;
    // for…in with hasOwn visits what Object.entries does without an array of pairs per element; a
    // path string is built only for a child that is converted or checked below.
    for (const key in element) {
      if (!Object.hasOwn(element, key)) continue;
      const field = fields.get(key);
      if (!field) throw new ExiEncodeError(`${path}.${key}`, `not an attribute or child element of ${spec.type}`);
      const x = element[key];
      if (x === undefined) continue;
      let typed: unknown = x;
      if (!field.same) {
        const childPath = `${path}.${key}`;
        // A repeated element given as a single object (as the corpus decodings write xmldsig Transform) is a list of one.
        typed = !field.array ? this.fromJson(x, field, childPath) : Array.isArray(x) ? this.listFromJson(x, field, childPath) : [this.fromJson(x, field, childPath)];
      }
      if (typed !== x && !out) out = copyBefore(element, key);
      if (out) out[key] = typed;
    }
    return out ?? element;
  }

  private listFromJson(items: readonly unknown[], field: FieldSpec, path: string): readonly unknown[] {
    let out: unknown[] | undefined;
    for (let i = 0; i < items.length; i++) {
      const typed = this.fromJson(items[i], field, path);
      if (typed !== items[i] && !out) out = items.slice(0, i);
      out?.push(typed);
    }
    return out ?? items;
  }
}

/** The defined values of `element` before `key`: the part a copy on write keeps as it was. */
function copyBefore(element: Record<string, unknown>, key: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in element) {
    if (k === key) break;
    if (Object.hasOwn(element, k) && element[k] !== undefined) out[k] = element[k];
  }
  return out;
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
 * Typed → JSON, in place: bytes to lowercase hex, integers beyond 2^53 to decimal strings, or kept as
 * bigints with `exactIntegers` (for a writer that prints them as numbers, exact-json.ts). The decoder's
 * fresh document is converted where it stands: a copy of every element per decoded message was a fifth
 * of what the SECC allocated in its charging loop. Give it only a value no one else holds.
 */
export function toJson(value: unknown, exactIntegers = false): unknown {
  if (value instanceof Uint8Array) return bytesToHex(value);
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) && BigInt(Number(value)) === value ? Number(value) : exactIntegers ? value : value.toString();
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = toJson(value[i], exactIntegers);
    return value;
  }
  if (typeof value === 'object' && value !== null) {
    const object = value as Record<string, unknown>;
    for (const key in object) {
      if (!Object.hasOwn(object, key)) continue;
      const item = object[key];
      if (item === undefined) delete object[key];
      else if (typeof item === 'object' || typeof item === 'bigint') object[key] = toJson(item, exactIntegers);
    }
  }
  return value;
}
