/**
 * MO participant: concludes contracts (statecharts/mo.ts, one hosted actor per contract): reads
 * the vehicle's provisioning chain from the PCP, verifies it against the OEM roots of the RCP,
 * issues EMAID, contract key and certificate from MO Sub-CA 2, encrypts the key for the vehicle
 * and submits the contract data to the CPS as durable work. Terminating deletes the contract from
 * the CCP and revokes its certificate, which the MO's OCSP responder then reports.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { fromPromise } from 'xstate';
import type { ParticipantContext, ParticipantDefinition } from '../host/participant.ts';
import { HostedActors } from './hosted.ts';
import { enqueueWork, publishEvent } from '../bus/typed.ts';
import type { StoredDoc } from '../store/store.ts';
import { ccpInterface } from '../../protocols/catalogue/ccp.ts';
import { cpsInterface } from '../../protocols/catalogue/cps.ts';
import type { CertificateChainJson, ContractDataJson } from '../../protocols/catalogue/fields.ts';
import { moInterface, type ContractSummaryJson } from '../../protocols/catalogue/mo.ts';
import { PncError } from '../../protocols/errors.ts';
import { emaidCheckDigit, normalizeEmaid, pcidKey, samePcid } from '../../protocols/identifiers/index.ts';
import { encryptContractKey } from '../../protocols/pki/contract-key.ts';
import { issueCertificate } from '../../protocols/pki/index.ts';
import { contractMachine, contractStatusOf, type ContractContext } from '../../statecharts/mo.ts';
import { asIssuer, base64Of, ocspUrlOf, certificateOf, derOf, loadOrMakeAuthorities, makeAuthority, whenServed, queueServer } from './authority.ts';
import { Revocations, serveOcsp } from './revocation.ts';
import { RootPool } from './roots.ts';
import { poolAccessOf } from './pool-access.ts';
import { unsubscribeAll } from '../bus/bus.ts';
import { callerOf } from '../bus/identity.ts';
import { requireOperatorOrEmaidOwner, requireRole } from '../../protocols/catalogue/caller.ts';

const ALPHANUMERIC = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

interface ContractDoc extends StoredDoc {
  /** _id = normalised EMAID. */
  readonly contractId: string;
  readonly pcid: string;
  readonly serialNumber: string;
  /** What goes to the CPS; the key in it is encrypted for the vehicle only. */
  readonly contractData: ContractDataJson;
}

interface ContractIndexDoc extends StoredDoc {
  /** _id = contractId. */
  readonly pcid: string;
  readonly customerId?: string;
}

const certificatesOf = (chain: CertificateChainJson) => [chain.certificate, ...chain.subCertificates].map(certificateOf);

async function startMo({ bus, store, config, log, kek }: ParticipantContext) {
  /** Country code + provider ID: the MO's EMAID scope (OPCP data scoping). */
  const prefix = (config.emaidPrefix ?? 'DEOPN').toUpperCase();
  const organization = config.organization ?? 'Open Plug&Charge MO';
  const authorities = await loadOrMakeAuthorities({ store, kek }, 'mo', async () => {
    const root = await makeAuthority({ role: 'moRoot', subject: { commonName: `${prefix} MO Root CA`, organization, country: prefix.slice(0, 2) } });
    const sub1 = await makeAuthority({ role: 'moSubCa1', subject: { commonName: `${prefix} MO Sub-CA 1`, organization }, issuer: asIssuer(root) });
    const sub2 = { ...(await makeAuthority({ role: 'moSubCa2', subject: { commonName: `${prefix} MO Sub-CA 2`, organization }, issuer: asIssuer(sub1) })), ocspUrl: ocspUrlOf('mo', config.ocspBaseUrl) };
    return { root, sub1, sub2 };
  });
  const { root, sub1, sub2 } = authorities;
  const contracts = store.collection<ContractDoc>('mo.contracts');
  const contractIndex = store.collection<ContractIndexDoc>('mo.contract-index');
  const revocations = new Revocations(store, 'mo');
  // The PCP over the bus, or over `GET /v1/oem/provCerts/{pcid}` of an external OPCP endpoint.
  const pools = poolAccessOf(bus, config);
  const rootPool = await new RootPool(bus, pools.roots).start();
  const serve = queueServer(bus, 'mo');
  const hostContext = { bus, store, log };

  const logic = contractMachine.provide({
    actors: {
      fetchProvisioningChain: fromPromise(async ({ input }) => {
        return pools.provisioningChain.fetch(input.pcid);
      }),
      verifyProvisioningChain: fromPromise(async ({ input }) => {
        const verdict = await rootPool.validate(certificatesOf(input.chain), 'provisioning');
        if (!verdict.valid) throw new PncError('ProvisioningChainInvalid', `provisioning chain of ${input.pcid}: ${verdict.reason}`);
        if (!samePcid(certificateOf(input.chain.certificate).subjectName.getField('CN')[0] ?? '', input.pcid)) {
          throw new PncError('ProvisioningChainInvalid', `the provisioning certificate is not issued to ${input.pcid}`);
        }
      }),
      // Idempotent: a restored actor re-running this gets the contract issued the first time.
      issueContract: fromPromise(async ({ input }) => {
        const [earlier] = await contracts.find({ contractId: input.contractId }, { limit: 1 });
        if (earlier) return { emaid: earlier._id, serialNumber: earlier.serialNumber, contractData: earlier.contractData };
        const instance = Array.from({ length: 9 }, () => ALPHANUMERIC[randomInt(36)]).join('');
        const emaid14 = `${prefix}${instance}`;
        const emaid = `${emaid14}${emaidCheckDigit(emaid14)}`;
        const issued = await issueCertificate({ role: 'contract', subject: { commonName: emaid, organization }, issuer: sub2 });
        const provisioning = certificateOf(input.chain.certificate);
        // [V2G2-818] the contract key, encrypted for the vehicle's provisioning key.
        const encrypted = await encryptContractKey(issued.keys!.privateKey, provisioning);
        const serialNumber = issued.certificate.serialNumber.toLowerCase().replace(/^0+(?=.)/, '');
        const contractData: ContractDataJson = {
          emaid,
          contractSignatureCertChain: { certificate: derOf(issued.certificate), subCertificates: [derOf(sub2.certificate), derOf(sub1.certificate)] },
          dhPublicKey: base64Of(encrypted.dhPublicKey),
          contractSignatureEncryptedPrivateKey: base64Of(encrypted.encryptedPrivateKey),
        };
        await contracts.insert({ _id: emaid, contractId: input.contractId, pcid: input.pcid, serialNumber, contractData });
        return { emaid, serialNumber, contractData };
      }),
      // The work id is the contract id: a replay enqueues nothing new.
      submitToCps: fromPromise(async ({ input }) => {
        await enqueueWork(bus, cpsInterface.work.signing, { contractId: input.contractId, pcid: input.pcid, contractData: input.contractData, moId: prefix }, { id: input.contractId });
      }),
      terminateContract: fromPromise(async ({ input }) => {
        try {
          await pools.contractDeletion.delete(input.emaid);
        } catch (error) {
          if (!PncError.is(error, 'ContractNotFound')) throw error;
        }
        await revocations.revoke(input.serialNumber, 'cessationOfOperation');
      }),
    },
  });

  const hosted = new HostedActors({ participant: 'mo', logic, context: hostContext });
  const actorFor = (contractId: string, pcid: string) => hosted.get(contractId, { contractId, pcid });
  const summaryOf = (value: unknown, ctx: ContractContext): ContractSummaryJson => ({
    contractId: ctx.contractId,
    pcid: ctx.pcid,
    emaid: ctx.issued?.emaid ?? `${prefix}000000000`,
    status: contractStatusOf(String(value)),
    ...(ctx.issued ? { contractCertificate: ctx.issued.contractData.contractSignatureCertChain.certificate } : {}),
    ...(ctx.failure ? { failure: { code: ctx.failure.code, message: ctx.failure.message } } : {}),
  });
  /** A terminated or failed contract needs no running actor; its snapshot stays in the store. */
  const releaseIfDone = async (contractId: string, snapshot: { status: string }) => {
    if (snapshot.status === 'done') await hosted.release(contractId);
  };
  /** Tells whoever listens that a contract changed status, and lets a finished actor go. */
  const changed = async (snapshot: { value: unknown; status: string; context: ContractContext }) => {
    await publishEvent(bus, moInterface.events.contractChanged, summaryOf(snapshot.value, snapshot.context));
    await releaseIfDone(snapshot.context.contractId, snapshot);
  };
  const byEmaid = async (emaid: string) => {
    const doc = await contracts.get(normalizeEmaid(emaid));
    if (!doc) throw new PncError('UnknownContract', `no contract ${emaid}`);
    return actorFor(doc.contractId, doc.pcid);
  };

  const subscriptions = await Promise.all([
    serve(moInterface.requests.ca, () => ({ certificates: [derOf(sub2.certificate), derOf(sub1.certificate), derOf(root.certificate)] })),
    serve(moInterface.requests.conclude, async ({ pcid, customerId }, delivery) => {
      requireRole(callerOf(delivery), 'admin');
      const contractId = randomUUID();
      await contractIndex.insert({ _id: contractId, pcid: pcidKey(pcid), ...(customerId ? { customerId } : {}) });
      const actor = await actorFor(contractId, pcidKey(pcid));
      const snapshot = await actor.waitFor((s) => ['submitted', 'installed', 'failed'].includes(String(s.value)), 30_000);
      await changed(snapshot);
      if (snapshot.value === 'failed') {
        const failure = snapshot.context.failure!;
        const code = failure.code === 'VehicleNotFound' ? 'UnknownVehicle' : failure.code === 'ProvisioningChainInvalid' ? failure.code : failure.retryable || failure.code === 'NoResponders' || failure.code === 'Timeout' ? 'PoolUnavailable' : failure.code;
        throw new PncError(code, failure.message);
      }
      log.info('contract.submitted', { contractId, emaid: snapshot.context.issued?.emaid });
      return summaryOf(snapshot.value, snapshot.context);
    }),
    serve(moInterface.requests.get, async ({ emaid }, delivery) => {
      requireOperatorOrEmaidOwner(callerOf(delivery), emaid);
      const snapshot = (await byEmaid(emaid)).getSnapshot();
      await releaseIfDone(snapshot.context.contractId, snapshot);
      return summaryOf(snapshot.value, snapshot.context);
    }),
    serve(moInterface.requests.terminate, async ({ emaid }, delivery) => {
      // [S3] only the operator or the MO owning the EMAID, as authenticated: never whoever asks.
      requireOperatorOrEmaidOwner(callerOf(delivery), emaid);
      const actor = await byEmaid(emaid);
      await actor.send({ type: 'TERMINATE' });
      const snapshot = await actor.waitFor((s) => s.value !== 'terminating', 30_000);
      if (snapshot.value !== 'terminated') throw new PncError('PoolUnavailable', `termination of ${emaid} did not finish: ${snapshot.context.failure?.message ?? snapshot.value}`, { retryable: true });
      await changed(snapshot);
      return summaryOf(snapshot.value, snapshot.context);
    }),
    // The CCP holding the contract is what makes it installable.
    bus.subscribe(ccpInterface.events.stored.subject, async ({ payload }) => {
      // Our CCP keeps our contract id; one behind OPCP names the contract itself, so PCID and EMAID
      // (14 characters: the check character may be dropped on the way) find ours.
      const stored = (payload as { contract?: { contractId?: string; pcid?: string; emaid?: string } }).contract;
      if (!stored) return;
      const emaid14 = (emaid: string) => normalizeEmaid(emaid).slice(0, 14);
      const contractId = stored.contractId && (await contractIndex.get(stored.contractId)) ? stored.contractId
        : stored.pcid && stored.emaid ? (await contracts.find({ pcid: stored.pcid })).find((doc) => emaid14(doc._id) === emaid14(stored.emaid!))?.contractId : undefined;
      if (!contractId) return;
      const index = await contractIndex.get(contractId);
      if (!index) return;
      const actor = await actorFor(contractId, index.pcid);
      // A replayed event after a restart finds the contract installed already: nothing to do.
      if (actor.getSnapshot().value !== 'submitted') return;
      await actor.send({ type: 'CONTRACT_STORED' });
      await changed(actor.getSnapshot());
    }),
    bus.subscribe(cpsInterface.events.rejected.subject, async ({ payload }) => {
      const { contractId, code, message } = payload as { contractId: string; code: string; message: string };
      const index = await contractIndex.get(contractId);
      if (!index) return;
      const actor = await actorFor(contractId, index.pcid);
      await actor.send({ type: 'CONTRACT_REJECTED', code, message }).catch((error) => log.warn('contract.rejection.unapplied', { contractId, error }));
      await changed(actor.getSnapshot());
    }),
    // A deleted vehicle takes its contracts along: the MO revokes their certificates [OPCP PCP delete].
    bus.subscribe(ccpInterface.events.deleted.subject, async ({ payload }) => {
      const { contractId, reason } = payload as { contractId: string; reason: string };
      if (reason !== 'vehicle') return;
      const index = await contractIndex.get(contractId);
      if (!index) return;
      const actor = await actorFor(contractId, index.pcid);
      await actor.send({ type: 'TERMINATE' }).catch((error) => log.warn('contract.termination.unapplied', { contractId, error }));
      const settled = await actor.waitFor((s) => s.value !== 'terminating', 30_000).catch(() => undefined);
      if (settled) await changed(settled);
    }),
    serveOcsp(bus, 'mo', sub2, revocations, config.ocspHttpPort, log),
  ]);
  return {
    stop: async () => {
      await unsubscribeAll(subscriptions);
      await hosted.stopAll();
      await rootPool.stop();
    },
  };
}

export const moParticipant: ParticipantDefinition = {
  name: 'mo',
  summary: 'MO: contract conclusion, contract data to the CPS, termination, OCSP',
  start: startMo,
};
