/**
 * Reads a set of XSD files into the schema model that both the code generator and the property
 * tests use: value types with their EXI representation, complex types with attributes and content
 * particles, element declarations and substitution groups.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseXml, type XmlElement } from './xml.ts';

export const XSD_NS = 'http://www.w3.org/2001/XMLSchema';

export interface QName {
  readonly ns: string;
  readonly local: string;
}

export const qkey = (q: QName): string => `{${q.ns}}${q.local}`;

/** EXI qname order: by local name, then by namespace URI (code-point order). */
export function compareQNames(a: QName, b: QName): number {
  if (a.local !== b.local) return a.local < b.local ? -1 : 1;
  if (a.ns !== b.ns) return a.ns < b.ns ? -1 : 1;
  return 0;
}

/** A simple value and how EXI represents it. Integer bounds are bigints so xs:integer stays exact. */
export type ValueType =
  | { readonly kind: 'string'; readonly minLength: number; readonly maxLength: number }
  | { readonly kind: 'binary'; readonly encoding: 'hex' | 'base64'; readonly minLength: number; readonly maxLength: number }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'enum'; readonly name: string; readonly values: readonly string[] }
  /** n-bit unsigned offset from min: bounded ranges of fewer than 4096 values. */
  | { readonly kind: 'nbit'; readonly min: number; readonly max: number; readonly bits: number }
  /** Unsigned or signed EXI integer; `big` when the range does not fit a safe JS number. */
  | { readonly kind: 'uint' | 'int'; readonly min?: bigint; readonly max?: bigint; readonly big: boolean };

export interface AttributeDecl {
  readonly name: QName;
  readonly value: ValueType;
  readonly required: boolean;
}

export type Particle =
  | { readonly kind: 'element'; readonly decl: ElementDecl; readonly min: number; readonly max: number }
  | { readonly kind: 'sequence' | 'choice'; readonly items: readonly Particle[]; readonly min: number; readonly max: number }
  | { readonly kind: 'any'; readonly min: number; readonly max: number };

export type Content =
  | { readonly kind: 'empty' }
  | { readonly kind: 'simple'; readonly value: ValueType }
  | { readonly kind: 'particle'; readonly particle: Particle };

export interface ComplexType {
  /** The TypeScript name: the XSD name, or `<Element>Type` for an anonymous type. */
  readonly name: string;
  readonly ns: string;
  readonly attributes: readonly AttributeDecl[];
  readonly content: Content;
  readonly mixed: boolean;
}

export interface ElementDecl {
  readonly name: QName;
  /** undefined until resolved (types may be recursive). */
  type: { readonly simple: ValueType } | { readonly complex: ComplexType };
  readonly abstract: boolean;
  readonly global: boolean;
  /** For a global element that is a substitution group head: itself (even when abstract, as EXI counts it) and every member, in qname order. */
  substitutes?: ElementDecl[];
}

export interface SchemaSet {
  readonly globals: ElementDecl[];
  /** Every element declaration (global and local), for the fragment grammar. */
  readonly allElements: ElementDecl[];
  readonly complexTypes: ComplexType[];
  readonly enums: Map<string, ValueType & { kind: 'enum' }>;
}

interface SchemaDoc {
  readonly root: XmlElement;
  readonly targetNs: string;
  readonly elementQualified: boolean;
  readonly attributeQualified: boolean;
  readonly prefixes: Map<string, string>;
}

const local = (name: string): string => name.slice(name.indexOf(':') + 1);
const isXs = (el: XmlElement, name: string): boolean => local(el.name) === name;

/** Loads the XSD files (relative to `dir`) into a schema set. */
export function loadSchemaSet(dir: string, files: readonly string[]): SchemaSet {
  const docs: SchemaDoc[] = files.map((file) => {
    const root = parseXml(readFileSync(join(dir, file), 'utf8'));
    const prefixes = new Map<string, string>();
    for (const [k, v] of Object.entries(root.attributes)) {
      if (k === 'xmlns') prefixes.set('', v);
      else if (k.startsWith('xmlns:')) prefixes.set(k.slice(6), v);
    }
    return {
      root,
      targetNs: root.attributes.targetNamespace ?? '',
      elementQualified: root.attributes.elementFormDefault === 'qualified',
      attributeQualified: root.attributes.attributeFormDefault === 'qualified',
      prefixes,
    };
  });
  return new SchemaBuilder(docs).build();
}

class SchemaBuilder {
  private readonly simpleDefs = new Map<string, { doc: SchemaDoc; node: XmlElement }>();
  private readonly complexDefs = new Map<string, { doc: SchemaDoc; node: XmlElement }>();
  private readonly elementDefs = new Map<string, { doc: SchemaDoc; node: XmlElement }>();
  private readonly globals = new Map<string, ElementDecl>();
  private readonly complexByKey = new Map<string, ComplexType>();
  private readonly complexTypes: ComplexType[] = [];
  private readonly allElements: ElementDecl[] = [];
  private readonly enums = new Map<string, ValueType & { kind: 'enum' }>();
  private readonly usedNames = new Set<string>();

  constructor(private readonly docs: SchemaDoc[]) {
    for (const doc of docs) {
      for (const child of doc.root.children) {
        const name = child.attributes.name;
        if (!name) continue;
        const key = qkey({ ns: doc.targetNs, local: name });
        if (isXs(child, 'simpleType')) this.simpleDefs.set(key, { doc, node: child });
        else if (isXs(child, 'complexType')) {
          this.complexDefs.set(key, { doc, node: child });
          this.usedNames.add(name);
        } else if (isXs(child, 'element')) this.elementDefs.set(key, { doc, node: child });
      }
    }
  }

  build(): SchemaSet {
    for (const [key, { doc, node }] of this.elementDefs) this.globals.set(key, this.declareElement(doc, node, true));
    for (const decl of this.globals.values()) this.resolveElementType(decl);
    // Substitution groups (transitive), members sorted by qname.
    for (const [key, { doc, node }] of this.elementDefs) {
      let head = node.attributes.substitutionGroup;
      let headDoc = doc;
      const member = this.globals.get(key)!;
      const seen = new Set<string>();
      while (head) {
        const headKey = qkey(this.resolveQName(headDoc, head));
        if (seen.has(headKey)) throw new Error(`substitution group cycle at ${headKey}`);
        seen.add(headKey);
        const headDecl = this.globals.get(headKey);
        if (!headDecl) throw new Error(`unknown substitution group head ${head}`);
        (headDecl.substitutes ??= [headDecl]).push(member);
        const next = this.elementDefs.get(headKey)!;
        head = next.node.attributes.substitutionGroup;
        headDoc = next.doc;
      }
    }
    for (const decl of this.globals.values()) decl.substitutes?.sort((a, b) => compareQNames(a.name, b.name));
    const globals = [...this.globals.values()].sort((a, b) => compareQNames(a.name, b.name));
    return { globals, allElements: this.allElements, complexTypes: this.complexTypes, enums: this.enums };
  }

  private resolveQName(doc: SchemaDoc, name: string): QName {
    const colon = name.indexOf(':');
    const prefix = colon < 0 ? '' : name.slice(0, colon);
    const ns = doc.prefixes.get(prefix);
    if (ns === undefined) {
      if (prefix === '') return { ns: '', local: name };
      throw new Error(`unknown prefix in ${name}`);
    }
    return { ns, local: name.slice(colon + 1) };
  }

  private declareElement(doc: SchemaDoc, node: XmlElement, global: boolean): ElementDecl {
    const ns = global || doc.elementQualified || node.attributes.form === 'qualified' ? doc.targetNs : '';
    const decl: ElementDecl = {
      name: { ns, local: node.attributes.name },
      type: undefined as never,
      abstract: node.attributes.abstract === 'true',
      global,
    };
    (decl as unknown as { source: unknown }).source = { doc, node };
    this.allElements.push(decl);
    return decl;
  }

  private resolveElementType(decl: ElementDecl): void {
    if (decl.type) return;
    const { doc, node } = (decl as unknown as { source: { doc: SchemaDoc; node: XmlElement } }).source;
    if (node.attributes.nillable === 'true') throw new Error(`nillable elements are not supported (${decl.name.local})`);
    if (node.attributes.type) {
      decl.type = this.typeByName(this.resolveQName(doc, node.attributes.type));
      return;
    }
    const complex = node.children.find((c) => isXs(c, 'complexType'));
    if (complex) {
      decl.type = { complex: this.buildComplex(doc, complex, this.anonymousName(decl.name.local)) };
      return;
    }
    const simple = node.children.find((c) => isXs(c, 'simpleType'));
    if (simple) {
      decl.type = { simple: this.simpleFromNode(doc, simple, decl.name.local) };
      return;
    }
    throw new Error(`element ${decl.name.local} has no type (xs:anyType is not supported)`);
  }

  private anonymousName(elementName: string): string {
    let name = `${elementName}Type`;
    for (let n = 2; this.usedNames.has(name); n++) name = `${elementName}Type${n}`;
    this.usedNames.add(name);
    return name;
  }

  private typeByName(q: QName): { simple: ValueType } | { complex: ComplexType } {
    const key = qkey(q);
    const complexDef = this.complexDefs.get(key);
    if (complexDef) {
      let type = this.complexByKey.get(key);
      if (!type) type = this.buildComplex(complexDef.doc, complexDef.node, q.local, key);
      return { complex: type };
    }
    return { simple: this.simpleByName(q) };
  }

  // ---- simple types -------------------------------------------------------------------------

  private simpleByName(q: QName): ValueType {
    if (q.ns === XSD_NS) return builtinValue(q.local, {});
    const def = this.simpleDefs.get(qkey(q));
    if (!def) throw new Error(`unknown type ${qkey(q)}`);
    return this.simpleFromNode(def.doc, def.node, q.local);
  }

  private simpleFromNode(doc: SchemaDoc, node: XmlElement, name: string): ValueType {
    const restriction = node.children.find((c) => isXs(c, 'restriction'));
    if (!restriction) throw new Error(`simple type ${name}: only restrictions are supported`);
    const facets = collectFacets(restriction);
    const { builtin, inherited } = this.builtinOf(doc, restriction);
    const merged = { ...inherited, ...facets, enumeration: facets.enumeration ?? inherited.enumeration };
    if (merged.enumeration) {
      const existing = this.enums.get(name);
      const value = { kind: 'enum' as const, name, values: merged.enumeration };
      if (existing && existing.values.join('|') !== value.values.join('|')) throw new Error(`two enumerations named ${name}`);
      this.enums.set(name, value);
      return value;
    }
    return builtinValue(builtin, merged);
  }

  private builtinOf(doc: SchemaDoc, restriction: XmlElement): { builtin: string; inherited: Facets } {
    const base = this.resolveQName(doc, restriction.attributes.base);
    if (base.ns === XSD_NS) return { builtin: base.local, inherited: {} };
    const def = this.simpleDefs.get(qkey(base));
    if (!def) throw new Error(`unknown simple base ${qkey(base)}`);
    const parent = def.node.children.find((c) => isXs(c, 'restriction'))!;
    const { builtin, inherited } = this.builtinOf(def.doc, parent);
    const own = collectFacets(parent);
    return { builtin, inherited: { ...inherited, ...own, enumeration: own.enumeration ?? inherited.enumeration } };
  }

  // ---- complex types ------------------------------------------------------------------------

  private buildComplex(doc: SchemaDoc, node: XmlElement, name: string, key?: string): ComplexType {
    const type: { name: string; ns: string; attributes: AttributeDecl[]; content: Content; mixed: boolean } = {
      name,
      ns: doc.targetNs,
      attributes: [],
      content: { kind: 'empty' },
      mixed: node.attributes.mixed === 'true',
    };
    if (key) this.complexByKey.set(key, type);
    this.complexTypes.push(type);
    const { attributes, content } = this.complexParts(doc, node);
    type.attributes = attributes.sort((a, b) => compareQNames(a.name, b.name));
    type.content = content;
    return type;
  }

  private complexParts(doc: SchemaDoc, node: XmlElement): { attributes: AttributeDecl[]; content: Content } {
    const attributes = this.attributesOf(doc, node);
    const simpleContent = node.children.find((c) => isXs(c, 'simpleContent'));
    if (simpleContent) {
      const derivation = simpleContent.children[0];
      const base = this.resolveQName(doc, derivation.attributes.base);
      let value: ValueType;
      const inheritedAttributes: AttributeDecl[] = [];
      if (base.ns !== XSD_NS && this.complexDefs.has(qkey(base))) {
        const baseType = this.typeByName(base) as { complex: ComplexType };
        if (baseType.complex.content.kind !== 'simple') throw new Error('simpleContent over a complex base');
        value = baseType.complex.content.value;
        inheritedAttributes.push(...baseType.complex.attributes);
      } else value = this.simpleByName(base);
      if (isXs(derivation, 'restriction') && Object.keys(collectFacets(derivation)).length > 0) throw new Error('facets in simpleContent restriction are not supported');
      return { attributes: [...inheritedAttributes, ...this.attributesOf(doc, derivation)], content: { kind: 'simple', value } };
    }
    const complexContent = node.children.find((c) => isXs(c, 'complexContent'));
    if (complexContent) {
      const derivation = complexContent.children[0];
      const ownParticle = this.particleOf(doc, derivation);
      const ownAttributes = this.attributesOf(doc, derivation);
      if (isXs(derivation, 'restriction')) return { attributes: ownAttributes, content: ownParticle ? { kind: 'particle', particle: ownParticle } : { kind: 'empty' } };
      const base = (this.typeByName(this.resolveQName(doc, derivation.attributes.base)) as { complex?: ComplexType }).complex;
      if (!base) throw new Error('complexContent extension of a simple type');
      const baseParticle = base.content.kind === 'particle' ? base.content.particle : undefined;
      const particle: Particle | undefined =
        baseParticle && ownParticle ? { kind: 'sequence', items: [baseParticle, ownParticle], min: 1, max: 1 } : baseParticle ?? ownParticle;
      return { attributes: [...base.attributes, ...ownAttributes], content: particle ? { kind: 'particle', particle } : { kind: 'empty' } };
    }
    const particle = this.particleOf(doc, node);
    return { attributes, content: particle ? { kind: 'particle', particle } : { kind: 'empty' } };
  }

  private attributesOf(doc: SchemaDoc, node: XmlElement): AttributeDecl[] {
    const out: AttributeDecl[] = [];
    for (const child of node.children) {
      if (isXs(child, 'anyAttribute') || isXs(child, 'attributeGroup')) throw new Error(`${child.name} is not supported`);
      if (!isXs(child, 'attribute')) continue;
      if (child.attributes.ref) throw new Error('attribute references are not supported');
      const qualified = child.attributes.form ? child.attributes.form === 'qualified' : doc.attributeQualified;
      const value = child.attributes.type
        ? this.simpleByName(this.resolveQName(doc, child.attributes.type))
        : this.simpleFromNode(doc, child.children.find((c) => isXs(c, 'simpleType'))!, child.attributes.name);
      out.push({ name: { ns: qualified ? doc.targetNs : '', local: child.attributes.name }, value, required: child.attributes.use === 'required' });
    }
    return out;
  }

  private particleOf(doc: SchemaDoc, node: XmlElement): Particle | undefined {
    const group = node.children.find((c) => isXs(c, 'sequence') || isXs(c, 'choice') || isXs(c, 'all') || isXs(c, 'group'));
    return group ? this.particle(doc, group) : undefined;
  }

  private particle(doc: SchemaDoc, node: XmlElement): Particle {
    const min = node.attributes.minOccurs === undefined ? 1 : Number(node.attributes.minOccurs);
    const max = node.attributes.maxOccurs === undefined ? 1 : node.attributes.maxOccurs === 'unbounded' ? Infinity : Number(node.attributes.maxOccurs);
    const kind = local(node.name);
    if (kind === 'sequence' || kind === 'choice') {
      const items = node.children.filter((c) => !isXs(c, 'annotation')).map((c) => this.particle(doc, c));
      return { kind, items, min, max };
    }
    if (kind === 'any') return { kind: 'any', min, max };
    if (kind === 'element') {
      let decl: ElementDecl;
      if (node.attributes.ref) {
        const ref = this.globals.get(qkey(this.resolveQName(doc, node.attributes.ref)));
        if (!ref) throw new Error(`unknown element ref ${node.attributes.ref}`);
        decl = ref;
      } else {
        decl = this.declareElement(doc, node, false);
        this.resolveElementType(decl);
      }
      return { kind: 'element', decl, min, max };
    }
    throw new Error(`xs:${kind} is not supported`);
  }
}

interface Facets {
  enumeration?: string[];
  length?: number;
  minLength?: number;
  maxLength?: number;
  minInclusive?: bigint;
  maxInclusive?: bigint;
}

function collectFacets(restriction: XmlElement): Facets {
  const facets: Facets = {};
  for (const f of restriction.children) {
    const value = f.attributes.value;
    switch (local(f.name)) {
      case 'enumeration':
        (facets.enumeration ??= []).push(value);
        break;
      case 'length':
        facets.length = Number(value);
        break;
      case 'minLength':
        facets.minLength = Number(value);
        break;
      case 'maxLength':
        facets.maxLength = Number(value);
        break;
      case 'minInclusive':
        facets.minInclusive = BigInt(value);
        break;
      case 'maxInclusive':
        facets.maxInclusive = BigInt(value);
        break;
      case 'minExclusive':
        facets.minInclusive = BigInt(value) + 1n;
        break;
      case 'maxExclusive':
        facets.maxInclusive = BigInt(value) - 1n;
        break;
      case 'annotation':
        break;
      default:
        throw new Error(`facet ${f.name} is not supported (a pattern would change the EXI string representation)`);
    }
  }
  return facets;
}

const STRINGS = new Set(['string', 'normalizedString', 'token', 'anyURI', 'ID', 'IDREF', 'NCName', 'Name', 'language', 'NMTOKEN']);
const INTEGER_RANGES: Record<string, [bigint | undefined, bigint | undefined]> = {
  integer: [undefined, undefined],
  nonNegativeInteger: [0n, undefined],
  positiveInteger: [1n, undefined],
  nonPositiveInteger: [undefined, 0n],
  negativeInteger: [undefined, -1n],
  long: [-(2n ** 63n), 2n ** 63n - 1n],
  int: [-(2n ** 31n), 2n ** 31n - 1n],
  short: [-32768n, 32767n],
  byte: [-128n, 127n],
  unsignedLong: [0n, 2n ** 64n - 1n],
  unsignedInt: [0n, 2n ** 32n - 1n],
  unsignedShort: [0n, 65535n],
  unsignedByte: [0n, 255n],
};
const UNBOUNDED_LENGTH = 0x7fffffff;
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function builtinValue(builtin: string, facets: Facets): ValueType {
  const minLength = facets.length ?? facets.minLength ?? 0;
  const maxLength = facets.length ?? facets.maxLength ?? UNBOUNDED_LENGTH;
  if (STRINGS.has(builtin)) return { kind: 'string', minLength, maxLength };
  if (builtin === 'hexBinary' || builtin === 'base64Binary') return { kind: 'binary', encoding: builtin === 'hexBinary' ? 'hex' : 'base64', minLength, maxLength };
  if (builtin === 'boolean') return { kind: 'boolean' };
  const range = INTEGER_RANGES[builtin];
  if (!range) throw new Error(`XSD type ${builtin} is not supported`);
  const min = facets.minInclusive ?? range[0];
  const max = facets.maxInclusive ?? range[1];
  // EXI 7.1.5/7.1.6: a bounded range of at most 4096 values is an n-bit offset from the minimum.
  if (min !== undefined && max !== undefined && max - min < 4096n) {
    const span = Number(max - min);
    return { kind: 'nbit', min: Number(min), max: Number(max), bits: span === 0 ? 0 : Math.ceil(Math.log2(span + 1)) };
  }
  const big = min === undefined || max === undefined || min < -SAFE || max > SAFE;
  return { kind: min !== undefined && min >= 0n ? 'uint' : 'int', min, max, big };
}
