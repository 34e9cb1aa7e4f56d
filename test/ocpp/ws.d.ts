// The part of `ws` (a dependency of ocpp-rpc, without bundled types) the raw-frame tests use.
declare module 'ws' {
  import { EventEmitter } from 'node:events';
  export default class WebSocket extends EventEmitter {
    constructor(url: string, protocols: string[], options: { ca?: string; headers?: Record<string, string> });
    send(data: string): void;
    terminate(): void;
    on(event: 'message', listener: (data: Buffer) => void): this;
    once(event: 'close', listener: (code: number) => void): this;
    once(event: 'open' | 'error', listener: (value?: unknown) => void): this;
  }
}
