/**
 * Schema-informed EXI grammars for complex types (EXI 1.0 section 8.5.4), built as Glushkov automata
 * over the content model: one state per position, productions sorted by event class
 * (AT by qname, SE in schema order, SE(*), EE, CH), and first-level codes sized for the
 * non-strict default options (every state also has a second level, hence the +1).
 * Bounded lists (maxOccurs > 1) keep the EXI unrolled semantics through three state variants:
 * below minOccurs (only SE of the list), between (SE or what follows) and at maxOccurs (no more SE).
 */
import type { AttributeDecl, ComplexType, ElementDecl, ValueType } from './model.ts';

export type Position =
  | { readonly kind: 'AT'; readonly id: number; readonly attr: AttributeDecl; readonly field: string }
  | { readonly kind: 'CH'; readonly id: number; readonly value: ValueType; readonly field: 'CONTENT' }
  | { readonly kind: 'SE'; readonly id: number; readonly decl: ElementDecl; readonly field: string; readonly list?: { readonly min: number; readonly max: number } }
  | { readonly kind: 'ANY'; readonly id: number };

type PositionInit = Position extends infer P ? (P extends Position ? Omit<P, 'id'> : never) : never;
type AddPosition = (p: PositionInit) => Position;

type Node =
  | { t: 'leaf'; pos: Position }
  | { t: 'seq' | 'alt'; items: Node[] }
  | { t: 'opt' | 'star' | 'plus'; node: Node };

/** Where a production leads: a fixed state, or for a list element the variant chosen by the item count. */
export type Target = { readonly state: number } | { readonly list: Position & { kind: 'SE' } };

export type Event =
  | { readonly kind: 'AT' | 'SE' | 'CH'; readonly pos: Position }
  | { readonly kind: 'ANY' | 'EE' | 'MIXED' };

export interface Production {
  readonly event: Event;
  readonly code: number;
  readonly target?: Target;
}

export interface State {
  readonly id: number;
  readonly label: string;
  readonly productions: readonly Production[];
  readonly width: number;
}

export interface FieldInfo {
  readonly name: string;
  readonly positions: readonly Position[];
  readonly minOccurs: number;
  readonly maxOccurs: number;
}

export interface TypeGrammar {
  readonly type: ComplexType;
  readonly states: readonly State[];
  readonly fields: readonly FieldInfo[];
  /** State id for a list position after `count` items. */
  listState(pos: Position, count: number): number;
}

/** Bits for an event code among `n` first-level productions plus the escape to the second level. */
export const codeWidth = (n: number): number => Math.ceil(Math.log2(n + 1));

export function buildTypeGrammar(type: ComplexType): TypeGrammar {
  const positions: Position[] = [];
  const add: AddPosition = (p) => {
    const pos = { ...p, id: positions.length } as Position;
    positions.push(pos);
    return pos;
  };
  const parts: Node[] = type.attributes.map((attr) => {
    const leaf: Node = { t: 'leaf', pos: add({ kind: 'AT', attr, field: attr.name.local }) };
    return attr.required ? leaf : { t: 'opt', node: leaf };
  });
  const content = type.content;
  if (content.kind === 'simple') parts.push({ t: 'leaf', pos: add({ kind: 'CH', value: content.value, field: 'CONTENT' }) });
  else if (content.kind === 'particle') parts.push(fromParticle(content.particle, add));
  const root: Node = { t: 'seq', items: parts };

  const follow = new Map<number, Set<number>>(positions.map((p) => [p.id, new Set<number>()]));
  const info = glushkov(root, follow);

  // States: 0 = start; each position gets one state, a list position up to three (lt, mid, full).
  const stateKeys = new Map<string, number>();
  const pending: { key: string; id: number; pos?: Position; variant?: 'lt' | 'mid' | 'full' }[] = [];
  const stateFor = (key: string, pos?: Position, variant?: 'lt' | 'mid' | 'full'): number => {
    let id = stateKeys.get(key);
    if (id === undefined) {
      id = stateKeys.size;
      stateKeys.set(key, id);
      pending.push({ key, id, pos, variant });
    }
    return id;
  };
  const variantOf = (pos: Position & { kind: 'SE' }, count: number): 'lt' | 'mid' | 'full' =>
    count < pos.list!.min ? 'lt' : count < pos.list!.max ? 'mid' : 'full';
  const listState = (pos: Position, count: number): number => {
    const se = pos as Position & { kind: 'SE' };
    const variant = variantOf(se, count);
    return stateFor(`${pos.id}:${variant}`, pos, variant);
  };
  const entryTarget = (pos: Position): Target | undefined => {
    if (pos.kind === 'ANY') return undefined;
    if (pos.kind === 'SE' && pos.list) {
      // Create every variant the list can reach: first item, minOccurs reached, maxOccurs reached.
      for (const count of [1, Math.max(pos.list.min, 1), pos.list.max]) if (count !== Infinity) listState(pos, count);
      return { list: pos };
    }
    return { state: stateFor(`${pos.id}`, pos) };
  };

  const states: State[] = [];
  stateFor('start');
  for (let k = 0; k < pending.length; k++) {
    const { id, pos, variant } = pending[k];
    const next: Position[] = [];
    let canEnd: boolean;
    if (!pos) {
      next.push(...[...info.first].map((i) => positions[i]));
      canEnd = info.nullable;
    } else {
      if (variant === 'lt' || variant === 'mid') next.push(pos);
      if (variant !== 'lt') next.push(...[...follow.get(pos.id)!].map((i) => positions[i]));
      canEnd = variant !== 'lt' && info.last.has(pos.id);
    }
    states.push(makeState(id, type, pos, variant, next, canEnd, entryTarget));
  }
  states.sort((a, b) => a.id - b.id);

  const fields = collectFields(root, positions);
  return { type, states, fields, listState };
}

function makeState(
  id: number,
  type: ComplexType,
  pos: Position | undefined,
  variant: string | undefined,
  next: Position[],
  canEnd: boolean,
  entryTarget: (pos: Position) => Target | undefined,
): State {
  const rank = (p: Position): number => (p.kind === 'AT' ? 0 : p.kind === 'SE' ? 1 : p.kind === 'ANY' ? 2 : 4);
  const sorted = [...new Set(next)].sort((a, b) => rank(a) - rank(b) || a.id - b.id);
  const events: { event: Event; target?: Target }[] = [];
  let anySeen = false;
  const seen = new Set<string>();
  for (const p of sorted) {
    if (p.kind === 'ANY') {
      if (!anySeen) events.push({ event: { kind: 'ANY' } });
      anySeen = true;
      continue;
    }
    const key = p.kind === 'AT' ? `AT ${p.attr.name.ns} ${p.attr.name.local}` : p.kind === 'SE' ? `SE ${p.decl.name.ns} ${p.decl.name.local}` : 'CH';
    if (seen.has(key)) throw new Error(`${type.name}: ambiguous content model (${key} twice in one state)`);
    seen.add(key);
    events.push({ event: { kind: p.kind, pos: p } as Event, target: entryTarget(p) });
  }
  // EE sorts after SE and SE(*), before CH.
  const chIndex = events.findIndex((e) => e.event.kind === 'CH');
  if (canEnd) events.splice(chIndex < 0 ? events.length : chIndex, 0, { event: { kind: 'EE' } });
  const inContent = events.some((e) => e.event.kind !== 'AT');
  if (type.mixed && inContent) events.push({ event: { kind: 'MIXED' } });
  if (events.length === 0) throw new Error(`${type.name}: a grammar state without productions`);
  const label = pos ? `${type.name} after ${pos.kind === 'ANY' ? '*' : pos.field}${variant ? ` (${variant})` : ''}` : `${type.name} start`;
  return { id, label, productions: events.map((e, code) => ({ event: e.event, code, target: e.target })), width: codeWidth(events.length) };
}

function fromParticle(particle: import('./model.ts').Particle, add: AddPosition): Node {
  const { min, max } = particle;
  if (particle.kind === 'element') {
    const members = particle.decl.substitutes ?? [particle.decl];
    if (members.length === 1) {
      const decl = members[0];
      if (max > 1) {
        const leaf: Node = { t: 'leaf', pos: add({ kind: 'SE', decl, field: decl.name.local, list: { min: Math.max(min, 1), max } }) };
        return min === 0 ? { t: 'opt', node: leaf } : leaf;
      }
      const leaf: Node = { t: 'leaf', pos: add({ kind: 'SE', decl, field: decl.name.local }) };
      return occurrence(leaf, min, max);
    }
    if (max > 1) throw new Error(`repeated substitution group ${particle.decl.name.local} is not supported`);
    const alt: Node = { t: 'alt', items: members.map((decl) => ({ t: 'leaf', pos: add({ kind: 'SE', decl, field: decl.name.local }) }) as Node) };
    return occurrence(alt, min, max);
  }
  if (particle.kind === 'any') return occurrence({ t: 'leaf', pos: add({ kind: 'ANY' }) }, min, max);
  const items = particle.items.map((item) => fromParticle(item, add));
  return occurrence({ t: particle.kind === 'sequence' ? 'seq' : 'alt', items }, min, max);
}

function occurrence(node: Node, min: number, max: number): Node {
  if (min === 1 && max === 1) return node;
  if (min === 0 && max === 1) return { t: 'opt', node };
  if (min === 0 && max === Infinity) return { t: 'star', node };
  if (min === 1 && max === Infinity) return { t: 'plus', node };
  throw new Error(`occurrence {${min},${max}} on a group is not supported`);
}

interface NodeInfo {
  nullable: boolean;
  first: Set<number>;
  last: Set<number>;
}

function glushkov(node: Node, follow: Map<number, Set<number>>): NodeInfo {
  switch (node.t) {
    case 'leaf':
      return { nullable: false, first: new Set([node.pos.id]), last: new Set([node.pos.id]) };
    case 'seq': {
      let acc: NodeInfo = { nullable: true, first: new Set(), last: new Set() };
      for (const item of node.items) {
        const cur = glushkov(item, follow);
        for (const l of acc.last) for (const f of cur.first) follow.get(l)!.add(f);
        acc = {
          nullable: acc.nullable && cur.nullable,
          first: acc.nullable ? new Set([...acc.first, ...cur.first]) : acc.first,
          last: cur.nullable ? new Set([...acc.last, ...cur.last]) : cur.last,
        };
      }
      return acc;
    }
    case 'alt': {
      const infos = node.items.map((item) => glushkov(item, follow));
      return {
        nullable: infos.some((i) => i.nullable),
        first: new Set(infos.flatMap((i) => [...i.first])),
        last: new Set(infos.flatMap((i) => [...i.last])),
      };
    }
    case 'opt': {
      const inner = glushkov(node.node, follow);
      return { ...inner, nullable: true };
    }
    case 'star':
    case 'plus': {
      const inner = glushkov(node.node, follow);
      for (const l of inner.last) for (const f of inner.first) follow.get(l)!.add(f);
      return { ...inner, nullable: node.t === 'star' || inner.nullable };
    }
  }
}

/** Fields in schema order with how often each may occur (a field loops if its position sits in a repeated group). */
function collectFields(root: Node, positions: Position[]): FieldInfo[] {
  const names: string[] = [];
  for (const p of positions) {
    if (p.kind === 'ANY') continue;
    if (!names.includes(p.field)) names.push(p.field);
  }
  return names.map((name) => {
    const matches = positions.filter((p) => p.kind !== 'ANY' && p.field === name);
    const types = new Set(matches.map((p) => (p.kind === 'SE' ? typeKey(p.decl) : p.kind)));
    if (types.size > 1) throw new Error(`field ${name} has two types in one content model`);
    const occurs = (node: Node): [number, number] => {
      switch (node.t) {
        case 'leaf': {
          const p = node.pos;
          if (p.kind === 'ANY' || p.field !== name) return [0, 0];
          return p.kind === 'SE' && p.list ? [p.list.min, p.list.max] : [1, 1];
        }
        case 'seq':
          return node.items.map(occurs).reduce((a, b) => [a[0] + b[0], a[1] + b[1]], [0, 0] as [number, number]);
        case 'alt': {
          const all = node.items.map(occurs);
          return [Math.min(...all.map((o) => o[0])), Math.max(...all.map((o) => o[1]))];
        }
        case 'opt':
          return [0, occurs(node.node)[1]];
        case 'star':
        case 'plus': {
          const [lo, hi] = occurs(node.node);
          return [node.t === 'star' ? 0 : lo, hi === 0 ? 0 : Infinity];
        }
      }
    };
    const [minOccurs, maxOccurs] = occurs(root);
    return { name, positions: matches, minOccurs, maxOccurs };
  });
}

/** Identity of an element's type: the complex type's name, or the simple value's representation. */
export function typeKey(decl: ElementDecl): string {
  return 'complex' in decl.type ? `complex ${decl.type.complex.name}` : JSON.stringify(decl.type.simple, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
}
