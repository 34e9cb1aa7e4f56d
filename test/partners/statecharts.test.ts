// The partner statecharts on their own: pure machines driven with provided effects. Time enters
// only through events: an effect's failure carries it (EffectFailed), the test sends deadlines.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor, fromPromise, toPromise, waitFor } from 'xstate';
import { PncError } from '../../protocols/errors.ts';
import { CONFIRM_DEADLINE, contractMachine, contractStatusOf, DEFAULT_RENEWAL_WINDOW_MS, RENEW_DEADLINE, RENEWAL_CONFIRM_DEADLINE, RENEWAL_CONFIRM_POLICY, RENEWAL_RETRY, RENEWAL_SUBMISSIONS, upgradeContractSnapshotV3 } from '../../statecharts/mo.ts';
import { signingMachine } from '../../statecharts/cps.ts';
import { vehicleMachine } from '../../statecharts/oem.ts';
import { backoffMs, EffectFailed, RETRY_DEADLINE } from '../../statecharts/retry.ts';
import type { SigningRequestJson } from '../../protocols/catalogue/cps.ts';
import { vehicleDeletionMachine } from '../../statecharts/pcp-delete.ts';

const chain = { certificate: 'AAAA', subCertificates: ['BBBB', 'CCCC'] };
/** The contract certificate's notAfter in these tests (epoch ms). */
const NOT_AFTER = 800 * 86_400_000;
const contractData = { emaid: 'DEOPN123456789X', contractSignatureCertChain: chain, dhPublicKey: 'ZGg=', contractSignatureEncryptedPrivateKey: 'a2V5' };

function moEffects(calls: string[], overrides: Record<string, unknown> = {}) {
  return {
    fetchProvisioningChain: fromPromise(async () => { calls.push('fetch'); return chain; }),
    verifyProvisioningChain: fromPromise(async () => { calls.push('verify'); }),
    issueContract: fromPromise(async () => { calls.push('issue'); return { emaid: contractData.emaid, contractData, serialNumber: '1f', notAfter: NOT_AFTER }; }),
    submitToCps: fromPromise(async () => { calls.push('submit'); return { at: 1_000 }; }),
    askCcp: fromPromise(async () => { calls.push('ask'); return { stored: false, at: 20_000 }; }),
    terminateContract: fromPromise(async () => { calls.push('terminate'); }),
    ...overrides,
  } as never;
}

test('MO contract: fetch, verify, issue, submit, installed on CONTRACT_STORED, terminated', async () => {
  const calls: string[] = [];
  const actor = createActor(contractMachine.provide({ actors: moEffects(calls) }), { input: { contractId: 'c1', pcid: 'OPNABCDEFGHIJKLMN1' } }).start();
  const submitted = await waitFor(actor, (s) => s.value === 'submitted');
  assert.equal(calls, ['fetch', 'verify', 'issue', 'submit']);
  assert.is(contractStatusOf(submitted), 'submitted');
  assert.ok(submitted.hasTag('settled'));
  // The confirmation deadline counts from the time the submission reported.
  assert.is(submitted.context.deadlines?.[CONFIRM_DEADLINE], 1_000 + 10_000);
  actor.send({ type: 'CONTRACT_STORED' });
  assert.is(actor.getSnapshot().value, 'installed');
  actor.send({ type: 'TERMINATE' });
  const done = await waitFor(actor, (s) => s.status === 'done');
  assert.is(done.value, 'terminated');
  assert.equal(calls.at(-1), 'terminate');
});

test('MO contract: an invalid provisioning chain fails the contract with its code, nothing issued', async () => {
  const calls: string[] = [];
  const actor = createActor(contractMachine.provide({ actors: moEffects(calls, { verifyProvisioningChain: fromPromise(async () => { throw new PncError('ProvisioningChainInvalid', 'unknown OEM root'); }) }) }), { input: { contractId: 'c2', pcid: 'OPNABCDEFGHIJKLMN1' } }).start();
  const done = await waitFor(actor, (s) => s.status === 'done');
  assert.is(done.value, 'failed');
  assert.is(done.context.failure?.code, 'ProvisioningChainInvalid');
  assert.equal(calls, ['fetch']);
  assert.is(contractStatusOf(done), 'failed');
  assert.ok(done.hasTag('failed'));
});

test('MO contract: a CPS rejection fails the submitted contract with the CPS code', async () => {
  const actor = createActor(contractMachine.provide({ actors: moEffects([]) }), { input: { contractId: 'c4', pcid: 'OPNABCDEFGHIJKLMN1' } }).start();
  await waitFor(actor, (s) => s.value === 'submitted');
  actor.send({ type: 'CONTRACT_REJECTED', code: 'ContractChainInvalid', message: 'unknown MO root' });
  const done = await waitFor(actor, (s) => s.status === 'done');
  assert.is(done.value, 'failed');
  assert.equal(done.context.failure, { code: 'ContractChainInvalid', message: 'unknown MO root', retryable: false });
});

test('MO contract: a failed termination keeps the contract installed and retryable', async () => {
  let attempts = 0;
  const actor = createActor(contractMachine.provide({ actors: moEffects([], { terminateContract: fromPromise(async () => { if (++attempts === 1) throw new PncError('NoResponders', 'ccp down', { retryable: true }); }) }) }), { input: { contractId: 'c3', pcid: 'OPNABCDEFGHIJKLMN1' } }).start();
  await waitFor(actor, (s) => s.value === 'submitted');
  actor.send({ type: 'CONTRACT_STORED' });
  actor.send({ type: 'TERMINATE' });
  const back = await waitFor(actor, (s) => s.value === 'installed' && s.context.failure !== undefined);
  assert.is(back.context.failure?.code, 'NoResponders');
  actor.send({ type: 'TERMINATE' });
  assert.is((await waitFor(actor, (s) => s.status === 'done')).value, 'terminated');
});

const request: SigningRequestJson = { contractId: 'c1', pcid: 'OPNABCDEFGHIJKLMN1', contractData };
const signed = { contractId: 'c1', pcid: request.pcid, emaid: contractData.emaid, body: {}, signature: {}, cpsV2GRootFingerprint: 'ab', signedAt: 'now' };

test('CPS signing: check, sign, store; a failed put waits for RETRY and then stores once', async () => {
  let puts = 0;
  const logic = signingMachine.provide({
    actors: {
      checkContractData: fromPromise(async () => {}),
      signContractData: fromPromise(async () => signed),
      putIntoCcp: fromPromise(async () => { if (++puts === 1) throw new PncError('NoResponders', 'ccp down', { retryable: true }); }),
    },
  });
  const actor = createActor(logic, { input: { request, store: true } }).start();
  const failed = await waitFor(actor, (s) => s.hasTag('retrying'));
  assert.is(failed.value, 'storeWaiting');
  assert.is(failed.context.failure?.code, 'NoResponders');
  actor.send({ type: 'RETRY' });
  const done = await waitFor(actor, (s) => s.status === 'done');
  assert.is(done.value, 'stored');
  assert.is(done.context.putAttempts, 2);
  assert.is(done.context.failure, undefined);
});

test('CPS signing: bad contract data is rejected without signing; store=false signs without a put', async () => {
  let signedCount = 0;
  const rejecting = signingMachine.provide({ actors: { checkContractData: fromPromise<void, SigningRequestJson>(async () => { throw new PncError('EmaidMismatch', 'CN differs'); }), signContractData: fromPromise(async () => { signedCount++; return signed; }) as never, putIntoCcp: fromPromise(async () => {}) } });
  const rejected = await toPromise(createActor(rejecting, { input: { request, store: true } }).start());
  assert.is(rejected.failure?.code, 'EmaidMismatch');
  assert.is(signedCount, 0);
  let puts = 0;
  const signOnly = signingMachine.provide({ actors: { checkContractData: fromPromise(async () => {}), signContractData: fromPromise(async () => signed), putIntoCcp: fromPromise(async () => { puts++; }) } });
  const outcome = await toPromise(createActor(signOnly, { input: { request, store: false } }).start());
  assert.equal(outcome.signed, signed);
  assert.is(puts, 0);
});

test('OEM vehicle: issue, upload (retry after a failed upload), delete', async () => {
  let uploads = 0;
  const vehicle = { pcid: 'OPNABCDEFGHIJKLMN1', provisioningChain: chain, v2gRoots: ['AAAA'], producedAt: 'now' };
  const logic = vehicleMachine.provide({
    actors: {
      issueProvisioning: fromPromise(async () => vehicle),
      uploadToPcp: fromPromise(async () => { if (++uploads === 1) throw new PncError('NoResponders', 'pcp down', { retryable: true }); }),
      deleteFromPcp: fromPromise(async () => {}),
    },
  });
  const actor = createActor(logic, { input: { pcid: vehicle.pcid, csr: 'AAAA' } }).start();
  await waitFor(actor, (s) => s.hasTag('retrying'));
  actor.send({ type: 'RETRY' });
  const produced = await waitFor(actor, (s) => s.value === 'produced');
  assert.equal(produced.context.vehicle, vehicle);
  actor.send({ type: 'DELETE' });
  assert.is((await waitFor(actor, (s) => s.status === 'done')).value, 'deleted');
});

// Issue 9 D7 and the cause: a PCP outage used to fail the contract for good.
test('MO contract: a retryable failure waits with a back-off deadline from the failure time, then runs the step again', async () => {
  let fetches = 0;
  const actor = createActor(contractMachine.provide({ actors: moEffects([], { fetchProvisioningChain: fromPromise(async () => { if (++fetches < 3) throw new EffectFailed(new PncError('NoResponders', 'pcp down', { retryable: true }), 5_000); return chain; }) }) }), { input: { contractId: 'c5', pcid: 'OPNABCDEFGHIJKLMN1' } }).start();
  const first = await waitFor(actor, (s) => s.hasTag('retrying'));
  assert.is(first.value, 'fetchWaiting');
  assert.is(contractStatusOf(first), 'concluding');
  assert.is(first.context.deadlines?.[RETRY_DEADLINE], 5_000 + backoffMs(1));
  actor.send({ type: `deadline.${RETRY_DEADLINE}`, at: 5_000 + backoffMs(1) });
  const second = await waitFor(actor, (s) => s.hasTag('retrying') && s.context.attempts === 2);
  assert.is(second.context.deadlines?.[RETRY_DEADLINE], 5_000 + backoffMs(2));
  assert.ok(backoffMs(2) > backoffMs(1));
  actor.send({ type: `deadline.${RETRY_DEADLINE}`, at: 5_000 + backoffMs(2) });
  const submitted = await waitFor(actor, (s) => s.value === 'submitted');
  assert.is(submitted.context.failure, undefined);
  assert.is(submitted.context.deadlines?.[RETRY_DEADLINE], undefined);
});

test('MO contract: a non-retryable failure of any step is final', async () => {
  const actor = createActor(contractMachine.provide({ actors: moEffects([], { fetchProvisioningChain: fromPromise(async () => { throw new EffectFailed(new PncError('VehicleNotFound', 'no such vehicle'), 5_000); }) }) }), { input: { contractId: 'c6', pcid: 'OPNABCDEFGHIJKLMN1' } }).start();
  const done = await waitFor(actor, (s) => s.status === 'done');
  assert.ok(done.hasTag('failed'));
  assert.is(done.context.failure?.code, 'VehicleNotFound');
  assert.equal(done.output, { status: 'failed', failure: { code: 'VehicleNotFound', message: 'no such vehicle', retryable: false, at: 5_000 } });
});

// Issue 9 D1: the confirmation may arrive before `submitted` is reached, or never.
test('MO contract: CONTRACT_STORED that overtakes the submission installs the contract', async () => {
  let finishSubmit = () => {};
  const actor = createActor(contractMachine.provide({ actors: moEffects([], { submitToCps: fromPromise(() => new Promise((resolve) => { finishSubmit = () => resolve({ at: 1 }); })) }) }), { input: { contractId: 'c7', pcid: 'OPNABCDEFGHIJKLMN1' } }).start();
  await waitFor(actor, (s) => s.value === 'submitting');
  actor.send({ type: 'CONTRACT_STORED' });
  const installed = actor.getSnapshot();
  assert.is(contractStatusOf(installed), 'installed');
  assert.ok(installed.hasTag('installed'));
  finishSubmit();
  assert.is(contractStatusOf(actor.getSnapshot()), 'installed');
});

test('MO contract: no confirmation by the deadline: the machine asks the CCP, asks again later, and installs when the CCP holds it', async () => {
  const asked: string[] = [];
  let holds = false;
  const actor = createActor(contractMachine.provide({ actors: moEffects([], { askCcp: fromPromise<{ stored: boolean; at: number }, { emaid: string }>(async ({ input }) => { asked.push(input.emaid); return { stored: holds, at: 30_000 }; }) }) }), { input: { contractId: 'c8', pcid: 'OPNABCDEFGHIJKLMN1' } }).start();
  await waitFor(actor, (s) => s.value === 'submitted');
  actor.send({ type: `deadline.${CONFIRM_DEADLINE}`, at: 11_000 });
  const again = await waitFor(actor, (s) => s.value === 'submitted' && s.context.confirmChecks === 1);
  assert.equal(asked, [contractData.emaid]);
  assert.is(again.context.deadlines?.[CONFIRM_DEADLINE], 30_000 + 20_000);
  holds = true;
  actor.send({ type: `deadline.${CONFIRM_DEADLINE}`, at: 50_000 });
  const installed = await waitFor(actor, (s) => s.hasTag('installed'));
  assert.is(installed.context.deadlines?.[CONFIRM_DEADLINE], undefined);
  assert.is(asked.length, 2);
});

// Issue 11: the MO renews by itself a window before notAfter, larger than the EV's 30 days.
const renewalOf = (n: number, notAfter: number) => ({ emaid: contractData.emaid, contractData, serialNumber: `2${n}`, notAfter, renewalOf: 'ab', renewalId: `c:renewal-${n}` });

async function installedContract(contractId: string, overrides: Record<string, unknown> = {}, input: Record<string, unknown> = {}) {
  const actor = createActor(contractMachine.provide({ actors: moEffects([], overrides) }), { input: { contractId, pcid: 'OPNABCDEFGHIJKLMN1', ...input } }).start();
  await waitFor(actor, (s) => s.value === 'submitted');
  actor.send({ type: 'CONTRACT_STORED' });
  return actor;
}

test('MO renewal: an installed contract holds its renewal deadline a window before notAfter; the deadline renews it as RENEW does, and the stored renewal arms the next', async () => {
  const issued: number[] = [];
  const submitted: number[] = [];
  const actor = await installedContract('r1', {
    issueRenewal: fromPromise<unknown, { renewal: number }>(async ({ input }) => { issued.push(input.renewal); return renewalOf(input.renewal, NOT_AFTER + 730 * 86_400_000); }),
    submitRenewal: fromPromise<{ at: number }, { submission: number }>(async ({ input }) => { submitted.push(input.submission); return { at: 60_000 }; }),
  });
  const installed = actor.getSnapshot();
  assert.is(installed.value, 'installed');
  assert.is(installed.context.deadlines?.[RENEW_DEADLINE], NOT_AFTER - DEFAULT_RENEWAL_WINDOW_MS);
  assert.ok(DEFAULT_RENEWAL_WINDOW_MS > 30 * 86_400_000, 'the MO renews before the EV (30 days) looks for a renewal');
  assert.equal(issued, [], 'nothing renews before its deadline');
  actor.send({ type: `deadline.${RENEW_DEADLINE}`, at: NOT_AFTER - DEFAULT_RENEWAL_WINDOW_MS, now: NOT_AFTER - DEFAULT_RENEWAL_WINDOW_MS + 5 });
  const waiting = await waitFor(actor, (s) => s.value === 'renewalSubmitted');
  assert.equal(issued, [1]);
  assert.equal(submitted, [1]);
  assert.is(waiting.context.deadlines?.[RENEW_DEADLINE], undefined);
  assert.is(waiting.context.deadlines?.[RENEWAL_CONFIRM_DEADLINE], 60_000 + RENEWAL_CONFIRM_POLICY.firstMs);
  actor.send({ type: 'RENEWAL_STORED' });
  const renewed = actor.getSnapshot();
  assert.is(renewed.value, 'installed');
  assert.ok(renewed.context.renewal?.stored);
  assert.equal(renewed.context.deadlines, { [RENEW_DEADLINE]: NOT_AFTER + 730 * 86_400_000 - DEFAULT_RENEWAL_WINDOW_MS }, 'the next renewal counts from the renewed certificate');
});

test('MO renewal: the window comes from the input; an outage while issuing renews again after a back-off from the failure time', async () => {
  let attempts = 0;
  const actor = await installedContract('r2', {
    issueRenewal: fromPromise(async () => { if (++attempts === 1) throw new EffectFailed(new PncError('NoResponders', 'store down', { retryable: true }), 90_000); return renewalOf(1, NOT_AFTER * 2); }),
    submitRenewal: fromPromise(async () => ({ at: 95_000 })),
  }, { renewalWindowMs: 45 * 86_400_000 });
  assert.is(actor.getSnapshot().context.deadlines?.[RENEW_DEADLINE], NOT_AFTER - 45 * 86_400_000);
  actor.send({ type: `deadline.${RENEW_DEADLINE}`, at: 1, now: 2 });
  const later = await waitFor(actor, (s) => s.value === 'installed' && s.context.failure !== undefined);
  assert.is(later.context.deadlines?.[RENEW_DEADLINE], 90_000 + RENEWAL_RETRY.firstMs);
  assert.ok(later.hasTag('installed') && !later.hasTag('renewalFailed'));
  actor.send({ type: `deadline.${RENEW_DEADLINE}`, at: 90_000 + RENEWAL_RETRY.firstMs, now: 90_000 + RENEWAL_RETRY.firstMs });
  assert.is((await waitFor(actor, (s) => s.value === 'renewalSubmitted')).context.failure, undefined);
});

test('MO renewal: no confirmation by its deadline submits the renewal again, up to RENEWAL_SUBMISSIONS, then renewalFailed (visible, still installed); RENEW starts again', async () => {
  const submissions: number[] = [];
  const actor = await installedContract('r3', {
    issueRenewal: fromPromise(async () => renewalOf(1, NOT_AFTER * 2)),
    submitRenewal: fromPromise<{ at: number }, { submission: number }>(async ({ input }) => { submissions.push(input.submission); return { at: input.submission * 1_000_000 }; }),
  });
  actor.send({ type: 'RENEW' });
  for (let n = 1; n <= RENEWAL_SUBMISSIONS; n++) {
    const waiting = await waitFor(actor, (s) => s.value === 'renewalSubmitted' && s.context.renewalAttempts === n);
    const due = waiting.context.deadlines![RENEWAL_CONFIRM_DEADLINE]!;
    assert.is(due, n * 1_000_000 + backoffMs(n, RENEWAL_CONFIRM_POLICY), `submission ${n} waits longer`);
    actor.send({ type: `deadline.${RENEWAL_CONFIRM_DEADLINE}`, at: due, now: due });
  }
  const failed = await waitFor(actor, (s) => s.value === 'renewalFailed');
  assert.equal(submissions, [1, 2, 3, 4, 5]);
  assert.ok(failed.hasTag('renewalFailed') && failed.hasTag('installed'));
  assert.is(contractStatusOf(failed), 'installed');
  assert.is(failed.context.failure?.code, 'RenewalUnconfirmed');
  assert.equal(failed.context.deadlines, {}, 'no silent wait: nothing armed');
  // A confirmation that comes late still counts.
  actor.send({ type: 'RENEWAL_STORED' });
  assert.is(actor.getSnapshot().value, 'installed');
  assert.ok(actor.getSnapshot().context.renewal?.stored);
});

test('MO renewal: a submission that fails on an outage waits with the retry back-off and submits again; a final failure or a rejection is renewalFailed', async () => {
  let submits = 0;
  const actor = await installedContract('r4', {
    issueRenewal: fromPromise(async () => renewalOf(1, NOT_AFTER * 2)),
    submitRenewal: fromPromise(async () => { if (++submits === 1) throw new EffectFailed(new PncError('BusUnavailable', 'queue down', { retryable: true }), 70_000); return { at: 71_000 }; }),
  });
  actor.send({ type: 'RENEW' });
  const waiting = await waitFor(actor, (s) => s.value === 'renewalSubmitWaiting');
  assert.is(waiting.context.deadlines?.[RETRY_DEADLINE], 70_000 + backoffMs(1));
  assert.is(contractStatusOf(waiting), 'installed');
  actor.send({ type: 'CONTRACT_STORED' }); // a late redelivery of the contract's confirmation
  assert.is(actor.getSnapshot().value, 'renewalSubmitWaiting', 'does not abandon the renewal');
  actor.send({ type: `deadline.${RETRY_DEADLINE}`, at: 70_000 + backoffMs(1) });
  const submitted = await waitFor(actor, (s) => s.value === 'renewalSubmitted');
  assert.is(submitted.context.renewalAttempts, 2, 'the failed submission counts');
  actor.send({ type: 'RENEWAL_REJECTED', code: 'ContractInvalid', message: 'bad' });
  const rejected = actor.getSnapshot();
  assert.is(rejected.value, 'renewalFailed');
  assert.is(rejected.context.failure?.code, 'ContractInvalid');
  const final = await installedContract('r5', { issueRenewal: fromPromise(async () => { throw new EffectFailed(new PncError('Internal', 'no key'), 1); }) });
  final.send({ type: 'RENEW' });
  assert.is((await waitFor(final, (s) => s.value === 'renewalFailed')).context.failure?.code, 'Internal');
});

test('MO renewal: a version-3 snapshot is upgraded: notAfter read from the certificates, an installed contract gets its renew deadline, a waiting renewal its confirm deadline', async () => {
  const v3 = (value: string) => ({ status: 'active', value, context: { contractId: 'c', pcid: 'P', issued: { emaid: contractData.emaid, contractData, serialNumber: '1f' }, renewal: { emaid: contractData.emaid, contractData, serialNumber: '2', renewalOf: 'ab', renewalId: 'c:renewal-1', stored: value === 'installed' }, renewals: 1, deadlines: {} } });
  const options = { notAfterOf: () => NOT_AFTER, renewalWindowMs: 40 * 86_400_000, now: 5_000 };
  const installed = upgradeContractSnapshotV3(v3('installed'), options) as ReturnType<typeof v3> & { context: { issued: { notAfter: number }; deadlines: Record<string, number>; renewalWindowMs: number } };
  assert.is(installed.context.issued.notAfter, NOT_AFTER);
  assert.equal(installed.context.deadlines, { [RENEW_DEADLINE]: NOT_AFTER - 40 * 86_400_000 });
  const waiting = upgradeContractSnapshotV3(v3('renewalSubmitted'), options) as { context: { deadlines: Record<string, number> } };
  assert.equal(waiting.context.deadlines, { [RENEWAL_CONFIRM_DEADLINE]: 5_000 + RENEWAL_CONFIRM_POLICY.firstMs });
});

// Issue 9 D2: a failed upload used to wait for a RETRY nobody sent.
test('OEM vehicle: a PCP outage during upload arms a retry deadline; when it fires the upload runs again', async () => {
  let uploads = 0;
  const vehicle = { pcid: 'OPNABCDEFGHIJKLMN1', provisioningChain: chain, v2gRoots: ['AAAA'], producedAt: 'now' };
  const logic = vehicleMachine.provide({
    actors: {
      issueProvisioning: fromPromise(async () => vehicle),
      uploadToPcp: fromPromise(async () => { if (++uploads === 1) throw new EffectFailed(new PncError('NoResponders', 'pcp down', { retryable: true }), 7_000); }),
      deleteFromPcp: fromPromise(async () => {}),
    },
  });
  const actor = createActor(logic, { input: { pcid: vehicle.pcid, csr: 'AAAA' } }).start();
  const waiting = await waitFor(actor, (s) => s.hasTag('retrying'));
  assert.is(waiting.context.deadlines?.[RETRY_DEADLINE], 7_000 + backoffMs(1));
  actor.send({ type: `deadline.${RETRY_DEADLINE}`, at: 7_000 + backoffMs(1) });
  const produced = await waitFor(actor, (s) => s.hasTag('settled'));
  assert.is(produced.value, 'produced');
  assert.is(uploads, 2);
});

test('OEM vehicle: a chain the PCP refuses fails the vehicle', async () => {
  const logic = vehicleMachine.provide({
    actors: {
      issueProvisioning: fromPromise(async () => ({ pcid: 'OPNABCDEFGHIJKLMN1', provisioningChain: chain, v2gRoots: [] as string[], producedAt: 'now' })),
      uploadToPcp: fromPromise(async (): Promise<void> => { throw new PncError('ChainInvalid', 'unknown OEM root'); }) as never,
      deleteFromPcp: fromPromise(async () => {}),
    },
  });
  const done = await waitFor(createActor(logic, { input: { pcid: 'OPNABCDEFGHIJKLMN1', csr: 'AAAA' } }).start(), (s) => s.status === 'done');
  assert.ok(done.hasTag('failed'));
  assert.is(done.context.failure?.code, 'ChainInvalid');
});

// Issue 9 D3: an unreachable RCP during the check used to reject (and dead-letter) the contract.
test('CPS signing: an RCP outage during the check waits for RETRY; only invalid data is rejected', async () => {
  let checks = 0;
  const logic = signingMachine.provide({
    actors: {
      checkContractData: fromPromise(async () => { if (++checks === 1) throw new PncError('NoResponders', 'no responders for rcp.roots.list', { retryable: true }); }),
      signContractData: fromPromise(async () => signed),
      putIntoCcp: fromPromise(async () => {}),
    },
  });
  const actor = createActor(logic, { input: { request, store: true } }).start();
  const waiting = await waitFor(actor, (s) => s.hasTag('retrying'));
  assert.is(waiting.value, 'checkWaiting');
  assert.not.ok(waiting.hasTag('rejected'));
  actor.send({ type: 'RETRY' });
  assert.ok((await waitFor(actor, (s) => s.status === 'done')).hasTag('stored'));
});

test('PCP vehicle deletion: mark, cascade, remove; a bus outage during the cascade waits and goes on, an unknown failure is final', async () => {
  const calls: string[] = [];
  let cascades = 0;
  const logic = vehicleDeletionMachine.provide({
    actors: {
      markDeleting: fromPromise(async () => { calls.push('mark'); }),
      cascadeToCcp: fromPromise(async () => { calls.push('cascade'); if (++cascades === 1) throw new EffectFailed(new PncError('BusUnavailable', 'JetStream away', { retryable: true }), 9_000); }),
      removeChain: fromPromise(async () => { calls.push('remove'); }),
    },
  });
  const actor = createActor(logic, { input: { pcid: 'OPNABCDEFGHIJKLMN1', deletingSince: '2026-12-05T21:00:00.000Z' } }).start();
  const waiting = await waitFor(actor, (s) => s.hasTag('retrying'));
  assert.is(waiting.value, 'cascadeWaiting');
  assert.is(waiting.context.deadlines?.[RETRY_DEADLINE], 9_000 + backoffMs(1));
  actor.send({ type: `deadline.${RETRY_DEADLINE}`, at: 9_000 + backoffMs(1) });
  assert.ok((await waitFor(actor, (s) => s.status === 'done')).hasTag('deleted'));
  assert.equal(calls, ['mark', 'cascade', 'cascade', 'remove']);

  const broken = vehicleDeletionMachine.provide({ actors: { markDeleting: fromPromise(async (): Promise<void> => { throw new PncError('RevisionConflict', 'changed meanwhile'); }) as never, cascadeToCcp: fromPromise(async () => {}), removeChain: fromPromise(async () => {}) } });
  const failed = await waitFor(createActor(broken, { input: { pcid: 'OPNABCDEFGHIJKLMN1', deletingSince: '2026-12-05T21:00:00.000Z' } }).start(), (s) => s.status === 'done');
  assert.ok(failed.hasTag('failed'));
});

test.run();
