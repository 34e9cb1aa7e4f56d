/**
 * What the CSMS edge does with each station-initiated message: turn it into a CPO request on the
 * bus for the authenticated station, and the CPO's reply into the OCPP response. Shared by OCPP
 * 2.0.1 connections and the OCPP 1.6 DataTransfer tunnel, so both get the same service.
 */
import type { RPCClient } from 'ocpp-rpc';
import type { Bus } from '../bus/bus.ts';
import { requestSubjectReply } from '../bus/typed.ts';
import type { Logger } from '../host/participant.ts';
import { cpoInterface } from '../../protocols/catalogue/cpo.ts';
import { toPncError } from '../../protocols/errors.ts';
import { statusInfoOf } from '../../protocols/ocpp/status-info.ts';

/**
 * An OCPP payload as ocpp-rpc hands it over: already checked against the OCA schema by strict mode,
 * and checked again by the catalogue's zod schema when it goes onto the bus.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- ocpp-rpc's own payload type; validated as described above
export type OcppPayload = Record<string, any>;

/** A station's connection on the server side (ocpp-rpc's RPCServerClient): an RPC client with the session its authentication made. */
export type OcppConnection = RPCClient & { readonly session: Record<string, unknown> };

/** M01/M02: EVerest gives the EV 4.5 s for the whole installation; the CSMS answers within 4 s, Failed if the CCP is late. */
export const INSTALLATION_BUDGET_MS = 4_000;
const BUS_TIMEOUT_MS = 10_000;

export type PncAction = 'Authorize' | 'Get15118EVCertificate' | 'SignCertificate' | 'GetCertificateStatus';

export interface StationHandlers {
  boot(params: OcppPayload): Promise<OcppPayload>;
  /** OCPP 1.6 BootNotification.req → the same CPO decision. */
  boot16(params: OcppPayload): Promise<OcppPayload>;
  heartbeat(): Promise<OcppPayload>;
  report(kind: 'StatusNotification' | 'MeterValues' | 'NotifyEvent', params: OcppPayload): Promise<OcppPayload>;
  transactionEvent(params: OcppPayload): Promise<OcppPayload>;
  /** The Plug&Charge messages, by OCPP 2.0.1 action name (also the messageId of the 1.6 tunnel). */
  readonly pnc: Readonly<Record<PncAction, (params: OcppPayload) => Promise<OcppPayload>>>;
}

export interface StationContext {
  readonly bus: Bus;
  /** The identity the station authenticated with. */
  readonly stationId: string;
  readonly log: Logger;
  /** Sends a CSMS-initiated call once the current answer has gone out. */
  readonly sendLater: (action: 'CertificateSigned', payload: OcppPayload) => void;
}

const now = (): string => new Date().toISOString();

export function stationHandlers({ bus, stationId, log, sendLater }: StationContext): StationHandlers {
  const ask = <S extends Parameters<typeof requestSubjectReply>[1]>(spec: S, request: Parameters<typeof requestSubjectReply<S>>[2], timeoutMs = BUS_TIMEOUT_MS) =>
    requestSubjectReply(bus, spec, request, { timeoutMs });

  const boot = async (reason: string, chargingStation: OcppPayload) => {
    const answer = await ask(cpoInterface.requests.boot, { stationId, reason, chargingStation });
    return { currentTime: now(), interval: answer.interval, status: answer.status, ...(answer.statusInfo ? { statusInfo: answer.statusInfo } : {}) };
  };

  return {
    boot: (params) => boot(params.reason, params.chargingStation),
    async boot16(params) {
      const { chargePointVendor, chargePointModel, chargePointSerialNumber, firmwareVersion } = params;
      const answer = await boot('PowerUp', { vendorName: chargePointVendor, model: chargePointModel, ...(chargePointSerialNumber ? { serialNumber: chargePointSerialNumber } : {}), ...(firmwareVersion ? { firmwareVersion } : {}) });
      return { currentTime: answer.currentTime, interval: answer.interval, status: answer.status };
    },
    heartbeat: async () => ({ currentTime: now() }),
    async report(kind, payload) {
      await ask(cpoInterface.requests.report, { stationId, kind, payload });
      return {};
    },
    // E01–E15; the CPO keeps each (transactionId, seqNo) once, so a station's resend is harmless.
    async transactionEvent(params) {
      const answer = await ask(cpoInterface.requests.transactionEvent, {
        stationId,
        eventType: params.eventType,
        seqNo: params.seqNo,
        transactionId: params.transactionInfo.transactionId,
        timestamp: params.timestamp,
        triggerReason: params.triggerReason,
        ...(params.idToken ? { idToken: params.idToken } : {}),
        event: params,
      });
      return answer.idTokenInfo ? { idTokenInfo: answer.idTokenInfo } : {};
    },
    pnc: {
      // C07: the CPO decides; idTokenInfo.status and certificateStatus come paired from its table.
      async Authorize(params) {
        const answer = await ask(cpoInterface.requests.authorize, { stationId, idToken: params.idToken, ...(params.certificate !== undefined ? { certificate: params.certificate } : {}), ...(params.iso15118CertificateHashData ? { iso15118CertificateHashData: params.iso15118CertificateHashData } : {}) });
        return { idTokenInfo: answer.idTokenInfo, ...(answer.certificateStatus ? { certificateStatus: answer.certificateStatus } : {}) };
      },
      // M01/M02: raw EXI to the CCP through the CPO, inside the EV's 4.5 s.
      async Get15118EVCertificate(params) {
        try {
          return await ask(cpoInterface.requests.installContract, { iso15118SchemaVersion: params.iso15118SchemaVersion, action: params.action, exiRequest: params.exiRequest }, INSTALLATION_BUDGET_MS);
        } catch (error) {
          return { status: 'Failed', statusInfo: statusInfoOf(toPncError(error)), exiResponse: '' };
        }
      },
      // A02/A03: sign first, answer Accepted only with a chain in hand, then send CertificateSigned.
      async SignCertificate(params) {
        const certificateType = params.certificateType ?? 'ChargingStationCertificate';
        try {
          const signed = await ask(cpoInterface.requests.signSeccCsr, { csr: params.csr, certificateType, stationId });
          sendLater('CertificateSigned', { certificateChain: signed.certificateChain, certificateType });
          return { status: 'Accepted' };
        } catch (error) {
          const failure = toPncError(error);
          log.warn('ocpp.sign.rejected', { certificateType, error: failure.toJSON() });
          return { status: 'Rejected', statusInfo: statusInfoOf(failure) };
        }
      },
      // M06: an OCSP response from the named CA's responder, for the station to staple.
      async GetCertificateStatus(params) {
        return ask(cpoInterface.requests.certificateStatus, { ocspRequestData: params.ocspRequestData });
      },
    },
  };
}
