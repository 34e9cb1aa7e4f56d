/**
 * The HTTP edge every server of ours stands behind (OPCP gateway, OCSP responder, and the OCPP
 * WebSocket edge through `upgrade`). Hostile input is normal input here: the request target is
 * parsed without `new URL` and with strict percent-decoding, body and header sizes are bounded,
 * slow clients time out, and whatever a handler throws (synchronously or not) becomes the
 * server's own typed error body. No request can stop the process.
 */
import { createServer, STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { TlsOptions } from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { PncError, toPncError } from '../../protocols/errors.ts';
import { httpEdgeErrors, type HttpEdgeErrorCode } from '../../protocols/catalogue/http-edge.ts';
import type { Logger } from '../host/participant.ts';

/** A refusal by the edge or a server behind it; `status` is its HTTP status, `headers` go with the answer (`Allow` for a 405). */
export class EdgeError extends PncError {
  readonly status: number;
  constructor(code: HttpEdgeErrorCode, message: string, readonly headers: Readonly<Record<string, string>> = {}) {
    super(code, message);
    this.status = httpEdgeErrors[code];
  }
}

export interface EdgeLimits {
  /** Largest request body; a longer one is answered 413 (and the rest read and dropped, so the client sees the answer). */
  readonly maxBodyBytes: number;
  /** Largest request head (request line + headers); a longer one is answered 431. */
  readonly maxHeaderBytes: number;
  /** Time for the client to send the whole head (slowloris). */
  readonly headersTimeoutMs: number;
  /** Time for the client to send the whole request, head and body. */
  readonly requestTimeoutMs: number;
  /** A keep-alive connection with no request in flight is closed after this. */
  readonly idleTimeoutMs: number;
  /** After a 413, at most this many further body bytes are read and dropped before the connection is cut. */
  readonly maxDiscardBytes: number;
}

export const DEFAULT_EDGE_LIMITS: EdgeLimits = {
  maxBodyBytes: 1 << 20,
  maxHeaderBytes: 16 << 10,
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 60_000,
  // Longer than clients' own idle timeouts (undici 4 s, load balancers 60 s), so a client never sends on a connection the server is closing.
  idleTimeoutMs: 65_000,
  maxDiscardBytes: 64 << 20,
};

export interface EdgeTarget {
  /** The request target as received. */
  readonly raw: string;
  /** The path, still percent-encoded (RFC 3986 §3.3); starts with `/`. */
  readonly path: string;
  /** The path split at `/` and then percent-decoded, so an encoded `%2F` stays inside its segment. */
  readonly segments: readonly string[];
  /** Query parameters, percent-decoded (`+` is a space); a repeated name gives an array. */
  readonly query: Readonly<Record<string, string | string[]>>;
}

export interface EdgeRequest {
  readonly method: string;
  readonly target: EdgeTarget;
  /** Lower-case names, as Node gives them. */
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The peer's address: the only source identity the edge has (proxy headers are not trusted). */
  readonly remoteAddress: string;
  readonly traceId: string;
}

export interface EdgeReply {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string | number>>;
  readonly body?: string | Uint8Array;
}

/** An upgrade request (WebSocket) after the edge has checked its target and head. */
export interface EdgeUpgrade {
  readonly target: EdgeTarget;
  readonly request: IncomingMessage;
  readonly remoteAddress: string;
  readonly traceId: string;
}

export interface HttpEdgeOptions {
  /** Names the server in log lines (`<name>.request`, `<name>.failed`). */
  readonly name: string;
  readonly log: Logger;
  /** 0 picks a free port. */
  readonly port: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  readonly limits?: Partial<EdgeLimits>;
  /** Serve HTTPS with these options (key, cert, ca, requestCert…); a failed handshake just closes the socket. */
  readonly tls?: TlsOptions;
  /** The server's own typed error body for a refusal with this status. */
  errorReply(error: PncError, status: number, traceId: string): EdgeReply;
  /** HTTP status of an error a handler threw (EdgeError carries its own). @default 500 */
  statusOf?(error: PncError): number;
  handle(request: EdgeRequest): EdgeReply | Promise<EdgeReply>;
  /** Takes over the socket of an upgrade request (OCPP-J WebSocket); refusals are written by the edge. */
  upgrade?(upgrade: EdgeUpgrade, socket: Duplex, head: Buffer): void | Promise<void>;
}

export interface HttpEdge {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

// RFC 3986 pchar plus `/`; anything else (spaces, quotes, `\`, `#`, non-ASCII) is not a valid origin-form path.
const PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
const QUERY_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*$/;

/** Strict percent-decoding (RFC 3986 §2.1, UTF-8): a malformed escape or invalid UTF-8 is a 400, not an exception. */
export function decodePercent(text: string, what: string): string {
  if (!text.includes('%')) return text;
  if (/%(?![0-9A-Fa-f]{2})/.test(text)) throw new EdgeError('BadEncoding', `${what}: malformed percent-encoding`);
  try {
    return decodeURIComponent(text);
  } catch {
    throw new EdgeError('BadEncoding', `${what}: percent-encoding is not valid UTF-8`);
  }
}

/**
 * Parses an origin-form request target (RFC 9112 §3.2.1). Absolute-form is accepted for `http(s)`
 * (§3.2.2) and reduced to its path; a target starting `//` would read as an authority and is refused.
 */
export function parseTarget(raw: string | undefined): EdgeTarget {
  let target = raw ?? '';
  const absolute = /^https?:\/\/([^/?#]*)(.*)$/i.exec(target);
  if (absolute) {
    const authority = /^(?:[A-Za-z0-9\-._~]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/.exec(absolute[1]);
    if (!authority || Number(authority[1] ?? 0) > 65_535) throw new EdgeError('BadTarget', 'the absolute request target has no valid host and port');
    target = absolute[2] === '' ? '/' : absolute[2];
  }
  if (!target.startsWith('/')) throw new EdgeError('BadTarget', 'the request target is not an absolute path');
  if (target.startsWith('//')) throw new EdgeError('BadTarget', 'the request target starts with //');
  const question = target.indexOf('?');
  const path = question < 0 ? target : target.slice(0, question);
  const queryText = question < 0 ? '' : target.slice(question + 1);
  if (!PATH_CHARS.test(path)) throw new EdgeError('BadTarget', 'the request path has characters RFC 3986 does not allow');
  if (!QUERY_CHARS.test(queryText)) throw new EdgeError('BadTarget', 'the query has characters RFC 3986 does not allow');
  const segments = path.slice(1).split('/').map((segment) => decodePercent(segment, 'path'));
  return { raw: raw ?? '', path, segments, query: parseFormEncoded(queryText, 'query') };
}

/**
 * `name=value&…` as in a query or an `application/x-www-form-urlencoded` body, strictly decoded
 * (`+` is a space); a repeated name gives an array. Names are own data properties (`__proto__` too).
 */
export function parseFormEncoded(text: string, what: string): Record<string, string | string[]> {
  if (text === '') return {};
  const fields = new Map<string, string | string[]>();
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const name = decodePercent((equals < 0 ? pair : pair.slice(0, equals)).replace(/\+/g, ' '), what);
    const value = equals < 0 ? '' : decodePercent(pair.slice(equals + 1).replace(/\+/g, ' '), what);
    const previous = fields.get(name);
    fields.set(name, previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value]);
  }
  return Object.fromEntries(fields);
}

/** A whole HTTP/1.1 response for a socket the HTTP parser no longer owns (client errors, refused upgrades). */
function rawResponse(reply: EdgeReply, traceId: string): Buffer {
  const body = reply.body === undefined ? Buffer.alloc(0) : Buffer.from(reply.body);
  const headers = { ...reply.headers, 'x-trace-id': traceId, 'content-length': body.length, connection: 'close' };
  const head = [`HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? 'Error'}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)].join('\r\n');
  return Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), body]);
}

const CLIENT_ERROR_CODES: Readonly<Record<string, HttpEdgeErrorCode>> = {
  HPE_HEADER_OVERFLOW: 'HeadersTooLarge',
  ERR_HTTP_REQUEST_TIMEOUT: 'RequestTimeout',
  HPE_HEADERS_TIMEOUT: 'RequestTimeout',
};

/** Starts a server behind the edge; resolves once it listens. */
export async function startHttpEdge(options: HttpEdgeOptions): Promise<HttpEdge> {
  const limits: EdgeLimits = { ...DEFAULT_EDGE_LIMITS, ...options.limits };
  const { log } = options;

  /** The server's error body for any failure; a failing errorReply itself falls back to plain text. */
  function refusal(error: unknown, traceId: string): EdgeReply {
    const failure = toPncError(error);
    let status = 500;
    try {
      status = failure instanceof EdgeError ? failure.status : (options.statusOf?.(failure) ?? 500);
    } catch {
      // keep 500
    }
    if (status >= 500) log.error(`${options.name}.failed`, { traceId, code: failure.code, message: failure.message });
    const extra = failure instanceof EdgeError ? failure.headers : {};
    try {
      const reply = options.errorReply(failure, status, traceId);
      return { ...reply, headers: { ...reply.headers, ...extra } };
    } catch {
      return { status, headers: { 'content-type': 'text/plain', ...extra }, body: failure.message };
    }
  }

  /** Reads the body up to the limit; past it, resolves with a 413 and leaves the rest to be dropped. */
  function readBody(request: IncomingMessage): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const declared = Number(request.headers['content-length'] ?? 0);
      if (declared > limits.maxBodyBytes) return reject(new EdgeError('PayloadTooLarge', `request body of ${declared} bytes is over the limit of ${limits.maxBodyBytes}`));
      const chunks: Buffer[] = [];
      let size = 0;
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size <= limits.maxBodyBytes) return void chunks.push(chunk);
        request.off('data', onData);
        reject(new EdgeError('PayloadTooLarge', `request body is over the limit of ${limits.maxBodyBytes} bytes`));
      };
      request.on('data', onData);
      // A body in one chunk is that chunk (the parser gives each chunk its own copy): no second copy.
      request.once('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
      request.once('error', reject);
    });
  }

  /** After an early answer, the rest of the body is read and dropped (a close with unread data would reset the connection), up to a bound. */
  function discardRest(request: IncomingMessage): void {
    if (request.complete) return;
    let dropped = 0;
    request.on('data', (chunk: Buffer) => {
      dropped += chunk.length;
      if (dropped > limits.maxDiscardBytes) request.socket.destroy();
    });
    request.resume();
  }

  function send(response: ServerResponse, reply: EdgeReply, traceId: string): void {
    if (response.headersSent || response.destroyed) return;
    // Written as given: a string is encoded once by the socket write, not copied into a Buffer first.
    const body = reply.body ?? '';
    const length = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    // One name/value list, which Node writes as given: no object copy per reply.
    const headers: (string | number)[] = [];
    for (const name in reply.headers) if (name !== 'content-length' && name !== 'x-trace-id') headers.push(name, reply.headers[name]);
    headers.push('content-length', length, 'x-trace-id', traceId);
    response.writeHead(reply.status, headers);
    response.end(body);
  }

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const traceId = randomUUID();
    const started = Date.now();
    let reply: EdgeReply;
    let target: EdgeTarget | undefined;
    try {
      target = parseTarget(request.url);
      const body = await readBody(request);
      reply = await options.handle({ method: request.method ?? 'GET', target, headers: request.headers, body, remoteAddress: request.socket.remoteAddress ?? '', traceId });
    } catch (error) {
      reply = refusal(error, traceId);
      discardRest(request);
    }
    try {
      send(response, reply, traceId);
    } catch (error) {
      // A reply the handler built wrongly (bad header value, say) still gets the typed body.
      send(response, refusal(error, traceId), traceId);
    }
    log.info(`${options.name}.request`, { method: request.method, path: target?.path ?? '(bad target)', status: reply.status, ms: Date.now() - started, traceId });
  }

  const httpOptions: ServerOptions = {
    maxHeaderSize: limits.maxHeaderBytes,
    requestTimeout: limits.requestTimeoutMs,
    // Node refuses a head timeout longer than the whole request's.
    headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
    keepAliveTimeout: limits.idleTimeoutMs,
    // How often Node checks the two timeouts above; a quarter of the head timeout, at most a second.
    connectionsCheckingInterval: Math.max(10, Math.min(1_000, limits.headersTimeoutMs / 4)),
  };
  const onRequest = (request: IncomingMessage, response: ServerResponse) => {
    request.on('error', () => undefined);
    response.on('error', () => undefined);
    serve(request, response).catch((error: unknown) => {
      log.error(`${options.name}.failed`, { message: toPncError(error).message });
      response.destroy();
    });
  };
  // An https.Server is an http.Server with TLS below it: every hook here works on both.
  const server: Server = options.tls ? createTlsServer({ ...options.tls, ...httpOptions }, onRequest) : createServer(httpOptions, onRequest);
  if (options.tls) server.on('tlsClientError', (_error: Error, socket: Duplex) => socket.destroy());
  // A connection with nothing in flight for this long is closed (also one that never sends a byte).
  server.setTimeout(limits.idleTimeoutMs, (socket) => socket.destroy());

  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const code = CLIENT_ERROR_CODES[error.code ?? ''] ?? 'BadRequest';
    if (error.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    const traceId = randomUUID();
    const message = code === 'HeadersTooLarge' ? `request head is over the limit of ${limits.maxHeaderBytes} bytes` : code === 'RequestTimeout' ? 'the request was not received in time' : `malformed HTTP request (${error.code ?? error.message})`;
    socket.end(rawResponse(refusal(new EdgeError(code, message), traceId), traceId));
    log.info(`${options.name}.request`, { status: httpEdgeErrors[code], code: error.code, traceId });
  });

  // CONNECT (a proxy request) would otherwise close the connection without an answer.
  server.on('connect', (_request: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => undefined);
    const traceId = randomUUID();
    socket.end(rawResponse(refusal(new EdgeError('MethodNotAllowed', 'CONNECT is not served: this is not a proxy'), traceId), traceId));
  });
  // An Expect other than 100-continue (RFC 9110 §10.1.1) gets 417 with the typed body, not Node's bare one.
  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    const traceId = randomUUID();
    response.on('error', () => undefined);
    send(response, refusal(new EdgeError('ExpectationFailed', `Expect: ${String(request.headers.expect)} is not supported`), traceId), traceId);
  });

  const upgrade = options.upgrade;
  if (upgrade) {
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => undefined);
      const traceId = randomUUID();
      const refuse = (error: unknown) => {
        if (socket.writable) socket.end(rawResponse(refusal(error, traceId), traceId));
        else socket.destroy();
      };
      try {
        const target = parseTarget(request.url);
        Promise.resolve(upgrade({ target, request, remoteAddress: request.socket.remoteAddress ?? '', traceId }, socket, head)).catch(refuse);
      } catch (error) {
        refuse(error);
      }
    });
  }

  server.on('error', (error) => log.error(`${options.name}.server.error`, { message: error.message }));
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', onError);
      resolve();
    });
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `${options.tls ? 'https' : 'http'}://${host}:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
