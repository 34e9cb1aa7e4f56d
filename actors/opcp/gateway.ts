/**
 * The OPCP gateway: Hubject's OPCP 1.0 REST paths for RCP, PCP, CPS and CCP over HTTP, mapped onto
 * the bus. A CPO backend written for Hubject (CitrineOS, MaEVe, EVerest's OPCP client) uses our pools
 * by changing its base URL and credentials: same paths, methods, JSON field names, status codes and
 * error body `{errorMessages, traceId}`. `POST /oauth/token` issues OAuth2 client-credential tokens
 * (JSON or form-encoded, audience optional); every other route needs `Authorization: Bearer`.
 * Requests are routed and validated with the OpenAPI files themselves (./spec).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { PncError, toPncError } from '../../protocols/errors.ts';
import type { Bus } from '../bus/bus.ts';
import type { Caller } from '../../protocols/catalogue/caller.ts';
import type { Store } from '../store/store.ts';
import type { Logger } from '../host/participant.ts';
import { OAuthService, serveClientRegistration, type OAuthOptions } from './auth.ts';
import { loadOpcpApis, type OpcpService } from './spec.ts';
import { OPCP_ROUTES, httpStatusOf } from './routes.ts';
import { errorBody } from './errors.ts';

export const DEFAULT_OPCP_PORT = 7080;
const MAX_BODY_BYTES = 1 << 20;
const ROUTED_SERVICES: readonly OpcpService[] = ['rcp', 'pcp', 'ccp', 'cps'];

export interface OpcpGatewayOptions extends OAuthOptions {
  /** With `actingFor` (an IdentifiedBus) each call carries the token's identity; without it the pools see none and refuse. */
  readonly bus: Bus & { actingFor?(caller: Caller): Bus };
  readonly store: Store;
  readonly log: Logger;
  /** 0 picks a free port. @default 7080 */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
}

export interface OpcpGateway {
  /** Base URL, e.g. `http://127.0.0.1:7080`. */
  readonly url: string;
  readonly port: number;
  readonly oauth: OAuthService;
  close(): Promise<void>;
}

interface Answer {
  readonly status: number;
  readonly body?: unknown;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new PncError('PayloadTooLarge', `request body over ${MAX_BODY_BYTES} bytes`));
        request.destroy();
      } else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function parseBody(raw: string, contentType: string | undefined): unknown {
  if (raw.length === 0) return undefined;
  if (contentType?.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(raw));
  try {
    return JSON.parse(raw);
  } catch {
    throw new PncError('InvalidJson', 'the request body is not valid JSON');
  }
}

/** Starts the gateway on the bus and store; the pools it fronts must be running on the same bus. */
export async function startOpcpGateway(options: OpcpGatewayOptions): Promise<OpcpGateway> {
  const { bus, log } = options;
  const apis = await loadOpcpApis();
  const oauth = new OAuthService(options.store, options);

  // One regular expression per operation path, built once; static paths before parameterised ones.
  const table = ROUTED_SERVICES.flatMap((service) =>
    apis[service].getOperations().map((operation) => {
      const names: string[] = [];
      const pattern = operation.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_, name: string) => (names.push(name), '([^/]+)'));
      return { service, api: apis[service], operation, method: operation.method.toLowerCase(), regex: new RegExp(`^${pattern}/?$`), names };
    }),
  ).sort((a, b) => a.names.length - b.names.length);

  function match(method: string, path: string) {
    for (const entry of table) {
      if (entry.method !== method) continue;
      const found = entry.regex.exec(path);
      if (!found) continue;
      const params = Object.fromEntries(entry.names.map((name, i) => [name, decodeURIComponent(found[i + 1])]));
      return { ...entry, operationId: entry.operation.operationId!, params };
    }
    return undefined;
  }

  async function token(body: unknown): Promise<Answer> {
    const validation = apis.accessToken.validateRequest({ method: 'post', path: '/oauth/token', headers: { 'content-type': 'application/json' }, body: body ?? {} });
    if (!validation.valid) return { status: 400, body: { error: 'invalid_request', error_description: validation.errors?.map((e) => `${e.instancePath} ${e.message}`).join('; ') || 'invalid request' } };
    try {
      return { status: 200, body: await oauth.issueToken(body as Record<string, string>) };
    } catch (error) {
      const e = toPncError(error);
      if (e.code === 'invalid_client') return { status: 401, body: { error: 'invalid_client', error_description: e.message } };
      if (e.code === 'unsupported_grant_type') return { status: 400, body: { error: 'unsupported_grant_type', error_description: e.message } };
      throw e;
    }
  }

  async function route(request: IncomingMessage, url: URL, body: unknown, traceId: string): Promise<Answer> {
    const method = (request.method ?? 'GET').toLowerCase();
    if (method === 'post' && url.pathname === '/oauth/token') return token(body);
    if (method === 'get' && url.pathname === '/.well-known/jwks.json') return { status: 200, body: await oauth.jwks() };
    const found = match(method, url.pathname);
    if (!found) return { status: 404, body: errorBody([`no OPCP operation ${method.toUpperCase()} ${url.pathname}`], traceId) };
    const routeSpec = OPCP_ROUTES[found.operationId];
    if (!routeSpec) return { status: 501, body: errorBody([`${found.operationId} is not implemented by this pool`], traceId) };

    // MaEVe sends the token both as Bearer and as x-api-key; either is accepted.
    const authorization = request.headers.authorization;
    const bearer = authorization?.match(/^Bearer\s+(.+)$/i)?.[1] ?? (request.headers['x-api-key'] as string | undefined);
    if (!bearer) return { status: 401, body: errorBody(['missing bearer token'], traceId) };
    const caller = await oauth.verifyToken(bearer.trim());
    if (!routeSpec.roles.includes(caller.role)) return { status: 403, body: errorBody([`role ${caller.role.toUpperCase()} may not call ${found.operationId}`], traceId) };

    const query = Object.fromEntries(url.searchParams);
    const parsedRequest = { method, path: url.pathname, query, headers: request.headers as Record<string, string | string[]>, body };
    const validation = found.api.validateRequest(parsedRequest, found.operation);
    if (!validation.valid) {
      return { status: 400, body: errorBody((validation.errors ?? []).map((e) => `${e.instancePath || '(request)'} ${e.message ?? 'is invalid'}`), traceId) };
    }
    const params = found.params;
    const reply = await routeSpec.handle({ caller, params, query, headers: request.headers, body, bus: bus.actingFor ? bus.actingFor(caller) : bus });
    return reply;
  }

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const traceId = randomUUID();
    const started = Date.now();
    const url = new URL(request.url ?? '/', 'http://opcp.invalid');
    void (async (): Promise<Answer> => {
      try {
        const body = parseBody(await readBody(request), request.headers['content-type']);
        return await route(request, url, body, traceId);
      } catch (error) {
        const e = toPncError(error);
        const status = httpStatusOf(e.code);
        if (status >= 500) log.error('opcp.request.failed', { traceId, code: e.code, message: e.message });
        return { status, body: errorBody([e.message], traceId) };
      }
    })().then((answer) => {
      const payload = answer.body === undefined ? '' : JSON.stringify(answer.body);
      response.writeHead(answer.status, {
        ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : { 'content-length': 0 }),
        'x-trace-id': traceId,
      });
      response.end(payload);
      log.info('opcp.request', { method: request.method, path: url.pathname, status: answer.status, ms: Date.now() - started, traceId });
    });
  });
  // Longer than clients' own idle timeouts (undici 4 s, load balancers 60 s), so a client never sends on a connection the server is closing.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_OPCP_PORT, options.host ?? '127.0.0.1', () => resolve());
  });
  // `openpnc opcp client add --nats URL` registers clients through the gateway on that bus.
  const registration = await serveClientRegistration(bus, oauth, log).catch((error: unknown) => {
    server.close();
    throw error;
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    port,
    oauth,
    close: async () => {
      await registration.unsubscribe();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
