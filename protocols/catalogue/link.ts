/**
 * Error codes of the power-line link (SLAC, ISO 15118-3) and its adapters. The link does not serve
 * bus subjects yet; these are the codes its owner (the SECC or EV actor) and the CLI can see.
 */
export const LINK_ERROR_CODES = [
  'SlacCodecError', // a frame that cannot be decoded or encoded (protocols/slac/frame.ts)
  'SlacMatchFailed', // C_conn_max_match attempts or TT_matching_repetition used up
  'ModemUnresponsive', // the local modem never confirmed CM_SET_KEY
  'LinkDown', // the AVLN was lost, or the link is not matched yet
  'LinkAdapterFailed', // the raw-Ethernet interface could not be opened or written
  'ConnectionRefused', // in-memory line: nothing listens on that port of the peer
  'AddressInUse', // in-memory line: the port is already bound on that station
] as const;
export type LinkErrorCode = (typeof LINK_ERROR_CODES)[number];
