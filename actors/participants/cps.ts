/**
 * CPS participant: signs MO contract data (statecharts/cps.ts). It checks the contract chain
 * against the MO and V2G roots of the RCP, builds the CertificateInstallationRes content
 * (SAProvisioningCertificateChain = its own chain; ContractSignatureCertChain,
 * ContractSignatureEncryptedPrivateKey, DHpublickey and eMAID, each with its Id), signs the four
 * referenced fragments with the CPS leaf [V2G2-771] and puts the result into the CCP under the PCID.
 * Durable signing work is acknowledged only after the CCP put succeeded; the put is idempotent by
 * contract id, so a crash loses no contract and duplicates none.
 */
import { createHash } from 'node:crypto';
import { createActor, waitFor, type SnapshotFrom } from 'xstate';
import type { ParticipantContext, ParticipantDefinition } from '../host/participant.ts';
import { hostActor, retentionOf, startRetention, timedEffect } from '../host/index.ts';
import { consumeWork, publishEvent, requestSubjectReply } from '../bus/typed.ts';
import { emaidPrefixOf, requireEmaidOwner, requireRole, type Caller } from '../../protocols/catalogue/caller.ts';
import { callerOf } from '../bus/identity.ts';
import { cpsInterface, type SignedContractDataJson, type SigningRequestJson } from '../../protocols/catalogue/cps.ts';
import type { CertificateChainJson } from '../../protocols/catalogue/fields.ts';
import { v2gRootInterface } from '../../protocols/catalogue/v2g-root.ts';
import { PncError } from '../../protocols/errors.ts';
import { sameEmaid } from '../../protocols/identifiers/index.ts';
import { signFragments } from '../../protocols/xmldsig/index.ts';
import { signingMachine, type SigningContext } from '../../statecharts/cps.ts';
import { asIssuer, ocspUrlOf, certificateOf, derOf, loadOrMakeAuthorities, makeAuthority, requestSubCa1, whenServed, queueServer } from './authority.ts';
import { Revocations, serveOcsp } from './revocation.ts';
import { RootPool } from './roots.ts';
import { poolAccessOf } from './pool-access.ts';
import { unsubscribeAll } from '../bus/bus.ts';

/** A signing job takes milliseconds; a short lease lets a restarted CPS resume a crashed one soon. */
const SIGNING_LEASE_MS = 5_000;
/**
 * A CCP outage must not dead-letter contracts: retryable failures back off up to the ack wait and
 * are tried again for about a day; only contract data the CPS rejects is dead-lettered at once.
 */
const SIGNING_MAX_DELIVER = 10_000;

const hexOfBase64 = (value: string): string => Buffer.from(value, 'base64').toString('hex');

/** A chain in the EXI JSON shape of CertificateChainType (hex DER, SubCertificates only when present). */
export function exiChain(chain: CertificateChainJson, id?: string): Record<string, unknown> {
  return {
    ...(id ? { Id: id } : {}),
    Certificate: hexOfBase64(chain.certificate),
    ...(chain.subCertificates.length ? { SubCertificates: { Certificate: chain.subCertificates.map(hexOfBase64) } } : {}),
  };
}

/** Only an MO signs up contracts, and only under its own EMAID prefix (as authenticated, never as the payload says). */
function requireSigningMo(who: Caller, emaid: string): void {
  requireRole(who, 'mo');
  requireEmaidOwner(who, emaid);
}

async function startCps({ bus, store, config, log, kek }: ParticipantContext) {
  const organization = config.organization ?? 'Open Plug&Charge CPS';
  const { certificates: [v2gRootDer] } = await whenServed(() => requestSubjectReply(bus, v2gRootInterface.requests.ca, {}));
  const authorities = await loadOrMakeAuthorities({ store, kek }, 'cps', async () => {
    const sub1 = await requestSubCa1(bus, 'cps', { commonName: 'CPS Sub-CA 1', organization });
    const sub2 = { ...(await makeAuthority({ role: 'cpsSubCa2', subject: { commonName: 'CPS Sub-CA 2', organization }, issuer: asIssuer(sub1) })), ocspUrl: ocspUrlOf('cps', config.ocspBaseUrl) };
    const leaf = await makeAuthority({ role: 'cps', subject: { commonName: 'CPS Leaf', organization }, issuer: asIssuer(sub2) });
    return { sub1, sub2, leaf };
  });
  const { sub1, sub2, leaf } = authorities;
  const ownChain: CertificateChainJson = { certificate: derOf(leaf.certificate), subCertificates: [derOf(sub2.certificate), derOf(sub1.certificate)] };
  const cpsV2GRootFingerprint = createHash('sha256').update(Buffer.from(v2gRootDer, 'base64')).digest('hex');
  const revocations = new Revocations(store, 'cps');
  // Roots and the CCP over our bus subjects, or over an external OPCP endpoint (`opcp.url`).
  const pools = poolAccessOf(bus, config);
  const rootPool = await new RootPool(bus, pools.roots).start();
  const serve = queueServer(bus, 'cps');
  const hostContext = { bus, store, log };

  const logic = signingMachine.provide({
    actors: {
      checkContractData: timedEffect(async ({ input }: { input: SigningRequestJson }) => {
        const { contractData } = input;
        const chain = [contractData.contractSignatureCertChain.certificate, ...contractData.contractSignatureCertChain.subCertificates].map(certificateOf);
        if (input.moId && emaidPrefixOf(contractData.emaid) !== input.moId.toUpperCase()) {
          throw new PncError('EmaidMismatch', `EMAID ${contractData.emaid} is outside the MO's scope ${input.moId}`);
        }
        const commonName = chain[0].subjectName.getField('CN')[0] ?? '';
        if (!sameEmaid(commonName, contractData.emaid)) throw new PncError('EmaidMismatch', `contract certificate CN ${commonName} is not EMAID ${contractData.emaid}`);
        const dh = Buffer.from(contractData.dhPublicKey, 'base64');
        const key = Buffer.from(contractData.contractSignatureEncryptedPrivateKey, 'base64');
        if (dh.length !== 65 || dh[0] !== 0x04) throw new PncError('ContractKeyInvalid', `dhPublicKey must be a 65-byte uncompressed P-256 point (got ${dh.length} bytes)`);
        if (key.length !== 48) throw new PncError('ContractKeyInvalid', `contractSignatureEncryptedPrivateKey must be 48 bytes (got ${key.length})`);
        const verdict = await rootPool.validate(chain, 'contract');
        if (!verdict.valid) throw new PncError('ContractChainInvalid', `contract chain of ${contractData.emaid}: ${verdict.reason}`);
      }),
      signContractData: timedEffect(async ({ input }: { input: SigningRequestJson }): Promise<SignedContractDataJson> => {
        const { contractData } = input;
        const body = {
          SAProvisioningCertificateChain: exiChain(ownChain),
          ContractSignatureCertChain: exiChain(contractData.contractSignatureCertChain, 'id1'),
          ContractSignatureEncryptedPrivateKey: { Id: 'id2', CONTENT: hexOfBase64(contractData.contractSignatureEncryptedPrivateKey) },
          DHpublickey: { Id: 'id3', CONTENT: hexOfBase64(contractData.dhPublicKey) },
          eMAID: { Id: 'id4', CONTENT: contractData.emaid },
        };
        // Four References; SAProvisioningCertificateChain is not signed (pki-and-crypto.md §11.2).
        const signature = signFragments(
          (['ContractSignatureCertChain', 'ContractSignatureEncryptedPrivateKey', 'DHpublickey', 'eMAID'] as const).map((name) => ({
            id: (body[name] as { Id: string }).Id,
            fragment: { [name]: body[name] },
          })),
          leaf.privateKey,
        );
        // The same signed content answers CertificateUpdateReq (pki-and-crypto.md §11.2); renewalOf tells the CCP it is one.
        return { contractId: input.contractId, pcid: input.pcid, emaid: contractData.emaid, body, signature: signature as unknown as Record<string, unknown>, cpsV2GRootFingerprint, signedAt: new Date().toISOString(), ...(input.renewalOf ? { renewalOf: input.renewalOf } : {}) };
      }),
      putIntoCcp: timedEffect(async ({ input }: { input: SignedContractDataJson }) => {
        await pools.signedContracts.put(input);
      }),
    },
  });

  type Snapshot = SnapshotFrom<typeof logic>;
  /** Where a signing job stands: finished (stored, signed, rejected), or waiting on an outage. */
  const settled = (s: Snapshot) => s.status === 'done' || s.hasTag('retrying');
  const outcomeError = (snapshot: Snapshot): PncError => {
    const failure = snapshot.context.failure;
    if (snapshot.hasTag('retrying')) return new PncError(snapshot.matches('storeWaiting') ? 'CcpPutFailed' : 'PoolUnavailable', `${failure?.code}: ${failure?.message}`, { retryable: true });
    return new PncError(failure?.code ?? 'ContractDataInvalid', failure?.message ?? 'contract data rejected', { retryable: false });
  };

  const subscriptions = await Promise.all([
    serve(cpsInterface.requests.ca, () => ({ chain: ownChain, v2gRoot: v2gRootDer, cpsV2GRootFingerprint })),
    // Synchronous: nothing to resume after a crash (the caller asks again), so the machine runs in memory.
    serve(cpsInterface.requests.sign, async ({ store: wantsStore, ...request }, delivery) => {
      // The MO in the payload (moId) must be the one authenticated, owning the contract's EMAID.
      requireSigningMo(callerOf(delivery), request.contractData.emaid);
      const actor = createActor(logic, { input: { request, store: wantsStore } }).start();
      try {
        const outcome = await waitFor(actor, settled);
        if (!outcome.hasTag('stored') && !outcome.hasTag('signed')) throw outcomeError(outcome);
        return { ...outcome.context.signed!, stored: wantsStore };
      } finally {
        actor.stop();
      }
    }),
    // One hosted actor per contract: after a crash the redelivered item resumes where it stopped.
    consumeWork(bus, cpsInterface.work.signing, async (request, item) => {
      requireSigningMo(callerOf(item), request.contractData.emaid); // a refusal is final: dead-lettered
      const actor = await hostActor({ participant: 'cps', id: request.contractId, logic, context: hostContext, input: { request, store: true }, leaseMs: SIGNING_LEASE_MS });
      try {
        // A redelivery is the retry of a job that waited on an outage.
        if (actor.getSnapshot().hasTag('retrying')) await actor.send({ type: 'RETRY' });
        const snapshot = await actor.waitFor(settled, 30_000);
        if (snapshot.hasTag('rejected')) {
          const failure = outcomeError(snapshot);
          await publishEvent(bus, cpsInterface.events.rejected, { contractId: request.contractId, pcid: request.pcid, emaid: request.contractData.emaid, code: failure.code, message: failure.message });
          throw failure;
        }
        // Retryable: the item is redelivered with a back-off and never dead-lettered for an outage.
        if (!snapshot.hasTag('stored')) throw outcomeError(snapshot);
        await publishEvent(bus, cpsInterface.events.signed, { contractId: request.contractId, pcid: request.pcid, emaid: request.contractData.emaid, stored: true });
        log.info('contract.signed', { contractId: request.contractId, pcid: request.pcid });
      } finally {
        await actor.stop();
      }
    }, { durable: 'cps-signing', ackWaitMs: Number(config.ackWaitMs ?? 10_000), maxDeliver: SIGNING_MAX_DELIVER }),
    serveOcsp(bus, 'cps', sub2, revocations, config.ocspHttpPort, log),
  ]);
  // A stored contract's signing job is history once the CCP holds it: kept `retentionDays` (default 7), then deleted.
  const retention = startRetention({ store, participant: 'cps', log, retainMs: retentionOf(config) });
  return { stop: async () => { retention.stop(); await unsubscribeAll(subscriptions); await rootPool.stop(); } };
}

export const cpsParticipant: ParticipantDefinition = {
  name: 'cps',
  summary: 'CPS: signs contract data into CertificateInstallationRes content and stores it in the CCP',
  start: startCps,
};
