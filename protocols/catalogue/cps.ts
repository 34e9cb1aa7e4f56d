/**
 * Certificate Provisioning Service: signs MO contract data into the content of a
 * CertificateInstallationRes with the CPS leaf (XML signature over EXI fragments) and puts it
 * into the CCP under the PCID. Signing requests from MOs are durable work; the synchronous
 * subject serves OPCP `PUT /v1/cps/contractData/signed`.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { eventSubject, participantInterface, requestSubject, workQueue, REQUEST_BYTES } from './define.ts';
import { certificateChain, certificateDer, contractData, emaid, ocspSubject, pcid } from './fields.ts';

/**
 * A renewed contract for CertificateUpdate: the SHA-256 (hex) of the contract certificate whose
 * public key the new contract key is encrypted for [V2G2-820/821]; absent for an installation.
 */
export const renewalOf = z.string().regex(/^[0-9a-f]{64}$/, 'expected the SHA-256 of the current contract certificate, 64 lowercase hex digits').optional();

/** The `renewalOf` of a renewal for the contract certificate `der` (also the key the CCP keeps the renewal under). */
export function renewalOfCertificate(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

/** One signing request: the contract data, and the PCID it is stored under in the CCP. */
export const signingRequest = z.object({
  /** Stable id of the contract (the CCP put is idempotent by it; also the work de-duplication id). */
  contractId: z.string().min(1).max(128),
  pcid,
  contractData,
  /** The MO asking; the CPS checks the EMAID prefix belongs to it when set. */
  moId: z.string().max(64).optional(),
  renewalOf,
});
export type SigningRequestJson = z.output<typeof signingRequest>;

/**
 * The signed content of a CertificateInstallationRes body in the EXI JSON shape
 * (protocols/exi: `{Id, CONTENT}` for simple content, hex for bytes), plus the header Signature.
 */
export const signedContractData = z.object({
  contractId: z.string(),
  pcid,
  emaid,
  /** `CertificateInstallationRes` body without ResponseCode (the CCP sets it per request). */
  body: z.record(z.string(), z.unknown()),
  /** The `Signature` element for the V2G header. */
  signature: z.record(z.string(), z.unknown()),
  /** SHA-256 fingerprint (hex) of the V2G root the CPS chain leads to. */
  cpsV2GRootFingerprint: z.string(),
  signedAt: z.string(),
  /** Set for a CertificateUpdateRes content: served only to the EV holding that contract certificate. */
  renewalOf,
});
export type SignedContractDataJson = z.output<typeof signedContractData>;

export const cpsErrorCodes = ['ContractDataInvalid', 'ContractChainInvalid', 'EmaidMismatch', 'ContractKeyInvalid', 'CcpPutFailed'] as const;

export const cpsInterface = participantInterface({
  participant: 'cps',
  summary: 'CPS: signs contract data for CertificateInstallationRes and stores it in the CCP',
  requests: {
    ca: requestSubject({
      subject: 'cps.signer.get',
      summary: 'the CPS signer chain (leaf, Sub-CA 2, Sub-CA 1) and its V2G root (OPCP GET /cps/signer)',
      request: z.object({}),
      reply: z.object({ chain: certificateChain, v2gRoot: certificateDer, cpsV2GRootFingerprint: z.string() }),
      errors: [] as const,
    }),
    sign: requestSubject({
      subject: 'cps.contract.sign',
      maxRequestBytes: REQUEST_BYTES.exi,
      summary: 'sign contract data now; stores it in the CCP when `store` is set (OPCP PUT /v1/cps/contractData/signed)',
      request: signingRequest.extend({ store: z.boolean().default(true) }),
      reply: signedContractData.extend({ stored: z.boolean() }),
      errors: cpsErrorCodes,
    }),
    ocsp: ocspSubject('cps'),
  },
  work: {
    signing: workQueue({
      queue: 'cps.signing',
      summary: 'durable signing requests from MOs; acknowledged only after the CCP put succeeded',
      payload: signingRequest,
    }),
  },
  events: {
    signed: eventSubject({
      subject: 'cps.contract.signed',
      summary: 'contract data was signed and stored in the CCP',
      payload: z.object({ contractId: z.string(), pcid, emaid, stored: z.boolean() }),
    }),
    rejected: eventSubject({
      subject: 'cps.contract.rejected',
      summary: 'contract data failed the CPS checks; the signing request is dead-lettered',
      payload: z.object({ contractId: z.string(), pcid, emaid, code: z.string(), message: z.string() }),
    }),
  },
});
