// The partner statecharts on their own: pure machines driven with provided effects.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor, fromPromise, toPromise, waitFor } from 'xstate';
import { PncError } from '../../protocols/errors.ts';
import { contractMachine, contractStatusOf } from '../../statecharts/mo.ts';
import { signingMachine } from '../../statecharts/cps.ts';
import { vehicleMachine } from '../../statecharts/oem.ts';
import { subCaMachine } from '../../statecharts/v2g-root.ts';
import { installationMachine } from '../../statecharts/cpo.ts';
import type { SigningRequestJson } from '../../protocols/catalogue/cps.ts';

const chain = { certificate: 'AAAA', subCertificates: ['BBBB', 'CCCC'] };
const contractData = { emaid: 'DEOPN123456789X', contractSignatureCertChain: chain, dhPublicKey: 'ZGg=', contractSignatureEncryptedPrivateKey: 'a2V5' };

function moEffects(calls: string[], overrides: Record<string, unknown> = {}) {
  return {
    fetchProvisioningChain: fromPromise(async () => { calls.push('fetch'); return chain; }),
    verifyProvisioningChain: fromPromise(async () => { calls.push('verify'); }),
    issueContract: fromPromise(async () => { calls.push('issue'); return { emaid: contractData.emaid, contractData, serialNumber: '1f' }; }),
    submitToCps: fromPromise(async () => { calls.push('submit'); }),
    terminateContract: fromPromise(async () => { calls.push('terminate'); }),
    ...overrides,
  } as never;
}

test('MO contract: fetch, verify, issue, submit, installed on CONTRACT_STORED, terminated', async () => {
  const calls: string[] = [];
  const actor = createActor(contractMachine.provide({ actors: moEffects(calls) }), { input: { contractId: 'c1', pcid: 'OPNABCDEFGHIJKLMN1' } }).start();
  await waitFor(actor, (s) => s.value === 'submitted');
  assert.equal(calls, ['fetch', 'verify', 'issue', 'submit']);
  assert.is(contractStatusOf('submitted'), 'submitted');
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
  assert.is(contractStatusOf('failed'), 'failed');
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
  const failed = await waitFor(actor, (s) => s.value === 'storeFailed');
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
  await waitFor(actor, (s) => s.value === 'uploadFailed');
  actor.send({ type: 'RETRY' });
  const produced = await waitFor(actor, (s) => s.value === 'produced');
  assert.equal(produced.context.vehicle, vehicle);
  actor.send({ type: 'DELETE' });
  assert.is((await waitFor(actor, (s) => s.status === 'done')).value, 'deleted');
});

test('V2G root sub-CA: issued from a good CSR, rejected with the code for a bad one', async () => {
  const logic = subCaMachine.provide({
    actors: {
      checkCsr: fromPromise<void, { domain: 'cpo' | 'cps'; csr: string }>(async ({ input }) => { if (input.csr === 'bad') throw new PncError('CsrInvalid', 'signature'); }),
      issueSubCa: fromPromise(async () => 'CERT'),
    },
  });
  assert.is((await toPromise(createActor(logic, { input: { domain: 'cps', csr: 'good' } }).start())).certificate, 'CERT');
  const rejected = await toPromise(createActor(logic, { input: { domain: 'cpo', csr: 'bad' } }).start());
  assert.is(rejected.certificate, undefined);
  assert.is(rejected.failure?.code, 'CsrInvalid');
});

test('CPO M01: a good request is forwarded; a request that fails the check never reaches the CCP', async () => {
  let forwarded = 0;
  const logic = installationMachine.provide({
    actors: {
      checkRequest: fromPromise<{ pcid: string }, { exiRequest: string; iso15118SchemaVersion: string }>(async ({ input }) => { if (input.exiRequest === 'bad') throw new PncError('ExiInvalid', 'not EXI'); return { pcid: 'OPNABCDEFGHIJKLMN1' }; }),
      forwardToCcp: fromPromise(async () => { forwarded++; return { exiResponse: 'RES' }; }),
    },
  });
  const ok = await toPromise(createActor(logic, { input: { exiRequest: 'good', iso15118SchemaVersion: 'urn:iso:15118:2:2013:MsgDef' } }).start());
  assert.is(ok.exiResponse, 'RES');
  assert.is(ok.pcid, 'OPNABCDEFGHIJKLMN1');
  const bad = await toPromise(createActor(logic, { input: { exiRequest: 'bad', iso15118SchemaVersion: 'urn:iso:15118:2:2013:MsgDef' } }).start());
  assert.is(bad.failure?.code, 'ExiInvalid');
  assert.is(forwarded, 1);
});

test.run();
