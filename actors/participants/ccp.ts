/**
 * CCP participant: the Contract Certificate Pool on the bus (protocols/catalogue/ccp.ts).
 * The CPS stores signed contracts per vehicle (idempotent by contract id; a newer contract for the
 * same PCID + EMAID replaces the older one). Each MO sees and deletes only its own contracts (EMAID
 * prefix), each OEM manages the contracts of its own vehicles (WMI). The CPO backend forwards an EV's
 * CertificateInstallationReq: the CCP verifies its signature with the OEM provisioning certificate,
 * checks that certificate's chain (PCP sub-CAs, RCP OEM roots), picks the vehicle's default contract
 * (OPCP: the first stored one, or the one the OEM set) among those the EV can verify, and answers the
 * signed CertificateInstallationRes under the request's SessionID. Every failure is answered in EXI
 * with its ISO 15118-2 ResponseCode. A renewed contract (CertificateUpdate) is kept apart, under
 * the SHA-256 of the contract certificate its key is encrypted for: an EV's CertificateUpdateReq,
 * signed with that certificate's key, gets it as CertificateUpdateRes.
 */
import 'reflect-metadata';
import { X509Certificate as NodeX509Certificate, createHash, type KeyObject } from 'node:crypto';
import { PncError, toPncError } from '../../protocols/errors.ts';
import { parseCertificateDer, publicKeyFromSpki, validateChain } from '../../protocols/pki/index.ts';
import { verifyDecodedMessageSignature, verifyMessageSignature } from '../../protocols/xmldsig/index.ts';
import {
  emaidKey, ownsEmaid, ownsPcid, requireEmaidOwner, requirePcidOwner, requireRole,
} from '../../protocols/catalogue/caller.ts';
import { callerOf } from '../bus/identity.ts';
import { ccpInterface, type ContractSummaryJson, type InstallationResponseCode, type UpdateResponseCode } from '../../protocols/catalogue/ccp.ts';
import { pcpInterface, vehicleDeletedWork, type ProvisioningCertificateDataJson } from '../../protocols/catalogue/pcp.ts';
import { ccpMachine } from '../../statecharts/ccp.ts';
import { consumeWork, enqueueWork, publishEvent, requestSubjectReply, subscribeEvent } from '../bus/typed.ts';
import { moInterface } from '../../protocols/catalogue/mo.ts';
import { renewalOfCertificate } from '../../protocols/catalogue/cps.ts';
import type { Bus } from '../bus/bus.ts';
import { queueServer } from './authority.ts';
import type { Store } from '../store/store.ts';
import type { Logger, ParticipantContext, ParticipantDefinition } from '../host/participant.ts';
import { DerCache, RootCache, base64ToBytes, bytesToBase64, certificateFacts, startPurgeSchedule, type CertificateFacts, type Clock, type ExpiringDoc, type RunningPool } from '../pools/common.ts';
import { CANCELLED_RETENTION_MS, ccpPurge } from '../pools/ccp-purge.ts';
import { InstallationResponses, UNKNOWN_SESSION_ID, encodeInstallationResponse, readInstallationRequest, readUpdateRequest, type SignedContract } from '../pools/installation.ts';

export const CONTRACTS_COLLECTION = 'ccp.contracts';
const COMMON_NAME_OID = '2.5.4.3';
/** How long a vehicle's chain from the PCP is reused when no PCP event said it changed (events are not durable). */
const CHAIN_CACHE_MS = 5_000;
export const DEFAULTS_COLLECTION = 'ccp.defaults';
/** Renewed contracts for CertificateUpdate, _id = SHA-256 (hex) of the contract certificate the new key is encrypted for. */
export const RENEWALS_COLLECTION = 'ccp.renewals';
/** EMAIDs their MO deleted: a CertificateUpdateReq for one is FAILED_ContractCanceled, _id = normalised EMAID. */
export const CANCELLED_COLLECTION = 'ccp.cancelled';

/** Namespaces accepted for ISO 15118-2 (OPCP, and what clients send: pools-api.md §4). */
const ISO2_NAMESPACES = new Set(['urn:iso:15118:2:2013:MsgDef', 'urn:iso:15118:2:2013:MsgBody', 'ISO15118-2', '']);

interface ContractDoc extends ExpiringDoc {
  readonly summary: Omit<ContractSummaryJson, 'defaultContract'>;
  readonly contract: SignedContract;
  /** Serial (decimal) of the V2G root the CPS chain leads to, matched against the EV's ListOfRootCertificateIDs. */
  readonly signerRootSerial: string;
}

interface CancelledDoc extends ExpiringDoc {
  readonly cancelledAt: string;
}

/** The default contract of a vehicle; absent after the default was deleted (OPCP promotes none). */
interface DefaultDoc extends ExpiringDoc {
  readonly emaid: string;
}

/** What choosing a contract reads of each: not the signed contract. */
type ContractChoice = Pick<ContractDoc, '_id' | 'summary' | 'signerRootSerial'>;

type Obj = Record<string, unknown>;

/** Why a request's XML signature does not verify with `key`; undefined when it does. `message` is the typed decode. */
function signatureFault(message: Parameters<typeof verifyDecodedMessageSignature>[0], key: KeyObject): string | undefined {
  try {
    verifyDecodedMessageSignature(message, key);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

function requireIso2(namespace: string): void {
  if (!ISO2_NAMESPACES.has(namespace)) throw new PncError('UnsupportedNamespace', `xsdMsgDefNamespace ${namespace} is not supported; this pool serves ISO 15118-2 (urn:iso:15118:2:2013:MsgDef)`);
}

function hexCertificate(value: unknown, what: string): Uint8Array {
  if (typeof value !== 'string') throw new PncError('ContractInvalid', `${what} is missing`);
  return new Uint8Array(Buffer.from(value, 'hex'));
}

function contractFacts(der: Uint8Array, what: string): CertificateFacts {
  try {
    return certificateFacts(der, what);
  } catch (error) {
    throw new PncError('ContractInvalid', (error as Error).message, { cause: error });
  }
}

/** Reads what the pool needs out of the signed content, and checks it belongs to the EMAID and is signed by the CPS leaf it carries. */
function inspectSignedContract(emaid: string, body: Obj, signature: Obj): { contractCertificate: Uint8Array; facts: CertificateFacts } {
  const chain = body.ContractSignatureCertChain as Obj | undefined;
  const contractCertificate = hexCertificate(chain?.Certificate, 'ContractSignatureCertChain/Certificate');
  const cpsLeaf = hexCertificate((body.SAProvisioningCertificateChain as Obj | undefined)?.Certificate, 'SAProvisioningCertificateChain/Certificate');
  const facts = contractFacts(contractCertificate, 'ContractSignatureCertChain/Certificate');
  const cn = facts.commonName;
  const bodyEmaid = (body.eMAID as Obj | undefined)?.CONTENT;
  if (typeof bodyEmaid !== 'string' || emaidKey(bodyEmaid) !== emaidKey(emaid) || emaidKey(cn) !== emaidKey(emaid)) {
    throw new PncError('ContractInvalid', `the contract (eMAID ${String(bodyEmaid)}, certificate CN ${cn}) does not belong to EMAID ${emaid}`);
  }
  try {
    verifyMessageSignature({ V2G_Message: { Header: { SessionID: UNKNOWN_SESSION_ID, Signature: signature }, Body: { CertificateInstallationRes: body } } }, new NodeX509Certificate(cpsLeaf));
  } catch (error) {
    throw new PncError('ContractInvalid', `the CPS signature does not verify: ${(error as Error).message}`, { cause: error });
  }
  return { contractCertificate, facts };
}

/** Starts the CCP on a bus and store. */
export async function startCcp(bus: Bus, store: Store, log: Logger, clock: Clock = Date.now): Promise<RunningPool> {
  const contracts = store.collection<ContractDoc>(CONTRACTS_COLLECTION);
  const defaults = store.collection<DefaultDoc>(DEFAULTS_COLLECTION);
  const renewals = store.collection<ContractDoc>(RENEWALS_COLLECTION);
  const cancelled = store.collection<CancelledDoc>(CANCELLED_COLLECTION);
  await Promise.all([
    renewals.ensureIndex({ fields: ['summary.emaid'] }),
    renewals.ensureIndex({ fields: ['summary.pcid'] }),
    contracts.ensureIndex({ fields: ['expiresAt'] }),
    contracts.ensureIndex({ fields: ['summary.pcid'] }),
    contracts.ensureIndex({ fields: ['summary.emaid'] }),
  ]);
  const { requests, events } = ccpInterface;
  // One queue group per pool: several processes of it share the requests.
  const serve = queueServer(bus, 'ccp');
  const ders = new DerCache();
  const rootCache = new RootCache(bus, ders, undefined, { store, pool: 'ccp' });
  // The vehicles' chains as the PCP serves them, kept briefly: an EV that retries, or several EVs of a
  // fleet, cost no PCP round trip. A stored or purged chain drops the entry at once (PCP events).
  const chainCache = new Map<string, { at: number; chain: Promise<ProvisioningCertificateDataJson> }>();
  const provisioningChain = (pcid: string): Promise<ProvisioningCertificateDataJson> => {
    const hit = chainCache.get(pcid);
    if (hit && Date.now() - hit.at < CHAIN_CACHE_MS) return hit.chain;
    if (chainCache.size >= 4096) chainCache.delete(chainCache.keys().next().value!);
    const chain = requestSubjectReply(bus, pcpInterface.requests.get, { pcid }).then((reply) => reply.chain);
    chain.catch(() => chainCache.delete(pcid));
    chainCache.set(pcid, { at: Date.now(), chain });
    return chain;
  };
  const unreadable = (error: PncError) => log.warn('ccp.chain_event.invalid', { error });
  const chainEvents = await Promise.all([
    subscribeEvent(bus, pcpInterface.events.stored, ({ pcids }) => pcids.forEach((pcid) => chainCache.delete(pcid)), unreadable),
    subscribeEvent(bus, pcpInterface.events.purged, ({ pcid }) => void chainCache.delete(pcid), unreadable),
  ]);
  // The certificate a request is signed with (provisioning or contract), read once per content: its CN
  // and key (importing a key is dear); an EV that retries (MaEVe: 3 times) or comes back reuses them.
  // The DerCache hands out the same bytes object for the same certificate, so validateChain
  // (leafRepeats) verifies its signature once too. Undefined when it is no DER certificate.
  const signers = new WeakMap<Uint8Array, { commonName: string; key: KeyObject }>();
  const signerOf = (der: Uint8Array): { commonName: string; key: KeyObject } | undefined => {
    let known = signers.get(der);
    if (!known) {
      try {
        const parsed = parseCertificateDer(der);
        known = {
          commonName: parsed.subject.find((attribute) => attribute.oid === COMMON_NAME_OID)?.value ?? '',
          key: publicKeyFromSpki(parsed.spki),
        };
      } catch {
        return undefined;
      }
      signers.set(der, known);
    }
    return known;
  };
  const responses = new InstallationResponses();
  await rootCache.start();

  async function withDefault(docs: ContractDoc[]): Promise<ContractSummaryJson[]> {
    const byPcid = new Map<string, string | undefined>();
    for (const doc of docs) if (!byPcid.has(doc.summary.pcid)) byPcid.set(doc.summary.pcid, (await defaults.get(doc.summary.pcid))?.emaid);
    return docs.map((doc) => ({ ...doc.summary, defaultContract: byPcid.get(doc.summary.pcid) === doc.summary.emaid }));
  }

  /** After a contract left: a deleted default leaves the vehicle without one (OPCP setDefaultContract), and the event goes out. */
  async function contractRemoved(doc: ContractDoc, reason: 'mo' | 'vehicle' | 'expired', at: Date): Promise<void> {
    const current = await defaults.get(doc.summary.pcid);
    if (current?.emaid === doc.summary.emaid) await defaults.delete(doc.summary.pcid);
    await publishEvent(bus, events.deleted, { contractId: doc.summary.contractId, pcid: doc.summary.pcid, emaid: doc.summary.emaid, reason, deletedAt: at.toISOString() });
    log.info('ccp.contract.deleted', { pcid: doc.summary.pcid, emaid: doc.summary.emaid, reason });
  }

  async function removeContract(doc: ContractDoc, reason: 'mo' | 'vehicle', at = new Date()): Promise<boolean> {
    if (!(await contracts.delete(doc._id))) return false;
    await contractRemoved(doc, reason, at);
    return true;
  }

  // Expired contracts, expired or superseded renewals, cancellations past their retention (actors/pools/ccp-purge.ts).
  const schedule = await startPurgeSchedule('ccp', ccpMachine, ccpPurge({ contracts, renewals, cancelled }, (doc, now) => contractRemoved(doc, 'expired', new Date(now))), { bus, store, log }, clock);

  /** Validates the CPS chain (SAProvisioningCertificateChain) against the RCP's V2G roots; returns the root's SHA-256 and serial. */
  async function cpsRootOf(body: Obj): Promise<{ fingerprint: string; serial: string }> {
    const chain = body.SAProvisioningCertificateChain as Obj;
    const subs = (chain.SubCertificates as Obj | undefined)?.Certificate;
    const certificates = [chain.Certificate, ...(Array.isArray(subs) ? subs : subs === undefined ? [] : [subs])].map((c) => ders.get(String(c), 'hex'));
    const result = await validateChain(certificates, { purpose: 'cps', roots: await rootCache.roots('V2G') });
    if (!result.valid || !(result.root instanceof Uint8Array)) throw new PncError('ContractInvalid', `the CPS chain does not lead to a V2G root in the RCP: ${result.reason}`);
    const root = new NodeX509Certificate(result.root);
    return { fingerprint: createHash('sha256').update(result.root).digest('hex'), serial: BigInt(`0x${root.serialNumber}`).toString() };
  }

  async function contractOf(pcid: string, emaid: string): Promise<ContractDoc> {
    const doc = await contracts.get(`${pcid}|${emaidKey(emaid)}`);
    if (!doc) throw new PncError('ContractNotFound', `no contract for PCID ${pcid} and EMAID ${emaid}`);
    return doc;
  }

  /**
   * The contract a vehicle gets: its default, else the newest; among those the EV can verify and still valid.
   * Only the summaries are read: the signed contract (most of a document) only when its response is not cached.
   */
  async function chooseContract(pcid: string, trustedRootSerials: readonly bigint[], now: number): Promise<{ doc?: ContractChoice; code: InstallationResponseCode; reason: string }> {
    const docs = await contracts.findFields({ 'summary.pcid': pcid }, ['summary', 'signerRootSerial'], { sort: '-summary.storedAt' });
    if (docs.length === 0) return { code: 'FAILED_NoCertificateAvailable', reason: `no contract for PCID ${pcid}` };
    const trusted = new Set(trustedRootSerials.map(String));
    const usable = trusted.size === 0 ? docs : docs.filter((doc) => trusted.has(doc.signerRootSerial));
    if (usable.length === 0) return { code: 'FAILED_NoCertificateAvailable', reason: 'no contract is signed under a V2G root the EV trusts' };
    const valid = usable.filter((doc) => Date.parse(doc.summary.certValidFrom) <= now && now < Date.parse(doc.summary.certValidTo));
    if (valid.length === 0) return { code: 'FAILED_CertificateExpired', reason: `every contract of PCID ${pcid} is outside its validity` };
    const defaultEmaid = (await defaults.get(pcid))?.emaid;
    const chosen = valid.find((doc) => doc.summary.emaid === defaultEmaid) ?? valid[0];
    return { doc: chosen, code: 'OK', reason: chosen.summary.emaid === defaultEmaid ? 'default contract' : 'newest valid contract (no default set)' };
  }

  /**
   * Issue 9 D1: the MO's confirmation as durable work, so an MO that is down gets it when it is back.
   * De-duplicated by contract id; a failure is retryable, and the CPS puts the contract again.
   */
  const confirmToMo = async ({ contractId, pcid, emaid }: { contractId: string; pcid: string; emaid: string }) => {
    try {
      await enqueueWork(bus, moInterface.work.contractStored, { contractId, pcid, emaid }, { id: contractId });
    } catch (error) {
      const failure = toPncError(error);
      if (!failure.retryable || failure.code === 'BusUnavailable') throw failure;
      throw new PncError('BusUnavailable', `contract ${contractId} stored, its confirmation to the MO not queued: ${failure.message}`, { retryable: true, cause: error });
    }
  };

  /** Records an EMAID as cancelled by its MO and drops its renewals. */
  async function cancelContract(emaid: string): Promise<void> {
    const pending = await renewals.find({ 'summary.emaid': emaid });
    for (const doc of pending) await renewals.delete(doc._id);
    const expiresAt = Math.max(clock() + CANCELLED_RETENTION_MS, ...pending.map((doc) => doc.expiresAt));
    await cancelled.replace({ _id: emaid, cancelledAt: new Date(clock()).toISOString(), expiresAt });
    await schedule.expiryAdded(expiresAt);
  }

  /**
   * CertificateUpdate (pki-and-crypto.md §10, §11.2): the request is signed with the current contract
   * key, its chain leads to an MO root, its eMAID is the certificate's, and the MO prepared a renewal
   * for exactly that certificate. Every outcome is a CertificateUpdateRes under the request's SessionID.
   */
  async function answerUpdate(exi: Uint8Array) {
    const request = readUpdateRequest(exi);
    const fail = (code: Exclude<UpdateResponseCode, 'OK'>, reason: string, emaid?: string) => {
      log.info('ccp.update.failed', { code, reason, emaid });
      return { responseCode: code, reason, ...(emaid ? { emaid } : {}), certificateUpdateRes: bytesToBase64(encodeInstallationResponse(request.sessionId, { code }, 'CertificateUpdateRes')) };
    };
    const signer = signerOf(request.contractChain[0]);
    if (!signer) return fail('FAILED_CertChainError', 'ContractSignatureCertChain/Certificate is not a DER certificate');
    const { commonName } = signer;
    // [V2G2-771] the CertificateUpdateReq element is signed with the current contract key.
    const fault = signatureFault(request.message, signer.key);
    if (fault) return fail('FAILED_SignatureError', `the request signature does not verify with the contract certificate: ${fault}`, commonName);
    const checked = await validateChain(request.contractChain, { purpose: 'contract', roots: await rootCache.roots('MO'), at: new Date(clock()) });
    if (!checked.valid) {
      const code = checked.iso15118 === 'FAILED_CertificateExpired' || checked.iso15118 === 'FAILED_CertificateRevoked' ? checked.iso15118 : 'FAILED_CertChainError';
      return fail(code, `contract chain: ${checked.reason}`, commonName);
    }
    // As for PaymentDetailsReq (pki-and-crypto.md §8.2): the eMAID must be the certificate's CN.
    if (!/^[A-Za-z0-9-]{14,18}$/.test(request.emaid) || emaidKey(request.emaid) !== emaidKey(commonName)) {
      return fail('FAILED_CertChainError', `eMAID ${request.emaid} is not the contract certificate's CN ${commonName}`, commonName);
    }
    const emaid = emaidKey(commonName);
    if (await cancelled.get(emaid)) return fail('FAILED_ContractCanceled', `the MO terminated the contract of EMAID ${emaid}`, emaid);
    const renewal = await renewals.get(renewalOfCertificate(request.contractChain[0]));
    if (!renewal || renewal.summary.emaid !== emaid) return fail('FAILED_NoCertificateAvailable', `no renewed contract for this contract certificate of EMAID ${emaid}`, emaid);
    const trusted = new Set(request.rootCertificateIds.map((id) => String(id.serialNumber)));
    if (trusted.size > 0 && !trusted.has(renewal.signerRootSerial)) return fail('FAILED_NoCertificateAvailable', 'the renewed contract is not signed under a V2G root the EV trusts', emaid);
    log.info('ccp.update.answered', { emaid, contractId: renewal.summary.contractId });
    return { responseCode: 'OK' as const, emaid, certificateUpdateRes: bytesToBase64(encodeInstallationResponse(request.sessionId, { code: 'OK', contract: renewal.contract }, 'CertificateUpdateRes')) };
  }

  const subscriptions = await Promise.all([
    serve(requests.put, async (request, delivery) => {
      const caller = callerOf(delivery);
      const { contractId, pcid, emaid, body, signature, xsdMsgDefNamespace, metadata, cpsV2GRootFingerprint, renewalOf } = request;
      requireRole(caller, 'cps', 'pool');
      requireIso2(xsdMsgDefNamespace);
      const key = emaidKey(emaid);
      const id = renewalOf ?? `${pcid}|${key}`;
      const collection = renewalOf ? renewals : contracts;
      const existing = await collection.get(id);
      // Put again (the CPS retrying): the confirmation is queued again, in case the first put failed after storing.
      if (existing?.summary.contractId === contractId) {
        await confirmToMo(existing.summary);
        return { contract: (await withDefault([existing]))[0], created: false };
      }
      if (cpsV2GRootFingerprint !== undefined && !/^[0-9a-fA-F]{64}$/.test(cpsV2GRootFingerprint)) throw new PncError('ContractInvalid', 'cpsV2GRootFingerprint must be the SHA-256 of the V2G root, 64 hex digits');
      const { contractCertificate, facts } = inspectSignedContract(emaid, body, signature);
      const signerRoot = await cpsRootOf(body);
      if (cpsV2GRootFingerprint !== undefined && cpsV2GRootFingerprint.toLowerCase() !== signerRoot.fingerprint) throw new PncError('ContractInvalid', 'cpsV2GRootFingerprint is not the V2G root the CPS chain leads to');
      const summary: ContractDoc['summary'] = {
        contractId,
        pcid,
        emaid: key,
        xsdMsgDefNamespace: 'urn:iso:15118:2:2013:MsgDef',
        contractCertificate: bytesToBase64(contractCertificate),
        certValidFrom: facts.validFrom.toISOString(),
        certValidTo: facts.validTo.toISOString(),
        cpsV2GRootFingerprint: signerRoot.fingerprint,
        ...(metadata ? { metadata } : {}),
        storedAt: new Date().toISOString(),
      };
      const expiresAt = facts.validTo.getTime();
      if (renewalOf) {
        // Not installable: only the EV holding the contract certificate `renewalOf` can decrypt its key.
        await renewals.replace({ _id: id, summary, contract: { body, signature }, signerRootSerial: signerRoot.serial, expiresAt });
        await schedule.expiryAdded(expiresAt);
        await confirmToMo(summary);
        log.info('ccp.renewal.stored', { pcid, emaid: key, contractId, renewalOf });
        return { contract: { ...summary, defaultContract: false }, created: true };
      }
      await contracts.replace({ _id: id, summary, contract: { body, signature }, signerRootSerial: signerRoot.serial, expiresAt });
      // OPCP: the first contract of a vehicle becomes its default.
      await defaults.insert({ _id: pcid, emaid: key, expiresAt }).catch((error) => {
        if (!PncError.is(error, 'DuplicateKey')) throw error;
      });
      await schedule.expiryAdded(expiresAt);
      const [contract] = await withDefault([{ _id: id, summary, contract: { body, signature }, signerRootSerial: signerRoot.serial, expiresAt }]);
      await publishEvent(bus, events.stored, { contract, replaced: Boolean(existing) });
      await confirmToMo(summary);
      log.info('ccp.contract.stored', { pcid, emaid: key, contractId, replaced: Boolean(existing) });
      return { contract, created: true };
    }),
    serve(requests.list, async ({ pcid, emaid }, delivery) => {
      const caller = callerOf(delivery);
      requireRole(caller, 'mo', 'oem', 'cpo', 'pool');
      if (emaid !== undefined && caller.role === 'mo') requireEmaidOwner(caller, emaid);
      if (pcid !== undefined && caller.role === 'oem') requirePcidOwner(caller, pcid);
      if (pcid !== undefined && emaid === undefined && caller.role === 'cpo') throw new PncError('Forbidden', 'a CPO looks contracts up by EMAID');
      const filter: Record<string, string> = {};
      if (pcid !== undefined) filter['summary.pcid'] = pcid;
      if (emaid !== undefined) filter['summary.emaid'] = emaidKey(emaid);
      const docs = await contracts.find(filter, { sort: 'summary.storedAt' });
      // Isolation: an MO only ever sees its own contracts, an OEM only those of its vehicles.
      const visible = docs.filter((doc) => (caller.role === 'mo' ? ownsEmaid(caller, doc.summary.emaid) : caller.role === 'oem' ? ownsPcid(caller, doc.summary.pcid) : true));
      return { contracts: await withDefault(visible) };
    }),
    serve(requests.delete, async ({ emaid }, delivery) => {
      const caller = callerOf(delivery);
      requireRole(caller, 'mo');
      requireEmaidOwner(caller, emaid);
      // A terminated contract is renewed no more: its CertificateUpdateReq is FAILED_ContractCanceled.
      await cancelContract(emaidKey(emaid));
      const docs = await contracts.find({ 'summary.emaid': emaidKey(emaid) });
      let deleted = 0;
      for (const doc of docs) if (await removeContract(doc, 'mo')) deleted++;
      if (deleted === 0) throw new PncError('ContractNotFound', `no contract for EMAID ${emaid}`);
      return { emaid: emaidKey(emaid), deleted };
    }),
    serve(requests.setDefault, async ({ pcid, emaid }, delivery) => {
      const caller = callerOf(delivery);
      requireRole(caller, 'oem');
      requirePcidOwner(caller, pcid);
      const doc = await contractOf(pcid, emaid);
      await defaults.replace({ _id: pcid, emaid: doc.summary.emaid, expiresAt: doc.expiresAt });
      return { contract: { ...doc.summary, defaultContract: true } };
    }),
    serve(requests.provide, async ({ pcid, emaid, sessionId }, delivery) => {
      const caller = callerOf(delivery);
      requireRole(caller, 'oem');
      requirePcidOwner(caller, pcid);
      const doc = await contractOf(pcid, emaid);
      const exi = encodeInstallationResponse((sessionId ?? UNKNOWN_SESSION_ID).toLowerCase(), { code: 'OK', contract: doc.contract });
      return { certificateInstallationRes: bytesToBase64(exi), xsdMsgDefNamespace: doc.summary.xsdMsgDefNamespace, ...(doc.summary.cpsV2GRootFingerprint ? { cpsV2GRootFingerprint: doc.summary.cpsV2GRootFingerprint } : {}) };
    }),
    serve(requests.installation, async ({ certificateInstallationReq, xsdMsgDefNamespace }, delivery) => {
      const caller = callerOf(delivery);
      requireRole(caller, 'cpo', 'pool');
      requireIso2(xsdMsgDefNamespace);
      const request = readInstallationRequest(base64ToBytes(certificateInstallationReq), (hex) => ders.get(hex, 'hex'));
      const fail = (code: Exclude<InstallationResponseCode, 'OK'>, reason: string, pcid?: string) => {
        log.info('ccp.installation.failed', { code, reason, pcid });
        return { responseCode: code, reason, ...(pcid ? { pcid } : {}), certificateInstallationRes: bytesToBase64(encodeInstallationResponse(request.sessionId, { code })) };
      };
      const signer = signerOf(request.provisioningCertificate);
      if (!signer) return fail('FAILED_CertChainError', 'OEMProvisioningCert is not a DER certificate');
      const pcid = signer.commonName;
      const fault = signatureFault(request.message, signer.key);
      if (fault) return fail('FAILED_SignatureError', `the request signature does not verify with the provisioning certificate: ${fault}`, pcid);
      if (!/^[A-Za-z0-9]{17,18}$/.test(pcid)) return fail('FAILED_CertChainError', `the provisioning certificate's CN ${pcid} is not a PCID`);
      let chain;
      try {
        chain = await provisioningChain(pcid);
      } catch (error) {
        if (PncError.is(error, 'VehicleNotFound')) return fail('FAILED_NoCertificateAvailable', `PCID ${pcid} is not in the PCP`, pcid);
        if (PncError.is(error, 'ChainInvalid')) return fail('FAILED_CertChainError', error.message, pcid);
        throw error;
      }
      // The EV's own certificate must chain to the vehicle's sub-CAs and a current OEM root (cheap: the
      // sub-CAs and roots are cached objects whose parse and keys the validator keeps).
      const subCas = [chain.subCA2Certificate, chain.subCA1Certificate].filter((c): c is string => c !== undefined).map((c) => ders.get(c));
      const checked = await validateChain([request.provisioningCertificate, ...subCas], { purpose: 'provisioning', roots: await rootCache.roots('OEM'), leafRepeats: true });
      if (!checked.valid) {
        const code = checked.iso15118 === 'FAILED_CertificateExpired' || checked.iso15118 === 'FAILED_CertificateRevoked' ? checked.iso15118 : 'FAILED_CertChainError';
        return fail(code, `provisioning chain: ${checked.reason}`, pcid);
      }
      const choice = await chooseContract(pcid, request.rootCertificateIds.map((id) => id.serialNumber), clock());
      if (!choice.doc || choice.code !== 'OK') return fail(choice.code === 'OK' ? 'FAILED' : choice.code, choice.reason, pcid);
      const { doc } = choice;
      const contractKey = `${doc._id}|${doc.summary.contractId}|${doc.summary.storedAt}`;
      let exi = responses.cached(request.sessionId, contractKey);
      if (!exi) {
        const stored = await contracts.get(doc._id);
        // Deleted or replaced since the summary was read: the EV asks again and gets what is there then.
        if (stored?.summary.contractId !== doc.summary.contractId) return fail('FAILED', `the contract of PCID ${pcid} changed while it was read`, pcid);
        exi = responses.encode(request.sessionId, contractKey, stored.contract);
      }
      log.info('ccp.installation.answered', { pcid, emaid: choice.doc.summary.emaid, why: choice.reason });
      return {
        responseCode: 'OK' as const,
        certificateInstallationRes: bytesToBase64(exi),
        pcid,
        emaid: choice.doc.summary.emaid,
        ...(choice.doc.summary.cpsV2GRootFingerprint ? { cpsV2GRootFingerprint: choice.doc.summary.cpsV2GRootFingerprint } : {}),
      };
    }),
  ]);

  subscriptions.push(await serve(requests.update, async ({ certificateUpdateReq, xsdMsgDefNamespace }, delivery) => {
    requireRole(callerOf(delivery), 'cpo', 'pool');
    requireIso2(xsdMsgDefNamespace);
    return answerUpdate(base64ToBytes(certificateUpdateReq));
  }));

  // The PCP's cascade: a vehicle that left the PCP takes every contract with it.
  const cascade = await consumeWork(bus, vehicleDeletedWork, async ({ pcid, deletedAt }) => {
    for (const doc of await contracts.find({ 'summary.pcid': pcid })) await removeContract(doc, 'vehicle', new Date(deletedAt));
    for (const doc of await renewals.find({ 'summary.pcid': pcid })) await renewals.delete(doc._id);
    await defaults.delete(pcid);
  }, { durable: 'ccp' });
  return {
    purgeNow: () => schedule.purgeNow(),
    async stop() {
      await Promise.all([...subscriptions, cascade, ...chainEvents].map((s) => s.unsubscribe()));
      await rootCache.stop();
      await schedule.stop();
    },
  };
}

export const ccpParticipant: ParticipantDefinition = {
  name: 'ccp',
  summary: 'Contract Certificate Pool: signed contracts per vehicle; answers CertificateInstallationReq and CertificateUpdateReq',
  start: (context: ParticipantContext) => startCcp(context.bus, context.store, context.log),
};

