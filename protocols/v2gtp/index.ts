/** V2GTP (ISO 15118-2 §7.8.3): the 8-byte transport header around EXI and SDP payloads. */
export {
  V2GTP_VERSION,
  V2GTP_INVERSE_VERSION,
  V2GTP_HEADER_LENGTH,
  DEFAULT_MAX_V2GTP_PAYLOAD_LENGTH,
  V2gtpPayloadType,
  V2gtpError,
  V2gtpFrameReader,
  encodeV2gtp,
  decodeV2gtpHeader,
  decodeV2gtpDatagram,
} from './frame.ts';
export type { V2gtpFrame, V2gtpHeader, V2gtpLimits, V2gtpErrorReason } from './frame.ts';
