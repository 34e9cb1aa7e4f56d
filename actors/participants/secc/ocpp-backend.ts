/**
 * The SECC's CPO-backend port over OCPP 2.0.1: every question goes through the station library
 * (actors/ocpp/station.ts) to a CSMS, so the charger needs nothing of the back office but a URL
 * and its credentials. M01 Get15118EVCertificate, C07 Authorize, A02/A03 SignCertificate →
 * CertificateSigned, M05 roots as the CSMS installed them, M06 GetCertificateStatus, and the
 * session as TransactionEvents (E01–E15) with the eMAID idToken and the meter.
 */
import type { ChargingStation } from '../../ocpp/station.ts';
import { PncError } from '../../../protocols/errors.ts';
import { AUTHORIZE_CERTIFICATE_STATUSES } from '../../../protocols/ocpp/authorization.ts';
import { timersOf } from '../../../statecharts/secc/messages.ts';
import { installedExiOf, ocspResultOf, type ContractCertificateStatus, type CpoBackendPort, type TransactionReporter } from './backend.ts';
import { certificatesOfPem } from '../cpo-authorize.ts';

const CERTIFICATE_STATUSES: readonly string[] = AUTHORIZE_CERTIFICATE_STATUSES;

/**
 * C07's answer as the SECC's verdict: certificateStatus when the CSMS gave one; otherwise the
 * idToken status alone. Unknown / NotAtThisTime (responder unreachable, offline without local
 * validation) are not a verdict: the session answers FAILED.
 */
export function contractStatusOf(answer: { readonly idTokenInfo: { readonly status: string }; readonly certificateStatus?: string }): ContractCertificateStatus {
  if (answer.certificateStatus !== undefined && CERTIFICATE_STATUSES.includes(answer.certificateStatus)) return answer.certificateStatus as ContractCertificateStatus;
  switch (answer.idTokenInfo.status) {
    case 'Accepted': return 'Accepted';
    case 'Expired': return 'CertificateExpired';
    case 'Blocked': return 'CertificateRevoked';
    case 'Invalid': return 'CertChainError';
    default: throw new PncError('AuthorizationUnavailable', `the CSMS could not decide the contract: idTokenInfo.status ${answer.idTokenInfo.status}`, { retryable: true });
  }
}

function transactionsOver(station: ChargingStation): TransactionReporter {
  // The SECC's SessionID names the session; a paused session that resumes is a new transaction.
  const open = new Map<string, string>();
  return {
    async started(sessionId, { emaid, meterWh }) {
      const transactionId = await station.startTransaction({ evseId: 1, idToken: { idToken: emaid, type: 'eMAID' }, meterWh });
      open.set(sessionId, transactionId);
    },
    async metered(sessionId, meterWh) {
      const transactionId = open.get(sessionId);
      if (transactionId) await station.updateTransaction(transactionId, { meterWh });
    },
    async ended(sessionId, { meterWh, stoppedReason }) {
      const transactionId = open.get(sessionId);
      if (!transactionId) return;
      open.delete(sessionId);
      await station.endTransaction(transactionId, { meterWh, stoppedReason });
    },
  };
}

/** The port over a started ChargingStation (connected and booted, or reconnecting: calls then reject, transactions queue). */
export function ocppCpoBackend(station: ChargingStation): CpoBackendPort {
  return {
    async installContract(exi, action) {
      // [V2G2-917/918]: the EV waits 4.5 s in all; the OCPP call ends with that budget.
      const answer = await station.call('Get15118EVCertificate', { iso15118SchemaVersion: 'urn:iso:15118:2:2013:MsgDef', action, exiRequest: Buffer.from(exi).toString('base64') }, { timeoutMs: timersOf('iso2').seccCertificateInstallation });
      return installedExiOf(answer);
    },
    async authorizeContract(chainPem) {
      const [leaf] = certificatesOfPem(chainPem);
      const emaid = leaf?.subjectName.getField('CN')[0];
      if (!emaid) return 'NoCertificateAvailable';
      return contractStatusOf(await station.authorizeContract(emaid, chainPem));
    },
    signSeccCsr: (csrPem) => station.signForeignCsr(csrPem, 'V2GCertificate'),
    async roots() {
      // M05 pushes roots to the station (InstallCertificate); the SECC trusts what the CSMS installed.
      const [v2g, mo] = await Promise.all([station.security.caCertificates('V2GRootCertificate'), station.security.caCertificates('MORootCertificate')]);
      if (v2g.length === 0) throw new PncError('NoRootCertificateInstalled', 'the CSMS has installed no V2G root on this station yet (M05 InstallCertificate)', { retryable: true });
      return { v2g: v2g.map((c) => c.toString('pem')), mo: mo.map((c) => c.toString('pem')) };
    },
    async certificateStatus(ocspRequestData) {
      return ocspResultOf(await station.call('GetCertificateStatus', { ocspRequestData }));
    },
    transactions: transactionsOver(station),
  };
}
