/**
 * What the inspector knows: every actor seen on `inspect.<participant>.<id>` (or read from the
 * store), its state, its timeline of events, snapshots and effects with their durations, and the
 * trace of what participants sent each other (`inspect.<participant>.~trace`), from which the
 * message sequence of one contract, vehicle or charging session is drawn.
 */
import type { InspectMessage } from '../host/inspection.ts';
import { correlationOf, type Correlation, type TimelineEntry } from '../story/timeline.ts';

export type { InspectMessage };

export interface TimelineItem {
  readonly at: string;
  readonly kind: 'event' | 'snapshot' | 'effect';
  /** Event type, state value (as text) or effect name. */
  readonly label: string;
  /** Effects: how long the effect ran, once it settled. */
  durationMs?: number;
  /** Effects: `running`, `done` or `error`. */
  outcome?: 'running' | 'done' | 'error';
}

export interface ActorView {
  readonly participant: string;
  readonly id: string;
  machine: string;
  status: string;
  value: unknown;
  /** Ids of the active states, `<machine>.<path>`, as the diagrams name them. */
  activeStates: string[];
  keys: Correlation;
  updatedAt: string;
  /** Context of the last snapshot. */
  context?: unknown;
}

export interface ActorDetail extends ActorView {
  readonly timeline: readonly TimelineItem[];
}

export interface TraceItem extends TimelineEntry {
  /** The participant that serves the subject (its first token), or `*` for an announcement. */
  readonly to: string;
  readonly keys: Correlation;
  readonly at: string;
}

const TIMELINE_LIMIT = 500;
const TRACE_LIMIT = 5_000;

/** `{ a: 'b' }` → `['m.a', 'm.a.b']`: every active state id of a state value. */
export function activeStateIds(machine: string, value: unknown): string[] {
  const ids: string[] = [];
  const walk = (prefix: string, node: unknown) => {
    if (typeof node === 'string') ids.push(`${prefix}.${node}`);
    else if (node && typeof node === 'object')
      for (const [key, child] of Object.entries(node)) {
        ids.push(`${prefix}.${key}`);
        walk(`${prefix}.${key}`, child);
      }
  };
  walk(machine, value);
  return ids;
}

export function valueText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function matches(keys: Correlation, wanted: Correlation): boolean {
  return Object.entries(wanted).some(([field, value]) => value && keys[field as keyof Correlation] === value);
}

export class InspectorModel {
  private readonly actors = new Map<string, ActorView & { timeline: TimelineItem[]; running: Map<string, TimelineItem & { started: number }> }>();
  private readonly trace: TraceItem[] = [];
  private readonly listeners = new Set<(change: { kind: 'actor' | 'trace'; participant: string; id?: string }) => void>();

  /** Called after each change, for the page's live stream. */
  onChange(listener: (change: { kind: 'actor' | 'trace'; participant: string; id?: string }) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Applies one message from `inspect.<participant>.<id>`. */
  ingest(message: InspectMessage): void {
    const key = `${message.participant}/${message.id}`;
    let actor = this.actors.get(key);
    if (!actor) {
      actor = { participant: message.participant, id: message.id, machine: message.machine, status: 'active', value: undefined, activeStates: [], keys: {}, updatedAt: message.at, timeline: [], running: new Map() };
      this.actors.set(key, actor);
    }
    actor.updatedAt = message.at;
    if (message.kind === 'snapshot') {
      actor.status = message.status ?? actor.status;
      actor.value = message.value;
      actor.activeStates = activeStateIds(actor.machine, message.value);
      actor.context = message.context;
      actor.keys = { ...actor.keys, ...correlationOf(message.context) };
      this.push(actor.timeline, { at: message.at, kind: 'snapshot', label: valueText(message.value) });
    } else if (message.kind === 'effect' && message.effect && message.invokeId) {
      const item = { at: message.at, kind: 'effect' as const, label: message.effect, outcome: 'running' as const, started: Date.parse(message.at) };
      actor.running.set(message.invokeId, item);
      this.push(actor.timeline, item);
    } else if (message.kind === 'event' && message.event) {
      const settled = /^xstate\.(done|error)\.actor\.(.+)$/.exec(message.event.type);
      const effect = settled && actor.running.get(settled[2]);
      if (effect) {
        effect.durationMs = Date.parse(message.at) - effect.started;
        effect.outcome = settled[1] as 'done' | 'error';
        actor.running.delete(settled[2]);
      } else {
        actor.keys = { ...actor.keys, ...correlationOf((message.event as { input?: unknown }).input) };
        this.push(actor.timeline, { at: message.at, kind: 'event', label: message.event.type });
      }
    }
    this.emit({ kind: 'actor', participant: message.participant, id: message.id });
  }

  /** Applies an actor record read from the store (the `--data` mode and the start of a live one). */
  ingestRecord(record: { participant: string; actorId: string; logic: string; status: string; value: unknown; updatedAt: string; snapshot: unknown }): void {
    const known = this.actors.get(`${record.participant}/${record.actorId}`);
    if (known && known.updatedAt >= record.updatedAt) return;
    const context = (record.snapshot as { context?: unknown } | null)?.context;
    this.ingest({ kind: 'snapshot', participant: record.participant, id: record.actorId, machine: record.logic, at: record.updatedAt, status: record.status, value: record.value, context });
  }

  /** Applies one step a participant sent (`inspect.<participant>.~trace`). */
  ingestTrace(entry: TimelineEntry & { keys?: Correlation; at?: string }): void {
    const to = entry.kind === 'event' ? '*' : entry.subject.split('.')[0];
    this.trace.push({ ...entry, to, keys: entry.keys ?? {}, at: entry.at ?? new Date().toISOString() });
    if (this.trace.length > TRACE_LIMIT) this.trace.splice(0, this.trace.length - TRACE_LIMIT);
    this.emit({ kind: 'trace', participant: entry.participant });
  }

  /** Every actor (without its context), newest first, optionally filtered by participant and by a text found in its id, state or keys. */
  list(filter: { participant?: string; text?: string } = {}): ActorView[] {
    const text = filter.text?.toLowerCase();
    return [...this.actors.values()]
      .filter((actor) => !filter.participant || actor.participant === filter.participant)
      .filter((actor) => !text || [actor.id, valueText(actor.value), actor.status, ...Object.values(actor.keys)].some((field) => field?.toLowerCase().includes(text)))
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))
      .map(({ timeline: _timeline, running: _running, context: _context, ...view }) => view);
  }

  actor(participant: string, id: string): ActorDetail | undefined {
    const actor = this.actors.get(`${participant}/${id}`);
    if (!actor) return undefined;
    const { running: _running, ...detail } = actor;
    return { ...detail, timeline: [...actor.timeline] };
  }

  /** The steps across participants that concern one contract, vehicle or session, in order. */
  sequence(keys: Correlation): TraceItem[] {
    // A step names the vehicle or contract it is about; the EMAID issued for a contract links its later steps too.
    // A charging session's sequence is its own V2G messages: its vehicle's whole history would bury them.
    const wanted: Correlation = keys.sessionId ? { sessionId: keys.sessionId } : { ...keys };
    if (!keys.sessionId) for (const actor of this.actors.values()) if (matches(actor.keys, keys)) Object.assign(wanted, { ...actor.keys, ...wanted });
    // Steps are recorded as they finish; the diagram reads in the order they started.
    return this.trace.filter((item) => matches(item.keys, wanted)).sort((a, b) => a.at.localeCompare(b.at) || a.step - b.step);
  }

  private push(timeline: TimelineItem[], item: TimelineItem): void {
    timeline.push(item);
    if (timeline.length > TIMELINE_LIMIT) timeline.splice(0, timeline.length - TIMELINE_LIMIT);
  }

  private emit(change: { kind: 'actor' | 'trace'; participant: string; id?: string }): void {
    for (const listener of this.listeners) listener(change);
  }
}
