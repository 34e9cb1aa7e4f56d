/**
 * The CSMS edge (actors/ocpp/) on the bus: station credentials for security profile 2, and the
 * CSMS-initiated OCPP calls to a connected station (M03 GetInstalledCertificateIds, M04
 * DeleteCertificate, M05 InstallCertificate, F06 TriggerMessage, A02 CertificateSigned). The
 * payload is checked against the OCA 2.0.1 schema by the edge's strict RPC client before it leaves.
 * With several CSMS processes, each serves `ocpp.station.call` in one queue group and forwards to
 * the process holding the station (`stationConnectionCall`).
 */
import { z } from 'zod';
import { participantInterface, requestSubject } from './define.ts';
import { stationId } from './cpo.ts';

/** What the CSMS may send to a station through `ocpp.station.call`. */
export const CSMS_INITIATED_ACTIONS = ['InstallCertificate', 'GetInstalledCertificateIds', 'DeleteCertificate', 'TriggerMessage', 'CertificateSigned'] as const;

export const ocppInterface = participantInterface({
  participant: 'ocpp',
  summary: 'CSMS edge: station credentials (security profile 2) and CSMS-initiated calls to connected stations',
  requests: {
    addStation: requestSubject({
      subject: 'ocpp.station.add',
      summary: 'registers a station for security profile 2; the reply carries its Basic-auth password, the only place it appears (the store keeps an scrypt hash)',
      request: z.object({ stationId: stationId.regex(/^[A-Za-z0-9*_=+.|@-]+$/, 'OCPP identity characters only') }),
      reply: z.object({ stationId, password: z.string().min(16).max(40) }),
      errors: [] as const,
    }),
    call: requestSubject({
      subject: 'ocpp.station.call',
      summary: 'sends one CSMS-initiated OCPP 2.0.1 call to a connected station (tunnelled in DataTransfer for OCPP 1.6) and returns its answer',
      request: z.object({ stationId, action: z.enum(CSMS_INITIATED_ACTIONS), payload: z.record(z.string(), z.unknown()) }),
      reply: z.object({ response: z.record(z.string(), z.unknown()) }),
      errors: ['StationNotConnected', 'StationRejected'] as const,
    }),
  },
});

/**
 * The subject only the CSMS process holding `stationId`'s connection serves (same request and reply
 * as `ocpp.station.call`): whichever CSMS takes `ocpp.station.call` forwards there, so a call reaches
 * the station wherever it is connected. Hex keeps the dots and `*` of OCPP identities out of the subject.
 */
export function stationConnectionCall(stationId: string): typeof ocppInterface.requests.call {
  return { ...ocppInterface.requests.call, subject: `${ocppInterface.requests.call.subject}.${Buffer.from(stationId, 'utf8').toString('hex')}` };
}
