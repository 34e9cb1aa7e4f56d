/**
 * Failure routing shared by every hosted machine (issue 9, "route failures on `retryable`"):
 * a step's error goes to a wait state when it is retryable, to the machine's failed state when it
 * is not. The wait state holds an absolute back-off deadline in `context.deadlines.retry`
 * (statecharts/deadlines.ts); the host fires it, or a caller sends RETRY sooner, and the step runs again.
 *
 * Pure: the time of a failure comes in with the error event. Effects provided through
 * `timedEffects` (actors/host/effects.ts) throw an `EffectFailed` that carries the failure time;
 * an error without one (a bare test effect) waits for an explicit RETRY, with no deadline.
 */
import { assign, type AnyEventObject, type EventObject } from 'xstate';
import { PncError } from '../protocols/errors.ts';
import { withDeadline, withoutDeadline, type Deadlines } from './deadlines.ts';

/** The failure kept in a machine's context: the stable code and message of a PncError. */
export interface Failure {
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
  /** Epoch ms the effect failed, when the effect said so. */
  readonly at?: number;
}

/** An effect's error together with the time it failed: how time enters a machine on the error path. */
export class EffectFailed extends Error {
  constructor(readonly error: unknown, readonly at: number) {
    super(error instanceof Error ? error.message : String(error));
    this.name = 'EffectFailed';
  }
}

/** Turns whatever an effect threw into a Failure. */
export function failureOf(error: unknown): Failure {
  const at = error instanceof EffectFailed ? error.at : undefined;
  const cause = error instanceof EffectFailed ? error.error : error;
  const base = cause instanceof PncError
    ? { code: cause.code, message: cause.message, retryable: cause.retryable }
    : { code: 'Internal', message: cause instanceof Error ? cause.message : String(cause), retryable: false };
  return at === undefined ? base : { ...base, at };
}

export const RETRY_DEADLINE = 'retry';

export interface RetryPolicy {
  /** Wait after the first failure. */
  readonly firstMs: number;
  /** Longest wait; the wait doubles per failure up to this. */
  readonly maxMs: number;
}

/** 1 s, 2 s, 4 s … at most one minute: outages of a partner last seconds to minutes. */
export const DEFAULT_RETRY: RetryPolicy = { firstMs: 1_000, maxMs: 60_000 };

/** The back-off before retry number `attempt` (1-based). */
export function backoffMs(attempt: number, policy: RetryPolicy = DEFAULT_RETRY): number {
  return Math.min(policy.maxMs, policy.firstMs * 2 ** Math.max(0, Math.min(30, attempt - 1)));
}

/** What a machine using the helper keeps in context. */
export interface RetryContext {
  failure?: Failure;
  /** Retryable failures in a row; 0 after a success. */
  attempts?: number;
  deadlines?: Deadlines;
}

const errorOf = (event: unknown) => (event as { error?: unknown }).error;

/**
 * The named guard and actions a machine spreads into `setup()` to use `routeFailure` and
 * `waitToRetry`: `isRetryable`, `recordFailure` (to the failed state), `recordRetryableFailure`
 * (attempt count and back-off deadline), `clearFailure` (after a step succeeded), `clearRetryDeadline`.
 */
export function retrying<TContext extends RetryContext, TEvent extends EventObject>(policy: RetryPolicy = DEFAULT_RETRY) {
  return {
    guards: {
      isRetryable: ({ event }: { event: unknown }) => failureOf(errorOf(event)).retryable,
    },
    actions: {
      recordFailure: assign<TContext, AnyEventObject, undefined, TEvent, never>(({ event }) => ({ failure: failureOf(errorOf(event)) }) as Partial<TContext>),
      recordRetryableFailure: assign<TContext, AnyEventObject, undefined, TEvent, never>(({ context, event }) => {
        const failure = failureOf(errorOf(event));
        const attempts = (context.attempts ?? 0) + 1;
        const deadlines = failure.at === undefined ? withoutDeadline(context.deadlines, RETRY_DEADLINE) : withDeadline(context.deadlines, RETRY_DEADLINE, failure.at + backoffMs(attempts, policy));
        return { failure, attempts, deadlines } as Partial<TContext>;
      }),
      clearFailure: assign<TContext, AnyEventObject, undefined, TEvent, never>(() => ({ failure: undefined, attempts: 0 }) as Partial<TContext>),
      clearRetryDeadline: assign<TContext, AnyEventObject, undefined, TEvent, never>(({ context }) => ({ deadlines: withoutDeadline(context.deadlines, RETRY_DEADLINE) }) as Partial<TContext>),
    },
  };
}

/**
 * The `onError` of a step: retryable failures go to `waitState` with a back-off deadline, the
 * others to `failedState`. Both keep the failure in context. Needs `retrying()` in `setup()`.
 */
export function routeFailure<W extends string, F extends string>(waitState: W, failedState: F) {
  return [
    { guard: 'isRetryable', target: waitState, actions: 'recordRetryableFailure' },
    { target: failedState, actions: 'recordFailure' },
  ] as const;
}

/**
 * A wait state: RETRY (a caller who knows the partner is back) or the back-off deadline runs
 * `retryState` again. Tagged `retrying`. Needs `retrying()` in `setup()`.
 */
export function waitToRetry<S extends string>(retryState: S) {
  const again = { target: retryState, actions: 'clearRetryDeadline' } as const;
  return { tags: ['retrying'], on: { RETRY: again, [`deadline.${RETRY_DEADLINE}`]: again } } as const;
}
