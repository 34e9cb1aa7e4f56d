/**
 * PCP participant: the Provisioning Certificate Pool on the bus (protocols/catalogue/pcp.ts).
 * An OEM uploads a vehicle's provisioning chain under its PCID (the leaf's CN), only for its own
 * WMI; the chain must validate against the OEM roots the RCP holds (purpose provisioning). MOs read
 * chains to build contract data, and each read re-checks the chain against the current roots.
 * A vehicle that leaves the pool (deleted by its OEM or expired) takes its CCP contracts with it,
 * through the durable `ccp.vehicle.deleted` work queue (OPCP `DELETE /v1/oem/provCerts/{pcid}`).
 */
import 'reflect-metadata';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { PncError, toPncError } from '../../protocols/errors.ts';
import { validateChain } from '../../protocols/pki/index.ts';
import { requirePcidOwner, requireRole, type Caller } from '../../protocols/catalogue/caller.ts';
import { callerOf } from '../bus/identity.ts';
import { MSGDEF_ISO2, STORED_EVENT_MAX_PCIDS, pcpInterface, vehicleDeletedWork, type ProvisioningCertificateDataJson, type ProvisioningCertificateJson, type PutBatchOutcome } from '../../protocols/catalogue/pcp.ts';
import { pcpMachine } from '../../statecharts/pcp.ts';
import { vehicleDeletionMachine } from '../../statecharts/pcp-delete.ts';
import { timedEffect } from '../host/index.ts';
import { HostedActors } from './hosted.ts';
import { enqueueWork, publishEvent } from '../bus/typed.ts';
import type { Bus } from '../bus/bus.ts';
import { queueServer } from './authority.ts';
import type { Store } from '../store/store.ts';
import type { Logger, ParticipantContext, ParticipantDefinition } from '../host/participant.ts';
import { DerCache, RootCache, base64ToBytes, certificateFacts, colonHex, purgeExpired, startPurgeSchedule, type Clock, type ExpiringDoc, type RunningPool } from '../pools/common.ts';
import { unsubscribeAll } from '../bus/bus.ts';
import { samePcid } from '../../protocols/identifiers/index.ts';

export const CHAINS_COLLECTION = 'pcp.chains';

interface ChainDoc extends ExpiringDoc {
  readonly chain: ProvisioningCertificateDataJson;
  /** Set while a delete is under way: the entry is no longer served, and a retried delete finishes it. */
  readonly deletingSince?: string;
}

/**
 * Leaf first, then Sub-CA 2 (when present), then Sub-CA 1: the ISO 15118-2 wire order. The sub-CAs,
 * shared by many vehicles, and the leaves come from separate DER caches, so leaves never crowd out sub-CAs.
 */
function wireOrder(caches: { leaves: DerCache; cas: DerCache }, chain: Upload & { vehicleCertificate: string }): Uint8Array[] {
  return [caches.leaves.get(chain.vehicleCertificate), ...subCaDersOf(caches.cas, chain)];
}

/** Sub-CA 2 (when present), then Sub-CA 1. */
function subCaDersOf(cas: DerCache, chain: Upload): Uint8Array[] {
  return [...(chain.subCA2Certificate ? [chain.subCA2Certificate] : []), chain.subCA1Certificate].map((c) => cas.get(c));
}

/** The sub-CAs of an upload (a put's, or the shared ones of a batch). */
interface Upload {
  readonly subCA1Certificate: string;
  readonly subCA2Certificate?: string;
}

/** The sub-CAs of an upload as the chain check takes them (wire order), and the end of their validity (ms). */
interface SubCas {
  readonly ders: readonly Uint8Array[];
  readonly validTo: number;
}

/** An upload that passed every check, ready to be written. */
interface CheckedChain {
  readonly pcid: string;
  readonly chain: ProvisioningCertificateDataJson;
  readonly expiresAt: number;
}

/** OPCP's PCID pattern, for the leaf's CN. */
const PCID = /^[A-Za-z0-9]{17,18}$/;

/** The codes a batch answers per certificate (protocols/catalogue/pcp.ts `putBatchOutcome`); any other is `Internal`. */
const BATCH_ERROR_CODES = ['Forbidden', 'InvalidCertificate', 'ChainInvalid', 'PcidMismatch', 'DuplicatePcid', 'StoreUnavailable', 'Internal'] as const;
type BatchErrorCode = (typeof BATCH_ERROR_CODES)[number];

/** Starts the PCP on a bus and store; `clock` (Date.now by default) is the time chains are checked and purged at. */
export async function startPcp(bus: Bus, store: Store, log: Logger, clock: Clock = Date.now): Promise<RunningPool> {
  const chains = store.collection<ChainDoc>(CHAINS_COLLECTION);
  await chains.ensureIndex({ fields: ['expiresAt'] });
  const { requests, events } = pcpInterface;
  // One queue group per pool: several processes of it share the requests.
  const serve = queueServer(bus, 'pcp');
  const ders = new DerCache();
  const caches = { leaves: new DerCache(1024), cas: ders };
  const rootCache = new RootCache(bus, ders, undefined, { store, pool: 'pcp' });
  await rootCache.start();

  /** Validates a provisioning chain against the RCP's OEM roots; throws `ChainInvalid` with the ISO code and reason. */
  async function checkChain(chain: Uint8Array[], at = new Date(clock())) {
    const result = await validateChain(chain, { purpose: 'provisioning', roots: await rootCache.roots('OEM'), at });
    if (!result.valid) throw new PncError('ChainInvalid', `provisioning chain rejected: ${result.reason}`, { data: { iso15118: result.iso15118, defect: result.defect, position: result.position } });
    return result;
  }

  /** Hands the vehicle's contracts to the CCP for deletion; de-duplicated per deletion. */
  async function cascade(pcid: string, deletedAt: string): Promise<void> {
    await enqueueWork(bus, vehicleDeletedWork, { pcid, deletedAt }, { id: `${pcid}@${deletedAt}` });
  }

  const schedule = await startPurgeSchedule(
    'pcp',
    pcpMachine,
    (now) =>
      purgeExpired(chains, now, async (doc) => {
        const purgedAt = new Date(now).toISOString();
        await cascade(doc.chain.pcid, purgedAt);
        await publishEvent(bus, events.purged, { pcid: doc.chain.pcid, reason: 'expired', purgedAt });
        log.info('pcp.chain.purged', { pcid: doc.chain.pcid, reason: 'expired' });
      }),
    { bus, store, log },
    clock,
  );

  /**
   * The `stored` event, shared by the puts that complete in the same turn (a bulk upload's group commit):
   * one signature and one message for up to STORED_EVENT_MAX_PCIDS chains. A put's reply still follows
   * the event that names it.
   */
  let storedBatch: { readonly pcids: string[]; readonly sent: Promise<void> } | undefined;
  function announceStored(pcid: string): Promise<void> {
    if (storedBatch && storedBatch.pcids.length < STORED_EVENT_MAX_PCIDS) {
      storedBatch.pcids.push(pcid);
      return storedBatch.sent;
    }
    const pcids = [pcid];
    const sent = nextTurn().then(() => {
      if (storedBatch?.pcids === pcids) storedBatch = undefined;
      return publishEvent(bus, events.stored, { pcids });
    });
    storedBatch = { pcids, sent };
    return sent;
  }

  async function served(pcid: string): Promise<ChainDoc | undefined> {
    const doc = await chains.get(pcid);
    return doc && !doc.deletingSince ? doc : undefined;
  }

  function mayRead(caller: Caller, pcid: string): void {
    requireRole(caller, 'mo', 'oem', 'cps', 'pool');
    if (caller.role === 'oem') requirePcidOwner(caller, pcid);
  }

  // Vehicle deletions (statecharts/pcp-delete.ts): one hosted actor per deletion.
  const deletion = vehicleDeletionMachine.provide({
    actors: {
      // Mark first, then hand over the cascade, then delete: a marked entry is not served.
      markDeleting: timedEffect(async ({ input }) => {
        const doc = await chains.get(input.pcid);
        if (!doc || doc.deletingSince === input.deletingSince) return; // gone already, or marked by an earlier run
        await chains.replace({ ...doc, deletingSince: input.deletingSince }, { expectedRev: doc._rev });
      }),
      cascadeToCcp: timedEffect(async ({ input }) => cascade(input.pcid, input.deletingSince)),
      removeChain: timedEffect(async ({ input }) => {
        const doc = await chains.get(input.pcid);
        // A chain uploaded again after this deletion began is not this deletion's to remove.
        if (doc?.deletingSince === input.deletingSince) await chains.delete(input.pcid, { expectedRev: doc._rev });
        await publishEvent(bus, events.purged, { pcid: input.pcid, reason: 'deleted', purgedAt: input.deletingSince });
        log.info('pcp.chain.deleted', { pcid: input.pcid });
      }),
    },
  });
  const deletions = new HostedActors({ participant: 'pcp', logic: deletion, context: { bus, store, log }, idle: (s) => s.status === 'done' });
  const deletionId = (pcid: string, since: string) => `delete-${pcid}-${Date.parse(since)}`;
  // Deletions a crash interrupted go on at start.
  const resuming = deletions.stored().then(async ({ unfinished }) => {
    for (const id of unfinished) {
      const match = /^delete-([A-Za-z0-9]+)-(\d+)$/.exec(id);
      if (match) await deletions.get(id, { pcid: match[1], deletingSince: new Date(Number(match[2])).toISOString() }).catch((error) => log.warn('pcp.delete.resume_failed', { id, error }));
    }
  }).catch((error) => log.error('pcp.delete.resume_failed', { error }));

  /** An upload's sub-CAs, read once per request (a batch shares them); an unreadable one is `InvalidCertificate`. */
  function subCasOf(upload: Upload): SubCas {
    const facts = [certificateFacts(ders.get(upload.subCA1Certificate), 'subCA1Certificate'), ...(upload.subCA2Certificate ? [certificateFacts(ders.get(upload.subCA2Certificate), 'subCA2Certificate')] : [])];
    return { ders: subCaDersOf(ders, upload), validTo: Math.min(...facts.map((c) => c.validTo.getTime())) };
  }

  /**
   * Every check of an upload, with nothing written: the leaf's CN is a PCID (and the claimed one), the
   * caller's WMI owns it, and the chain validates to an OEM root of the RCP. `leaf` is the vehicle
   * certificate's DER, decoded once for the facts and the chain check.
   */
  async function checkUpload(caller: Caller, upload: ProvisioningCertificateJson, leaf: Uint8Array, subCas: SubCas, claimed?: string): Promise<CheckedChain> {
    const facts = certificateFacts(leaf, 'vehicleCertificate');
    const pcid = facts.commonName;
    if (!PCID.test(pcid)) throw new PncError('InvalidCertificate', `the provisioning certificate's CN "${pcid}" is not a PCID`);
    if (claimed !== undefined && !samePcid(claimed, pcid)) throw new PncError('PcidMismatch', `PCID ${claimed} does not match the certificate's CN ${pcid}`);
    requirePcidOwner(caller, pcid);
    const result = await checkChain([leaf, ...subCas.ders]);
    const rootFacts = certificateFacts(result.root instanceof Uint8Array ? result.root : new Uint8Array(result.root!.rawData), 'OEM root');
    const chain: ProvisioningCertificateDataJson = {
      ...upload,
      xsdMsgDefNamespace: MSGDEF_ISO2,
      pcid,
      rootIssuerDistinguishedName: rootFacts.distinguishedName,
      rootIssuerSerialNumber: rootFacts.serialNumber,
      ...(rootFacts.subjectKeyIdentifier ? { rootAuthorityKeyIdentifier: colonHex(rootFacts.subjectKeyIdentifier) } : {}),
      fingerprint: facts.fingerprint,
      validTo: facts.validTo.toISOString(),
    };
    return { pcid, chain, expiresAt: Math.min(facts.validTo.getTime(), subCas.validTo) };
  }

  /**
   * Whether each PCID has a chain that is served (stored and not being deleted), read in one query
   * for a batch: only that field, not the stored chains.
   */
  async function servedPcids(pcids: readonly string[]): Promise<Set<string>> {
    if (pcids.length === 0) return new Set();
    const existing = await chains.findFields({ _id: pcids.length === 1 ? pcids[0] : { $in: pcids } }, ['deletingSince']);
    return new Set(existing.filter((doc) => !doc.deletingSince).map((doc) => doc._id));
  }

  /** Writes a checked chain (one document: all of it or nothing); `created` unless it replaced a served one. */
  async function storeChain({ pcid, chain, expiresAt }: CheckedChain, served: ReadonlySet<string>): Promise<{ created: boolean }> {
    await chains.replace({ _id: pcid, chain, expiresAt });
    return { created: !served.has(pcid) };
  }

  const subscriptions = await Promise.all([
    serve(requests.put, async (request, delivery) => {
      const caller = callerOf(delivery);
      const { pcid: claimed, ...upload } = request;
      requireRole(caller, 'oem');
      const subCas = subCasOf(upload);
      const checked = await checkUpload(caller, upload, base64ToBytes(upload.vehicleCertificate), subCas, claimed);
      const { created } = await storeChain(checked, await servedPcids([checked.pcid]));
      await Promise.all([announceStored(checked.pcid), schedule.expiryAdded(checked.expiresAt)]);
      log.info('pcp.chain.stored', { pcid: checked.pcid, replaced: !created });
      return { chain: checked.chain, created };
    }),
    // A bulk upload: each certificate gets the checks and the store write of a put, and its own answer.
    // The writes are issued together, so the store commits them in one transaction (a SAVEPOINT each:
    // one that fails fails alone), and the batch shares one stored event.
    serve(requests.putBatch, async (request, delivery) => {
      const caller = callerOf(delivery);
      requireRole(caller, 'oem');
      const { vehicleCertificates, ...shared } = request;
      const subCas = subCasOf(shared);
      const seen = new Set<string>();
      let expiresAt = Infinity;
      // Each certificate's CN, read once: the batch's served chains are then read in one query.
      const leaves = vehicleCertificates.map((vehicleCertificate) => {
        try {
          const leaf = base64ToBytes(vehicleCertificate);
          return { leaf, pcid: certificateFacts(leaf, 'vehicleCertificate').commonName };
        } catch (error) {
          return { error };
        }
      });
      // A failed read fails each certificate that needed it, in its own answer, as a failed write does.
      const servedBefore = await servedPcids(leaves.flatMap((l) => (l.pcid !== undefined && PCID.test(l.pcid) ? [l.pcid] : []))).catch((error: unknown) => ({ error }));
      const results = await Promise.all(vehicleCertificates.map(async (vehicleCertificate, index): Promise<PutBatchOutcome> => {
        let pcid: string | undefined;
        try {
          const read = leaves[index];
          if ('error' in read) throw read.error;
          const { leaf } = read;
          pcid = read.pcid;
          const upload = { ...shared, vehicleCertificate };
          if (seen.has(pcid)) throw new PncError('DuplicatePcid', `PCID ${pcid} comes more than once in this batch`);
          seen.add(pcid);
          const checked = await checkUpload(caller, upload, leaf, subCas);
          if ('error' in servedBefore) throw servedBefore.error;
          const { created } = await storeChain(checked, servedBefore);
          expiresAt = Math.min(expiresAt, checked.expiresAt);
          return { pcid: checked.pcid, created, fingerprint: checked.chain.fingerprint };
        } catch (error) {
          const { code, message, retryable } = toPncError(error);
          const known = (BATCH_ERROR_CODES as readonly string[]).includes(code);
          return { ...(pcid !== undefined && PCID.test(pcid) ? { pcid } : {}), error: { code: known ? (code as BatchErrorCode) : 'Internal', message: known ? message : `${code}: ${message}`, retryable } };
        }
      }));
      const stored = results.flatMap((r) => ('created' in r ? [r.pcid] : []));
      if (stored.length > 0) await Promise.all([...stored.map(announceStored), schedule.expiryAdded(expiresAt)]);
      log.info('pcp.chain.batch', { stored, failed: results.length - stored.length });
      return { results };
    }),
    serve(requests.get, async ({ pcid }, delivery) => {
      const caller = callerOf(delivery);
      mayRead(caller, pcid);
      const doc = await served(pcid);
      if (!doc) throw new PncError('VehicleNotFound', `no provisioning certificate for PCID ${pcid}`);
      await checkChain(wireOrder(caches, doc.chain));
      return { chain: doc.chain };
    }),
    serve(requests.lookup, async ({ pcid }, delivery) => {
      const caller = callerOf(delivery);
      mayRead(caller, pcid);
      return { pcid, exists: Boolean(await served(pcid)) };
    }),
    serve(requests.delete, async ({ pcid }, delivery) => {
      const caller = callerOf(delivery);
      requireRole(caller, 'oem');
      requirePcidOwner(caller, pcid);
      const doc = await chains.get(pcid);
      if (!doc) throw new PncError('VehicleNotFound', `no provisioning certificate for PCID ${pcid}`);
      // A retried delete of a marked entry is the same deletion: the same actor finishes it.
      const deletingSince = doc.deletingSince ?? new Date(clock()).toISOString();
      const actor = await deletions.get(deletionId(pcid, deletingSince), { pcid, deletingSince });
      const snapshot = await actor.waitFor((s) => s.hasTag('settled') || s.hasTag('retrying'), 30_000);
      if (!snapshot.hasTag('deleted')) {
        const failure = snapshot.context.failure;
        throw new PncError(failure?.code ?? 'Internal', `deleting ${pcid}: ${failure?.message ?? 'did not finish'}`, { retryable: snapshot.hasTag('retrying') || (failure?.retryable ?? false) });
      }
      return { pcid };
    }),
  ]);
  return {
    purgeNow: () => schedule.purgeNow(),
    async stop() {
      await resuming;
      await unsubscribeAll(subscriptions);
      await deletions.stopAll();
      await rootCache.stop();
      await schedule.stop();
    },
  };
}

export const pcpParticipant: ParticipantDefinition = {
  name: 'pcp',
  summary: 'Provisioning Certificate Pool: OEM provisioning chains by PCID, validated against the RCP OEM roots',
  start: (context: ParticipantContext) => startPcp(context.bus, context.store, context.log),
};
