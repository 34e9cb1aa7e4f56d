/**
 * The CPO-backend port of the SECC: everything the charger asks its backend, behind one
 * interface. `busCpoBackend` speaks the CPO participant's subjects (protocols/catalogue/cpo.ts);
 * an OCPP 2.0.1 CSMS would implement the same port with Get15118EVCertificate (M01), Authorize
 * (C07) and SignCertificate (A02/A03).
 */
import type { Bus } from '../../bus/bus.ts';
import { requestSubjectReply } from '../../bus/typed.ts';
import { cpoInterface } from '../../../protocols/catalogue/cpo.ts';
import { PncError } from '../../../protocols/errors.ts';
import { timersOf } from '../../../statecharts/secc/messages.ts';

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
}

export function busCpoBackend(bus: Bus): CpoBackendPort {
  return {
    async installContract(exi, action) {
      // The bus wait ends with the SECC's own 4.5 s budget [V2G2-917/918], so nothing lingers after it.
      const answer = await requestSubjectReply(bus, cpoInterface.requests.installContract, { exiRequest: Buffer.from(exi).toString('base64'), action }, { timeoutMs: timersOf('iso2').seccCertificateInstallation });
      if (answer.status !== 'Accepted' || !answer.exiResponse) {
        throw new PncError('InstallationFailed', `CPO backend answered Failed: ${answer.statusInfo?.reasonCode ?? ''} ${answer.statusInfo?.additionalInfo ?? ''}`.trim());
      }
      return new Uint8Array(Buffer.from(answer.exiResponse, 'base64'));
    },
    async authorizeContract(chainPem) {
      const { certificateStatus } = await requestSubjectReply(bus, cpoInterface.requests.validateContract, { certificate: chainPem });
      return certificateStatus;
    },
    async signSeccCsr(csrPem) {
      const { certificateChain } = await requestSubjectReply(bus, cpoInterface.requests.signSeccCsr, { csr: csrPem });
      return certificateChain;
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
