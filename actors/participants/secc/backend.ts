/**
 * The CPO-backend port of the SECC: everything the charger asks its backend, behind one
 * interface. `busCpoBackend` speaks the CPO participant's subjects (protocols/catalogue/cpo.ts);
 * `ocppCpoBackend` (./ocpp-backend.ts) speaks OCPP 2.0.1 to a CSMS through the station library.
 */
import type { Bus } from '../../bus/bus.ts';
import { requestSubjectReply } from '../../bus/typed.ts';
import { cpoInterface } from '../../../protocols/catalogue/cpo.ts';
import { PncError } from '../../../protocols/errors.ts';
import { timersOf } from '../../../statecharts/secc/messages.ts';
import type { z } from 'zod';
import type { ocspRequestData } from '../../../protocols/catalogue/cpo.ts';

/** OCPP 2.0.1 OCSPRequestDataType as GetCertificateStatus carries it. */
export type OcspRequestData = z.infer<typeof ocspRequestData>;

/** M01 Get15118EVCertificate's answer, over the bus or OCPP alike: the EXI response, or why not. */
export function installedExiOf(answer: { status?: unknown; exiResponse?: unknown; statusInfo?: { reasonCode?: unknown; additionalInfo?: unknown } }): Uint8Array {
  if (answer.status !== 'Accepted' || typeof answer.exiResponse !== 'string' || !answer.exiResponse) {
    throw new PncError('InstallationFailed', `CPO backend answered ${String(answer.status)}: ${String(answer.statusInfo?.reasonCode ?? '')} ${String(answer.statusInfo?.additionalInfo ?? '')}`.trim());
  }
  return new Uint8Array(Buffer.from(answer.exiResponse, 'base64'));
}

/** M06 GetCertificateStatus's answer, over the bus or OCPP alike: the OCSP response, or why not. */
export function ocspResultOf(answer: { status?: unknown; ocspResult?: unknown; statusInfo?: { reasonCode?: unknown; additionalInfo?: unknown } }): string {
  if (answer.status === 'Accepted' && typeof answer.ocspResult === 'string') return answer.ocspResult;
  throw new PncError('OcspUnavailable', `no OCSP response from the CPO backend: ${String(answer.statusInfo?.reasonCode ?? answer.status)} ${String(answer.statusInfo?.additionalInfo ?? '')}`.trim(), { retryable: true });
}

/** OCPP 2.0.1 AuthorizeCertificateStatusEnumType. */
export type ContractCertificateStatus = 'Accepted' | 'SignatureError' | 'CertificateExpired' | 'CertificateRevoked' | 'NoCertificateAvailable' | 'CertChainError' | 'ContractCancelled';

export interface CpoBackendPort {
  /** M01: the EV's CertificateInstallationReq/UpdateReq EXI (header + body) in, the backend's EXI response out. */
  installContract(exi: Uint8Array, action: 'Install' | 'Update'): Promise<Uint8Array>;
  /** C07: the contract chain (PEM, leaf first) validated with OCSP at the backend. */
  authorizeContract(chainPem: string): Promise<ContractCertificateStatus>;
  /** A02/A03: signs the SECC leaf CSR; returns leaf, CPO Sub-CA 2, Sub-CA 1 as PEM. */
  signSeccCsr(csrPem: string): Promise<string>;
  /** M05: the V2G and MO roots to trust (PEM). */
  roots(): Promise<{ readonly v2g: readonly string[]; readonly mo: readonly string[] }>;
  /** M06: the OCSP response (base64 DER) for one certificate of the SECC chain, for stapling. */
  certificateStatus(request: OcspRequestData): Promise<string>;
  /** E01–E15: sessions as transactions, where the backend keeps them per station (OCPP); the bus CPO has no station to file them under. */
  readonly transactions?: TransactionReporter;
}

/** A charging session as an OCPP transaction: the eMAID idToken and the meter in Wh. */
export interface TransactionReporter {
  started(sessionId: string, input: { readonly emaid: string; readonly meterWh: number }): Promise<void>;
  metered(sessionId: string, meterWh: number): Promise<void>;
  /** Ends the session's transaction if one was started; nothing otherwise. */
  ended(sessionId: string, input: { readonly meterWh: number; readonly stoppedReason: 'Local' | 'EVDisconnected' | 'Other' }): Promise<void>;
}

export function busCpoBackend(bus: Bus): CpoBackendPort {
  return {
    async installContract(exi, action) {
      // The bus wait ends with the SECC's own 4.5 s budget [V2G2-917/918], so nothing lingers after it.
      const answer = await requestSubjectReply(bus, cpoInterface.requests.installContract, { exiRequest: Buffer.from(exi).toString('base64'), action }, { timeoutMs: timersOf('iso2').seccCertificateInstallation });
      return installedExiOf(answer);
    },
    async authorizeContract(chainPem) {
      const { certificateStatus } = await requestSubjectReply(bus, cpoInterface.requests.validateContract, { certificate: chainPem });
      return certificateStatus;
    },
    async signSeccCsr(csrPem) {
      const { certificateChain } = await requestSubjectReply(bus, cpoInterface.requests.signSeccCsr, { csr: csrPem });
      return certificateChain;
    },
    async certificateStatus(ocspRequestData) {
      const answer = await requestSubjectReply(bus, cpoInterface.requests.certificateStatus, { ocspRequestData });
      return ocspResultOf(answer);
    },
    async roots() {
      const { roots } = await requestSubjectReply(bus, cpoInterface.requests.roots, {});
      return {
        v2g: roots.filter((r) => r.certificateType === 'V2GRootCertificate').map((r) => r.certificate),
        mo: roots.filter((r) => r.certificateType === 'MORootCertificate').map((r) => r.certificate),
      };
    },
  };
}
