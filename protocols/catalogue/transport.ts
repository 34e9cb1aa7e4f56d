/**
 * Error codes of the EV–SECC transports (actors/transport): SDP over UDP, V2GTP over TLS 1.2 or TCP.
 * They reach a user through the CLI and the EV/SECC participants; none crosses the bus as a subject.
 */
export const TRANSPORT_ERROR_CODES = [
  /** 50 SDP requests at 250 ms went unanswered [V2G2-159/160 as implemented by EcoG-io and RISE-V2G]. */
  'SdpNoResponse',
  /** No usable interface, no link-local address, or a socket could not be bound. */
  'TransportUnavailable',
  /** TCP connect or TLS handshake failed (refused, alert, untrusted chain). */
  'TlsHandshakeFailed',
  /** The handshake succeeded but the suite or group is not the one ISO 15118-2 pins. */
  'TlsParametersRejected',
  /** The SECC leaf failed the EVCC's own check after the handshake (DC=CPO [V2G2-925], profile, validity). */
  'SeccCertificateRejected',
  /**
   * The SECC stapled an OCSP response for its leaf that says revoked or unknown, or that fails
   * verification (forged, stale, another certificate's): the EVCC closes before any V2G message.
   */
  'SeccOcspRejected',
  /** The communication setup did not finish in time (V2G_EVCC/SECC_CommunicationSetup timers). */
  'CommunicationSetupTimeout',
  /** A V2GTP frame could not be accepted; the connection was closed (link-layer.md §2.3). */
  'V2gtpError',
  /** The peer closed the connection, or it was closed under a pending request. */
  'ConnectionClosed',
  /** A request got no answer within its message timeout. */
  'ResponseTimeout',
  /** The transport was configured in a way ISO 15118-2 does not allow (e.g. plain TCP without EIM-only). */
  'TransportMisconfigured',
] as const;

export type TransportErrorCode = (typeof TRANSPORT_ERROR_CODES)[number];
