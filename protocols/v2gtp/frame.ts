import { PncError } from '../errors.ts';

/** ISO 15118-2 §7.8.3: protocol version 1 and its bitwise inverse open every V2GTP header. */
export const V2GTP_VERSION = 0x01;
export const V2GTP_INVERSE_VERSION = 0xfe;
export const V2GTP_HEADER_LENGTH = 8;

/**
 * The payload types this project speaks (ISO 15118-2 Table 10). The ISO 15118-20 types
 * (0x8002–0x8006, 0x8101–0x8104, 0x9002–0x9005) are reported as unknown.
 */
export const V2gtpPayloadType = {
  exi: 0x8001,
  sdpRequest: 0x9000,
  sdpResponse: 0x9001,
} as const;
export type V2gtpPayloadType = (typeof V2gtpPayloadType)[keyof typeof V2gtpPayloadType];

const KNOWN_PAYLOAD_TYPES: ReadonlySet<number> = new Set(Object.values(V2gtpPayloadType));

/**
 * Largest payload a frame reader accepts unless told otherwise. The biggest ISO-2 message in real
 * traffic, a CertificateInstallationRes, is about 4.6 KB; 64 KiB leaves room for long chains.
 */
export const DEFAULT_MAX_V2GTP_PAYLOAD_LENGTH = 64 * 1024;

export interface V2gtpFrame {
  readonly payloadType: V2gtpPayloadType;
  readonly payload: Uint8Array;
}

export type V2gtpErrorReason =
  | 'InvalidVersion'
  | 'UnknownPayloadType'
  | 'UnexpectedPayloadType'
  | 'PayloadTooLarge'
  | 'LengthMismatch'
  | 'Truncated';

/**
 * A V2GTP header or frame that cannot be accepted. On a TCP stream this is fatal: the byte stream
 * cannot be resynchronised, so the connection must be closed (EVerest `v2g_server.cpp` does the same).
 */
export class V2gtpError extends PncError {
  override readonly name = 'V2gtpError';
  /** The offending header bytes (up to 8) as lowercase hex. */
  readonly header: string;

  constructor(
    readonly reason: V2gtpErrorReason,
    message: string,
    header: Uint8Array,
    /** Frames that were complete before the bad header in the same chunk; process them before closing. */
    readonly frames: readonly V2gtpFrame[] = [],
  ) {
    const headerHex = Buffer.from(header.buffer, header.byteOffset, header.byteLength).toString('hex');
    super('V2gtpError', message, { data: { reason, header: headerHex } });
    this.header = headerHex;
  }
}

/** Frames one payload: `01 FE <type:2> <length:4> <payload>`. */
export function encodeV2gtp(payloadType: V2gtpPayloadType, payload: Uint8Array): Uint8Array {
  if (!KNOWN_PAYLOAD_TYPES.has(payloadType)) {
    throw new V2gtpError('UnknownPayloadType', `unknown V2GTP payload type 0x${hex16(payloadType)}`, new Uint8Array(0));
  }
  const frame = new Uint8Array(V2GTP_HEADER_LENGTH + payload.byteLength);
  const view = new DataView(frame.buffer);
  frame[0] = V2GTP_VERSION;
  frame[1] = V2GTP_INVERSE_VERSION;
  view.setUint16(2, payloadType);
  view.setUint32(4, payload.byteLength);
  frame.set(payload, V2GTP_HEADER_LENGTH);
  return frame;
}

export interface V2gtpHeader {
  readonly payloadType: V2gtpPayloadType;
  readonly payloadLength: number;
}

export interface V2gtpLimits {
  /** Payloads longer than this are rejected from the header alone, before any buffering. */
  readonly maxPayloadLength?: number;
  /** Payload types valid on this transport; others are `UnexpectedPayloadType`. Defaults to all known types. */
  readonly payloadTypes?: readonly V2gtpPayloadType[];
}

/**
 * Checks an 8-byte header (ISO 15118-2 §7.8.3.2): version, inverse version, payload type, length.
 * Throws a V2gtpError naming the first check that failed.
 */
export function decodeV2gtpHeader(header: Uint8Array, limits: V2gtpLimits = {}): V2gtpHeader {
  if (header.byteLength < V2GTP_HEADER_LENGTH) {
    throw new V2gtpError('Truncated', `V2GTP header needs ${V2GTP_HEADER_LENGTH} bytes, got ${header.byteLength}`, header);
  }
  const bytes = header.subarray(0, V2GTP_HEADER_LENGTH);
  if (bytes[0] !== V2GTP_VERSION || bytes[1] !== V2GTP_INVERSE_VERSION) {
    throw new V2gtpError(
      'InvalidVersion',
      `V2GTP version 0x${hex8(bytes[0])}/0x${hex8(bytes[1])}, expected 0x01/0xfe`,
      bytes,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, V2GTP_HEADER_LENGTH);
  const payloadType = view.getUint16(2);
  if (!KNOWN_PAYLOAD_TYPES.has(payloadType)) {
    throw new V2gtpError('UnknownPayloadType', `unknown V2GTP payload type 0x${hex16(payloadType)}`, bytes);
  }
  if (limits.payloadTypes && !limits.payloadTypes.includes(payloadType as V2gtpPayloadType)) {
    throw new V2gtpError('UnexpectedPayloadType', `V2GTP payload type 0x${hex16(payloadType)} is not valid here`, bytes);
  }
  const payloadLength = view.getUint32(4);
  const max = limits.maxPayloadLength ?? DEFAULT_MAX_V2GTP_PAYLOAD_LENGTH;
  if (payloadLength > max) {
    throw new V2gtpError('PayloadTooLarge', `V2GTP payload length ${payloadLength} exceeds the limit of ${max} bytes`, bytes);
  }
  return { payloadType: payloadType as V2gtpPayloadType, payloadLength };
}

/**
 * Decodes one whole datagram (SDP over UDP): exactly one frame, the length field matching the
 * datagram. The payload is a view into `datagram`.
 */
export function decodeV2gtpDatagram(datagram: Uint8Array, limits: V2gtpLimits = {}): V2gtpFrame {
  const { payloadType, payloadLength } = decodeV2gtpHeader(datagram, limits);
  const actual = datagram.byteLength - V2GTP_HEADER_LENGTH;
  if (actual !== payloadLength) {
    throw new V2gtpError(
      'LengthMismatch',
      `V2GTP length field says ${payloadLength} payload bytes, the datagram has ${actual}`,
      datagram.subarray(0, V2GTP_HEADER_LENGTH),
    );
  }
  return { payloadType, payload: datagram.subarray(V2GTP_HEADER_LENGTH) };
}

/**
 * Reassembles V2GTP frames from a TCP byte stream: frames may be split at any byte, and one chunk
 * may hold several frames. The header is checked as soon as its 8 bytes are in, so an oversized
 * length is refused before anything is buffered; memory held is at most one header plus one
 * payload of at most `maxPayloadLength` bytes.
 *
 * After a V2gtpError the reader stays failed (every later call throws the same error): the stream
 * cannot be resynchronised and the connection must be closed.
 */
export class V2gtpFrameReader {
  private readonly limits: V2gtpLimits;
  private readonly header = new Uint8Array(V2GTP_HEADER_LENGTH);
  private headerFill = 0;
  private current: V2gtpHeader | undefined;
  private payload: Uint8Array | undefined;
  private payloadFill = 0;
  private failure: V2gtpError | undefined;

  constructor(limits: V2gtpLimits = {}) {
    this.limits = limits;
  }

  /** Bytes received that do not yet form a complete frame. */
  get bufferedBytes(): number {
    return this.headerFill + this.payloadFill;
  }

  /**
   * Feeds the next chunk of the stream and returns the frames it completed, in order. Payloads of
   * frames that lie wholly inside `chunk` are views into it; split payloads are fresh copies.
   */
  push(chunk: Uint8Array): V2gtpFrame[] {
    if (this.failure) throw this.failure;
    const frames: V2gtpFrame[] = [];
    let offset = 0;
    try {
      while (offset < chunk.byteLength) {
        if (this.current === undefined) {
          if (this.headerFill === 0 && chunk.byteLength - offset >= V2GTP_HEADER_LENGTH) {
            // Fast path: the whole header, and perhaps the whole frame, lies in this chunk.
            const headerBytes = chunk.subarray(offset, offset + V2GTP_HEADER_LENGTH);
            const header = decodeV2gtpHeader(headerBytes, this.limits);
            offset += V2GTP_HEADER_LENGTH;
            if (chunk.byteLength - offset >= header.payloadLength) {
              frames.push({ payloadType: header.payloadType, payload: chunk.subarray(offset, offset + header.payloadLength) });
              offset += header.payloadLength;
            } else {
              this.header.set(headerBytes);
              this.begin(header);
            }
            continue;
          }
          const take = Math.min(V2GTP_HEADER_LENGTH - this.headerFill, chunk.byteLength - offset);
          this.header.set(chunk.subarray(offset, offset + take), this.headerFill);
          this.headerFill += take;
          offset += take;
          if (this.headerFill < V2GTP_HEADER_LENGTH) break;
          this.headerFill = 0;
          this.begin(decodeV2gtpHeader(this.header, this.limits));
        }
        const payload = this.payload!;
        const take = Math.min(payload.byteLength - this.payloadFill, chunk.byteLength - offset);
        payload.set(chunk.subarray(offset, offset + take), this.payloadFill);
        this.payloadFill += take;
        offset += take;
        this.completeInto(frames);
      }
      this.completeInto(frames);
    } catch (error) {
      if (!(error instanceof V2gtpError)) throw error;
      this.headerFill = 0;
      this.failure = new V2gtpError(error.reason, error.message, Buffer.from(error.header, 'hex'), frames);
      throw this.failure;
    }
    return frames;
  }

  /**
   * Declares the end of the stream. Throws `Truncated` if a frame was started but not finished,
   * so a cut-off message is never dropped silently.
   */
  end(): void {
    if (this.failure) throw this.failure;
    if (this.bufferedBytes > 0 || this.current !== undefined) {
      const expected = this.current ? `${this.current.payloadLength} payload bytes` : `${V2GTP_HEADER_LENGTH} header bytes`;
      const header = this.current ? this.header : this.header.subarray(0, this.headerFill);
      this.failure = new V2gtpError(
        'Truncated',
        `stream ended inside a V2GTP frame: ${this.current ? this.payloadFill : this.headerFill} of ${expected} received`,
        header,
      );
      throw this.failure;
    }
  }

  private begin(header: V2gtpHeader): void {
    this.current = header;
    this.payload = new Uint8Array(header.payloadLength);
    this.payloadFill = 0;
  }

  private completeInto(frames: V2gtpFrame[]): void {
    if (this.current === undefined || this.payloadFill !== this.payload!.byteLength) return;
    frames.push({ payloadType: this.current.payloadType, payload: this.payload! });
    this.current = undefined;
    this.payload = undefined;
    this.payloadFill = 0;
  }
}

function hex8(value: number | undefined): string {
  return (value ?? 0).toString(16).padStart(2, '0');
}

function hex16(value: number): string {
  return value.toString(16).padStart(4, '0');
}
