/**
 * OEM participant: produces vehicles (statecharts/oem.ts, one hosted actor per PCID): a PCID of
 * its WMI, a provisioning key and certificate from OEM Sub-CA 2, the V2G roots of the RCP in the
 * vehicle record, and the provisioning chain uploaded to the PCP. Deleting a vehicle deletes it
 * from the PCP (which cascades to its CCP contracts) and revokes its provisioning certificate.
 */
import 'reflect-metadata';
import { randomInt } from 'node:crypto';
import { X509Certificate, SubjectKeyIdentifierExtension } from '@peculiar/x509';
import type { ParticipantContext, ParticipantDefinition } from '../host/participant.ts';
import { HostedActors } from './hosted.ts';
import { timedEffect } from '../host/index.ts';
import type { StoredDoc } from '../store/store.ts';
import { oemInterface, type VehicleRecordJson } from '../../protocols/catalogue/oem.ts';
import { PncError } from '../../protocols/errors.ts';
import { makePcid, pcidKey } from '../../protocols/identifiers/index.ts';
import { issueFromCsr } from '../../protocols/pki/issue.ts';
import { vehicleMachine } from '../../statecharts/oem.ts';
import { asIssuer, derOf, ocspUrlOf, loadOrMakeAuthorities, makeAuthority, whenServed, queueServer } from './authority.ts';
import { ensureIssuanceIndex, recordIssuance } from './issuance-log.ts';
import { Revocations, serveOcsp } from './revocation.ts';
import { RootPool } from './roots.ts';
import { poolAccessOf } from './pool-access.ts';
import { unsubscribeAll } from '../bus/bus.ts';
import { callerOf } from '../bus/identity.ts';
import { requireOperatorOrPcidOwner, requireRole } from '../../protocols/catalogue/caller.ts';

const ALPHANUMERIC = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/**
 * The OEM's own PCID check character (no public algorithm exists, pki-and-crypto.md §7.2):
 * a Luhn mod 36 over WMI + vehicle ID, which catches every single-character error.
 */
export function pcidCheckCharacter(wmiAndVehicleId: string): string {
  let sum = 0;
  const chars = wmiAndVehicleId.toUpperCase();
  for (let i = chars.length - 1, double = true; i >= 0; i--, double = !double) {
    let value = ALPHANUMERIC.indexOf(chars[i]) * (double ? 2 : 1);
    value = Math.floor(value / 36) + (value % 36);
    sum += value;
  }
  return ALPHANUMERIC[(36 - (sum % 36)) % 36];
}

function randomVehicleId(): string {
  return Array.from({ length: 14 }, () => ALPHANUMERIC[randomInt(36)]).join('');
}

interface VehicleDoc extends StoredDoc {
  readonly record: VehicleRecordJson;
  readonly serialNumber: string;
  deletedAt?: string;
}

const keyIdOf = (der: string): string | undefined => {
  const keyId = new X509Certificate(Buffer.from(der, 'base64')).getExtension(SubjectKeyIdentifierExtension)?.keyId;
  return keyId?.match(/../g)?.join(':').toUpperCase();
};

async function startOem({ bus, store, config, log, kek }: ParticipantContext) {
  const wmi = (config.wmi ?? 'OPN').toUpperCase();
  const organization = config.organization ?? 'Open Plug&Charge OEM';
  const authorities = await loadOrMakeAuthorities({ store, kek }, 'oem', async () => {
    const root = await makeAuthority({ role: 'oemRoot', subject: { commonName: `${wmi} OEM Root CA`, organization, country: 'DE' } });
    const sub1 = await makeAuthority({ role: 'oemSubCa1', subject: { commonName: `${wmi} OEM Sub-CA 1`, organization }, issuer: asIssuer(root) });
    const sub2 = { ...(await makeAuthority({ role: 'oemSubCa2', subject: { commonName: `${wmi} OEM Sub-CA 2`, organization }, issuer: asIssuer(sub1) })), ocspUrl: ocspUrlOf('oem', config.ocspBaseUrl) };
    return { root, sub1, sub2 };
  });
  const { sub1, sub2 } = authorities;
  const vehicles = store.collection<VehicleDoc>('oem.vehicles');
  await ensureIssuanceIndex(store);
  const revocations = new Revocations(store, 'oem');
  // Process 2 over our PCP's bus subjects, or over `PUT/DELETE /v1/oem/provCerts` of an external OPCP endpoint.
  const pools = poolAccessOf(bus, config);
  const rootPool = await new RootPool(bus, pools.roots).start();
  const serve = queueServer(bus, 'oem');

  const logic = vehicleMachine.provide({
    actors: {
      // Idempotent: a restored actor re-runs this and gets the vehicle made the first time.
      issueProvisioning: timedEffect(async ({ input }) => {
        const existing = await vehicles.get(input.pcid);
        if (existing) return existing.record;
        const roots = await whenServed(() => rootPool.list('V2G'));
        if (roots.length === 0) throw new PncError('NoV2gRoot', 'the RCP holds no V2G root to store in the vehicle', { retryable: true });
        // [S4] the vehicle's own key: the OEM signs its CSR and names it by the PCID.
        const certificate = await issueFromCsr({ role: 'provisioning', csr: Buffer.from(input.csr, 'base64'), subject: { commonName: input.pcid, organization }, issuer: sub2 })
          .catch((error: unknown) => { throw new PncError('CsrInvalid', `the vehicle's CSR: ${(error as Error).message}`); });
        await recordIssuance(store, 'oem', 'provisioning', certificate, input.pcid);
        const record: VehicleRecordJson = {
          pcid: input.pcid,
          provisioningChain: { certificate: derOf(certificate), subCertificates: [derOf(sub2.certificate), derOf(sub1.certificate)] },
          v2gRoots: roots.map((root) => root.der),
          producedAt: new Date().toISOString(),
        };
        await vehicles.replace({ _id: input.pcid, record, serialNumber: certificate.serialNumber.toLowerCase() });
        return record;
      }),
      uploadToPcp: timedEffect(async ({ input }) => {
        const akis = input.v2gRoots.map(keyIdOf).filter((id): id is string => id !== undefined);
        await pools.provisioningUpload.upload({ pcid: input.pcid, chain: input.provisioningChain, v2gRootAuthorityKeyIdentifiers: akis });
      }),
      deleteFromPcp: timedEffect(async ({ input }) => {
        try {
          await pools.provisioningUpload.delete(input.pcid);
        } catch (error) {
          if (!PncError.is(error, 'VehicleNotFound')) throw error;
        }
        const doc = await vehicles.get(input.pcid);
        if (doc) {
          await revocations.revoke(doc.serialNumber, 'cessationOfOperation');
          await vehicles.replace({ ...doc, deletedAt: new Date().toISOString() });
        }
      }),
    },
  });

  // Produced, deleted and failed vehicles need no running actor (issue 9 D6); one waiting to retry keeps its deadline.
  const hosted = new HostedActors({ participant: 'oem', logic, context: { bus, store, log }, idle: (s) => s.hasTag('settled') });
  // The input only starts a new actor (production); an existing vehicle's actor restores its own context.
  const actorFor = (pcid: string, csr = '') => hosted.get(pcid, { pcid, csr });
  const settledOrRetrying = (s: { hasTag(tag: string): boolean }) => s.hasTag('settled') || s.hasTag('retrying');

  const subscriptions = await Promise.all([
    serve(oemInterface.requests.ca, () => ({ certificates: [derOf(sub2.certificate), derOf(sub1.certificate), derOf(authorities.root.certificate)] })),
    serve(oemInterface.requests.produceVehicle, async ({ vehicleId, csr }, delivery) => {
      // The operator's factory, or a vehicle of this OEM's own WMI producing itself (the EV participant: `openpnc run ev`).
      const who = callerOf(delivery);
      if (!(who.role === 'oem' && who.prefixes.includes(wmi))) requireRole(who, 'admin');
      const body = `${wmi}${vehicleId ?? randomVehicleId()}`; // as given: PCIDs keep their case (pcidKey)
      const pcid = makePcid(wmi, body.slice(3), pcidCheckCharacter(body));
      const existing = await vehicles.get(pcid);
      const actor = await actorFor(pcid, csr);
      // Asking again for a vehicle still on its way to the PCP waits for it (issue 9 D2); a finished one exists.
      if (existing && actor.getSnapshot().hasTag('settled')) throw new PncError('VehicleExists', `vehicle ${pcid} was produced already`);
      const snapshot = await actor.waitFor(settledOrRetrying, 30_000);
      if (snapshot.hasTag('failed')) throw new PncError(snapshot.context.failure?.code ?? 'Internal', snapshot.context.failure?.message ?? 'production failed');
      // The actor keeps trying with a back-off; asking again with the same vehicleId waits for it.
      if (snapshot.hasTag('retrying')) throw new PncError('PcpUploadFailed', `upload to the PCP failed, retrying: ${snapshot.context.failure?.message}`, { retryable: true, data: { pcid } });
      log.info('vehicle.produced', { pcid });
      return snapshot.context.vehicle!;
    }),
    serve(oemInterface.requests.getVehicle, async ({ pcid }, delivery) => {
      requireOperatorOrPcidOwner(callerOf(delivery), pcid);
      const doc = await vehicles.get(pcidKey(pcid));
      if (!doc || doc.deletedAt) throw new PncError('UnknownVehicle', `no vehicle ${pcid}`);
      return doc.record;
    }),
    serve(oemInterface.requests.deleteVehicle, async ({ pcid }, delivery) => {
      requireOperatorOrPcidOwner(callerOf(delivery), pcid);
      const doc = await vehicles.get(pcidKey(pcid));
      if (!doc) throw new PncError('UnknownVehicle', `no vehicle ${pcid}`);
      if (doc.deletedAt) return { pcid: doc._id, deleted: false };
      const actor = await actorFor(doc._id);
      await actor.send({ type: 'DELETE' });
      const snapshot = await actor.waitFor((s) => s.matches('deleted') || s.hasTag('retrying') || (s.matches('produced') && s.context.failure !== undefined), 30_000);
      if (!snapshot.matches('deleted')) throw new PncError('PcpDeleteFailed', `deleting ${pcid} from the PCP failed: ${snapshot.context.failure?.message}`, { retryable: true });
      log.info('vehicle.deleted', { pcid: doc._id });
      return { pcid: doc._id, deleted: true };
    }),
    serveOcsp(bus, 'oem', sub2, revocations, config.ocspHttpPort, log),
  ]);
  // Vehicles on their way to the PCP when the OEM stopped go on (issue 9 D2, D4).
  const resuming = hosted.stored(['settled']).then(async ({ unfinished }) => {
    for (const pcid of unfinished) await actorFor(pcid).catch((error) => log.warn('vehicle.resume_failed', { pcid, error }));
  }).catch((error) => log.error('vehicle.resume_failed', { error }));
  return {
    stop: async () => {
      await resuming;
      await unsubscribeAll(subscriptions);
      await hosted.stopAll();
      await rootPool.stop();
    },
  };
}

export const oemParticipant: ParticipantDefinition = {
  name: 'oem',
  summary: 'OEM: PCIDs, provisioning certificates, PCP upload, vehicle deletion',
  start: startOem,
};
