/**
 * MO participant: concludes contracts (statecharts/mo.ts, one hosted actor per contract): reads
 * the vehicle's provisioning chain from the PCP, verifies it against the OEM roots of the RCP,
 * issues EMAID, contract key and certificate from MO Sub-CA 2, encrypts the key for the vehicle
 * and submits the contract data to the CPS as durable work. Terminating deletes the contract from
 * the CCP and revokes its certificate, which the MO's OCSP responder then reports.
 */
import { randomInt, randomUUID } from 'node:crypto';
import type { ParticipantContext, ParticipantDefinition } from '../host/participant.ts';
import { HostedActors } from './hosted.ts';
import { timedEffect } from '../host/index.ts';
import { consumeWork, enqueueWork, publishEvent, subscribeEvent } from '../bus/typed.ts';
import type { StoredDoc } from '../store/store.ts';
import { ccpInterface } from '../../protocols/catalogue/ccp.ts';
import { cpsInterface, renewalOfCertificate } from '../../protocols/catalogue/cps.ts';
import type { CertificateChainJson, ContractDataJson } from '../../protocols/catalogue/fields.ts';
import { moInterface, type ContractSummaryJson } from '../../protocols/catalogue/mo.ts';
import { PncError } from '../../protocols/errors.ts';
import { emaidCheckDigit, normalizeEmaid, pcidKey, samePcid } from '../../protocols/identifiers/index.ts';
import { encryptContractKey } from '../../protocols/pki/contract-key.ts';
import { issueCertificate } from '../../protocols/pki/index.ts';
import { contractMachine, contractStatusOf, DEFAULT_RENEWAL_WINDOW_MS, upgradeContractSnapshotV3, type RenewedContract } from '../../statecharts/mo.ts';
import { systemClock } from '../transport/timers.ts';
import type { SnapshotFrom } from 'xstate';
import { asIssuer, base64Of, ocspUrlOf, certificateOf, derOf, loadOrMakeAuthorities, makeAuthority, whenServed, queueServer } from './authority.ts';
import { ensureIssuanceIndex, recordIssuance } from './issuance-log.ts';
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

/** A renewal's id: the CPS signing job's and the CCP's contract id, traced back to its contract by {@link contractIdOfRenewal}. */
// ':' is a subject token character (actor ids) that no contract id contains.
const RENEWAL_SEPARATOR = ':renewal-';
const renewalIdOf = (contractId: string, renewal: number) => `${contractId}${RENEWAL_SEPARATOR}${renewal}`;
const contractIdOfRenewal = (id: string): string | undefined => (id.includes(RENEWAL_SEPARATOR) ? id.slice(0, id.lastIndexOf(RENEWAL_SEPARATOR)) : undefined);

interface RenewalDoc extends StoredDoc {
  /** _id = renewal id. */
  readonly renewal: RenewedContract;
}

/** The contract certificate's notAfter (epoch ms). */
const notAfterOf = (contractData: ContractDataJson): number => certificateOf(contractData.contractSignatureCertChain.certificate).notAfter.getTime();

/** `renewalWindowDays` of the MO's settings, in ms; the machine's default (60 days) when absent or not a positive number. */
export function renewalWindowOf(config: Readonly<Record<string, string>>): number {
  const days = config.renewalWindowDays === undefined ? Number.NaN : Number(config.renewalWindowDays);
  return Number.isFinite(days) && days > 0 ? days * 86_400_000 : DEFAULT_RENEWAL_WINDOW_MS;
}

async function startMo({ bus, store, config, log, kek, clock = systemClock }: ParticipantContext) {
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
  const renewals = store.collection<RenewalDoc>('mo.renewals');
  await ensureIssuanceIndex(store);
  const revocations = new Revocations(store, 'mo');
  // The PCP over the bus, or over `GET /v1/oem/provCerts/{pcid}` of an external OPCP endpoint.
  const pools = poolAccessOf(bus, config);
  const rootPool = await new RootPool(bus, pools.roots).start();
  const serve = queueServer(bus, 'mo');
  const hostContext = { bus, store, log, clock };
  const renewalWindowMs = renewalWindowOf(config);
  const now = () => clock.now();

  const logic = contractMachine.provide({
    actors: {
      fetchProvisioningChain: timedEffect(async ({ input }) => {
        return pools.provisioningChain.fetch(input.pcid);
      }, now),
      verifyProvisioningChain: timedEffect(async ({ input }) => {
        const verdict = await rootPool.validate(certificatesOf(input.chain), 'provisioning');
        if (!verdict.valid) throw new PncError('ProvisioningChainInvalid', `provisioning chain of ${input.pcid}: ${verdict.reason}`);
        if (!samePcid(certificateOf(input.chain.certificate).subjectName.getField('CN')[0] ?? '', input.pcid)) {
          throw new PncError('ProvisioningChainInvalid', `the provisioning certificate is not issued to ${input.pcid}`);
        }
      }, now),
      // Idempotent: a restored actor re-running this gets the contract issued the first time.
      issueContract: timedEffect(async ({ input }) => {
        const [earlier] = await contracts.find({ contractId: input.contractId }, { limit: 1 });
        if (earlier) return { emaid: earlier._id, serialNumber: earlier.serialNumber, contractData: earlier.contractData, notAfter: notAfterOf(earlier.contractData) };
        const instance = Array.from({ length: 9 }, () => ALPHANUMERIC[randomInt(36)]).join('');
        const emaid14 = `${prefix}${instance}`;
        const emaid = `${emaid14}${emaidCheckDigit(emaid14)}`;
        const issued = await issueCertificate({ role: 'contract', subject: { commonName: emaid, organization }, issuer: sub2 });
        await recordIssuance(store, 'mo', 'contract', issued.certificate, input.contractId);
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
        return { emaid, serialNumber, contractData, notAfter: issued.certificate.notAfter.getTime() };
      }, now),
      // Idempotent per renewal number: a restored actor re-running this gets the same certificate.
      issueRenewal: timedEffect(async ({ input }) => {
        const renewalId = renewalIdOf(input.contractId, input.renewal);
        const earlier = await renewals.get(renewalId);
        if (earlier) return { ...earlier.renewal, notAfter: notAfterOf(earlier.renewal.contractData) };
        const { emaid } = input.current;
        const current = certificateOf(input.current.contractData.contractSignatureCertChain.certificate);
        const issued = await issueCertificate({ role: 'contract', subject: { commonName: emaid, organization }, issuer: sub2 });
        await recordIssuance(store, 'mo', 'contract', issued.certificate, renewalId);
        // [V2G2-820/821] CertificateUpdate: the new key is encrypted for the current contract certificate's key (pki-and-crypto.md §10.1).
        const encrypted = await encryptContractKey(issued.keys!.privateKey, current);
        const renewal: RenewedContract = {
          emaid,
          serialNumber: issued.certificate.serialNumber.toLowerCase().replace(/^0+(?=.)/, ''),
          contractData: {
            emaid,
            contractSignatureCertChain: { certificate: derOf(issued.certificate), subCertificates: [derOf(sub2.certificate), derOf(sub1.certificate)] },
            dhPublicKey: base64Of(encrypted.dhPublicKey),
            contractSignatureEncryptedPrivateKey: base64Of(encrypted.encryptedPrivateKey),
          },
          notAfter: issued.certificate.notAfter.getTime(),
          renewalOf: renewalOfCertificate(Buffer.from(input.current.contractData.contractSignatureCertChain.certificate, 'base64')),
          renewalId,
        };
        await renewals.insert({ _id: renewalId, renewal });
        return renewal;
      }, now),
      // The work id is the renewal id per submission: a replay enqueues nothing new, a resubmission
      // (no confirmation came) does, and the CPS resumes its job of the same renewal id.
      submitRenewal: timedEffect(async ({ input: { pcid, renewal, submission } }) => {
        await enqueueWork(bus, cpsInterface.work.signing, { contractId: renewal.renewalId, pcid, contractData: renewal.contractData, moId: prefix, renewalOf: renewal.renewalOf }, { id: submission === 1 ? renewal.renewalId : `${renewal.renewalId}:submission-${submission}` });
        return { at: clock.now() };
      }, now),
      // The work id is the contract id: a replay enqueues nothing new.
      submitToCps: timedEffect(async ({ input }) => {
        await enqueueWork(bus, cpsInterface.work.signing, { contractId: input.contractId, pcid: input.pcid, contractData: input.contractData, moId: prefix }, { id: input.contractId });
        return { at: clock.now() };
      }, now),
      askCcp: timedEffect(async ({ input }) => ({ stored: await pools.contractLookup.holds(input.pcid, input.emaid), at: clock.now() }), now),
      terminateContract: timedEffect(async ({ input }) => {
        try {
          await pools.contractDeletion.delete(input.emaid);
        } catch (error) {
          if (!PncError.is(error, 'ContractNotFound')) throw error;
        }
        for (const serialNumber of input.serialNumbers) await revocations.revoke(serialNumber, 'cessationOfOperation');
      }, now),
    },
  });

  // Installed, terminated and failed contracts need no running actor (issue 9 D6): the snapshot
  // stays in the store and the next event hosts it again. Waiting ones keep their deadlines armed.
  // Released contracts still renew: their `renew` deadline wakes them (the wake index, actors/host/wake.ts).
  const hosted = new HostedActors({
    participant: 'mo', logic, context: hostContext, idle: (s) => s.status === 'done' || s.hasTag('installed'),
    upgrades: { '3': (snapshot, at) => upgradeContractSnapshotV3(snapshot, { notAfterOf, renewalWindowMs, now: at }) },
  });
  type Snapshot = SnapshotFrom<typeof logic>;
  const actorFor = (contractId: string, pcid: string) => hosted.get(contractId, { contractId, pcid, renewalWindowMs });
  // Issue 8: no EMAID is reported before one is issued.
  const summaryOf = (snapshot: Snapshot): ContractSummaryJson => {
    const ctx = snapshot.context;
    return {
      contractId: ctx.contractId,
      pcid: ctx.pcid,
      ...(ctx.issued ? { emaid: ctx.issued.emaid, contractCertificate: ctx.issued.contractData.contractSignatureCertChain.certificate } : {}),
      ...(ctx.renewal?.stored ? { renewedCertificate: ctx.renewal.contractData.contractSignatureCertChain.certificate } : {}),
      status: contractStatusOf(snapshot),
      ...(ctx.failure ? { failure: { code: ctx.failure.code, message: ctx.failure.message } } : {}),
    };
  };
  /** Tells whoever listens that a contract changed status. */
  const changed = (snapshot: Snapshot) => publishEvent(bus, moInterface.events.contractChanged, summaryOf(snapshot));
  /** Delivers `event` when the contract's current state takes it; a late or repeated one is dropped. */
  const deliver = async (contractId: string, event: Parameters<Awaited<ReturnType<typeof actorFor>>['send']>[0]) => {
    const index = await contractIndex.get(contractId);
    if (!index) return undefined;
    const actor = await actorFor(contractId, index.pcid);
    const before = actor.getSnapshot();
    if (before.status !== 'active' || !before.can(event)) return undefined;
    await actor.send(event);
    return actor;
  };
  const byEmaid = async (emaid: string) => {
    const doc = await contracts.get(normalizeEmaid(emaid));
    if (!doc) throw new PncError('UnknownContract', `no contract ${emaid}`);
    return actorFor(doc.contractId, doc.pcid);
  };
  const byContractId = async (contractId: string) => {
    const index = await contractIndex.get(contractId);
    if (!index) throw new PncError('UnknownContract', `no contract ${contractId}`);
    return actorFor(contractId, index.pcid);
  };
  /** The catalogue error of a contract that failed, or of one that waits on an outage. */
  const failureError = (snapshot: Snapshot): PncError => {
    const failure = snapshot.context.failure!;
    if (failure.code === 'VehicleNotFound') return new PncError('UnknownVehicle', failure.message);
    if (failure.code === 'ProvisioningChainInvalid') return new PncError(failure.code, failure.message);
    // A partner (PCP, RCP, CPS queue) was unreachable: asking again later can succeed (issue 9 D7).
    if (failure.retryable || failure.code === 'NoResponders' || failure.code === 'Timeout') return new PncError('PoolUnavailable', failure.message, { retryable: true, data: { contractId: snapshot.context.contractId } });
    return new PncError(failure.code, failure.message);
  };

  /**
   * Issue 9 D4: contracts in flight when the MO stopped go on at start (their deadlines and retries
   * are armed again), and an index row whose actor was never created gets one.
   */
  async function resumeUnfinished(): Promise<void> {
    const { all, unfinished } = await hosted.stored(['installed']);
    let resumed = 0;
    for (const index of await contractIndex.find()) {
      if (all.has(index._id) && !unfinished.has(index._id)) continue;
      try {
        // An installed contract is released again by the idle sweep; the others go on from their state.
        await actorFor(index._id, index.pcid);
        resumed++;
      } catch (error) {
        log.warn('contract.resume_failed', { contractId: index._id, error });
      }
    }
    if (resumed) log.info('contracts.resumed', { resumed });
  }

  const ignoreInvalid = (error: PncError) => log.warn('event.invalid', { error });
  const subscriptions = await Promise.all([
    serve(moInterface.requests.ca, () => ({ certificates: [derOf(sub2.certificate), derOf(sub1.certificate), derOf(root.certificate)] })),
    // A caller-chosen contractId makes conclusion idempotent: asking again resumes the same contract.
    serve(moInterface.requests.conclude, async ({ pcid, customerId, contractId: requested }, delivery) => {
      requireRole(callerOf(delivery), 'admin');
      const contractId = requested ?? randomUUID();
      const known = requested ? await contractIndex.get(requested) : undefined;
      if (known && known.pcid !== pcidKey(pcid)) throw new PncError('ContractIdInUse', `contract ${requested} belongs to another vehicle`);
      if (!known) {
        await contractIndex.insert({ _id: contractId, pcid: pcidKey(pcid), ...(customerId ? { customerId } : {}) }).catch((error) => {
          if (!PncError.is(error, 'DuplicateKey')) throw error;
        });
      }
      const actor = await actorFor(contractId, pcidKey(pcid));
      let snapshot = await actor.waitFor((s) => s.hasTag('settled') || s.hasTag('retrying'), 30_000);
      if (snapshot.hasTag('retrying')) {
        // Nobody can ask for a contract without its id again: it fails now rather than appear later.
        if (!requested) {
          await actor.send({ type: 'CANCEL', reason: 'the conclusion was answered with PoolUnavailable' }).catch(() => undefined);
          snapshot = actor.getSnapshot();
          await changed(snapshot);
        }
        throw failureError(snapshot);
      }
      await changed(snapshot);
      if (snapshot.hasTag('failed')) throw failureError(snapshot);
      log.info('contract.submitted', { contractId, emaid: snapshot.context.issued?.emaid });
      return summaryOf(snapshot);
    }),
    serve(moInterface.requests.get, async ({ emaid, contractId }, delivery) => {
      if (!emaid && !contractId) throw new PncError('UnknownContract', 'name the contract by emaid or contractId');
      // An MO sees only its own EMAIDs; a contract id is the operator's handle.
      if (emaid) requireOperatorOrEmaidOwner(callerOf(delivery), emaid);
      else requireRole(callerOf(delivery), 'admin');
      const actor = emaid ? await byEmaid(emaid) : await byContractId(contractId!);
      return summaryOf(actor.getSnapshot());
    }),
    // CertificateUpdate: the CCP holds the renewal when this answers; the EV picks it up at its next session.
    serve(moInterface.requests.renew, async ({ emaid }, delivery) => {
      requireOperatorOrEmaidOwner(callerOf(delivery), emaid);
      const actor = await byEmaid(emaid);
      const before = actor.getSnapshot();
      if (before.status !== 'active' || !before.can({ type: 'RENEW' })) throw new PncError('EventNotAccepted', `contract ${emaid} cannot be renewed now (${contractStatusOf(before)})`);
      const renewalsBefore = before.context.renewals ?? 0;
      await actor.send({ type: 'RENEW' });
      const snapshot = await actor.waitFor((s) => s.matches('installed') || s.matches('renewalFailed') || s.status === 'done', 30_000).catch(() => actor.getSnapshot());
      await changed(snapshot);
      const renewal = snapshot.context.renewal;
      if (renewal?.stored && (snapshot.context.renewals ?? 0) > renewalsBefore) {
        log.info('contract.renewed', { emaid, renewalId: renewal.renewalId });
        return summaryOf(snapshot);
      }
      const failure = snapshot.context.failure;
      if (snapshot.matches('renewalSubmitted') || failure?.retryable || failure?.code === 'NoResponders' || failure?.code === 'Timeout') {
        throw new PncError('PoolUnavailable', `the renewal of ${emaid} is not in the CCP yet: ${failure?.message ?? String(snapshot.value)}`, { retryable: true });
      }
      throw new PncError('RenewalRejected', `the renewal of ${emaid} failed: ${failure ? `${failure.code}: ${failure.message}` : String(snapshot.value)}`);
    }),
    serve(moInterface.requests.terminate, async ({ emaid }, delivery) => {
      // [S3] only the operator or the MO owning the EMAID, as authenticated: never whoever asks.
      requireOperatorOrEmaidOwner(callerOf(delivery), emaid);
      const actor = await byEmaid(emaid);
      await actor.send({ type: 'TERMINATE' });
      const snapshot = await actor.waitFor((s) => !s.matches('terminating'), 30_000);
      if (!snapshot.matches('terminated')) throw new PncError('PoolUnavailable', `termination of ${emaid} did not finish: ${snapshot.context.failure?.message ?? String(snapshot.value)}`, { retryable: true });
      await changed(snapshot);
      return summaryOf(snapshot);
    }),
    // The CCP holding the contract is what makes it installable. Its confirmation is durable work
    // (issue 9 D1): one that arrives while the MO is down is delivered when it is back; the machine
    // still asks the CCP after its `confirm` deadline (statecharts/mo.ts) when none came at all.
    consumeWork(bus, moInterface.work.contractStored, async (stored, item) => {
      requireRole(callerOf(item), 'pool');
      // Our CCP keeps our contract id; one behind OPCP names the contract itself, so PCID and EMAID
      // (14 characters: the check character may be dropped on the way) find ours.
      const emaid14 = (emaid: string) => normalizeEmaid(emaid).slice(0, 14);
      const renewed = contractIdOfRenewal(stored.contractId);
      if (renewed) {
        const actor = await deliver(renewed, { type: 'RENEWAL_STORED' });
        if (actor) await changed(actor.getSnapshot());
        return;
      }
      const contractId = (await contractIndex.get(stored.contractId)) ? stored.contractId
        : (await contracts.find({ pcid: stored.pcid })).find((doc) => emaid14(doc._id) === emaid14(stored.emaid))?.contractId;
      if (!contractId) return;
      const actor = await deliver(contractId, { type: 'CONTRACT_STORED' });
      if (actor) await changed(actor.getSnapshot());
    }, { durable: 'mo' }),
    subscribeEvent(bus, cpsInterface.events.rejected, async ({ contractId, code, message }) => {
      const renewed = contractIdOfRenewal(contractId);
      const actor = renewed ? await deliver(renewed, { type: 'RENEWAL_REJECTED', code, message }) : await deliver(contractId, { type: 'CONTRACT_REJECTED', code, message });
      if (actor) await changed(actor.getSnapshot());
    }, ignoreInvalid),
    // A deleted vehicle takes its contracts along: the MO revokes their certificates [OPCP PCP delete].
    subscribeEvent(bus, ccpInterface.events.deleted, async ({ contractId, reason }) => {
      if (reason !== 'vehicle') return;
      const actor = await deliver(contractId, { type: 'TERMINATE' });
      const settled = await actor?.waitFor((s) => !s.matches('terminating'), 30_000).catch(() => undefined);
      if (settled) await changed(settled);
    }, ignoreInvalid),
    serveOcsp(bus, 'mo', sub2, revocations, config.ocspHttpPort, log),
  ]);
  const resuming = resumeUnfinished().catch((error) => log.error('contract.resume_failed', { error }));
  return {
    stop: async () => {
      await resuming;
      await unsubscribeAll(subscriptions);
      await hosted.stopAll();
      await rootPool.stop();
    },
  };
}

export const moParticipant: ParticipantDefinition = {
  name: 'mo',
  summary: 'MO: contract conclusion and renewal, contract data to the CPS, termination, OCSP',
  start: startMo,
};
