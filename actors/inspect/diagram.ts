/**
 * Diagrams drawn from the machine definitions themselves: a walk over `machine.root` gives one
 * graph model, and each format (JSON, Mermaid `stateDiagram-v2`, Graphviz DOT, SVG) is written
 * from that model, so every picture of a machine says the same thing. The SVG gives each state
 * the element id `state:<state id>`, which the inspector page lights while an actor runs.
 */
import type { AnyStateMachine } from 'xstate';

export interface DiagramState {
  /** XState's state id, `<machine id>.<path>` (the machine itself has its bare id). */
  readonly id: string;
  readonly key: string;
  readonly type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  readonly initial?: string;
  readonly tags: readonly string[];
  /** Effects the state invokes, by their `setup({ actors })` name. */
  readonly invokes: readonly string[];
  readonly children: readonly DiagramState[];
}

export interface DiagramTransition {
  readonly source: string;
  readonly target: string;
  /** The event as a reader names it: `done: <effect>`, `error: <effect>`, `after <deadline>`, `always`, or the event type. */
  readonly label: string;
  readonly guard?: string;
}

export interface Diagram {
  readonly machine: string;
  readonly root: DiagramState;
  readonly transitions: readonly DiagramTransition[];
}

interface StateNodeLike {
  readonly id: string;
  readonly key: string;
  readonly type: DiagramState['type'];
  readonly tags: readonly string[];
  readonly states: Readonly<Record<string, StateNodeLike>>;
  readonly initial?: { readonly target: readonly { readonly id: string }[] };
  readonly invoke: readonly { readonly id: string; readonly src: unknown }[];
  readonly transitions: ReadonlyMap<string, readonly TransitionLike[]>;
  readonly always?: readonly TransitionLike[];
}

interface TransitionLike {
  readonly target?: readonly { readonly id: string }[];
  readonly guard?: unknown;
  readonly eventType: string;
}

function guardName(guard: unknown): string | undefined {
  if (guard === undefined) return undefined;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'object' && guard && 'type' in guard && typeof guard.type === 'string') return guard.type;
  return 'guard';
}

/** `xstate.done.actor.<invoke id>` → `done: <effect name>`; delays and internal events get short names. */
function labelOf(eventType: string, invokes: ReadonlyMap<string, string>): string {
  const actor = /^xstate\.(done|error)\.actor\.(.+)$/.exec(eventType);
  if (actor) return `${actor[1]}: ${invokes.get(actor[2]) ?? actor[2]}`;
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (after) return `after ${after[1]}`;
  const done = /^xstate\.done\.state\./.exec(eventType);
  if (done) return 'done';
  return eventType;
}

/** The graph model of a machine: its state tree and every transition with a target. */
export function diagramOf(machine: AnyStateMachine): Diagram {
  const transitions: DiagramTransition[] = [];
  const visit = (node: StateNodeLike): DiagramState => {
    const invokes = new Map(node.invoke.map((invoke) => [invoke.id, typeof invoke.src === 'string' ? invoke.src : invoke.id]));
    const outgoing = [...node.transitions.values()].flat().concat(node.always ?? []);
    for (const transition of outgoing) {
      const label = transition.eventType ? labelOf(transition.eventType, invokes) : 'always';
      for (const target of transition.target ?? []) transitions.push({ source: node.id, target: target.id, label, guard: guardName(transition.guard) });
    }
    return {
      id: node.id,
      key: node.key,
      type: node.type,
      initial: node.initial?.target[0]?.id,
      tags: [...node.tags].sort(),
      invokes: [...invokes.values()],
      children: Object.values(node.states).map(visit),
    };
  };
  const root = visit(machine.root as unknown as StateNodeLike);
  return { machine: machine.id, root, transitions };
}

function* allStates(state: DiagramState): Generator<DiagramState> {
  yield state;
  for (const child of state.children) yield* allStates(child);
}

/** Mermaid `stateDiagram-v2`: states by their path, composite states nested. */
export function toMermaid(diagram: Diagram): string {
  const name = (id: string) => id.replace(/[^A-Za-z0-9_]/g, '_');
  const lines = ['stateDiagram-v2'];
  const write = (state: DiagramState, indent: string) => {
    if (state.initial) lines.push(`${indent}[*] --> ${name(state.initial)}`);
    for (const child of state.children) {
      lines.push(`${indent}state "${child.key}" as ${name(child.id)}`);
      if (child.children.length) {
        lines.push(`${indent}state ${name(child.id)} {`);
        write(child, indent + '  ');
        lines.push(`${indent}}`);
      }
      if (child.type === 'final') lines.push(`${indent}${name(child.id)} --> [*]`);
    }
  };
  write(diagram.root, '  ');
  for (const t of diagram.transitions) {
    const label = t.guard ? `${t.label} [${t.guard}]` : t.label;
    lines.push(`  ${name(t.source)} --> ${name(t.target)}: ${label.replace(/:\s*/g, ' ').replace(/;/g, ',')}`);
  }
  return lines.join('\n') + '\n';
}

const dotString = (text: string) => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** Graphviz DOT; composite states are clusters, each state node carries `id="state:<id>"`. */
export function toDot(diagram: Diagram): string {
  const lines = [`digraph ${dotString(diagram.machine)} {`, '  rankdir=TB;', '  compound=true;', '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica", fontsize=11];', '  edge [fontname="Helvetica", fontsize=9];'];
  const nodeId = (id: string) => dotString(`state:${id}`);
  const write = (state: DiagramState, indent: string) => {
    if (state.initial) {
      const start = dotString(`start:${state.id}`);
      lines.push(`${indent}${start} [shape=point, width=0.12, label=""];`);
      lines.push(`${indent}${start} -> ${nodeId(state.initial)};`);
    }
    for (const child of state.children) {
      const attributes = child.tags.length ? `\\n[${child.tags.join(', ')}]` : '';
      const shape = child.type === 'final' ? ', peripheries=2' : '';
      if (child.children.length) {
        lines.push(`${indent}subgraph ${dotString(`cluster:${child.id}`)} {`, `${indent}  id=${dotString(`cluster:${child.id}`)}; label=${dotString(child.key)}; style=rounded;`);
        // A composite state is also a node, so transitions into and out of it have an end.
        lines.push(`${indent}  ${nodeId(child.id)} [id=${nodeId(child.id)}, label=${dotString(child.key + attributes)}, shape=plain, style=""];`);
        write(child, indent + '  ');
        lines.push(`${indent}}`);
      } else {
        lines.push(`${indent}${nodeId(child.id)} [id=${nodeId(child.id)}, label=${dotString(child.key + attributes)}${shape}];`);
      }
    }
  };
  write(diagram.root, '  ');
  for (const t of diagram.transitions) {
    const label = t.guard ? `${t.label} [${t.guard}]` : t.label;
    lines.push(`  ${nodeId(t.source)} -> ${nodeId(t.target)} [label=${dotString(label)}];`);
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

/** SVG rendered offline by Graphviz compiled to WebAssembly (@viz-js/viz); deterministic for a given DOT. */
export async function toSvg(diagram: Diagram): Promise<string> {
  const { instance } = await import('@viz-js/viz');
  const viz = await instance();
  return viz.renderString(toDot(diagram), { format: 'svg', engine: 'dot' });
}

/** Every state id of a diagram (the inspector checks lit states against it). */
export function stateIds(diagram: Diagram): string[] {
  return [...allStates(diagram.root)].map((state) => state.id);
}
