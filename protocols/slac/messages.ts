/**
 * HomePlug AV / Green PHY management messages used by SLAC (ISO 15118-3 Annex A) and the Qualcomm
 * vendor messages a host needs. Layouts: shared/reference/link-layer.md §1.3 (absolute offsets,
 * payload at 19 with FMI, at 17 without). Byte arrays are lowercase hex strings so that decoded
 * messages are plain JSON (statechart context, logs, bus payloads).
 */
import {
  FrameReader, FrameWriter, HEADER_LENGTH_FMI, HEADER_LENGTH_NO_FMI, HOMEPLUG_ETHERTYPE, QUALCOMM_OUI,
  SlacCodecError, hexOf, type Mmv,
} from './frame.ts';

/** One field of a fixed layout. `hex` = byte array; `reserved` = zeros on encode, ignored on decode;
 * `tail` = up to n bytes, missing ones read as zero (real peers send short frames: pev's 64-byte M-Sound). */
type FieldKind = 'u8' | 'u16' | 'u32' | { hex: number } | { reserved: number } | { tail: number } | 'groups' | 'amplitudes' | 'version' | 'networks';
type Layout = readonly (readonly [string, FieldKind])[];

export interface NetworkStation { mac: string; tei: number; bridgedMac: string; avgPhyTxRate: number; avgPhyRxRate: number }
export interface NetworkInfo { nid: string; snid: number; tei: number; stationRole: number; ccoMac: string; access: number; coordinatingNetworks: number; stations: NetworkStation[] }

interface Ids { applicationType: number; securityType: number }
interface MatchFields extends Ids { mvfLength: number; pevId: string; pevMac: string; evseId: string; evseMac: string; runId: string }
interface Vendor { oui: string }

/** Fields per message type. */
export interface SlacMessageFields {
  'CM_SLAC_PARM.REQ': Ids & { runId: string };
  'CM_SLAC_PARM.CNF': Ids & { mSoundTarget: string; numSounds: number; timeOut: number; respType: number; forwardingSta: string; runId: string };
  'CM_START_ATTEN_CHAR.IND': Ids & { numSounds: number; timeOut: number; respType: number; forwardingSta: string; runId: string };
  'CM_MNBC_SOUND.IND': Ids & { senderId: string; cnt: number; runId: string; rnd: string };
  'CM_ATTEN_PROFILE.IND': { pevMac: string; aag: number[] };
  'CM_ATTEN_CHAR.IND': Ids & { sourceAddress: string; runId: string; sourceId: string; respId: string; numSounds: number; aag: number[] };
  'CM_ATTEN_CHAR.RSP': Ids & { sourceAddress: string; runId: string; sourceId: string; respId: string; result: number };
  'CM_VALIDATE.REQ': { signalType: number; timer: number; result: number };
  'CM_VALIDATE.CNF': { signalType: number; toggleNum: number; result: number };
  'CM_SLAC_MATCH.REQ': MatchFields;
  'CM_SLAC_MATCH.CNF': MatchFields & { nid: string; nmk: string };
  'CM_SET_KEY.REQ': { keyType: number; myNonce: number; yourNonce: number; pid: number; prn: number; pmn: number; ccoCapability: number; nid: string; newEks: number; newKey: string };
  'CM_SET_KEY.CNF': { result: number; myNonce: number; yourNonce: number; pid: number; prn: number; pmn: number; ccoCapability: number };
  'CM_GET_KEY.REQ': { requestType: number; requestedKeyType: number; nid: string; myNonce: number; pid: number; prn: number; pmn: number };
  'CM_GET_KEY.CNF': { result: number; requestedKeyType: number; myNonce: number; yourNonce: number; nid: string; eks: number; pid: number; prn: number; pmn: number; key: string };
  'CM_AMP_MAP.REQ': { amplitudes: number[] };
  'CM_AMP_MAP.CNF': { result: number };
  'VS_SW_VER.REQ': Vendor;
  'VS_SW_VER.CNF': Vendor & { status: number; deviceId: number; version: string };
  'VS_PL_LINK_STATUS.REQ': Vendor;
  'VS_PL_LINK_STATUS.CNF': Vendor & { status: number; linkStatus: number };
  'VS_NW_INFO.REQ': Vendor;
  'VS_NW_INFO.CNF': Vendor & { networks: NetworkInfo[] };
}

export type SlacMessageType = keyof SlacMessageFields;
export type SlacMessageOf<T extends SlacMessageType> = { readonly type: T } & SlacMessageFields[T];
/** A frame whose MMTYPE (or vendor OUI) we do not speak: decoded far enough to be skipped. */
export interface UnknownMessage { readonly type: 'Unknown'; readonly mmtype: number }
export type SlacMessage = { [T in SlacMessageType]: SlacMessageOf<T> }[SlacMessageType];

export interface SlacFrame<M extends SlacMessage | UnknownMessage = SlacMessage | UnknownMessage> {
  /** Destination MAC, 12 hex digits. */
  readonly destination: string;
  readonly source: string;
  readonly mmv: Mmv;
  /** FMI (fragment nibbles + sequence), 0 when unfragmented; always 0 with MMV 0. */
  readonly fmi: number;
  readonly message: M;
}

const IDS: Layout = [['applicationType', 'u8'], ['securityType', 'u8']];
const MATCH: Layout = [
  ...IDS, ['mvfLength', 'u16'], ['pevId', { hex: 17 }], ['pevMac', { hex: 6 }], ['evseId', { hex: 17 }], ['evseMac', { hex: 6 }],
  ['runId', { hex: 8 }], ['', { reserved: 8 }],
];
const KEY_TRAILER: Layout = [['pid', 'u8'], ['prn', 'u16'], ['pmn', 'u8']];
const OUI: Layout = [['oui', { hex: 3 }]];

interface Spec { readonly mmtype: number; readonly mmv: Mmv; readonly layout: Layout }

/** MMTYPE codes (link-layer.md §1.2); low two bits = REQ/CNF/IND/RSP. */
export const SLAC_SPECS: { readonly [T in SlacMessageType]: Spec } = {
  'CM_SLAC_PARM.REQ': { mmtype: 0x6064, mmv: 1, layout: [...IDS, ['runId', { hex: 8 }]] },
  'CM_SLAC_PARM.CNF': {
    mmtype: 0x6065, mmv: 1,
    layout: [['mSoundTarget', { hex: 6 }], ['numSounds', 'u8'], ['timeOut', 'u8'], ['respType', 'u8'], ['forwardingSta', { hex: 6 }], ...IDS, ['runId', { hex: 8 }]],
  },
  'CM_START_ATTEN_CHAR.IND': {
    mmtype: 0x606a, mmv: 1,
    layout: [...IDS, ['numSounds', 'u8'], ['timeOut', 'u8'], ['respType', 'u8'], ['forwardingSta', { hex: 6 }], ['runId', { hex: 8 }]],
  },
  'CM_MNBC_SOUND.IND': {
    mmtype: 0x6076, mmv: 1,
    layout: [...IDS, ['senderId', { hex: 17 }], ['cnt', 'u8'], ['runId', { hex: 8 }], ['', { tail: 8 }], ['rnd', { tail: 16 }]],
  },
  'CM_ATTEN_PROFILE.IND': { mmtype: 0x6086, mmv: 1, layout: [['pevMac', { hex: 6 }], ['aag', 'groups']] },
  'CM_ATTEN_CHAR.IND': {
    mmtype: 0x606e, mmv: 1,
    layout: [...IDS, ['sourceAddress', { hex: 6 }], ['runId', { hex: 8 }], ['sourceId', { hex: 17 }], ['respId', { hex: 17 }], ['numSounds', 'u8'], ['aag', 'groups']],
  },
  'CM_ATTEN_CHAR.RSP': {
    mmtype: 0x606f, mmv: 1,
    layout: [...IDS, ['sourceAddress', { hex: 6 }], ['runId', { hex: 8 }], ['sourceId', { hex: 17 }], ['respId', { hex: 17 }], ['result', 'u8']],
  },
  'CM_VALIDATE.REQ': { mmtype: 0x6078, mmv: 1, layout: [['signalType', 'u8'], ['timer', 'u8'], ['result', 'u8']] },
  'CM_VALIDATE.CNF': { mmtype: 0x6079, mmv: 1, layout: [['signalType', 'u8'], ['toggleNum', 'u8'], ['result', 'u8']] },
  'CM_SLAC_MATCH.REQ': { mmtype: 0x607c, mmv: 1, layout: MATCH },
  'CM_SLAC_MATCH.CNF': { mmtype: 0x607d, mmv: 1, layout: [...MATCH, ['nid', { hex: 7 }], ['', { reserved: 1 }], ['nmk', { hex: 16 }]] },
  'CM_SET_KEY.REQ': {
    mmtype: 0x6008, mmv: 1,
    layout: [['keyType', 'u8'], ['myNonce', 'u32'], ['yourNonce', 'u32'], ...KEY_TRAILER, ['ccoCapability', 'u8'], ['nid', { hex: 7 }], ['newEks', 'u8'], ['newKey', { hex: 16 }]],
  },
  'CM_SET_KEY.CNF': { mmtype: 0x6009, mmv: 1, layout: [['result', 'u8'], ['myNonce', 'u32'], ['yourNonce', 'u32'], ...KEY_TRAILER, ['ccoCapability', 'u8']] },
  'CM_GET_KEY.REQ': { mmtype: 0x600c, mmv: 1, layout: [['requestType', 'u8'], ['requestedKeyType', 'u8'], ['nid', { hex: 7 }], ['myNonce', 'u32'], ...KEY_TRAILER] },
  'CM_GET_KEY.CNF': {
    mmtype: 0x600d, mmv: 1,
    layout: [['result', 'u8'], ['requestedKeyType', 'u8'], ['myNonce', 'u32'], ['yourNonce', 'u32'], ['nid', { hex: 7 }], ['eks', 'u8'], ...KEY_TRAILER, ['key', { tail: 16 }]],
  },
  'CM_AMP_MAP.REQ': { mmtype: 0x601c, mmv: 2, layout: [['amplitudes', 'amplitudes']] },
  'CM_AMP_MAP.CNF': { mmtype: 0x601d, mmv: 2, layout: [['result', 'u8']] },
  'VS_SW_VER.REQ': { mmtype: 0xa000, mmv: 0, layout: OUI },
  'VS_SW_VER.CNF': { mmtype: 0xa001, mmv: 0, layout: [...OUI, ['status', 'u8'], ['deviceId', 'u8'], ['version', 'version']] },
  'VS_PL_LINK_STATUS.REQ': { mmtype: 0xa0b8, mmv: 0, layout: OUI },
  'VS_PL_LINK_STATUS.CNF': { mmtype: 0xa0b9, mmv: 0, layout: [...OUI, ['status', 'u8'], ['linkStatus', 'u8']] },
  'VS_NW_INFO.REQ': { mmtype: 0xa038, mmv: 0, layout: OUI },
  'VS_NW_INFO.CNF': { mmtype: 0xa039, mmv: 0, layout: [...OUI, ['networks', 'networks']] },
};

const BY_MMTYPE = new Map<number, SlacMessageType>(Object.entries(SLAC_SPECS).map(([type, spec]) => [spec.mmtype, type as SlacMessageType]));

/** Largest AAG list a frame may declare (HomePlug GP: 58 carrier groups; the byte allows 255). */
const MAX_VERSION_LENGTH = 254;
/** CM_AMP_MAP carries one 4-bit amplitude per carrier; AV has 1155 carriers, 1536 at most in AV2. */
const MAX_AMPLITUDES = 1536;

/**
 * Decodes one Ethernet frame. Unknown MMTYPEs (and vendor MMEs of another OUI) come back as
 * `{type: 'Unknown', mmtype}` so the caller can skip them; malformed input throws a
 * SlacCodecError and nothing else.
 */
export function decodeSlacFrame(bytes: Uint8Array): SlacFrame {
  if (!(bytes instanceof Uint8Array)) throw new SlacCodecError('InvalidField', 'a frame must be a Uint8Array');
  if (bytes.length < HEADER_LENGTH_NO_FMI) throw new SlacCodecError('Truncated', `frame of ${bytes.length} bytes is shorter than the MME header`, bytes.length);
  const ethertype = (bytes[12] << 8) | bytes[13];
  if (ethertype !== HOMEPLUG_ETHERTYPE) throw new SlacCodecError('NotHomePlug', `ethertype 0x${ethertype.toString(16).padStart(4, '0')} is not HomePlug AV (0x88e1)`, 12);
  const mmv = bytes[14];
  if (mmv > 2) throw new SlacCodecError('UnsupportedMmv', `MMV ${mmv} is not 0, 1 or 2`, 14);
  const mmtype = bytes[15] | (bytes[16] << 8);
  let fmi = 0;
  let payloadAt: number = HEADER_LENGTH_NO_FMI;
  if (mmv >= 1) {
    if (bytes.length < HEADER_LENGTH_FMI) throw new SlacCodecError('Truncated', 'frame ends inside the FMI', bytes.length);
    fmi = bytes[17] | (bytes[18] << 8);
    payloadAt = HEADER_LENGTH_FMI;
  }
  const header = { destination: hexOf(bytes, 0, 6), source: hexOf(bytes, 6, 6), mmv: mmv as Mmv, fmi };
  const type = BY_MMTYPE.get(mmtype);
  if (type === undefined) return { ...header, message: { type: 'Unknown', mmtype } };
  const reader = new FrameReader(bytes, payloadAt, type);
  const spec = SLAC_SPECS[type];
  if (mmtype >= 0xa000 && mmtype < 0xc000) {
    // A vendor MME of another vendor shares the code space; only Qualcomm's are ours.
    if (reader.remaining < 3 || hexOf(bytes, payloadAt, 3) !== QUALCOMM_OUI) return { ...header, message: { type: 'Unknown', mmtype } };
  }
  const fields: Record<string, unknown> = { type };
  for (const [name, kind] of spec.layout) readField(reader, fields, name, kind);
  return { ...header, message: fields as unknown as SlacMessage };
}

function readField(r: FrameReader, out: Record<string, unknown>, name: string, kind: FieldKind): void {
  if (kind === 'u8') out[name] = r.u8();
  else if (kind === 'u16') out[name] = r.u16le();
  else if (kind === 'u32') out[name] = r.u32le();
  else if (kind === 'groups') {
    // NumGroups, then (in ATTEN_PROFILE) a reserved byte, then one attenuation byte per group.
    const count = r.u8();
    if (r.what === 'CM_ATTEN_PROFILE.IND') r.skip(1);
    out[name] = Array.from(r.bytesOf(count));
  } else if (kind === 'amplitudes') {
    const count = r.u16le();
    if (count > MAX_AMPLITUDES) throw new SlacCodecError('InvalidField', `CM_AMP_MAP.REQ: AMLEN ${count} exceeds ${MAX_AMPLITUDES}`, r.offset - 2);
    const packed = r.bytesOf(Math.ceil(count / 2));
    out[name] = Array.from({ length: count }, (_, i) => (i & 1 ? packed[i >> 1] >> 4 : packed[i >> 1] & 15));
  } else if (kind === 'version') {
    const length = r.u8();
    const text = r.bytesOf(length);
    const end = text.indexOf(0);
    out[name] = Buffer.from(end < 0 ? text : text.subarray(0, end)).toString('latin1');
  } else if (kind === 'networks') {
    out[name] = readNetworks(r);
  } else if ('hex' in kind) out[name] = r.hex(kind.hex);
  else if ('reserved' in kind) r.skip(kind.reserved);
  else {
    const available = Math.max(0, Math.min(kind.tail, r.remaining));
    const value = r.hex(available) + '00'.repeat(kind.tail - available);
    if (name) out[name] = value;
  }
}

/** QCA VS_NW_INFO.CNF (MMV 0): NUM_AVLNS, per network NID…NUM_STAS, per station MAC, TEI, BDA, rates. */
function readNetworks(r: FrameReader): NetworkInfo[] {
  const count = r.u8();
  const networks: NetworkInfo[] = [];
  for (let n = 0; n < count; n++) {
    const network = { nid: r.hex(7), snid: r.u8(), tei: r.u8(), stationRole: r.u8(), ccoMac: r.hex(6), access: r.u8(), coordinatingNetworks: r.u8(), stations: [] as NetworkStation[] };
    const stations = r.u8();
    for (let s = 0; s < stations; s++) network.stations.push({ mac: r.hex(6), tei: r.u8(), bridgedMac: r.hex(6), avgPhyTxRate: r.u8(), avgPhyRxRate: r.u8() });
    networks.push(network);
  }
  return networks;
}

export interface EncodeOptions {
  readonly destination: string;
  readonly source: string;
  /** Defaults to the message's own version (1 for SLAC, 0 for Qualcomm vendor MMEs, 2 for CM_AMP_MAP). */
  readonly mmv?: Mmv;
  readonly fmi?: number;
}

/** Encodes one message as an Ethernet frame padded to 60 bytes. Bad fields throw SlacCodecError. */
export function encodeSlacFrame(message: SlacMessage, options: EncodeOptions): Uint8Array {
  const spec = (SLAC_SPECS as Record<string, Spec | undefined>)[message?.type];
  if (spec === undefined) throw new SlacCodecError('InvalidField', `cannot encode message type '${String(message?.type)}'`);
  const mmv = options.mmv ?? spec.mmv;
  if (mmv !== 0 && mmv !== 1 && mmv !== 2) throw new SlacCodecError('UnsupportedMmv', `MMV ${String(mmv)} is not 0, 1 or 2`);
  const w = new FrameWriter(1600, message.type);
  w.hex(options.destination, 6, 'destination');
  w.hex(options.source, 6, 'source');
  w.u8(HOMEPLUG_ETHERTYPE >> 8, 'ethertype');
  w.u8(HOMEPLUG_ETHERTYPE & 0xff, 'ethertype');
  w.u8(mmv, 'mmv');
  w.u16le(spec.mmtype, 'mmtype');
  if (mmv >= 1) w.u16le(options.fmi ?? 0, 'fmi');
  const fields = message as unknown as Record<string, unknown>;
  for (const [name, kind] of spec.layout) writeField(w, fields, name, kind);
  return w.finish();
}

function writeField(w: FrameWriter, fields: Record<string, unknown>, name: string, kind: FieldKind): void {
  const value = fields[name];
  if (kind === 'u8') w.u8(value as number, name);
  else if (kind === 'u16') w.u16le(value as number, name);
  else if (kind === 'u32') w.u32le(value as number, name);
  else if (kind === 'groups') {
    const aag = byteList(value, 255, name, w.what);
    w.u8(aag.length, 'NumGroups');
    if (w.what === 'CM_ATTEN_PROFILE.IND') w.zeros(1);
    for (const g of aag) w.u8(g, name);
  } else if (kind === 'amplitudes') {
    const amplitudes = byteList(value, MAX_AMPLITUDES, name, w.what);
    w.u16le(amplitudes.length, 'AMLEN');
    for (let i = 0; i < amplitudes.length; i += 2) {
      const low = amplitudes[i];
      const high = i + 1 < amplitudes.length ? amplitudes[i + 1] : 0;
      if (low > 15 || high > 15) throw new SlacCodecError('InvalidField', `${w.what}: amplitudes are 4-bit values`);
      w.u8(low | (high << 4), name);
    }
  } else if (kind === 'version') {
    if (typeof value !== 'string') throw new SlacCodecError('InvalidField', `${w.what}: ${name} must be a string`);
    const text = Buffer.from(value, 'latin1');
    if (text.length + 1 > MAX_VERSION_LENGTH) throw new SlacCodecError('InvalidField', `${w.what}: version longer than ${MAX_VERSION_LENGTH - 1} bytes`);
    w.u8(text.length + 1, 'MVERLENGTH');
    w.raw(text);
    w.zeros(1);
  } else if (kind === 'networks') {
    const networks = value as NetworkInfo[];
    if (!Array.isArray(networks) || networks.length > 255) throw new SlacCodecError('InvalidField', `${w.what}: networks must be a list of at most 255`);
    w.u8(networks.length, 'NUM_AVLNS');
    for (const n of networks) {
      w.hex(n.nid, 7, 'nid'); w.u8(n.snid, 'snid'); w.u8(n.tei, 'tei'); w.u8(n.stationRole, 'stationRole'); w.hex(n.ccoMac, 6, 'ccoMac');
      w.u8(n.access, 'access'); w.u8(n.coordinatingNetworks, 'coordinatingNetworks');
      if (!Array.isArray(n.stations) || n.stations.length > 255) throw new SlacCodecError('InvalidField', `${w.what}: at most 255 stations per network`);
      w.u8(n.stations.length, 'NUM_STAS');
      for (const s of n.stations) {
        w.hex(s.mac, 6, 'mac'); w.u8(s.tei, 'tei'); w.hex(s.bridgedMac, 6, 'bridgedMac'); w.u8(s.avgPhyTxRate, 'avgPhyTxRate'); w.u8(s.avgPhyRxRate, 'avgPhyRxRate');
      }
    }
  } else if ('hex' in kind) w.hex(value as string, kind.hex, name);
  else if ('reserved' in kind) w.zeros(kind.reserved);
  else if (name) w.hex(value as string, kind.tail, name);
  else w.zeros(kind.tail);
}

function byteList(value: unknown, maxLength: number, name: string, what: string): number[] {
  if (!Array.isArray(value) || value.length > maxLength) throw new SlacCodecError('InvalidField', `${what}: ${name} must be a list of at most ${maxLength} values`);
  return value as number[];
}
