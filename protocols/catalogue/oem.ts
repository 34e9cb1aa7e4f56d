/**
 * OEM: produces vehicles (VDE process "production of vehicles and storing provisioning
 * certificate"): a PCID, a provisioning key and certificate from OEM Sub-CA 2, the V2G roots in
 * the vehicle record, and the upload of the provisioning chain to the PCP. Deleting a vehicle
 * deletes its PCP entry, which cascades to its CCP contracts.
 */
import { z } from 'zod';
import { participantInterface, requestSubject } from './define.ts';
import { base64, caCertificateSubject, certificateChain, certificateDer, ocspSubject, pcid } from './fields.ts';

/**
 * What the factory writes into the vehicle: its identity and trust anchors. The provisioning private
 * key is not here: the vehicle makes it and sends only a CSR [S4]; no record, reply or snapshot holds it.
 */
export const vehicleRecord = z.object({
  pcid,
  /** Leaf (provisioning certificate), OEM Sub-CA 2, OEM Sub-CA 1. */
  provisioningChain: certificateChain,
  /** The V2G root certificates stored in the vehicle (DER, base64). */
  v2gRoots: z.array(certificateDer).min(1),
  producedAt: z.string(),
});
export type VehicleRecordJson = z.output<typeof vehicleRecord>;

export const oemInterface = participantInterface({
  participant: 'oem',
  summary: "OEM: makes PCIDs, signs the vehicles' provisioning CSRs, uploads the chains to the PCP, deletes vehicles",
  requests: {
    ca: caCertificateSubject('oem', 'OEM root'),
    produceVehicle: requestSubject({
      subject: 'oem.vehicle.produce',
      summary: "produce a vehicle: PCID, provisioning certificate for the vehicle's own key (its CSR), V2G roots; upload the chain to the PCP",
      /**
       * `vehicleId` = the OEM's 14 alphanumerics, made up when absent; `csr` = the vehicle's PKCS#10 request
       * (DER, base64) for the key it made itself: the OEM checks its signature and names the subject (CN = PCID).
       */
      request: z.object({ vehicleId: z.string().regex(/^[A-Za-z0-9]{14}$/).optional(), csr: base64.min(16) }),
      reply: vehicleRecord,
      errors: ['VehicleExists', 'PcpUploadFailed', 'CsrInvalid'] as const,
    }),
    getVehicle: requestSubject({
      subject: 'oem.vehicle.get',
      summary: 'the vehicle record of a PCID',
      request: z.object({ pcid }),
      reply: vehicleRecord,
      errors: ['UnknownVehicle'] as const,
    }),
    deleteVehicle: requestSubject({
      subject: 'oem.vehicle.delete',
      summary: 'delete a vehicle: its PCP entry (cascading to its CCP contracts) and its provisioning certificate',
      request: z.object({ pcid }),
      reply: z.object({ pcid, deleted: z.boolean() }),
      errors: ['UnknownVehicle', 'PcpDeleteFailed'] as const,
    }),
    ocsp: ocspSubject('oem'),
  },
});
