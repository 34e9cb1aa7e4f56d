// The part of `ws` (a dependency of ocpp-rpc, without bundled types) the raw-frame tests and bench:ocpp's echo baseline use.
declare module 'ws' {
  import { EventEmitter } from 'node:events';
  export default class WebSocket extends EventEmitter {
    constructor(url: string, protocols: string[], options: { ca?: string; headers?: Record<string, string>; rejectUnauthorized?: boolean });
    static readonly OPEN: number;
    readonly readyState: number;
    send(data: string | Buffer): void;
    terminate(): void;
    on(event: 'message', listener: (data: Buffer) => void): this;
    off(event: 'message', listener: (data: Buffer) => void): this;
    once(event: 'close', listener: (code: number) => void): this;
    once(event: 'message', listener: (data: Buffer) => void): this;
    once(event: 'open' | 'error', listener: (value?: unknown) => void): this;
  }
  export class WebSocketServer extends EventEmitter {
    constructor(options: { server: import('node:https').Server; maxPayload?: number });
    on(event: 'connection', listener: (socket: WebSocket) => void): this;
    close(): void;
  }
}
