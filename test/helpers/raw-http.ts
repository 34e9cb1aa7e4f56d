// HTTP/1.1 over a bare socket, for requests a client library would refuse to send (bad targets,
// broken encodings, oversized heads). Resolves with the first response; rejects if none arrives.
import { connect } from 'node:net';

export interface RawAnswer {
  readonly status: number;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** Sends `head` (and `body`) as bytes and reads one response (by its content-length, else until close). */
export function rawRequest(port: number, head: string | Buffer, body?: Buffer | string, options: { localAddress?: string; timeoutMs?: number } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (answer: RawAnswer | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (answer instanceof Error) reject(answer);
      else resolve(answer);
    };
    const timer = setTimeout(() => finish(new Error(`no answer within ${options.timeoutMs ?? 20_000} ms`)), options.timeoutMs ?? 20_000);
    const parse = (ended: boolean) => {
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return ended ? finish(new Error(`connection closed without a response: ${JSON.stringify(received.toString('latin1'))}`)) : undefined;
      const [statusLine, ...lines] = received.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const bodyBytes = received.subarray(end + 4);
      const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
      if (length !== undefined && bodyBytes.length >= length) return finish({ status: Number(statusLine.split(' ')[1]), headers, body: bodyBytes.subarray(0, length) });
      if (ended) finish({ status: Number(statusLine.split(' ')[1]), headers, body: bodyBytes });
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      parse(false);
    });
    socket.on('end', () => parse(true));
    socket.on('close', () => parse(true));
    // The server may answer and close before it read everything we send (an early 413 or 431).
    socket.on('error', (error) => (received.length ? parse(true) : finish(error)));
    socket.write(head);
    if (body !== undefined) socket.write(body);
  });
}

/** A request head with `Host` and `Connection: close`; `headers` are added as given. */
export function head(method: string, target: string, headers: Record<string, string | number> = {}): string {
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return `${lines.join('\r\n')}\r\n\r\n`;
}
