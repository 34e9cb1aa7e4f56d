import { PncError } from '../errors.ts';
import { hexOfBytes } from '../bytes.ts';
import { V2gtpError, V2gtpPayloadType, decodeV2gtpDatagram, encodeV2gtp } from '../v2gtp/index.ts';
import { formatIpv6, parseIpv6 } from './ipv6.ts';

/** The SECC discovery port and group (ISO 15118-2 V2G_UDP_SDP_SERVER): EVCCs multicast requests to `[ff02::1]:15118`. */
export const SDP_PORT = 15118;
export const SDP_MULTICAST_ADDRESS = 'ff02::1';

/** Security byte: 0x00 asks for / offers TLS, 0x10 none. */
export type SdpSecurity = 'tls' | 'none';
/** Transport byte: 0x00 TCP; 0x10 UDP is defined but no V2G message runs over it. */
export type SdpTransport = 'tcp' | 'udp';

const SECURITY_CODES: Record<SdpSecurity, number> = { tls: 0x00, none: 0x10 };
const TRANSPORT_CODES: Record<SdpTransport, number> = { tcp: 0x00, udp: 0x10 };

export const SDP_REQUEST_PAYLOAD_LENGTH = 2;
export const SDP_RESPONSE_PAYLOAD_LENGTH = 20;

export interface SdpRequest {
  readonly security: SdpSecurity;
  readonly transport: SdpTransport;
}

export interface SdpResponse {
  /** The SECC's IPv6 address (normally link-local), RFC 5952 text. */
  readonly address: string;
  readonly port: number;
  readonly security: SdpSecurity;
  readonly transport: SdpTransport;
}

export type SdpErrorReason = 'InvalidFrame' | 'WrongPayloadType' | 'WrongLength' | 'UnknownSecurity' | 'UnknownTransport' | 'InvalidField';

/** A malformed SDP datagram. An SECC drops such datagrams silently (EVerest `sdp.cpp`); this says why. */
export class SdpError extends PncError {
  override readonly name = 'SdpError';
  constructor(
    readonly reason: SdpErrorReason,
    message: string,
    /** The whole datagram as lowercase hex. */
    readonly datagram: string,
    cause?: unknown,
  ) {
    super('SdpError', message, { data: { reason, datagram }, cause });
  }
}

/** Encodes the 10-byte SDP request datagram (V2GTP header + security + transport). */
export function encodeSdpRequest(request: SdpRequest): Uint8Array {
  return encodeV2gtp(V2gtpPayloadType.sdpRequest, Uint8Array.of(SECURITY_CODES[request.security], TRANSPORT_CODES[request.transport]));
}

/** Decodes an SDP request datagram; anything but exactly one well-formed 10-byte frame is an SdpError. */
export function decodeSdpRequest(datagram: Uint8Array): SdpRequest {
  const payload = sdpPayload(datagram, V2gtpPayloadType.sdpRequest, SDP_REQUEST_PAYLOAD_LENGTH);
  return { security: security(payload[0], datagram), transport: transport(payload[1], datagram) };
}

/** Encodes the 28-byte SDP response datagram (V2GTP header + address + port + security + transport). */
export function encodeSdpResponse(response: SdpResponse): Uint8Array {
  if (!Number.isInteger(response.port) || response.port < 1 || response.port > 0xffff) {
    throw new SdpError('InvalidField', `SDP port ${response.port} is not a TCP port`, '');
  }
  const payload = new Uint8Array(SDP_RESPONSE_PAYLOAD_LENGTH);
  payload.set(parseIpv6(response.address), 0);
  payload[16] = response.port >> 8;
  payload[17] = response.port & 0xff;
  payload[18] = SECURITY_CODES[response.security];
  payload[19] = TRANSPORT_CODES[response.transport];
  return encodeV2gtp(V2gtpPayloadType.sdpResponse, payload);
}

/** Decodes an SDP response datagram. */
export function decodeSdpResponse(datagram: Uint8Array): SdpResponse {
  const payload = sdpPayload(datagram, V2gtpPayloadType.sdpResponse, SDP_RESPONSE_PAYLOAD_LENGTH);
  const port = (payload[16] << 8) | payload[17];
  if (port === 0) throw new SdpError('InvalidField', 'SDP response announces port 0', hexOfBytes(datagram));
  return {
    address: formatIpv6(payload.subarray(0, 16)),
    port,
    security: security(payload[18], datagram),
    transport: transport(payload[19], datagram),
  };
}

function sdpPayload(datagram: Uint8Array, payloadType: V2gtpPayloadType, length: number): Uint8Array {
  let frame;
  try {
    frame = decodeV2gtpDatagram(datagram, { maxPayloadLength: length, payloadTypes: [payloadType] });
  } catch (error) {
    if (!(error instanceof V2gtpError)) throw error;
    const reason = error.reason === 'UnexpectedPayloadType' ? 'WrongPayloadType' : error.reason === 'InvalidVersion' || error.reason === 'UnknownPayloadType' ? 'InvalidFrame' : 'WrongLength';
    throw new SdpError(reason, `not an SDP ${payloadType === V2gtpPayloadType.sdpRequest ? 'request' : 'response'}: ${error.message}`, hexOfBytes(datagram), error);
  }
  if (frame.payload.byteLength !== length) {
    throw new SdpError('WrongLength', `SDP payload has ${frame.payload.byteLength} bytes, expected ${length}`, hexOfBytes(datagram));
  }
  return frame.payload;
}

function security(code: number, datagram: Uint8Array): SdpSecurity {
  if (code === SECURITY_CODES.tls) return 'tls';
  if (code === SECURITY_CODES.none) return 'none';
  throw new SdpError('UnknownSecurity', `unknown SDP security byte 0x${code.toString(16).padStart(2, '0')}`, hexOfBytes(datagram));
}

function transport(code: number, datagram: Uint8Array): SdpTransport {
  if (code === TRANSPORT_CODES.tcp) return 'tcp';
  if (code === TRANSPORT_CODES.udp) return 'udp';
  throw new SdpError('UnknownTransport', `unknown SDP transport byte 0x${code.toString(16).padStart(2, '0')}`, hexOfBytes(datagram));
}

