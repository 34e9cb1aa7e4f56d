import { PncError } from '../errors.ts';
import { formatIpv6 } from '../sdp/ipv6.ts';

/** HomePlug AV ethertype (IEEE 1901); every SLAC and modem management message uses it. */
export const HOMEPLUG_ETHERTYPE = 0x88e1;
/** Minimum Ethernet frame without FCS; a veth does not pad, so we do (libslac MME_MIN_LENGTH). */
export const MIN_FRAME_LENGTH = 60;
/** Ethernet II header (12 bytes of addresses + ethertype) + MMV + MMTYPE. */
export const HEADER_LENGTH_NO_FMI = 17;
/** MMV ≥ 1 adds the two fragmentation bytes (FMI). */
export const HEADER_LENGTH_FMI = 19;
export const BROADCAST_MAC = 'ffffffffffff';
/** Qualcomm Atheros OUI, first three payload bytes of every vendor MME (open-plc-utils mme/qualcomm.h). */
export const QUALCOMM_OUI = '00b052';

/** Management message versions: 0 = AV 1.0 (no FMI, QCA vendor MMEs), 1 = AV 1.1 / Green PHY (SLAC), 2 = AV 2.0 (CM_AMP_MAP). */
export type Mmv = 0 | 1 | 2;

export type SlacErrorReason = 'Truncated' | 'NotHomePlug' | 'UnsupportedMmv' | 'InvalidField' | 'Oversized';

/** A frame that cannot be read or written. The only error the codec throws. */
export class SlacCodecError extends PncError {
  override readonly name = 'SlacCodecError';
  constructor(readonly reason: SlacErrorReason, message: string, readonly offset = 0) {
    super('SlacCodecError', message, { data: { reason, offset } });
  }
}

/** Bounded reader over one frame; every read past the end is a typed Truncated error. */
export class FrameReader {
  constructor(readonly bytes: Uint8Array, public offset: number, readonly what: string) {}

  private need(n: number): void {
    if (this.offset + n > this.bytes.length) {
      throw new SlacCodecError('Truncated', `${this.what}: needs ${n} byte(s) at offset ${this.offset}, frame has ${this.bytes.length}`, this.offset);
    }
  }
  u8(): number {
    this.need(1);
    return this.bytes[this.offset++];
  }
  u16le(): number {
    this.need(2);
    const v = this.bytes[this.offset] | (this.bytes[this.offset + 1] << 8);
    this.offset += 2;
    return v;
  }
  u32le(): number {
    this.need(4);
    const b = this.bytes;
    const o = this.offset;
    this.offset += 4;
    return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 0x1000000;
  }
  /** `n` bytes as lowercase hex. */
  hex(n: number): string {
    this.need(n);
    const s = hexOf(this.bytes, this.offset, n);
    this.offset += n;
    return s;
  }
  bytesOf(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.slice(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
  skip(n: number): void {
    this.need(n);
    this.offset += n;
  }
  get remaining(): number {
    return this.bytes.length - this.offset;
  }
}

/** Growing writer; `hex` fields must have exactly the declared length. */
export class FrameWriter {
  readonly bytes: Uint8Array;
  offset = 0;
  constructor(capacity: number, readonly what: string) {
    this.bytes = new Uint8Array(Math.max(capacity, MIN_FRAME_LENGTH));
  }
  private room(n: number): void {
    if (this.offset + n > this.bytes.length) throw new SlacCodecError('Oversized', `${this.what}: field past the declared frame size`, this.offset);
  }
  u8(v: number, field: string): void {
    checkInt(v, 0xff, field, this.what);
    this.room(1);
    this.bytes[this.offset++] = v;
  }
  u16le(v: number, field: string): void {
    checkInt(v, 0xffff, field, this.what);
    this.room(2);
    this.bytes[this.offset++] = v & 0xff;
    this.bytes[this.offset++] = v >>> 8;
  }
  u32le(v: number, field: string): void {
    checkInt(v, 0xffffffff, field, this.what);
    this.room(4);
    for (let i = 0; i < 4; i++) this.bytes[this.offset++] = (v >>> (8 * i)) & 0xff;
  }
  hex(value: string, n: number, field: string): void {
    if (typeof value !== 'string' || value.length !== 2 * n || !HEX.test(value)) {
      throw new SlacCodecError('InvalidField', `${this.what}: ${field} must be ${n} byte(s) as hex`, this.offset);
    }
    this.room(n);
    for (let i = 0; i < n; i++) this.bytes[this.offset++] = parseInt(value.slice(2 * i, 2 * i + 2), 16);
  }
  raw(value: Uint8Array): void {
    this.room(value.length);
    this.bytes.set(value, this.offset);
    this.offset += value.length;
  }
  zeros(n: number): void {
    this.room(n);
    this.offset += n;
  }
  /** The frame, padded with zeros to at least 60 bytes. */
  finish(): Uint8Array {
    return this.bytes.subarray(0, Math.max(this.offset, MIN_FRAME_LENGTH));
  }
}

const HEX = /^[0-9a-f]*$/;
const HEX_DIGITS = '0123456789abcdef';

export function hexOf(bytes: Uint8Array, offset = 0, length = bytes.length - offset): string {
  let s = '';
  for (let i = offset; i < offset + length; i++) s += HEX_DIGITS[bytes[i] >> 4] + HEX_DIGITS[bytes[i] & 15];
  return s;
}

function checkInt(v: number, max: number, field: string, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new SlacCodecError('InvalidField', `${what}: ${field} must be an integer 0…${max}`);
}

/** `aa:bb:cc:dd:ee:ff` or `aabbccddeeff` → `aabbccddeeff`; anything else is an InvalidField error. */
export function normalizeMac(text: string): string {
  const mac = text.toLowerCase().replace(/[:-]/g, '');
  if (mac.length !== 12 || !HEX.test(mac)) throw new SlacCodecError('InvalidField', `'${text}' is not a MAC address`);
  return mac;
}

/** `aabbccddeeff` → `aa:bb:cc:dd:ee:ff`, for people. */
export function formatMac(mac: string): string {
  return mac.replace(/(..)(?!$)/g, '$1:');
}

/** The IPv6 link-local address (RFC 4291 Appendix A, modified EUI-64) a host with this MAC uses. */
export function linkLocalFromMac(mac: string): string {
  const b = Buffer.from(normalizeMac(mac), 'hex');
  return formatIpv6(Uint8Array.of(0xfe, 0x80, 0, 0, 0, 0, 0, 0, b[0] ^ 0x02, b[1], b[2], 0xff, 0xfe, b[3], b[4], b[5]));
}
