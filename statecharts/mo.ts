/**
 * MO contract workflow (VDE "conclusion of contract" and "providing contract data to the CPS"):
 * fetch the provisioning chain from the PCP, verify it against the OEM root, issue EMAID, contract
 * key and certificate and encrypt the key for the vehicle, submit the contract data to the CPS as
 * durable work, wait for the CCP to hold it; terminate deletes it from the CCP and revokes.
 *
 * Failures route on `retryable` (statecharts/retry.ts): a PCP, RCP or CPS outage waits with a
 * back-off and runs the step again; only a bad vehicle or chain fails the contract. The wait for
 * the CCP owns its confirmation: CONTRACT_STORED ends it, and when it does not come before the
 * `confirm` deadline the machine asks the CCP itself (issue 9 D1: the confirmation is durable work,
 * but a CCP behind OPCP sends none).
 * An installed contract can be renewed for CertificateUpdate (RENEW): a new certificate for the same
 * EMAID whose key is encrypted for the installed contract certificate [V2G2-820/821], signed by the
 * CPS and held by the CCP apart from installable contracts. A failed renewal leaves the contract
 * installed, with the failure kept.
 * Pure: every effect is named here and provided by actors/participants/mo.ts.
 */
import { assign, setup } from 'xstate';
import type { CertificateChainJson, ContractDataJson } from '../protocols/catalogue/fields.ts';
import { effect } from './effect.ts';
import { withDeadline, withoutDeadline, type Deadlines } from './deadlines.ts';
import { backoffMs, failureOf, retrying, routeFailure, waitToRetry, type Failure } from './retry.ts';



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

/** A renewed contract for CertificateUpdate: its key is encrypted for the certificate `renewalOf` names. */
export interface RenewedContract extends IssuedContract {
  /** SHA-256 (hex) of the contract certificate the new key is encrypted for. */
  readonly renewalOf: string;
  /** The CPS signing job's id (and the CCP's contract id of the renewal). */
  readonly renewalId: string;
  /** The CCP holds it: an EV's CertificateUpdateReq gets it. */
  readonly stored?: boolean;
}

export interface ContractContext extends ContractInput {
  provisioningChain?: CertificateChainJson;
  issued?: IssuedContract;
  failure?: Failure;
  attempts?: number;
  deadlines?: Deadlines;
  /** Times the CCP was asked without the contract being there yet. */
  confirmChecks?: number;
  /** The latest renewal, and how many were asked for (each issues a new certificate). */
  renewal?: RenewedContract;
  renewals?: number;
  /** Serials of every renewed certificate (revoked with the contract). */
  renewedSerialNumbers?: readonly string[];
  /** How the contract ended, for the machine's output. */
  ended?: 'terminated' | 'failed';
}

export type ContractStatus = 'concluding' | 'submitted' | 'installed' | 'terminated' | 'failed';

export type ContractEvent =
  | { type: 'CONTRACT_STORED' }
  | { type: 'CONTRACT_REJECTED'; code: string; message: string }
  | { type: 'TERMINATE' }
  | { type: 'RENEW' }
  | { type: 'RENEWAL_STORED' }
  | { type: 'RENEWAL_REJECTED'; code: string; message: string }
  | { type: 'RETRY' }
  /** The caller gave up before the contract was issued to anyone: it fails instead of waiting on. */
  | { type: 'CANCEL'; reason: string }
  | { type: 'deadline.retry'; at: number }
  | { type: 'deadline.confirm'; at: number };

export const CONFIRM_DEADLINE = 'confirm';
/** First wait for the CCP's confirmation before asking; doubles per unanswered check up to a minute. */
export const CONFIRM_POLICY = { firstMs: 10_000, maxMs: 60_000 };

const confirmAt = (context: ContractContext, at: number, checks: number) => withDeadline(context.deadlines, CONFIRM_DEADLINE, at + backoffMs(checks + 1, CONFIRM_POLICY));
const noConfirm = (context: ContractContext) => withoutDeadline(context.deadlines, CONFIRM_DEADLINE);

const retry = retrying<ContractContext, ContractEvent>();

export const contractMachine = setup({
  types: { context: {} as ContractContext, events: {} as ContractEvent, input: {} as ContractInput, output: {} as { status: ContractStatus; emaid?: string; failure?: Failure } },
  guards: { ...retry.guards, issued: ({ context }) => context.issued !== undefined, stored: ({ event }) => (event as { output?: { stored?: boolean } }).output?.stored === true },
  actions: {
    ...retry.actions,
    cancelled: assign({ failure: ({ context, event }) => ({ code: context.failure?.code ?? 'Cancelled', message: `${(event as { reason?: string }).reason ?? 'cancelled'}: ${context.failure?.message ?? ''}`, retryable: true }) }),
    clearConfirm: assign({ deadlines: ({ context }) => noConfirm(context) }),
  },
  actors: {
    fetchProvisioningChain: effect<CertificateChainJson, { pcid: string }>('fetchProvisioningChain'),
    verifyProvisioningChain: effect<void, { pcid: string; chain: CertificateChainJson }>('verifyProvisioningChain'),
    issueContract: effect<IssuedContract, { contractId: string; pcid: string; chain: CertificateChainJson }>('issueContract'),
    /** Resolves with the time the work was enqueued: the confirmation deadline counts from it. */
    submitToCps: effect<{ at: number }, { contractId: string; pcid: string; contractData: ContractDataJson }>('submitToCps'),
    /** Asks the CCP whether it holds the contract; answers with the time it asked. */
    askCcp: effect<{ stored: boolean; at: number }, { contractId: string; pcid: string; emaid: string }>('askCcp'),
    /** Issues the renewal number `renewal` (idempotent per number) with its key encrypted for `current`. */
    issueRenewal: effect<RenewedContract, { contractId: string; pcid: string; renewal: number; current: IssuedContract }>('issueRenewal'),
    submitRenewal: effect<void, { pcid: string; renewal: RenewedContract }>('submitRenewal'),
    /** Deletes the contract from the CCP and revokes every certificate issued under it. */
    terminateContract: effect<void, { contractId: string; emaid: string; serialNumbers: readonly string[] }>('terminateContract'),
  },
}).createMachine({
  id: 'mo-contract',
  // Bumped whenever states or context change shape: the host refuses to restore another version.
  version: '3',
  context: ({ input }) => ({ ...input }),
  initial: 'fetchingChain',
  on: {
    // The confirmation may overtake the persisted `submitted` (issue 9 D1): any state before it takes it.
    CONTRACT_STORED: { guard: 'issued', target: '.installed', actions: 'clearConfirm' },
  },
  states: {
    fetchingChain: {
      invoke: {
        src: 'fetchProvisioningChain',
        input: ({ context }) => ({ pcid: context.pcid }),
        onDone: { target: 'verifyingChain', actions: [assign({ provisioningChain: ({ event }) => event.output }), 'clearFailure'] },
        onError: routeFailure('fetchWaiting', 'failed'),
      },
    },
    fetchWaiting: { ...waitToRetry('fetchingChain'), on: { ...waitToRetry('fetchingChain').on, CANCEL: { target: 'failed', actions: 'cancelled' } } },
    verifyingChain: {
      invoke: {
        src: 'verifyProvisioningChain',
        input: ({ context }) => ({ pcid: context.pcid, chain: context.provisioningChain! }),
        onDone: { target: 'issuing', actions: 'clearFailure' },
        onError: routeFailure('verifyWaiting', 'failed'),
      },
    },
    verifyWaiting: { ...waitToRetry('verifyingChain'), on: { ...waitToRetry('verifyingChain').on, CANCEL: { target: 'failed', actions: 'cancelled' } } },
    issuing: {
      invoke: {
        src: 'issueContract',
        input: ({ context }) => ({ contractId: context.contractId, pcid: context.pcid, chain: context.provisioningChain! }),
        onDone: { target: 'submitting', actions: [assign({ issued: ({ event }) => event.output }), 'clearFailure'] },
        onError: routeFailure('issueWaiting', 'failed'),
      },
    },
    issueWaiting: { ...waitToRetry('issuing'), on: { ...waitToRetry('issuing').on, CANCEL: { target: 'failed', actions: 'cancelled' } } },
    submitting: {
      invoke: {
        src: 'submitToCps',
        input: ({ context }) => ({ contractId: context.contractId, pcid: context.pcid, contractData: context.issued!.contractData }),
        onDone: { target: 'submitted', actions: ['clearFailure', assign({ confirmChecks: 0, deadlines: ({ context, event }) => confirmAt(context, event.output.at, 0) })] },
        onError: routeFailure('submitWaiting', 'failed'),
      },
    },
    submitWaiting: { ...waitToRetry('submitting'), on: { ...waitToRetry('submitting').on, CANCEL: { target: 'failed', actions: 'cancelled' } } },
    // The CPS acknowledges through the CCP: `ccp.contract.stored` turns into CONTRACT_STORED.
    submitted: {
      tags: ['settled'],
      on: {
        CONTRACT_REJECTED: { target: 'failed', actions: assign({ failure: ({ event }) => ({ code: event.code, message: event.message, retryable: false }), deadlines: ({ context }) => noConfirm(context) }) },
        [`deadline.${CONFIRM_DEADLINE}`]: 'confirming',
        TERMINATE: { target: 'terminating', actions: 'clearConfirm' },
      },
    },
    confirming: {
      tags: ['settled'],
      invoke: {
        src: 'askCcp',
        input: ({ context }) => ({ contractId: context.contractId, pcid: context.pcid, emaid: context.issued!.emaid }),
        onDone: [
          { guard: ({ event }) => event.output.stored, target: 'installed', actions: 'clearConfirm' },
          {
            target: 'submitted',
            actions: assign(({ context, event }) => ({ confirmChecks: (context.confirmChecks ?? 0) + 1, deadlines: confirmAt(context, event.output.at, (context.confirmChecks ?? 0) + 1) })),
          },
        ],
        // The CCP is unreachable: ask again later; without a failure time, wait for the event alone.
        onError: {
          target: 'submitted',
          actions: assign(({ context, event }) => {
            const failure = failureOf(event.error);
            const checks = (context.confirmChecks ?? 0) + 1;
            return { confirmChecks: checks, deadlines: failure.at === undefined ? noConfirm(context) : confirmAt(context, failure.at, checks) };
          }),
        },
      },
      on: { TERMINATE: { target: 'terminating', actions: 'clearConfirm' } },
    },
    installed: { tags: ['settled', 'installed'], on: { TERMINATE: 'terminating', CONTRACT_STORED: {}, RENEW: 'renewing', RENEWAL_STORED: {} } },
    // Not tagged `installed`: the host releases idle `installed` actors, and these run an effect.
    renewing: {
      tags: ['renewing'],
      invoke: {
        src: 'issueRenewal',
        // The newest certificate the CCP handed out is renewed; older renewals stay in the CCP for EVs that missed them.
        input: ({ context }) => ({ contractId: context.contractId, pcid: context.pcid, renewal: (context.renewals ?? 0) + 1, current: context.renewal?.stored ? context.renewal : context.issued! }),
        onDone: {
          target: 'renewalSubmitting',
          actions: [assign({ renewal: ({ event }) => event.output, renewals: ({ context }) => (context.renewals ?? 0) + 1, renewedSerialNumbers: ({ context, event }) => [...(context.renewedSerialNumbers ?? []), event.output.serialNumber] }), 'clearFailure'],
        },
        onError: { target: 'installed', actions: assign({ failure: ({ event }) => failureOf(event.error) }) },
      },
    },
    renewalSubmitting: {
      tags: ['renewing'],
      invoke: {
        src: 'submitRenewal',
        input: ({ context }) => ({ pcid: context.pcid, renewal: context.renewal! }),
        onDone: 'renewalSubmitted',
        onError: { target: 'installed', actions: assign({ failure: ({ event }) => failureOf(event.error) }) },
      },
    },
    // The CCP confirms the renewal as it confirms contracts (durable work from the CCP).
    renewalSubmitted: {
      tags: ['settled', 'installed'],
      on: {
        RENEWAL_STORED: { target: 'installed', actions: assign({ renewal: ({ context }) => ({ ...context.renewal!, stored: true }) }) },
        RENEWAL_REJECTED: { target: 'installed', actions: assign({ failure: ({ event }) => ({ code: event.code, message: event.message, retryable: false }) }) },
        TERMINATE: 'terminating',
        CONTRACT_STORED: {},
      },
    },
    terminating: {
      invoke: {
        src: 'terminateContract',
        input: ({ context }) => ({ contractId: context.contractId, emaid: context.issued!.emaid, serialNumbers: [context.issued!.serialNumber, ...(context.renewedSerialNumbers ?? [])] }),
        onDone: { target: 'terminated', actions: 'clearFailure' },
        // Termination stays possible: the CCP delete or the revocation can be asked for again.
        onError: { target: 'installed', actions: assign({ failure: ({ event }) => failureOf(event.error) }) },
      },
    },
    terminated: { type: 'final', tags: ['settled'], entry: assign({ ended: 'terminated' as const }) },
    failed: { type: 'final', tags: ['settled', 'failed'], entry: assign({ ended: 'failed' as const }) },
  },
  output: ({ context }) => ({
    status: context.ended ?? 'failed',
    ...(context.issued ? { emaid: context.issued.emaid } : {}),
    ...(context.failure ? { failure: context.failure } : {}),
  }),
});

interface StatusSource {
  hasTag(tag: string): boolean;
  matches(state: string): boolean;
}

/** The contract status the catalogue reports, from the snapshot's tags. */
export function contractStatusOf(snapshot: StatusSource): ContractStatus {
  if (snapshot.hasTag('failed')) return 'failed';
  if (snapshot.matches('terminated')) return 'terminated';
  if (snapshot.hasTag('installed') || snapshot.hasTag('renewing') || snapshot.matches('terminating')) return 'installed';
  if (snapshot.hasTag('settled')) return 'submitted';
  return 'concluding';
}
