/**
 * Idempotent effects for hosted machines.
 *
 * A restored snapshot re-executes an invoked `fromPromise` effect that was in flight when the
 * process died, so every effect runs at least once. To make it happen once:
 * 1. the machine passes an **effect key** in the effect's input (`effectKey`, derived from context,
 *    for example `${orderId}:charge`), the same on every replay;
 * 2. `idempotentEffect` looks the key up in the `effects` collection first and, when the effect
 *    already finished, answers with the recorded output (or recorded non-retryable failure)
 *    without running it again;
 * 3. otherwise it runs the effect and records the result under the key afterwards.
 * A crash between 3's run and its record replays the call once more, so the call itself passes the
 * key to the system it changes (an insert keyed by it, an `Idempotency-Key` header, a work-queue
 * de-duplication id), which then does it once.
 */
import { fromPromise } from 'xstate';
import { PncError, toPncError, type PncErrorData } from '../../protocols/errors.ts';
import type { Store, StoredDoc } from '../store/store.ts';
import { EffectFailed } from '../../statecharts/retry.ts';

/** Collection recording finished effects by key. */
export const EFFECTS_COLLECTION = 'effects';

export interface EffectInput {
  /** Stable across replays; unique per effect occurrence. */
  readonly effectKey: string;
}

interface EffectRecord extends StoredDoc {
  readonly effect: string;
  readonly finishedAt: string;
  readonly output?: unknown;
  readonly failure?: PncErrorData;
}

/**
 * Wraps `run` as a named effect actor whose result is recorded under `input.effectKey`.
 * A retryable failure is not recorded (a replay tries again); a non-retryable one is, so a replay
 * fails the same way.
 *
 * @example
 * const charge = idempotentEffect(store, 'charge', async ({ effectKey, amount }: { effectKey: string; amount: number }) =>
 *   payments.charge(amount, { idempotencyKey: effectKey }));
 * const logic = bookingMachine.provide({ actors: { charge } });
 */
export function idempotentEffect<Input extends EffectInput, Output>(
  store: Store,
  name: string,
  run: (input: Input, signal: AbortSignal) => Promise<Output>,
) {
  const records = store.collection<EffectRecord>(EFFECTS_COLLECTION);
  return fromPromise<Output, Input>(async ({ input, signal }) => {
    if (typeof input?.effectKey !== 'string' || input.effectKey === '') throw new PncError('InvalidEffectInput', `effect '${name}' needs a non-empty effectKey in its input`);
    const recorded = await records.get(input.effectKey);
    if (recorded) {
      if (recorded.effect !== name) throw new PncError('EffectKeyClash', `effect key '${input.effectKey}' belongs to effect '${recorded.effect}', not '${name}'`);
      if (recorded.failure) throw PncError.fromJSON(recorded.failure);
      return recorded.output as Output;
    }
    let output: Output;
    try {
      output = await run(input, signal);
    } catch (error) {
      const failure = toPncError(error);
      if (!failure.retryable && !signal.aborted) await records.replace({ _id: input.effectKey, effect: name, finishedAt: new Date().toISOString(), failure: failure.toJSON() });
      throw failure;
    }
    await records.replace({ _id: input.effectKey, effect: name, finishedAt: new Date().toISOString(), ...(output === undefined ? {} : { output }) });
    return output;
  });
}

/**
 * An effect whose failure carries the time it failed (`EffectFailed`), so the machine can set its
 * back-off deadline without reading a clock (statecharts/retry.ts). `clock` is for tests.
 */
export function timedEffect<Input, Output>(run: (args: { input: Input; signal: AbortSignal }) => Promise<Output>, clock: () => number = Date.now) {
  return fromPromise<Output, Input>(async ({ input, signal }) => {
    try {
      return await run({ input, signal });
    } catch (error) {
      throw new EffectFailed(error, clock());
    }
  });
}
