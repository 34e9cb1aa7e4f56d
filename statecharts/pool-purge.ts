/**
 * The purge schedule of a pool (RCP, PCP, CCP): entries that expire (or are revoked) leave the pool
 * at a deadline. The deadline is kept in the context as an absolute time (`purgeAt`, ms since the
 * epoch), so a restored snapshot re-arms it; the delay is capped so a deadline years away is simply
 * re-checked. The purge itself is an effect the participant provides; it answers with the count and
 * the next deadline. A failed purge retries after `retryDelay`.
 */
import { assign, setup } from 'xstate';
import { effect, failureOf, type Failure } from './effect.ts';

/** setTimeout's limit (about 24.8 days); a later deadline is re-checked at this horizon. */
export const MAX_TIMER_MS = 2_147_483_647;

export interface PurgeResult {
  readonly purged: number;
  /** Earliest expiry left in the pool, or null when nothing expires. */
  readonly nextPurgeAt: number | null;
}

export interface PurgeContext {
  purgeAt: number | null;
  purgeRuns: number;
  purgedTotal: number;
  lastPurge?: { readonly at: number; readonly purged: number };
  failure?: Failure;
}

export type PurgeEvent =
  /** An entry with this expiry (or revocation: now) entered the pool. */
  | { type: 'EXPIRY_ADDED'; at: number }
  /** The deadline passed (sent by the host when it re-arms a restored deadline) or a purge was asked for. */
  | { type: 'PURGE_DUE' };

/** Builds the purge-schedule machine of one pool participant. */
export function purgeScheduleMachine(id: string) {
  return setup({
    types: { context: {} as PurgeContext, events: {} as PurgeEvent },
    actors: { purge: effect<PurgeResult, { now: number }>(`${id}.purge`) },
    delays: {
      untilPurge: ({ context }) => Math.min(MAX_TIMER_MS, Math.max(0, (context.purgeAt ?? Date.now()) - Date.now())),
      retryDelay: 60_000,
    },
    guards: {
      hasDeadline: ({ context }) => context.purgeAt !== null,
      isEarlier: ({ context, event }) => event.type === 'EXPIRY_ADDED' && (context.purgeAt === null || event.at < context.purgeAt),
    },
  }).createMachine({
    id,
    context: { purgeAt: null, purgeRuns: 0, purgedTotal: 0 },
    initial: 'idle',
    on: {
      EXPIRY_ADDED: { guard: 'isEarlier', target: '.waiting', reenter: true, actions: assign({ purgeAt: ({ event }) => event.at }) },
      PURGE_DUE: '.purging',
    },
    states: {
      idle: { always: { guard: 'hasDeadline', target: 'waiting' } },
      waiting: { after: { untilPurge: 'purging' } },
      purging: {
        on: { PURGE_DUE: {}, EXPIRY_ADDED: { guard: 'isEarlier', actions: assign({ purgeAt: ({ event }) => event.at }) } },
        invoke: {
          src: 'purge',
          input: () => ({ now: Date.now() }),
          onDone: {
            target: 'idle',
            actions: assign(({ context, event }) => ({
              purgeAt: minDeadline(event.output.nextPurgeAt, context.purgeAt !== null && context.purgeAt > Date.now() ? context.purgeAt : null),
              purgeRuns: context.purgeRuns + 1,
              purgedTotal: context.purgedTotal + event.output.purged,
              lastPurge: { at: Date.now(), purged: event.output.purged },
              failure: undefined,
            })),
          },
          onError: { target: 'backoff', actions: assign({ failure: ({ event }) => failureOf(event.error) }) },
        },
      },
      backoff: { after: { retryDelay: 'purging' } },
    },
  });
}

function minDeadline(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

export type PurgeScheduleMachine = ReturnType<typeof purgeScheduleMachine>;
