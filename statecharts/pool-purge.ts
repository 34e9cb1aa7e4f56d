/**
 * The purge schedule of a pool (RCP, PCP, CCP): entries that expire (or are revoked) leave the pool
 * at a deadline. The deadline lives in `context.deadlines.purge` (absolute epoch ms, the host's
 * convention in statecharts/deadlines.ts), so the actor host re-arms it after a restart and fires
 * it at once when it passed while the process was down. The purge itself is an effect the
 * participant provides; it answers with the count and the next deadline. A failed purge retries
 * after RETRY_MS. The machine reads no clock: a purge runs as of the time its event brings (the
 * actor's clock in PURGE_DUE, the host's in the deadline event). What a pool purges is its effect's
 * business: the CCP's (actors/pools/ccp-purge.ts) also takes expired or superseded renewals and
 * cancellations past their retention, and answers with the earliest expiry among all of them.
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

export interface PurgeContext {
  deadlines: Deadlines;
  purgeRuns: number;
  purgedTotal: number;
  lastPurge?: { readonly at: number; readonly purged: number };
  /** The time the running (or last) purge runs as of, from the event that started it. */
  purgeAsOf?: number;
  failure?: Failure;
}

export type PurgeEvent =
  /** An entry with this expiry (a revocation: now) entered the pool. */
  | { type: 'EXPIRY_ADDED'; at: number }
  /** Purge now (at start, to catch up; on demand); `at` is the actor's clock. */
  | { type: 'PURGE_DUE'; at: number }
  | DeadlineEvent<typeof PURGE_DEADLINE>;

const purgeAt = (context: PurgeContext): number | undefined => context.deadlines[PURGE_DEADLINE];

/** Builds the purge-schedule machine of one pool participant. */
export function purgeScheduleMachine(id: string) {
  return setup({
    types: { context: {} as PurgeContext, events: {} as PurgeEvent },
    actors: { purge: effect<PurgeResult, { now: number }>(`${id}.purge`) },
    guards: {
      isEarlier: ({ context, event }) => event.type === 'EXPIRY_ADDED' && (purgeAt(context) === undefined || event.at < purgeAt(context)!),
    },
    actions: {
      takeEarlier: assign({ deadlines: ({ context, event }) => withDeadline(context.deadlines, PURGE_DEADLINE, (event as { at: number }).at) }),
      /** Accepts an event that changes nothing (a later expiry, a purge already running), so the host does not refuse it. */
      keep: () => undefined,
      takePurgeTime: assign({ purgeAsOf: ({ event }) => (event.type === 'PURGE_DUE' ? event.at : (event as DeadlineEvent).now) }),
    },
  }).createMachine({
    id,
    context: { deadlines: {}, purgeRuns: 0, purgedTotal: 0 },
    initial: 'waiting',
    states: {
      waiting: {
        on: {
          EXPIRY_ADDED: [{ guard: 'isEarlier', actions: 'takeEarlier' }, { actions: 'keep' }],
          PURGE_DUE: { target: 'purging', actions: 'takePurgeTime' },
          [`deadline.${PURGE_DEADLINE}`]: { target: 'purging', actions: 'takePurgeTime' },
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
          input: ({ context }) => ({ now: context.purgeAsOf! }),
          onDone: {
            target: 'waiting',
            actions: assign(({ context, event }) => {
              const pending = purgeAt(context);
              const candidates = [event.output.nextPurgeAt, pending !== undefined && pending > context.purgeAsOf! ? pending : null].filter((at): at is number => at !== null);
              return {
                deadlines: candidates.length ? withDeadline(context.deadlines, PURGE_DEADLINE, Math.min(...candidates)) : withoutDeadline(context.deadlines, PURGE_DEADLINE),
                purgeRuns: context.purgeRuns + 1,
                purgedTotal: context.purgedTotal + event.output.purged,
                lastPurge: { at: context.purgeAsOf!, purged: event.output.purged },
                failure: undefined,
              };
            }),
          },
          onError: {
            target: 'waiting',
            actions: assign({
              failure: ({ event }) => failureOf(event.error),
              deadlines: ({ context }) => withDeadline(context.deadlines, PURGE_DEADLINE, context.purgeAsOf! + RETRY_MS),
            }),
          },
        },
      },
    },
  });
}

export type PurgeScheduleMachine = ReturnType<typeof purgeScheduleMachine>;
