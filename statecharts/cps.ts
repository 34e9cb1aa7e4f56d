/**
 * CPS signing job (VDE "signing contract data and storing in the CCP"): check the contract data,
 * sign the CertificateInstallationRes content with the CPS leaf, put it into the CCP under the
 * PCID. A failed put waits for RETRY (the work item is redelivered), so a crash after signing
 * neither loses nor duplicates the contract: the put is idempotent by contract id.
 */
import { assign, setup } from 'xstate';
import type { SignedContractDataJson, SigningRequestJson } from '../protocols/catalogue/cps.ts';
import { effect, failureOf, type Failure } from './effect.ts';

export interface SigningInput {
  readonly request: SigningRequestJson;
  /** False for the synchronous OPCP "sign without storing" call. */
  readonly store: boolean;
}

export interface SigningContext extends SigningInput {
  signed?: SignedContractDataJson;
  failure?: Failure;
  putAttempts: number;
}

export type SigningEvent = { type: 'RETRY' };

export const signingMachine = setup({
  types: { context: {} as SigningContext, events: {} as SigningEvent, input: {} as SigningInput, output: {} as SigningContext },
  actions: {
    recordFailure: assign({ failure: ({ event }) => failureOf((event as { error?: unknown }).error) }),
  },
  actors: {
    checkContractData: effect<void, SigningRequestJson>('checkContractData'),
    signContractData: effect<SignedContractDataJson, SigningRequestJson>('signContractData'),
    putIntoCcp: effect<void, SignedContractDataJson>('putIntoCcp'),
  },
  guards: {
    wantsStore: ({ context }) => context.store,
  },
}).createMachine({
  id: 'cps-signing',
  context: ({ input }) => ({ ...input, putAttempts: 0 }),
  initial: 'checking',
  states: {
    checking: {
      invoke: {
        src: 'checkContractData',
        input: ({ context }) => context.request,
        onDone: 'signing',
        onError: { target: 'rejected', actions: 'recordFailure' },
      },
    },
    signing: {
      invoke: {
        src: 'signContractData',
        input: ({ context }) => context.request,
        onDone: [
          { guard: 'wantsStore', target: 'storing', actions: assign({ signed: ({ event }) => event.output }) },
          { target: 'signed', actions: assign({ signed: ({ event }) => event.output }) },
        ],
        onError: { target: 'rejected', actions: 'recordFailure' },
      },
    },
    storing: {
      entry: assign({ putAttempts: ({ context }) => context.putAttempts + 1 }),
      invoke: {
        src: 'putIntoCcp',
        input: ({ context }) => context.signed!,
        onDone: { target: 'stored', actions: assign({ failure: undefined }) },
        onError: { target: 'storeFailed', actions: 'recordFailure' },
      },
    },
    storeFailed: { on: { RETRY: 'storing' } },
    stored: { type: 'final' },
    signed: { type: 'final' },
    rejected: { type: 'final' },
  },
  output: ({ context }) => context,
});
