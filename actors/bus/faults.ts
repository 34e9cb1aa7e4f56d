/**
 * The chaos fault layer: a Bus decorator that drops, delays, duplicates or reorders what one
 * participant sends on chosen subjects, and a process clock skew. It is off unless a host is
 * started with `--chaos`; then `openpnc chaos` (or a test) sets the plan per participant over
 * `chaos.control.<participant>`. Nothing here is used on a normal run.
 */
import { z } from 'zod';
import { PncError } from '../../protocols/errors.ts';
import type { Bus, EnqueueOptions, Headers, RequestOptions, Subscription } from './bus.ts';
import { DelegatingBus } from './decorator.ts';
import { assertPattern, subjectMatches } from './subject.ts';

/** Where a chaos-enabled host takes the plan for one of its participants. */
export const CHAOS_CONTROL_PREFIX = 'chaos.control.';
/** A held (reordered) message goes out after this long when nothing overtakes it. */
export const REORDER_HOLD_MS = 500;

const probability = z.number().min(0).max(1);

export const faultRule = z.strictObject({
  /** NATS subject pattern of what the participant sends (publish, request or work queue). */
  subject: z.string().min(1).max(256),
  drop: probability.optional(),
  duplicate: probability.optional(),
  delayMs: z.number().int().min(0).max(60_000).optional(),
  /** Holds a message until the next one on the same subject has gone (or REORDER_HOLD_MS). */
  reorder: probability.optional(),
  /**
   * A dropped work item is acknowledged as stored although it was not: the one fault the system
   * cannot survive, there so an invariant report can be shown to catch a lost acknowledged write.
   */
  dropAcknowledged: z.boolean().optional(),
});
export type FaultRule = z.output<typeof faultRule>;

export const faultPlan = z.strictObject({
  rules: z.array(faultRule).max(64).default([]),
  /** Added to this process's clock (Date.now and new Date()); every participant of the process sees it. */
  clockSkewMs: z.number().int().min(-366 * 86_400_000).max(366 * 86_400_000).optional(),
});
export type FaultPlan = z.output<typeof faultPlan>;

export interface FaultCounts {
  dropped: number;
  duplicated: number;
  delayed: number;
  reordered: number;
}

/** One participant's faults: the current plan and what it did so far. */
export class FaultState {
  plan: FaultPlan = { rules: [] };
  readonly counts: FaultCounts = { dropped: 0, duplicated: 0, delayed: 0, reordered: 0 };
  private compiled: Array<{ rule: FaultRule; pattern: string[] }> = [];

  constructor(readonly random: () => number = Math.random) {}

  set(plan: FaultPlan): void {
    for (const rule of plan.rules) assertPattern(rule.subject);
    this.plan = plan;
    this.compiled = plan.rules.map((rule) => ({ rule, pattern: rule.subject.split('.') }));
  }

  /** The first rule whose pattern matches `subject`. */
  ruleFor(subject: string): FaultRule | undefined {
    if (this.compiled.length === 0) return undefined;
    const tokens = subject.split('.');
    return this.compiled.find(({ pattern }) => subjectMatches(pattern, tokens))?.rule;
  }

  chance(p: number | undefined): boolean {
    return p !== undefined && p > 0 && this.random() < p;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What a participant sends, passed through its FaultState. Inbound traffic is faulted at its sender. */
export class FaultyBus extends DelegatingBus {
  private readonly held = new Map<string, { release: () => void }>();

  constructor(inner: Bus, private readonly faults: FaultState) {
    super(inner);
  }

  override async publish(subject: string, payload: unknown, headers?: Headers): Promise<void> {
    const rule = subject.startsWith('inspect.') ? undefined : this.faults.ruleFor(subject);
    if (!rule) return this.inner.publish(subject, payload, headers);
    if (this.faults.chance(rule.drop)) {
      this.faults.counts.dropped += 1;
      return;
    }
    await this.delay(rule);
    const send = () => this.inner.publish(subject, payload, headers);
    if (this.faults.chance(rule.reorder) && !this.held.has(subject)) return this.hold(subject, send);
    await send();
    this.releaseHeld(subject);
    if (this.faults.chance(rule.duplicate)) {
      this.faults.counts.duplicated += 1;
      await send();
    }
  }

  override async request<Res = unknown>(subject: string, payload: unknown, options?: RequestOptions): Promise<Res> {
    const rule = this.faults.ruleFor(subject);
    if (!rule) return this.inner.request<Res>(subject, payload, options);
    if (this.faults.chance(rule.drop)) {
      this.faults.counts.dropped += 1;
      throw new PncError('Timeout', `chaos: request on ${subject} dropped`, { retryable: true });
    }
    await this.delay(rule);
    if (this.faults.chance(rule.duplicate)) {
      // The server handles the request twice; the caller sees the first answer, as after a retried send.
      this.faults.counts.duplicated += 1;
      void this.inner.request(subject, payload, options).catch(() => {});
    }
    return this.inner.request<Res>(subject, payload, options);
  }

  override async enqueue(queue: string, payload: unknown, options?: EnqueueOptions): Promise<void> {
    const rule = this.faults.ruleFor(queue);
    if (!rule) return this.inner.enqueue(queue, payload, options);
    if (this.faults.chance(rule.drop)) {
      this.faults.counts.dropped += 1;
      if (rule.dropAcknowledged) return;
      throw new PncError('BusUnavailable', `chaos: work item on ${queue} not stored`, { retryable: true });
    }
    await this.delay(rule);
    await this.inner.enqueue(queue, payload, options);
    if (this.faults.chance(rule.duplicate)) {
      this.faults.counts.duplicated += 1;
      await this.inner.enqueue(queue, payload, options);
    }
  }

  override async close(): Promise<void> {
    for (const subject of [...this.held.keys()]) this.releaseHeld(subject);
    return this.inner.close();
  }

  private async delay(rule: FaultRule): Promise<void> {
    if (!rule.delayMs) return;
    this.faults.counts.delayed += 1;
    await sleep(rule.delayMs);
  }

  /** Resolves the publish at once (as a broker would have it) and sends it after the next message on the subject. */
  private hold(subject: string, send: () => Promise<void>): void {
    this.faults.counts.reordered += 1;
    const timer = setTimeout(() => this.releaseHeld(subject), REORDER_HOLD_MS);
    this.held.set(subject, {
      release: () => {
        clearTimeout(timer);
        void send().catch(() => {});
      },
    });
  }

  private releaseHeld(subject: string): void {
    const held = this.held.get(subject);
    if (!held) return;
    this.held.delete(subject);
    held.release();
  }
}

const RealDate = Date;
let skewMs = 0;

/** Skews this process's clock for Date.now() and new Date(); 0 restores it. A chaos host only. */
export function setProcessClockSkew(ms: number): void {
  skewMs = ms;
  if (globalThis.Date !== RealDate) return;
  class SkewedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(RealDate.now() + skewMs);
      else super(...(args as [string | number | Date]));
    }

    static override now(): number {
      return RealDate.now() + skewMs;
    }
  }
  globalThis.Date = SkewedDate as DateConstructor;
}

/**
 * Serves `chaos.control.<participant>` for one participant of a chaos-enabled host: a request
 * carrying a FaultPlan replaces the plan (validated; a bad plan is refused and the old one stays)
 * and answers the counts so far.
 */
export function serveChaosControl(bus: Bus, participant: string, faults: FaultState): Promise<Subscription> {
  return bus.serve(`${CHAOS_CONTROL_PREFIX}${participant}`, (request) => {
    const parsed = faultPlan.safeParse(request);
    if (!parsed.success) throw new PncError('InvalidPayload', `fault plan: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    try {
      faults.set(parsed.data);
    } catch (error) {
      throw new PncError('InvalidPayload', `fault plan: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (parsed.data.clockSkewMs !== undefined) setProcessClockSkew(parsed.data.clockSkewMs);
    return { participant, counts: { ...faults.counts } };
  });
}
