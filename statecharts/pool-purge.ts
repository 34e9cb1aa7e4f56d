/**
 * The purge schedule of a pool (RCP, PCP, CCP): entries that expire (or are revoked) leave the pool
 * at a deadline. The deadline lives in `context.deadlines.purge` (absolute epoch ms, the host's
 * convention in statecharts/deadlines.ts), so the actor host re-arms it after a restart and fires
 * it at once when it passed while the process was down. The purge itself is an effect the
 * participant provides; it answers with the count, the next deadline and the time it purged at (the
 * machine reads no clock). A failed purge retries RETRY_MS after the time its failure carries
 * (EffectFailed, statecharts/retry.ts).
 */
import { assign, setup } from 'xstate';
import { effect, failureOf, type Failure } from './effect.ts';
import { withDeadline, withoutDeadline, type Deadlines, type DeadlineEvent } from './deadlines.ts';

export const PURGE_DEADLINE = 'purge';
export const RETRY_MS = 60_000;

export interface PurgeResult {
  readonly purged: number;
  /** Earliest expiry left in the pool, or null when nothing expires. */
  readonly nextPurgeAt: number | null;
}

/** What the purge effect answers: the result and the time (epoch ms) it purged at. */
export interface PurgeRun extends PurgeResult {
  readonly at: number;
}

export interface PurgeContext {
  deadlines: Deadlines;
  purgeRuns: number;
  purgedTotal: number;
  lastPurge?: { readonly at: number; readonly purged: number };
  failure?: Failure;
}

export type PurgeEvent =
  /** An entry with this expiry (a revocation: now) entered the pool. */
  | { type: 'EXPIRY_ADDED'; at: number }
  /** Purge now (at start, to catch up; on demand). */
  | { type: 'PURGE_DUE' }
  | DeadlineEvent<typeof PURGE_DEADLINE>;

const purgeAt = (context: PurgeContext): number | undefined => context.deadlines[PURGE_DEADLINE];

/** Builds the purge-schedule machine of one pool participant. */
export function purgeScheduleMachine(id: string) {
  return setup({
    types: { context: {} as PurgeContext, events: {} as PurgeEvent },
    actors: { purge: effect<PurgeRun, void>(`${id}.purge`) },
    guards: {
      isEarlier: ({ context, event }) => event.type === 'EXPIRY_ADDED' && (purgeAt(context) === undefined || event.at < purgeAt(context)!),
    },
    actions: {
      takeEarlier: assign({ deadlines: ({ context, event }) => withDeadline(context.deadlines, PURGE_DEADLINE, (event as { at: number }).at) }),
      /** Accepts an event that changes nothing (a later expiry, a purge already running), so the host does not refuse it. */
      keep: () => undefined,
    },
  }).createMachine({
    id,
    context: { deadlines: {}, purgeRuns: 0, purgedTotal: 0 },
    initial: 'waiting',
    states: {
      waiting: {
        on: {
          EXPIRY_ADDED: [{ guard: 'isEarlier', actions: 'takeEarlier' }, { actions: 'keep' }],
          PURGE_DUE: 'purging',
          [`deadline.${PURGE_DEADLINE}`]: 'purging',
        },
      },
      purging: {
        on: {
          // An earlier expiry arriving mid-purge is kept and wins over the purge's answer if earlier.
          EXPIRY_ADDED: [{ guard: 'isEarlier', actions: 'takeEarlier' }, { actions: 'keep' }],
          PURGE_DUE: { actions: 'keep' },
          [`deadline.${PURGE_DEADLINE}`]: { actions: 'keep' },
        },
        invoke: {
          src: 'purge',
          onDone: {
            target: 'waiting',
            actions: assign(({ context, event }) => {
              const pending = purgeAt(context);
              const candidates = [event.output.nextPurgeAt, pending !== undefined && pending > event.output.at ? pending : null].filter((at): at is number => at !== null);
              return {
                deadlines: candidates.length ? withDeadline(context.deadlines, PURGE_DEADLINE, Math.min(...candidates)) : withoutDeadline(context.deadlines, PURGE_DEADLINE),
                purgeRuns: context.purgeRuns + 1,
                purgedTotal: context.purgedTotal + event.output.purged,
                lastPurge: { at: event.output.at, purged: event.output.purged },
                failure: undefined,
              };
            }),
          },
          onError: {
            target: 'waiting',
            actions: assign(({ context, event }) => {
              const failure = failureOf(event.error);
              // Without a failure time the next EXPIRY_ADDED, PURGE_DUE or restart purges again.
              return { failure, deadlines: failure.at === undefined ? context.deadlines : withDeadline(context.deadlines, PURGE_DEADLINE, failure.at + RETRY_MS) };
            }),
          },
        },
      },
    },
  });
}

export type PurgeScheduleMachine = ReturnType<typeof purgeScheduleMachine>;
