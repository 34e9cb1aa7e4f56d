/**
 * PCP — Provisioning Certificate Pool. OEMs upload a vehicle's provisioning chain (leaf + sub-CAs)
 * under its PCID, for their own WMI only; the chain is validated against the OEM roots of the RCP.
 * MOs read it to build contract data. Deleting a vehicle cascades to its contracts in the CCP.
 * Payloads follow OPCP 1.0 `pcp.v1.json` (`ProvisioningCertificate`, `ProvisioningCertificateData`).
 */
import { z } from 'zod';
import { eventSubject, participantInterface, requestSubject, workQueue, REQUEST_BYTES } from './define.ts';
import { purgeExpiryEvent } from './pools.ts';
import { certificateDer, hex, pcid, serialHex } from './fields.ts';

/** Most PCIDs one `pcp.chain.stored` event names (a bulk upload's puts that commit together share one). */
export const STORED_EVENT_MAX_PCIDS = 256;

export const MSGDEF_ISO2 = 'urn:iso:15118:2:2013:MsgDef';

/** What an OEM uploads (OPCP `ProvisioningCertificate`); the PCID is the leaf's CN. */
export const provisioningCertificate = z.object({
  vehicleCertificate: certificateDer,
  subCA1Certificate: certificateDer,
  /** Optional for chains with a single intermediate (OPCP). */
  subCA2Certificate: certificateDer.optional(),
  xsdMsgDefNamespace: z.literal(MSGDEF_ISO2).default(MSGDEF_ISO2),
  /** AKIs of the V2G roots installed in the vehicle, hex with `:` separators. */
  v2gRootAuthorityKeyIdentifiers: z.array(z.string()).min(1).optional(),
  previousPcid: pcid.optional(),
});

export type ProvisioningCertificateJson = z.output<typeof provisioningCertificate>;

/** What the pool serves (OPCP `ProvisioningCertificateData`), plus the PCID and the leaf's validity. */
export const provisioningCertificateData = provisioningCertificate.extend({
  pcid,
  rootIssuerDistinguishedName: z.string(),
  /** Serial of the OEM root, lowercase hex. */
  rootIssuerSerialNumber: serialHex,
  /** Subject key identifier of the OEM root, hex with `:` separators. */
  rootAuthorityKeyIdentifier: z.string().optional(),
  /** SHA-256 of the leaf DER, lowercase hex. */
  fingerprint: hex,
  validTo: z.string(),
});
export type ProvisioningCertificateDataJson = z.output<typeof provisioningCertificateData>;

export const pcpErrorCodes = ['VehicleNotFound', 'InvalidCertificate', 'ChainInvalid', 'PcidMismatch', 'DuplicatePcid'] as const;

/** Most provisioning certificates one `pcp.chain.putBatch` carries: one stored event, one store commit. */
export const PUT_BATCH_MAX_CERTIFICATES = STORED_EVENT_MAX_PCIDS;

/** What a batch answers for one of its certificates, in request order: stored, or why not. */
export const putBatchOutcome = z.union([
  z.object({ pcid, created: z.boolean(), fingerprint: hex }).strict(),
  z.object({
    /** The leaf's CN when it could be read. */
    pcid: z.string().optional(),
    error: z.object({ code: z.enum(['Forbidden', 'InvalidCertificate', 'ChainInvalid', 'PcidMismatch', 'DuplicatePcid', 'StoreUnavailable', 'Internal']), message: z.string(), retryable: z.boolean() }),
  }).strict(),
]);
export type PutBatchOutcome = z.output<typeof putBatchOutcome>;

/** Durable cascade from the PCP to the CCP: every contract of the PCID goes. */
export const vehicleDeletedWork = workQueue({
  queue: 'ccp.vehicle.deleted',
  summary: 'a vehicle (PCID) left the PCP; the CCP deletes all its contracts (OPCP DELETE /v1/oem/provCerts)',
  payload: z.object({ pcid, deletedAt: z.string() }),
});

export const pcpInterface = participantInterface({
  participant: 'pcp',
  summary: 'Provisioning Certificate Pool: OEM provisioning chains by PCID',
  requests: {
    put: requestSubject({
      subject: 'pcp.chain.put',
      maxRequestBytes: REQUEST_BYTES.certificates,
      summary: 'an OEM stores a provisioning chain for a PCID of its own WMI (replaces an existing one)',
      request: provisioningCertificate.extend({ /** If given, must equal the leaf CN. */ pcid: pcid.optional() }),
      reply: z.object({ chain: provisioningCertificateData, created: z.boolean() }),
      errors: ['Forbidden', 'InvalidCertificate', 'ChainInvalid', 'PcidMismatch'] as const,
    }),
    putBatch: requestSubject({
      subject: 'pcp.chain.putBatch',
      maxRequestBytes: REQUEST_BYTES.bulk,
      summary: 'an OEM bulk upload: provisioning certificates under the same sub-CAs, each checked and stored as a put would; answered per certificate, one failing none of the others',
      request: provisioningCertificate.omit({ vehicleCertificate: true, previousPcid: true }).extend({
        vehicleCertificates: z.array(certificateDer).min(1).max(PUT_BATCH_MAX_CERTIFICATES),
      }),
      reply: z.object({ results: z.array(putBatchOutcome) }),
      errors: ['Forbidden', 'InvalidCertificate'] as const,
    }),
    get: requestSubject({
      subject: 'pcp.chain.get',
      summary: 'an MO (any PCID) or the owning OEM reads a provisioning chain',
      request: z.object({ pcid }),
      reply: z.object({ chain: provisioningCertificateData }),
      errors: ['Forbidden', 'VehicleNotFound'] as const,
    }),
    lookup: requestSubject({
      subject: 'pcp.chain.lookup',
      summary: 'whether a PCID is in the pool (OPCP lookupVehicle)',
      request: z.object({ pcid }),
      reply: z.object({ pcid, exists: z.boolean() }),
      errors: ['Forbidden'] as const,
    }),
    delete: requestSubject({
      subject: 'pcp.chain.delete',
      summary: 'the owning OEM deletes a vehicle; its CCP contracts follow through ccp.vehicle.deleted',
      request: z.object({ pcid }),
      reply: z.object({ pcid }),
      errors: ['Forbidden', 'VehicleNotFound'] as const,
    }),
  },
  events: {
    purgeExpiry: purgeExpiryEvent('pcp'),
    stored: eventSubject({
      subject: 'pcp.chain.stored',
      summary: 'provisioning chains were stored or replaced (readers drop what they cached for the PCIDs); one event names the PCIDs of puts that completed together',
      payload: z.object({ pcids: z.array(pcid).min(1).max(STORED_EVENT_MAX_PCIDS) }),
    }),
    purged: eventSubject({
      subject: 'pcp.chain.purged',
      summary: 'a provisioning chain left the pool: expired (scheduled purge) or deleted by its OEM',
      payload: z.object({ pcid, reason: z.enum(['expired', 'deleted']), purgedAt: z.string() }),
    }),
  },
  work: { vehicleDeleted: vehicleDeletedWork },
});
