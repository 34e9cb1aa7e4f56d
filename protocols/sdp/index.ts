/** SECC Discovery Protocol (ISO 15118-2): the UDP request/response that finds the charger's TCP endpoint. */
export {
  SDP_PORT,
  SDP_MULTICAST_ADDRESS,
  SDP_REQUEST_PAYLOAD_LENGTH,
  SDP_RESPONSE_PAYLOAD_LENGTH,
  SdpError,
  encodeSdpRequest,
  decodeSdpRequest,
  encodeSdpResponse,
  decodeSdpResponse,
} from './sdp.ts';
export type { SdpRequest, SdpResponse, SdpSecurity, SdpTransport, SdpErrorReason } from './sdp.ts';
export { parseIpv6, formatIpv6 } from './ipv6.ts';
