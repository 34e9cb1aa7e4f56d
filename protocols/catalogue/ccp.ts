/**
 * CCP — Contract Certificate Pool. The CPS stores signed contract data per vehicle (PCID), several
 * per vehicle; each MO sees and deletes only its own (by EMAID prefix). The CPO backend forwards an
 * EV's CertificateInstallationReq and gets the signed CertificateInstallationRes of the vehicle's
 * default contract under the request's session. Payloads follow OPCP 1.0 `ccp.v1.json`.
 */
import { z } from 'zod';
import { eventSubject, participantInterface, requestSubject, REQUEST_BYTES } from './define.ts';
import { purgeExpiryEvent } from './pools.ts';
import { base64, certificateDer, emaid, hex, pcid } from './fields.ts';
import { signedContractData } from './cps.ts';

/** ISO 15118-2 ResponseCodes a CertificateInstallationRes can carry [V2G2-554 ff.]. */
export const installationResponseCodes = [
  'OK',
  'FAILED',
  'FAILED_SignatureError',
  'FAILED_NoCertificateAvailable',
  'FAILED_CertChainError',
  'FAILED_CertificateExpired',
  'FAILED_CertificateRevoked',
] as const;
export type InstallationResponseCode = (typeof installationResponseCodes)[number];

/** ISO 15118-2 ResponseCodes a CertificateUpdateRes can carry: the installation's, and a contract its MO cancelled. */
export const updateResponseCodes = [...installationResponseCodes, 'FAILED_ContractCanceled'] as const;
export type UpdateResponseCode = (typeof updateResponseCodes)[number];

/** One stored contract, as listed (OPCP `LookupContractResponse.XMLContracts[]` plus our ids). */
export const contractSummary = z.object({
  contractId: z.string(),
  pcid,
  /** Normalised: upper case, no separators. */
  emaid,
  xsdMsgDefNamespace: z.string(),
  contractCertificate: certificateDer,
  defaultContract: z.boolean(),
  certValidFrom: z.string(),
  certValidTo: z.string(),
  /** SHA-256 fingerprint (hex) of the V2G root of the CPS signer. */
  cpsV2GRootFingerprint: z.string().optional(),
  metadata: z.string().optional(),
  storedAt: z.string(),
});
export type ContractSummaryJson = z.output<typeof contractSummary>;

export const ccpErrorCodes = ['ContractNotFound', 'VehicleNotFound', 'ExiInvalid', 'ContractInvalid', 'UnsupportedNamespace'] as const;

export const ccpInterface = participantInterface({
  participant: 'ccp',
  summary: 'Contract Certificate Pool: signed contracts per vehicle; answers CertificateInstallationReq',
  requests: {
    put: requestSubject({
      subject: 'ccp.contract.put',
      maxRequestBytes: REQUEST_BYTES.exi,
      summary: 'the CPS stores a signed contract; idempotent by contractId, replaces an older contract of the same PCID + EMAID',
      /**
       * The CPS's `signedContractData` (protocols/catalogue/cps.ts): the CertificateInstallationRes body
       * content in the EXI JSON shape and the header Signature over its four fragments. The CCP adds the
       * ResponseCode and the requesting EV's SessionID when it serves it. `contractId` de-duplicates.
       */
      request: signedContractData.extend({
        /** Derived by the CCP from the CPS chain; when given it must match. */
        cpsV2GRootFingerprint: z.string().optional(),
        signedAt: z.string().optional(),
        xsdMsgDefNamespace: z.string().default('urn:iso:15118:2:2013:MsgDef'),
        metadata: z.string().max(4000).optional(),
      }),
      reply: z.object({ contract: contractSummary, created: z.boolean() }),
      /** BusUnavailable: the contract is stored but its confirmation to the MO could not be queued yet; putting it again does. */
      errors: ['Forbidden', 'ExiInvalid', 'ContractInvalid', 'UnsupportedNamespace', 'BusUnavailable'] as const,
    }),
    list: requestSubject({
      subject: 'ccp.contracts.list',
      summary: 'contracts by EMAID (its MO, or an OEM/CPO) or by PCID (its OEM); MOs only ever see their own',
      request: z.object({ pcid: pcid.optional(), emaid: emaid.optional() }).refine((r) => r.pcid !== undefined || r.emaid !== undefined, 'give pcid or emaid'),
      reply: z.object({ contracts: z.array(contractSummary) }),
      errors: ['Forbidden'] as const,
    }),
    delete: requestSubject({
      subject: 'ccp.contract.delete',
      summary: 'the owning MO deletes every contract of an EMAID',
      request: z.object({ emaid }),
      reply: z.object({ emaid, deleted: z.number().int().min(1) }),
      errors: ['Forbidden', 'ContractNotFound'] as const,
    }),
    setDefault: requestSubject({
      subject: 'ccp.contract.default',
      summary: 'the owning OEM marks one contract of a PCID as the default',
      request: z.object({ pcid, emaid }),
      reply: z.object({ contract: contractSummary }),
      errors: ['Forbidden', 'ContractNotFound'] as const,
    }),
    provide: requestSubject({
      subject: 'ccp.contract.provide',
      summary: 'the owning OEM fetches the signed CertificateInstallationRes of a contract (installation without an EVSE)',
      request: z.object({ pcid, emaid, sessionId: hex.max(16).optional() }),
      reply: z.object({ certificateInstallationRes: base64, xsdMsgDefNamespace: z.string(), cpsV2GRootFingerprint: z.string().optional() }),
      errors: ['Forbidden', 'ContractNotFound'] as const,
    }),
    installation: requestSubject({
      subject: 'ccp.installation',
      maxRequestBytes: REQUEST_BYTES.exi,
      summary: "answers an EV's CertificateInstallationReq (EXI, via the CPO backend) with a CertificateInstallationRes; ISO failures are answered in EXI too",
      request: z.object({
        /** EXI (schema `iso2`) of the EV's whole V2G_Message, base64. */
        certificateInstallationReq: base64.min(4),
        xsdMsgDefNamespace: z.string().default('urn:iso:15118:2:2013:MsgDef'),
      }),
      reply: z.object({
        responseCode: z.enum(installationResponseCodes),
        /** EXI (schema `iso2`) V2G_Message with the request's SessionID, base64; on failure a response with only the code. */
        certificateInstallationRes: base64.min(4),
        pcid: pcid.optional(),
        emaid: emaid.optional(),
        cpsV2GRootFingerprint: z.string().optional(),
        /** Why the request failed, for logs and the OPCP error body. */
        reason: z.string().optional(),
      }),
      errors: ['Forbidden', 'ExiInvalid', 'UnsupportedNamespace'] as const,
    }),
    update: requestSubject({
      subject: 'ccp.update',
      maxRequestBytes: REQUEST_BYTES.exi,
      summary: "answers an EV's CertificateUpdateReq (EXI, via the CPO backend) with the renewed contract its MO prepared for the contract certificate that signed it; ISO failures are answered in EXI too",
      request: z.object({
        /** EXI (schema `iso2`) of the EV's whole V2G_Message, base64. */
        certificateUpdateReq: base64.min(4).max(7500),
        xsdMsgDefNamespace: z.string().max(50).default('urn:iso:15118:2:2013:MsgDef'),
      }),
      reply: z.object({
        responseCode: z.enum(updateResponseCodes),
        /** EXI (schema `iso2`) V2G_Message with the request's SessionID, base64; on failure a response with only the code. */
        certificateUpdateRes: base64.min(4),
        emaid: emaid.optional(),
        /** Why the request failed, for logs. */
        reason: z.string().optional(),
      }),
      errors: ['Forbidden', 'ExiInvalid', 'UnsupportedNamespace'] as const,
    }),
  },
  events: {
    purgeExpiry: purgeExpiryEvent('ccp'),
    stored: eventSubject({
      subject: 'ccp.contract.stored',
      summary: 'a contract was stored or replaced (OPCP webhook oem.contract.created / updated)',
      payload: z.object({ contract: contractSummary, replaced: z.boolean() }),
    }),
    deleted: eventSubject({
      subject: 'ccp.contract.deleted',
      summary: 'a contract left the pool: deleted by its MO, cascaded from the PCP, or expired (OPCP oem.contract.deleted)',
      payload: z.object({ contractId: z.string(), pcid, emaid, reason: z.enum(['mo', 'vehicle', 'expired']), deletedAt: z.string() }),
    }),
  },
});
