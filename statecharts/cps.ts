/**
 * CPS signing job (VDE "signing contract data and storing in the CCP"): check the contract data,
 * sign the CertificateInstallationRes content with the CPS leaf, put it into the CCP under the
 * PCID. Failures route on `retryable` (statecharts/retry.ts): an RCP or CCP outage waits for RETRY
 * (the work item is redelivered) and only contract data the CPS itself judges invalid is rejected
 * (issue 9 D3). A crash after signing neither loses nor duplicates the contract: the put is
 * idempotent by contract id.
 */
import { assign, setup } from 'xstate';
import type { SignedContractDataJson, SigningRequestJson } from '../protocols/catalogue/cps.ts';
import { effect } from './effect.ts';
import type { Deadlines } from './deadlines.ts';
import { retrying, routeFailure, waitToRetry, type Failure } from './retry.ts';

export interface SigningInput {
  readonly request: SigningRequestJson;
  /** False for the synchronous OPCP "sign without storing" call. */
  readonly store: boolean;
}

export interface SigningContext extends SigningInput {
  signed?: SignedContractDataJson;
  failure?: Failure;
  attempts?: number;
  deadlines?: Deadlines;
  putAttempts: number;
}

export type SigningEvent = { type: 'RETRY' } | { type: 'deadline.retry'; at: number };

const retry = retrying<SigningContext, SigningEvent>();

export const signingMachine = setup({
  types: { context: {} as SigningContext, events: {} as SigningEvent, input: {} as SigningInput, output: {} as SigningContext },
  actions: { ...retry.actions },
  actors: {
    checkContractData: effect<void, SigningRequestJson>('checkContractData'),
    signContractData: effect<SignedContractDataJson, SigningRequestJson>('signContractData'),
    putIntoCcp: effect<void, SignedContractDataJson>('putIntoCcp'),
  },
  guards: {
    ...retry.guards,
    wantsStore: ({ context }) => context.store,
  },
}).createMachine({
  id: 'cps-signing',
  version: '2',
  context: ({ input }) => ({ ...input, putAttempts: 0 }),
  initial: 'checking',
  states: {
    checking: {
      invoke: {
        src: 'checkContractData',
        input: ({ context }) => context.request,
        onDone: { target: 'signing', actions: 'clearFailure' },
        onError: routeFailure('checkWaiting', 'rejected'),
      },
    },
    checkWaiting: waitToRetry('checking'),
    signing: {
      invoke: {
        src: 'signContractData',
        input: ({ context }) => context.request,
        onDone: [
          { guard: 'wantsStore', target: 'storing', actions: assign({ signed: ({ event }) => event.output }) },
          { target: 'signed', actions: assign({ signed: ({ event }) => event.output }) },
        ],
        onError: routeFailure('signWaiting', 'rejected'),
      },
    },
    signWaiting: waitToRetry('signing'),
    storing: {
      entry: assign({ putAttempts: ({ context }) => context.putAttempts + 1 }),
      invoke: {
        src: 'putIntoCcp',
        input: ({ context }) => context.signed!,
        onDone: { target: 'stored', actions: 'clearFailure' },
        onError: routeFailure('storeWaiting', 'rejected'),
      },
    },
    storeWaiting: waitToRetry('storing'),
    stored: { type: 'final', tags: ['stored'] },
    signed: { type: 'final', tags: ['signed'] },
    rejected: { type: 'final', tags: ['rejected'] },
  },
  output: ({ context }) => context,
});
