// V2GTP framing over any byte stream (TLS, TCP or the in-memory pair) with the error behaviour of
// link-layer.md §2.3: a bad header or an oversized length closes the connection, since the stream
// cannot be resynchronised (ISO 15118-2 §7.8.3.2 header checks; EVerest v2g_server.cpp does the same).
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { DEFAULT_MAX_V2GTP_PAYLOAD_LENGTH, V2gtpError, V2gtpFrameReader, V2gtpPayloadType, encodeV2gtp, type V2gtpFrame } from '../../protocols/v2gtp/index.ts';
import { TransportError } from './errors.ts';

export interface V2gtpConnectionOptions {
  /** Payloads above this are refused from the header alone (default 64 KiB). */
  readonly maxPayloadLength?: number;
}

export interface V2gtpConnectionEvents {
  frame: [V2gtpFrame];
  /** Once, when the stream is gone; `error` says why unless the peer simply closed. */
  close: [TransportError | undefined];
}

/**
 * Frames a Duplex: `send()` writes one EXI frame, `frame` events deliver whole frames in order.
 * Only EXI (0x8001) is valid on the TCP stream; SDP types there are refused like garbage.
 */
export class V2gtpConnection extends EventEmitter<V2gtpConnectionEvents> {
  readonly socket: Duplex;
  private readonly reader: V2gtpFrameReader;
  private closed = false;
  private closeError: TransportError | undefined;

  constructor(socket: Duplex, options: V2gtpConnectionOptions = {}) {
    super();
    this.socket = socket;
    this.reader = new V2gtpFrameReader({ maxPayloadLength: options.maxPayloadLength ?? DEFAULT_MAX_V2GTP_PAYLOAD_LENGTH, payloadTypes: [V2gtpPayloadType.exi] });
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('end', () => {
      try {
        this.reader.end();
      } catch (error) {
        this.closeError ??= this.wrap(error);
      }
      socket.end();
    });
    socket.on('error', (error: Error) => {
      this.closeError ??= error instanceof TransportError ? error : new TransportError('ConnectionClosed', `connection failed: ${error.message}`, { retryable: true, cause: error });
    });
    socket.on('close', () => this.finish());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Frames one EXI message and writes it. Returns false when the connection is already closed. */
  send(exi: Uint8Array): boolean {
    if (this.closed || this.socket.destroyed || this.socket.writableEnded) return false;
    this.socket.write(encodeV2gtp(V2gtpPayloadType.exi, exi));
    return true;
  }

  /** Sends one EXI message and resolves with the payload of the next frame, or rejects after `timeoutMs`. */
  request(exi: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const onFrame = (frame: V2gtpFrame) => {
        done();
        resolve(frame.payload);
      };
      const onClose = (error: TransportError | undefined) => {
        done();
        reject(error ?? new TransportError('ConnectionClosed', 'the peer closed the connection before answering', { retryable: true }));
      };
      const timer = setTimeout(() => {
        done();
        reject(new TransportError('ResponseTimeout', `no answer within ${timeoutMs} ms`, { retryable: true }));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.off('frame', onFrame);
        this.off('close', onClose);
      };
      this.on('frame', onFrame);
      this.on('close', onClose);
      if (!this.send(exi)) onClose(this.closeError);
    });
  }

  /** Ends the connection gracefully (FIN); `close` follows. */
  end(): void {
    this.socket.end();
  }

  /** Closes the connection at once with `error` as the reason. */
  fail(error: TransportError): void {
    this.closeError ??= error;
    this.socket.destroy();
    if (this.socket.destroyed) queueMicrotask(() => this.finish());
  }

  private receive(chunk: Buffer): void {
    if (this.closed) return;
    let frames: V2gtpFrame[];
    try {
      frames = this.reader.push(chunk);
    } catch (error) {
      // Frames completed before the bad header are delivered, then the connection closes (§2.3).
      if (error instanceof V2gtpError) for (const frame of error.frames) this.deliver(frame);
      this.fail(this.wrap(error));
      return;
    }
    for (const frame of frames) this.deliver(frame);
  }

  private deliver(frame: V2gtpFrame): void {
    this.emit('frame', frame);
  }

  private wrap(error: unknown): TransportError {
    if (error instanceof V2gtpError) return new TransportError('V2gtpError', error.message, { data: error.data, cause: error });
    return new TransportError('ConnectionClosed', String(error), { cause: error });
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close', this.closeError);
  }
}
