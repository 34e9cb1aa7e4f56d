/**
 * The deadline convention for hosted machines (XState drops pending `after` timers when a snapshot
 * is restored, statelyai/xstate#5331, so a durable timer must live in context):
 *
 * - a machine that needs a timer keeps `context.deadlines: Record<name, epochMs>`;
 * - it arms one with `assign({ deadlines: ({ context, event }) => withDeadline(context.deadlines, 'confirm', event.at + ttl) })`,
 *   the time coming in with an event or the input (a machine reads no clock);
 *   and clears it with `withoutDeadline` when the wait ends;
 * - the host (actors/host/index.ts) sends `{ type: 'deadline.<name>', at, now }` when `at` has passed, also
 *   after a restart (a deadline that passed while the process was down fires at once), and
 *   persists the resulting snapshot like any other event. A machine must handle the event or clear the deadline.
 *
 * Pure: no timers here, only the data shape the host reads.
 */
export type Deadlines = Readonly<Record<string, number>>;

/** The event the host sends when a deadline passes. */
export interface DeadlineEvent<Name extends string = string> {
  readonly type: `deadline.${Name}`;
  /** The deadline (epoch ms) that passed. */
  readonly at: number;
  /** The host's clock when it delivered the event (epoch ms): at or after `at`, much later after a restart. */
  readonly now: number;
}

export const DEADLINE_EVENT_PREFIX = 'deadline.';

const DEADLINE_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** A copy of `deadlines` with `name` due at `at` (epoch ms). */
export function withDeadline(deadlines: Deadlines | undefined, name: string, at: number): Deadlines {
  if (!DEADLINE_NAME.test(name)) throw new TypeError(`deadline name '${name}' must match ${DEADLINE_NAME}`);
  if (!Number.isFinite(at)) throw new TypeError(`deadline '${name}' needs a finite epoch-ms time`);
  return { ...deadlines, [name]: at };
}

/** A copy of `deadlines` without `name`. */
export function withoutDeadline(deadlines: Deadlines | undefined, name: string): Deadlines {
  const { [name]: _removed, ...rest } = deadlines ?? {};
  return rest;
}

const isDeadline = (name: string, at: unknown): at is number => DEADLINE_NAME.test(name) && typeof at === 'number' && Number.isFinite(at);

/** The deadlines a snapshot's context holds, ignoring anything that is not a name → finite number. */
export function deadlinesOf(context: unknown): Deadlines {
  const raw = (context as { deadlines?: unknown } | undefined)?.deadlines;
  if (typeof raw !== 'object' || raw === null) return {};
  return Object.fromEntries(Object.entries(raw).filter(([name, at]) => isDeadline(name, at)));
}

/** The earliest of `deadlinesOf(context)`, read without copying them (a session runner asks after every message). */
export function earliestDeadline(context: unknown): { readonly name: string; readonly at: number } | undefined {
  const raw = (context as { deadlines?: unknown } | undefined)?.deadlines;
  if (typeof raw !== 'object' || raw === null) return undefined;
  let earliest: { name: string; at: number } | undefined;
  for (const name in raw) {
    const at = (raw as Record<string, unknown>)[name];
    if (Object.hasOwn(raw, name) && isDeadline(name, at) && (!earliest || at < earliest.at)) earliest = { name, at };
  }
  return earliest;
}
