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
 * An installed contract is renewed for CertificateUpdate: a new certificate for the same EMAID whose
 * key is encrypted for the installed contract certificate [V2G2-820/821], signed by the CPS and held
 * by the CCP apart from installable contracts. It renews by itself at its `renew` deadline, a
 * window (`renewalWindowMs`) before the current contract certificate's notAfter, and when asked
 * (RENEW). An outage while issuing waits with a back-off and renews again; the CCP's confirmation
 * of the renewal owns a `renewalConfirm` deadline, and when it does not come the submission is
 * made again, up to RENEWAL_SUBMISSIONS times. A renewal that is rejected, fails for good or stays
 * unconfirmed leaves the contract installed in `renewalFailed` (tag `renewalFailed`) with the failure
 * kept, until RENEW (an operator) or a late confirmation.
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
  /** How long before the contract certificate's notAfter it is renewed. @default DEFAULT_RENEWAL_WINDOW_MS */
  readonly renewalWindowMs?: number;
}

export interface IssuedContract {
  readonly emaid: string;
  readonly contractData: ContractDataJson;
  /** Serial of the contract certificate, lowercase hex (for revocation). */
  readonly serialNumber: string;
  /** The contract certificate's notAfter (epoch ms): the renewal deadline counts back from it. */
  readonly notAfter: number;
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
  /** Submissions of the current renewal (confirmations that did not come count too), or issuing attempts in a row. */
  renewalAttempts?: number;
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
  | { type: 'deadline.confirm'; at: number }
  | { type: 'deadline.renew'; at: number; now: number }
  | { type: 'deadline.renewalConfirm'; at: number; now: number };

export const CONFIRM_DEADLINE = 'confirm';
/** First wait for the CCP's confirmation before asking; doubles per unanswered check up to a minute. */
export const CONFIRM_POLICY = { firstMs: 10_000, maxMs: 60_000 };

export const RENEW_DEADLINE = 'renew';
export const RENEWAL_CONFIRM_DEADLINE = 'renewalConfirm';
const DAY_MS = 86_400_000;
/**
 * 60 days. Hubject renews contracts ahead so that an EV entering its own renewal window (30 days
 * before notAfter, actors/participants/ev CONTRACT_RENEWAL_DAYS) already finds the renewal in the
 * CCP; the MO's window must therefore be larger than the EV's. The 30 days between them absorb
 * outages of the MO, CPS and CCP and the retries below.
 */
export const DEFAULT_RENEWAL_WINDOW_MS = 60 * DAY_MS;
/** Issuing a renewal failed on an outage: renew again after 1 min, doubling up to 6 h (the window is weeks). */
export const RENEWAL_RETRY = { firstMs: 60_000, maxMs: 6 * 60 * 60_000 };
/** Wait for the CCP's confirmation of a renewal before submitting it again: 10 min, doubling up to 2 h. */
export const RENEWAL_CONFIRM_POLICY = { firstMs: 10 * 60_000, maxMs: 2 * 60 * 60_000 };
/** Submissions of one renewal (about 5 h of waiting with RENEWAL_CONFIRM_POLICY) before it is `renewalFailed`. */
export const RENEWAL_SUBMISSIONS = 5;

/** The certificate the EV holds now: the stored renewal, else the contract's own. */
const currentOf = (context: ContractContext): IssuedContract => (context.renewal?.stored ? context.renewal : context.issued!);

/** When `context`'s current contract certificate is renewed (epoch ms). */
export function renewalDueAt(context: ContractContext): number {
  return currentOf(context).notAfter - (context.renewalWindowMs ?? DEFAULT_RENEWAL_WINDOW_MS);
}

const armRenewal = (context: ContractContext) => withDeadline(context.deadlines, RENEW_DEADLINE, renewalDueAt(context));

const confirmAt = (context: ContractContext, at: number, checks: number) => withDeadline(context.deadlines, CONFIRM_DEADLINE, at + backoffMs(checks + 1, CONFIRM_POLICY));
const noConfirm = (context: ContractContext) => withoutDeadline(context.deadlines, CONFIRM_DEADLINE);

const retry = retrying<ContractContext, ContractEvent>();

export const contractMachine = setup({
  types: { context: {} as ContractContext, events: {} as ContractEvent, input: {} as ContractInput, output: {} as { status: ContractStatus; emaid?: string; failure?: Failure } },
  guards: {
    ...retry.guards,
    issued: ({ context }) => context.issued !== undefined,
    stored: ({ event }) => (event as { output?: { stored?: boolean } }).output?.stored === true,
    mayResubmit: ({ context }) => (context.renewalAttempts ?? 0) < RENEWAL_SUBMISSIONS,
  },
  actions: {
    ...retry.actions,
    cancelled: assign({ failure: ({ context, event }) => ({ code: context.failure?.code ?? 'Cancelled', message: `${(event as { reason?: string }).reason ?? 'cancelled'}: ${context.failure?.message ?? ''}`, retryable: true }) }),
    clearConfirm: assign({ deadlines: ({ context }) => noConfirm(context) }),
    /** The contract is installed (or its renewal stored): the next renewal is due a window before its notAfter. */
    armRenewal: assign({ deadlines: ({ context }) => armRenewal(context), renewalAttempts: 0 }),
    /** A renewal starts (deadline or RENEW): its deadline is re-armed when it ends. */
    startRenewal: assign({ deadlines: ({ context }) => withoutDeadline(context.deadlines, RENEW_DEADLINE) }),
    /** Issuing failed on an outage: back to `installed`, renewing again after a back-off from the failure time. */
    renewLater: assign(({ context, event }) => {
      const failure = failureOf((event as { error?: unknown }).error);
      const attempts = (context.renewalAttempts ?? 0) + 1;
      // Without a failure time (a bare test effect) only RENEW renews: no deadline in the past to loop on.
      const deadlines = failure.at === undefined ? withoutDeadline(context.deadlines, RENEW_DEADLINE) : withDeadline(context.deadlines, RENEW_DEADLINE, failure.at + backoffMs(attempts, RENEWAL_RETRY));
      return { failure, renewalAttempts: attempts, deadlines };
    }),
    /** The renewal went to the CPS at `at`: the CCP's confirmation is due after a back-off per submission. */
    awaitRenewalConfirm: assign(({ context, event }) => {
      const submissions = (context.renewalAttempts ?? 0) + 1;
      const at = (event as unknown as { output: { at: number } }).output.at;
      return { renewalAttempts: submissions, failure: undefined, deadlines: withDeadline(context.deadlines, RENEWAL_CONFIRM_DEADLINE, at + backoffMs(submissions, RENEWAL_CONFIRM_POLICY)) };
    }),
    renewalStored: assign({ renewal: ({ context }) => ({ ...context.renewal!, stored: true }), failure: undefined }),
    /** Why `renewalFailed` was entered; the renewal deadlines end there (RENEW starts again). */
    recordRenewalFailure: assign(({ context, event }) => {
      const failure: Failure = event.type === 'RENEWAL_REJECTED' ? { code: event.code, message: event.message, retryable: false }
        : event.type === `deadline.${RENEWAL_CONFIRM_DEADLINE}` ? { code: 'RenewalUnconfirmed', message: `the CCP did not confirm renewal ${context.renewal?.renewalId} after ${context.renewalAttempts ?? 0} submissions`, retryable: false }
        : failureOf((event as { error?: unknown }).error);
      return { failure, deadlines: withoutDeadline(withoutDeadline(context.deadlines, RENEWAL_CONFIRM_DEADLINE), RENEW_DEADLINE) };
    }),
    clearRenewalConfirm: assign({ deadlines: ({ context }) => withoutDeadline(context.deadlines, RENEWAL_CONFIRM_DEADLINE) }),
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
    /** Resolves with the time the work was enqueued: the confirmation deadline counts from it. `submission` is 1-based. */
    submitRenewal: effect<{ at: number }, { pcid: string; renewal: RenewedContract; submission: number }>('submitRenewal'),
    /** Deletes the contract from the CCP and revokes every certificate issued under it. */
    terminateContract: effect<void, { contractId: string; emaid: string; serialNumbers: readonly string[] }>('terminateContract'),
  },
}).createMachine({
  id: 'mo-contract',
  // Bumped whenever states or context change shape: the host refuses to restore another version.
  // 4: the `renew` and `renewalConfirm` deadlines, `notAfter` of issued certificates, `renewalFailed`
  // (a version-3 snapshot is upgraded by upgradeContractSnapshotV3).
  version: '4',
  context: ({ input }) => ({ ...input }),
  initial: 'fetchingChain',
  on: {
    // The confirmation may overtake the persisted `submitted` (issue 9 D1): any state before it takes it.
    CONTRACT_STORED: { guard: 'issued', target: '.installed', actions: ['clearConfirm', 'armRenewal'] },
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
          { guard: ({ event }) => event.output.stored, target: 'installed', actions: ['clearConfirm', 'armRenewal'] },
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
    installed: {
      tags: ['settled', 'installed'],
      on: {
        TERMINATE: 'terminating',
        CONTRACT_STORED: {},
        RENEW: { target: 'renewing', actions: 'startRenewal' },
        [`deadline.${RENEW_DEADLINE}`]: { target: 'renewing', actions: 'startRenewal' },
        RENEWAL_STORED: {},
      },
    },
    // Not tagged `installed`: the host releases idle `installed` actors, and these run an effect.
    renewing: {
      tags: ['renewing'],
      invoke: {
        src: 'issueRenewal',
        // The newest certificate the CCP handed out is renewed; older renewals stay in the CCP for EVs that missed them.
        input: ({ context }) => ({ contractId: context.contractId, pcid: context.pcid, renewal: (context.renewals ?? 0) + 1, current: currentOf(context) }),
        onDone: {
          target: 'renewalSubmitting',
          actions: [assign({ renewal: ({ event }) => event.output, renewals: ({ context }) => (context.renewals ?? 0) + 1, renewedSerialNumbers: ({ context, event }) => [...(context.renewedSerialNumbers ?? []), event.output.serialNumber], renewalAttempts: 0 }), 'clearFailure'],
        },
        onError: [
          { guard: 'isRetryable', target: 'installed', actions: 'renewLater' },
          { target: 'renewalFailed', actions: 'recordRenewalFailure' },
        ],
      },
      // A late redelivery of the contract's own confirmation must not abandon the renewal.
      on: { CONTRACT_STORED: {} },
    },
    renewalSubmitting: {
      tags: ['renewing'],
      invoke: {
        src: 'submitRenewal',
        input: ({ context }) => ({ pcid: context.pcid, renewal: context.renewal!, submission: (context.renewalAttempts ?? 0) + 1 }),
        onDone: { target: 'renewalSubmitted', actions: 'awaitRenewalConfirm' },
        // The queue is down: its retry deadline submits again (each wait counts as a submission).
        onError: [
          { guard: ({ context, event }) => failureOf(event.error).retryable && (context.renewalAttempts ?? 0) + 1 < RENEWAL_SUBMISSIONS, target: 'renewalSubmitWaiting', actions: ['recordRetryableFailure', assign({ renewalAttempts: ({ context }) => (context.renewalAttempts ?? 0) + 1 })] },
          { target: 'renewalFailed', actions: 'recordRenewalFailure' },
        ],
      },
      // The confirmation of an earlier submission overtakes the resubmission.
      on: { RENEWAL_STORED: { target: 'installed', actions: ['renewalStored', 'armRenewal'] }, CONTRACT_STORED: {} },
    },
    renewalSubmitWaiting: {
      ...waitToRetry('renewalSubmitting'),
      tags: ['retrying', 'renewing'],
      on: { ...waitToRetry('renewalSubmitting').on, RENEWAL_STORED: { target: 'installed', actions: ['clearRetryDeadline', 'renewalStored', 'armRenewal'] }, CONTRACT_STORED: {} },
    },
    // The CCP confirms the renewal as it confirms contracts (durable work from the CCP); without it by
    // the `renewalConfirm` deadline the renewal is submitted again (the CPS job and the CCP put are idempotent).
    renewalSubmitted: {
      tags: ['settled', 'installed'],
      on: {
        RENEWAL_STORED: { target: 'installed', actions: ['clearRenewalConfirm', 'renewalStored', 'armRenewal'] },
        RENEWAL_REJECTED: { target: 'renewalFailed', actions: 'recordRenewalFailure' },
        [`deadline.${RENEWAL_CONFIRM_DEADLINE}`]: [
          { guard: 'mayResubmit', target: 'renewalSubmitting', actions: 'clearRenewalConfirm' },
          { target: 'renewalFailed', actions: 'recordRenewalFailure' },
        ],
        TERMINATE: { target: 'terminating', actions: 'clearRenewalConfirm' },
        CONTRACT_STORED: {},
      },
    },
    // The contract stays installed (the EV charges with its current certificate) but renews no more by
    // itself: visible in the tags, the failure kept. RENEW starts again; a late confirmation still counts.
    renewalFailed: {
      tags: ['settled', 'installed', 'renewalFailed'],
      on: {
        RENEW: { target: 'renewing', actions: 'startRenewal' },
        RENEWAL_STORED: { target: 'installed', actions: ['renewalStored', 'armRenewal'] },
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

/**
 * A version-3 snapshot as version 4 takes it: issued and renewed certificates get their `notAfter`
 * (read by the caller, which may parse certificates), an installed contract its `renew` deadline and
 * a renewal waiting for its confirmation its `renewalConfirm` deadline, counted from `now`.
 */
export function upgradeContractSnapshotV3(snapshot: unknown, { notAfterOf, renewalWindowMs, now }: { notAfterOf: (contractData: ContractDataJson) => number; renewalWindowMs: number; now: number }): unknown {
  const old = snapshot as { value: unknown; status: string; context: ContractContext };
  const withNotAfter = <T extends IssuedContract>(issued: T | undefined): T | undefined => (issued ? { ...issued, notAfter: notAfterOf(issued.contractData) } : undefined);
  const context: ContractContext = { ...old.context, renewalWindowMs: old.context.renewalWindowMs ?? renewalWindowMs };
  if (context.issued) context.issued = withNotAfter(context.issued);
  if (context.renewal) context.renewal = withNotAfter(context.renewal);
  if (old.status === 'active' && old.value === 'installed') context.deadlines = armRenewal(context);
  if (old.status === 'active' && old.value === 'renewalSubmitted') {
    context.renewalAttempts = 1;
    context.deadlines = withDeadline(context.deadlines, RENEWAL_CONFIRM_DEADLINE, now + backoffMs(1, RENEWAL_CONFIRM_POLICY));
  }
  return { ...old, context };
}

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
