/**
 * OCPP 1.6 stations using the OCA whitepaper "Using ISO 15118 Plug & Charge with OCPP 1.6":
 * DataTransfer with vendorId `org.openchargealliance.iso15118pnc`, messageId = the OCPP 2.0.1
 * action, data = the JSON string of the 2.0.1 payload. The inner payload is checked against the
 * 2.0.1 schema both ways, like strict mode does for 2.0.1 connections.
 */
import { PncError } from '../../protocols/errors.ts';
import type { OcppConnection, OcppPayload, PncAction, StationHandlers } from './handlers.ts';
import { validateOcpp201 } from './schemas.ts';

export const PNC_VENDOR_ID = 'org.openchargealliance.iso15118pnc';

const STATION_INITIATED: readonly PncAction[] = ['Authorize', 'Get15118EVCertificate', 'SignCertificate', 'GetCertificateStatus'];
const isPncAction = (messageId: unknown): messageId is PncAction => typeof messageId === 'string' && (STATION_INITIATED as readonly string[]).includes(messageId);

/** DataTransfer.req from a 1.6 station → DataTransfer.conf; malformed inner payloads get the RPC error strict mode would give. */
export async function tunnelledAnswer(params: OcppPayload, handlers: StationHandlers): Promise<OcppPayload> {
  if (params.vendorId !== PNC_VENDOR_ID) return { status: 'UnknownVendorId' };
  if (!isPncAction(params.messageId)) return { status: 'UnknownMessageId' };
  let inner: unknown;
  try {
    inner = JSON.parse(typeof params.data === 'string' ? params.data : '');
  } catch {
    return { status: 'Rejected', data: JSON.stringify({ error: 'data is not the JSON string of an OCPP 2.0.1 payload' }) };
  }
  validateOcpp201(params.messageId, 'req', inner);
  const answer = await handlers.pnc[params.messageId](inner as OcppPayload);
  validateOcpp201(params.messageId, 'conf', answer);
  return { status: 'Accepted', data: JSON.stringify(answer) };
}

/** A CSMS-initiated 2.0.1 call to a 1.6 station, through DataTransfer. */
export async function tunnelCall(client: OcppConnection, action: string, payload: OcppPayload): Promise<OcppPayload> {
  validateOcpp201(action, 'req', payload);
  const answer = (await client.call('DataTransfer', { vendorId: PNC_VENDOR_ID, messageId: action, data: JSON.stringify(payload) })) as OcppPayload;
  if (answer.status !== 'Accepted') throw new PncError('StationRejected', `the station answered DataTransfer ${action} with ${answer.status}`);
  let inner: unknown;
  try {
    inner = JSON.parse(typeof answer.data === 'string' ? answer.data : '');
  } catch {
    throw new PncError('StationRejected', `the station's DataTransfer ${action} answer carries no JSON`);
  }
  validateOcpp201(action, 'conf', inner);
  return inner as OcppPayload;
}
