/**
 * MO contract workflow (VDE "conclusion of contract" and "providing contract data to the CPS"):
 * fetch the provisioning chain from the PCP, verify it against the OEM root, issue EMAID, contract
 * key and certificate and encrypt the key for the vehicle, submit the contract data to the CPS as
 * durable work, wait for the CCP to hold it; terminate deletes it from the CCP and revokes.
 * Pure: every effect is named here and provided by actors/participants/mo.ts.
 */
import { assign, setup } from 'xstate';
import type { CertificateChainJson, ContractDataJson } from '../protocols/catalogue/fields.ts';
import { effect, failureOf, type Failure } from './effect.ts';

export interface ContractInput {
  readonly contractId: string;
  readonly pcid: string;
  readonly customerId?: string;
}

export interface IssuedContract {
  readonly emaid: string;
  readonly contractData: ContractDataJson;
  /** Serial of the contract certificate, lowercase hex (for revocation). */
  readonly serialNumber: string;
}

export interface ContractContext extends ContractInput {
  provisioningChain?: CertificateChainJson;
  issued?: IssuedContract;
  failure?: Failure;
}

export type ContractEvent = { type: 'CONTRACT_STORED' } | { type: 'CONTRACT_REJECTED'; code: string; message: string } | { type: 'TERMINATE' };

export const contractMachine = setup({
  types: { context: {} as ContractContext, events: {} as ContractEvent, input: {} as ContractInput },
  actions: {
    recordFailure: assign({ failure: ({ event }) => failureOf((event as { error?: unknown }).error) }),
  },
  actors: {
    fetchProvisioningChain: effect<CertificateChainJson, { pcid: string }>('fetchProvisioningChain'),
    verifyProvisioningChain: effect<void, { pcid: string; chain: CertificateChainJson }>('verifyProvisioningChain'),
    issueContract: effect<IssuedContract, { contractId: string; pcid: string; chain: CertificateChainJson }>('issueContract'),
    submitToCps: effect<void, { contractId: string; pcid: string; contractData: ContractDataJson }>('submitToCps'),
    terminateContract: effect<void, { contractId: string; emaid: string; serialNumber: string }>('terminateContract'),
  },
}).createMachine({
  id: 'mo-contract',
  context: ({ input }) => ({ ...input }),
  initial: 'fetchingChain',
  states: {
    fetchingChain: {
      invoke: {
        src: 'fetchProvisioningChain',
        input: ({ context }) => ({ pcid: context.pcid }),
        onDone: { target: 'verifyingChain', actions: assign({ provisioningChain: ({ event }) => event.output }) },
        onError: { target: 'failed', actions: 'recordFailure' },
      },
    },
    verifyingChain: {
      invoke: {
        src: 'verifyProvisioningChain',
        input: ({ context }) => ({ pcid: context.pcid, chain: context.provisioningChain! }),
        onDone: 'issuing',
        onError: { target: 'failed', actions: 'recordFailure' },
      },
    },
    issuing: {
      invoke: {
        src: 'issueContract',
        input: ({ context }) => ({ contractId: context.contractId, pcid: context.pcid, chain: context.provisioningChain! }),
        onDone: { target: 'submitting', actions: assign({ issued: ({ event }) => event.output }) },
        onError: { target: 'failed', actions: 'recordFailure' },
      },
    },
    submitting: {
      invoke: {
        src: 'submitToCps',
        input: ({ context }) => ({ contractId: context.contractId, pcid: context.pcid, contractData: context.issued!.contractData }),
        onDone: 'submitted',
        onError: { target: 'failed', actions: 'recordFailure' },
      },
    },
    // The CPS acknowledges through the CCP: `cps.contract.signed` turns into CONTRACT_STORED.
    submitted: {
      on: {
        CONTRACT_STORED: 'installed',
        CONTRACT_REJECTED: { target: 'failed', actions: assign({ failure: ({ event }) => ({ code: event.code, message: event.message, retryable: false }) }) },
        TERMINATE: 'terminating',
      },
    },
    installed: { on: { TERMINATE: 'terminating' } },
    terminating: {
      invoke: {
        src: 'terminateContract',
        input: ({ context }) => ({ contractId: context.contractId, emaid: context.issued!.emaid, serialNumber: context.issued!.serialNumber }),
        onDone: 'terminated',
        // Termination stays possible: the CCP delete or the revocation can be retried.
        onError: { target: 'installed', actions: 'recordFailure' },
      },
    },
    terminated: { type: 'final' },
    failed: { type: 'final' },
  },
});

/** The contract status the catalogue reports for a machine state. */
export function contractStatusOf(state: string): 'concluding' | 'submitted' | 'installed' | 'terminated' | 'failed' {
  switch (state) {
    case 'submitted': return 'submitted';
    case 'installed': case 'terminating': return 'installed';
    case 'terminated': return 'terminated';
    case 'failed': return 'failed';
    default: return 'concluding';
  }
}
