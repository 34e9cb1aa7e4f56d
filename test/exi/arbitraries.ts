// fast-check arbitraries for valid EXI documents, built from the schema model the generator emits
// (protocols/exi/generated/*.ts `model`), so every message type gets one without hand-written code.
import fc from 'fast-check';
import { maxOccurrences } from '../../protocols/exi/json.ts';
import type { ModelParticle, ModelType, ModelValue, SchemaModel } from '../../protocols/exi/model-types.ts';

type Entries = [string, unknown][];

export interface ArbitraryOptions {
  /** Longest string or byte value generated (schema maxLength still wins when smaller). */
  readonly maxValueLength: number;
  /** Extra items beyond minOccurs for unbounded lists (so DIN lists get longer than 2). */
  readonly unboundedExtra: number;
}

const DEFAULTS: ArbitraryOptions = { maxValueLength: 40, unboundedExtra: 4 };

/** Arbitraries for the complex types of one or more modules (e.g. iso2 + xmldsig), typed values (Uint8Array, number | bigint). */
export class ModelArbitraries {
  private readonly types: Record<string, ModelType> = {};
  private readonly cache = new Map<string, fc.Arbitrary<Record<string, unknown>>>();
  private readonly options: ArbitraryOptions;

  constructor(models: readonly SchemaModel[], options: Partial<ArbitraryOptions> = {}) {
    for (const m of models) Object.assign(this.types, m.types);
    this.options = { ...DEFAULTS, ...options };
  }

  type(name: string): fc.Arbitrary<Record<string, unknown>> {
    let arb = this.cache.get(name);
    if (arb) return arb;
    const t = this.types[name];
    if (!t) throw new Error(`unknown type ${name}`);
    const parts: fc.Arbitrary<Entries>[] = t.attributes.map((a) => {
      const value = this.value(a.value).map((v): Entries => [[a.name, v]]);
      return a.required ? value : fc.option(value, { nil: [] as Entries });
    });
    if (t.content.kind === 'simple') parts.push(this.value(t.content.value).map((v): Entries => [['CONTENT', v]]));
    const particle = t.content.kind === 'particle' ? t.content.particle : undefined;
    if (particle) parts.push(this.particle(particle));
    arb = fc.tuple(...parts).map((lists) => {
      const out: Record<string, unknown> = {};
      for (const [key, value] of lists.flat()) {
        if (particle && maxOccurrences(particle, key) > 1) ((out[key] ??= []) as unknown[]).push(value);
        else out[key] = value;
      }
      return out;
    });
    this.cache.set(name, arb);
    return arb;
  }

  /** False for content that can only be satisfied with wildcard elements (which we never generate). */
  private possible(p: ModelParticle): boolean {
    if (p.min === 0) return true;
    if (p.k === 'any') return false;
    if (p.k === 'el') return p.type === undefined || this.typePossible(p.type);
    return p.k === 'seq' ? p.items.every((i) => this.possible(i)) : p.items.some((i) => this.possible(i));
  }

  private typePossible(name: string): boolean {
    const c = this.types[name].content;
    return c.kind !== 'particle' || this.possible(c.particle);
  }

  private count(min: number, max: number): fc.Arbitrary<number> {
    if (max === -1) return fc.integer({ min, max: min + this.options.unboundedExtra });
    if (max <= 24) return fc.oneof(fc.integer({ min, max }), fc.constant(max));
    return fc.integer({ min, max: Math.min(max, min + 3) });
  }

  private particle(p: ModelParticle): fc.Arbitrary<Entries> {
    if (p.k === 'any') return fc.constant([]);
    const one: fc.Arbitrary<Entries> =
      p.k === 'el'
        ? (p.type ? this.type(p.type) : this.value(p.value!)).map((v): Entries => [[p.name, v]])
        : p.k === 'seq'
          ? fc.tuple(...p.items.map((i) => this.particle(i))).map((lists) => lists.flat())
          : fc.oneof(...p.items.filter((i) => this.possible(i) && (i.k !== 'any' || i.min > 0)).map((i) => this.particle(i)));
    if (p.min === 1 && p.max === 1) return one;
    if (p.k !== 'el' && !p.items.some((i) => this.possible(i))) return fc.constant([]);
    return this.count(p.min, p.max).chain((n) => (n === 0 ? fc.constant([] as Entries) : fc.array(one, { minLength: n, maxLength: n }).map((lists) => lists.flat())));
  }

  value(v: ModelValue): fc.Arbitrary<unknown> {
    const cap = this.options.maxValueLength;
    switch (v.kind) {
      case 'string': {
        const codePoint = fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0, max: 0x10ffff }).filter((c) => c < 0xd800 || c > 0xdfff));
        return fc.array(codePoint, { minLength: v.minLength, maxLength: Math.max(v.minLength, Math.min(v.maxLength, cap)) }).map((cps) => String.fromCodePoint(...cps));
      }
      case 'binary':
        return fc.uint8Array({ minLength: v.minLength, maxLength: Math.max(v.minLength, Math.min(v.maxLength, cap)) });
      case 'boolean':
        return fc.boolean();
      case 'enum':
        return fc.constantFrom(...v.values);
      case 'nbit':
        return fc.integer({ min: v.min, max: v.max });
      case 'uint':
      case 'int': {
        const min = v.min !== undefined ? BigInt(v.min) : -(2n ** 80n);
        const max = v.max !== undefined ? BigInt(v.max) : 2n ** 80n;
        const edges = fc.constantFrom(min, max, min + 1n, max - 1n, 0n < min ? min : max < 0n ? max : 0n, 127n < max ? 128n : max);
        return fc.oneof(fc.bigInt({ min, max }), edges.filter((x) => x >= min && x <= max)).map((x) => (x >= -(2n ** 53n) + 1n && x <= 2n ** 53n - 1n ? Number(x) : x));
      }
    }
  }
}
