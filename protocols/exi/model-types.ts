/**
 * The schema model as plain data, emitted by the generator into each generated module. The JSON
 * layer uses it to map JSON (hex strings) to typed values, and the property tests build arbitrary
 * valid documents from it. `max: -1` means unbounded; integer bounds are decimal strings.
 */
export type ModelValue =
  | { readonly kind: 'string'; readonly minLength: number; readonly maxLength: number }
  | { readonly kind: 'binary'; readonly encoding: 'hex' | 'base64'; readonly minLength: number; readonly maxLength: number }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'enum'; readonly name: string; readonly values: readonly string[] }
  | { readonly kind: 'nbit'; readonly min: number; readonly max: number; readonly bits: number }
  | { readonly kind: 'uint' | 'int'; readonly min?: string; readonly max?: string; readonly big: boolean };

export type ModelParticle =
  | { readonly k: 'el'; readonly name: string; readonly type?: string; readonly value?: ModelValue; readonly min: number; readonly max: number }
  | { readonly k: 'seq' | 'choice'; readonly items: readonly ModelParticle[]; readonly min: number; readonly max: number }
  | { readonly k: 'any'; readonly min: number; readonly max: number };

export interface ModelType {
  readonly attributes: readonly { readonly name: string; readonly value: ModelValue; readonly required: boolean }[];
  readonly content: { readonly kind: 'empty' } | { readonly kind: 'simple'; readonly value: ModelValue } | { readonly kind: 'particle'; readonly particle: ModelParticle };
}

export interface SchemaModel {
  readonly types: Readonly<Record<string, ModelType>>;
  /** Global elements, in EXI order. */
  readonly roots: readonly { readonly name: string; readonly type?: string; readonly value?: ModelValue }[];
}
