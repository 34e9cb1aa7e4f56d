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

export { failureOf, type Failure } from './retry.ts';
