/**
 * The story's timeline: every request, work item and event a participant sends, in order, with
 * who sent it, on which subject, a short readable summary, and (for the trace file) every EXI
 * message in hex. A Bus decorator records it, so the timeline shows what really went over the bus.
 */
import { PncError } from '../../protocols/errors.ts';
import type { Bus, EnqueueOptions, Headers, RequestOptions } from '../bus/bus.ts';
import { DelegatingBus } from '../bus/decorator.ts';

export interface TimelineEntry {
  readonly step: number;
  /** Milliseconds since the timeline started. */
  readonly atMs: number;
  readonly participant: string;
  readonly kind: 'request' | 'work' | 'event';
  readonly subject: string;
  readonly summary: string;
  /** Request round trip, when answered. */
  durationMs?: number;
  outcome?: 'ok' | string;
  /** Summary of the reply. */
  reply?: string;
  /** EXI payloads seen in the request or reply, as lowercase hex, keyed by field name. */
  exi?: Record<string, string>;
  /** The wire frames of an OCPP-J step (CALL, then CALLRESULT or CALLERROR), whole, for `--trace`. */
  frames?: unknown[];
  /** The contract, vehicle or session the step is about, from its request and reply (the inspector's sequence). */
  keys: Correlation;
  /** Wall-clock time the step started, ISO 8601. */
  readonly at: string;
}

/** Fields that tie a step or an actor to one contract, vehicle or charging session. */
export const CORRELATION_FIELDS = ['contractId', 'pcid', 'emaid', 'sessionId'] as const;
export type Correlation = Partial<Record<(typeof CORRELATION_FIELDS)[number], string>>;

/** The correlation fields found at the top of each object or one level down (contractData, issued, vehicle). */
export function correlationOf(...sources: unknown[]): Correlation {
  const keys: Correlation = {};
  const take = (object: unknown, depth: number) => {
    const fields = record(object);
    if (!fields) return;
    for (const [field, value] of Object.entries(fields)) {
      if ((CORRELATION_FIELDS as readonly string[]).includes(field) && typeof value === 'string' && value && !(field in keys)) keys[field as keyof Correlation] = value;
      else if (depth > 0) take(value, depth - 1);
    }
  };
  for (const source of sources) take(source, 1);
  return keys;
}

/**
 * Where a participant's steps go for the inspector: under its own `inspect.<participant>.>` (which
 * its NATS credential may publish), in a token no actor id can take (ids have no `~`).
 */
export const traceSubject = (participant: string): string => `inspect.${participant}.~trace`;
export const isTraceSubject = (subject: string): boolean => subject.endsWith('.~trace');

/** Payload fields that carry base64 EXI documents. */
const EXI_FIELDS = ['certificateInstallationReq', 'certificateInstallationRes', 'exiRequest', 'exiResponse'];
/** Payload fields worth showing in a one-line summary, in this order. */
const SUMMARY_FIELDS = ['pcid', 'emaid', 'contractId', 'rootType', 'domain', 'responseCode', 'status', 'certificateStatus'];

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function summarise(payload: unknown): string {
  const fields = record(payload);
  if (!fields) return '';
  const parts: string[] = [];
  const nested = { ...record(fields.contractData), ...fields };
  for (const key of SUMMARY_FIELDS) {
    const value = nested[key];
    if (typeof value !== 'string' && typeof value !== 'number') continue;
    // Contract ids are UUIDs: their first block tells them apart on one line (the trace keeps them whole).
    const shown = key === 'contractId' && typeof value === 'string' && value.length > 12 ? `${value.slice(0, 8)}…` : value;
    parts.push(`${key === 'pcid' || key === 'emaid' ? key.toUpperCase() : key} ${shown}`);
  }
  for (const key of EXI_FIELDS) {
    const value = fields[key];
    if (typeof value === 'string' && value.length > 0) parts.push(`${key} ${Buffer.from(value, 'base64').length} B EXI`);
  }
  return parts.join('  ');
}

function exiOf(payload: unknown, into: Record<string, string>): void {
  const fields = record(payload);
  if (!fields) return;
  for (const key of EXI_FIELDS) {
    const value = fields[key];
    if (typeof value === 'string' && value.length > 0) into[key] = Buffer.from(value, 'base64').toString('hex');
  }
}

export class Timeline {
  readonly entries: TimelineEntry[] = [];
  private readonly started = performance.now();
  private steps = 0;

  /** `keepEntries: false` for a long-running host that only forwards its steps (publishTo): nothing accumulates. */
  constructor(private readonly options: { keepEntries?: boolean } = {}) {}
  private readonly beginListeners: Array<(entry: TimelineEntry) => void> = [];
  private readonly endListeners: Array<(entry: TimelineEntry) => void> = [];

  /** Called when a participant sends something (in story order). */
  onBegin(listener: (entry: TimelineEntry) => void): void {
    this.beginListeners.push(listener);
  }

  /** Called when it is complete (answered, stored or published, or failed). */
  onEnd(listener: (entry: TimelineEntry) => void): void {
    this.endListeners.push(listener);
  }

  /** Prints a line per step as it starts and a line per step that fails. */
  printTo(print: (line: string) => void): this {
    this.onBegin((entry) => print(formatEntry(entry)));
    this.onEnd((entry) => {
      const failure = formatFailure(entry);
      if (failure) print(failure);
    });
    return this;
  }

  /** Publishes every finished step on `inspect.<participant>.~trace` for the inspector; best effort. */
  publishTo(bus: Bus): this {
    this.onEnd((entry) => void bus.publish(traceSubject(entry.participant), entry).catch(() => {}));
    return this;
  }

  /** A view of `bus` that records what `participant` sends. */
  busFor(participant: string, bus: Bus): Bus {
    return new RecordingBus(bus, participant, this);
  }

  begin(participant: string, kind: TimelineEntry['kind'], subject: string, payload: unknown): TimelineEntry {
    const exi: Record<string, string> = {};
    exiOf(payload, exi);
    const entry: TimelineEntry = {
      step: ++this.steps,
      atMs: Math.round(performance.now() - this.started),
      participant,
      kind,
      subject,
      summary: summarise(payload),
      ...(Object.keys(exi).length ? { exi } : {}),
      keys: correlationOf(payload),
      at: new Date().toISOString(),
    };
    if (this.options.keepEntries !== false) this.entries.push(entry);
    for (const listener of this.beginListeners) listener(entry);
    return entry;
  }

  end(entry: TimelineEntry, outcome: 'ok' | string, reply?: unknown): void {
    entry.durationMs = Math.round(performance.now() - this.started) - entry.atMs;
    entry.outcome = outcome;
    const exi: Record<string, string> = { ...entry.exi };
    exiOf(reply, exi);
    if (Object.keys(exi).length) entry.exi = exi;
    const answer = summarise(reply);
    if (answer) entry.reply = answer;
    entry.keys = { ...correlationOf(reply), ...entry.keys };
    for (const listener of this.endListeners) listener(entry);
  }
}

/** One readable line as the step starts: `  3  mo       → pcp.chain.get              PCID WMI…`. */
export function formatEntry(entry: TimelineEntry): string {
  const arrow = entry.kind === 'request' ? '→' : entry.kind === 'work' ? '⇉' : '⇢';
  return `${String(entry.step).padStart(3)}  ${entry.participant.padEnd(9)}${arrow} ${entry.subject.padEnd(26)} ${entry.summary}`.trimEnd();
}

/** The line for a step that failed, printed when it fails. */
export function formatFailure(entry: TimelineEntry): string | undefined {
  if (entry.outcome === undefined || entry.outcome === 'ok') return undefined;
  return `${String(entry.step).padStart(3)}  ${entry.participant.padEnd(9)}✗ ${entry.subject.padEnd(26)} ${entry.outcome}`;
}

class RecordingBus extends DelegatingBus {
  constructor(inner: Bus, private readonly participant: string, private readonly timeline: Timeline) {
    super(inner);
  }

  override async publish(subject: string, payload: unknown, headers?: Headers): Promise<void> {
    // The host's inspection stream is about actors, not about the story between participants.
    if (subject.startsWith('inspect.')) return this.inner.publish(subject, payload, headers);
    const entry = this.timeline.begin(this.participant, 'event', subject, payload);
    await this.track(entry, this.inner.publish(subject, payload, headers));
  }

  override async request<Res = unknown>(subject: string, payload: unknown, options?: RequestOptions): Promise<Res> {
    const entry = this.timeline.begin(this.participant, 'request', subject, payload);
    return this.track(entry, this.inner.request<Res>(subject, payload, options));
  }

  override async enqueue(queue: string, payload: unknown, options?: EnqueueOptions): Promise<void> {
    const entry = this.timeline.begin(this.participant, 'work', queue, payload);
    await this.track(entry, this.inner.enqueue(queue, payload, options));
  }

  private async track<T>(entry: TimelineEntry, pending: Promise<T>): Promise<T> {
    try {
      const result = await pending;
      this.timeline.end(entry, 'ok', result);
      return result;
    } catch (error) {
      this.timeline.end(entry, error instanceof PncError ? error.code : 'Internal');
      throw error;
    }
  }
}
