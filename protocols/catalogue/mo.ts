/**
 * Mobility operator: concludes contracts (VDE "conclusion of contract and receiving vehicle
 * certificate from the PCP"), hands contract data to the CPS as durable work, terminates
 * contracts (CCP delete + revocation) and answers OCSP for its contract certificates.
 */
import { z } from 'zod';
import { eventSubject, participantInterface, requestSubject, workQueue } from './define.ts';
import { caCertificateSubject, certificateDer, emaid, ocspSubject, pcid } from './fields.ts';

export const contractStatus = z.enum(['concluding', 'submitted', 'installed', 'terminated', 'failed']);

export const contractSummary = z.object({
  contractId: z.string(),
  pcid,
  /** Absent until the EMAID is issued. */
  emaid: emaid.optional(),
  status: contractStatus,
  contractCertificate: certificateDer.optional(),
  /** The renewed certificate the CCP holds for CertificateUpdate, once there is one. */
  renewedCertificate: certificateDer.optional(),
  failure: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type ContractSummaryJson = z.output<typeof contractSummary>;

export const moInterface = participantInterface({
  participant: 'mo',
  summary: 'MO: contract conclusion, contract data to the CPS, contract termination, OCSP',
  requests: {
    ca: caCertificateSubject('mo', 'MO root'),
    conclude: requestSubject({
      subject: 'mo.contract.conclude',
      summary: 'conclude a contract for a PCID: verify the provisioning chain, issue EMAID and contract certificate, encrypt the key, submit to the CPS',
      request: z.object({ pcid, customerId: z.string().max(64).optional(), contractId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional() }),
      reply: contractSummary,
      errors: ['UnknownVehicle', 'ProvisioningChainInvalid', 'PoolUnavailable', 'ContractIdInUse'] as const,
    }),
    get: requestSubject({
      subject: 'mo.contract.get',
      summary: 'a contract by EMAID, or by contract id (before its EMAID is issued)',
      request: z.object({ emaid: emaid.optional(), contractId: z.string().optional() }),
      reply: contractSummary,
      errors: ['UnknownContract'] as const,
    }),
    renew: requestSubject({
      subject: 'mo.contract.renew',
      summary: 'renew an installed contract for CertificateUpdate: a new certificate for the same EMAID, its key encrypted for the current contract certificate, signed by the CPS and held by the CCP',
      request: z.object({ emaid }),
      reply: contractSummary,
      /** EventNotAccepted: the contract is not installed (concluding, terminated, failed) or a renewal is already under way. */
      errors: ['UnknownContract', 'PoolUnavailable', 'EventNotAccepted', 'RenewalRejected'] as const,
    }),
    terminate: requestSubject({
      subject: 'mo.contract.terminate',
      summary: 'terminate a contract: delete it from the CCP and revoke its certificate',
      request: z.object({ emaid }),
      reply: contractSummary,
      /** EventNotAccepted: the contract is not in a state that can be terminated (already terminated, failed). */
      errors: ['UnknownContract', 'PoolUnavailable', 'EventNotAccepted'] as const,
    }),
    ocsp: ocspSubject('mo'),
  },
  work: {
    // Issue 9 D1: the CCP's confirmation survives an MO that is down; the MO still asks the CCP
    // after its `confirm` deadline (statecharts/mo.ts) when no confirmation came at all.
    contractStored: workQueue({
      queue: 'mo.contract.stored',
      summary: 'the CCP holds a contract: durable confirmation from the CCP, de-duplicated by contract id',
      payload: z.object({ contractId: z.string().max(200), pcid, emaid }),
    }),
  },
  events: {
    contractChanged: eventSubject({
      subject: 'mo.contract.changed',
      summary: 'a contract changed status',
      payload: contractSummary,
    }),
  },
});
