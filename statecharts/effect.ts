/**
 * Placeholders for the effects a pure machine invokes. A machine names its effects in
 * `setup({ actors })` with `effect<Output, Input>(name)`; the participant module supplies the
 * real implementations with `machine.provide({ actors })`, tests supply their own.
 */
import { fromPromise } from 'xstate';
import { PncError } from '../protocols/errors.ts';

/** An effect slot that fails with `EffectNotProvided` until `.provide()` fills it. */
export function effect<Output, Input>(name: string) {
  return fromPromise<Output, Input>(async () => {
    throw new PncError('EffectNotProvided', `effect '${name}' was not provided to the machine`);
  });
}

/** The failure kept in a machine's context: the stable code and message of a PncError. */
export interface Failure {
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
}

/** Turns whatever an effect threw into a Failure. */
export function failureOf(error: unknown): Failure {
  if (error instanceof PncError) return { code: error.code, message: error.message, retryable: error.retryable };
  return { code: 'Internal', message: error instanceof Error ? error.message : String(error), retryable: false };
}
