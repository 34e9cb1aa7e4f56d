/**
 * The OPCP gateway: Hubject's OPCP 1.0 REST paths for RCP, PCP, CPS and CCP over HTTP, mapped onto
 * the bus. A CPO backend written for Hubject (CitrineOS, MaEVe, EVerest's OPCP client) uses our pools
 * by changing its base URL and credentials: same paths, methods, JSON field names, status codes and
 * error body `{errorMessages, traceId}`. `POST /oauth/token` issues OAuth2 client-credential tokens
 * (JSON or form-encoded, audience optional); every other route needs `Authorization: Bearer`.
 * Requests are routed and validated with the OpenAPI files themselves (./spec).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { PncError, toPncError } from '../../protocols/errors.ts';
import type { Bus } from '../bus/bus.ts';
import type { Caller } from '../../protocols/catalogue/caller.ts';
import type { Store } from '../store/store.ts';
import type { Logger } from '../host/participant.ts';
import { EdgeError, decodePercent, parseFormEncoded, startHttpEdge, type EdgeLimits, type EdgeReply, type EdgeRequest } from '../edge/http.ts';
import { OAuthService, serveClientRegistration, type OAuthOptions } from './auth.ts';
import { loadOpcpApis, requestCheck, type OpcpService } from './spec.ts';
import { OPCP_ROUTES, httpStatusOf } from './routes.ts';
import { errorBody } from './errors.ts';

export const DEFAULT_OPCP_PORT = 7080;
const ROUTED_SERVICES: readonly OpcpService[] = ['rcp', 'pcp', 'ccp', 'cps'];
/**
 * Body fields that would name a caller. Identity comes only from the verified token: a body
 * carrying one is refused (400) rather than silently dropped, so a confused client hears of it.
 */
const IDENTITY_FIELDS = ['caller'] as const;

export interface OpcpGatewayOptions extends OAuthOptions {
  /** With `actingFor` (an IdentifiedBus) each call carries the token's identity; without it the pools see none and refuse. */
  readonly bus: Bus & { actingFor?(caller: Caller): Bus };
  readonly store: Store;
  readonly log: Logger;
  /** 0 picks a free port. @default 7080 */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Size limits and timeouts of the HTTP edge. */
  readonly limits?: Partial<EdgeLimits>;
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
  readonly headers?: Readonly<Record<string, string | number>>;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Strict UTF-8; shared, since a decode without `stream` starts from a fresh state each call. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** JSON for every route; form encoding also for the token endpoint (RFC 6749 §4.4.2). No content type is taken as JSON. */
function parseBody(raw: Buffer, contentType: string | undefined, formAllowed: boolean): unknown {
  if (raw.length === 0) return undefined;
  const mediaType = contentType?.split(';')[0].trim().toLowerCase();
  if (formAllowed && mediaType === 'application/x-www-form-urlencoded') return parseFormEncoded(raw.toString('utf8'), 'form body');
  if (mediaType !== undefined && mediaType !== 'application/json' && !mediaType.endsWith('+json')) {
    throw new EdgeError('UnsupportedMediaType', `content type ${mediaType} is not accepted: send application/json`);
  }
  try {
    return JSON.parse(UTF8.decode(raw));
  } catch {
    throw new PncError('InvalidJson', 'the request body is not valid JSON (UTF-8)');
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
      return { service, operation, operationId: operation.operationId!, check: requestCheck(apis[service], operation), method: operation.method.toLowerCase(), regex: new RegExp(`^${pattern}/?$`), names };
    }),
  ).sort((a, b) => a.names.length - b.names.length);
  // Paths without parameters by method and exact path (with and without the trailing `/` the
  // expression allows): found without a regular expression; the first entry of the table wins, as before.
  const exact = new Map<string, (typeof table)[number]>();
  for (const entry of table) {
    if (entry.names.length) continue;
    for (const path of [entry.operation.path, `${entry.operation.path}/`]) if (!exact.has(`${entry.method} ${path}`)) exact.set(`${entry.method} ${path}`, entry);
  }
  const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

  function match(method: string, path: string) {
    const entry = exact.get(`${method} ${path}`);
    if (entry) return { entry, params: NO_PARAMS };
    for (const entry of table) {
      if (entry.method !== method) continue;
      const found = entry.regex.exec(path);
      if (!found) continue;
      const params = Object.fromEntries(entry.names.map((name, i) => [name, decodePercent(found[i + 1], name)]));
      return { entry, params };
    }
    return undefined;
  }

  async function token(body: unknown, source: string): Promise<Answer> {
    const validation = apis.accessToken.validateRequest({ method: 'post', path: '/oauth/token', headers: { 'content-type': 'application/json' }, body: body ?? {} });
    if (!validation.valid) return { status: 400, body: { error: 'invalid_request', error_description: validation.errors?.map((e) => `${e.instancePath} ${e.message}`).join('; ') || 'invalid request' } };
    try {
      return { status: 200, body: await oauth.issueToken(body as Record<string, string>, undefined, source) };
    } catch (error) {
      const e = toPncError(error);
      if (e.code === 'invalid_client') return { status: 401, body: { error: 'invalid_client', error_description: e.message } };
      if (e.code === 'unsupported_grant_type') return { status: 400, body: { error: 'unsupported_grant_type', error_description: e.message } };
      throw e;
    }
  }

  async function route(request: EdgeRequest): Promise<Answer> {
    const { target, headers, traceId } = request;
    const method = request.method.toLowerCase();
    const path = target.path;
    const isToken = method === 'post' && path === '/oauth/token';
    const body = parseBody(request.body, header(headers, 'content-type'), isToken);
    if (isToken) return token(body, request.remoteAddress);
    if (method === 'get' && path === '/.well-known/jwks.json') return { status: 200, body: await oauth.jwks() };
    const found = match(method, path);
    if (!found) return { status: 404, body: errorBody([`no OPCP operation ${method.toUpperCase()} ${path}`], traceId) };
    const { operationId } = found.entry;
    const routeSpec = OPCP_ROUTES[operationId];
    if (!routeSpec) return { status: 501, body: errorBody([`${operationId} is not implemented by this pool`], traceId) };

    // MaEVe sends the token both as Bearer and as x-api-key; either is accepted.
    const bearer = header(headers, 'authorization')?.match(/^Bearer\s+(.+)$/i)?.[1] ?? header(headers, 'x-api-key');
    if (!bearer) return { status: 401, body: errorBody(['missing bearer token'], traceId) };
    const caller = await oauth.verifyToken(bearer.trim());
    if (!routeSpec.roles.includes(caller.role)) return { status: 403, body: errorBody([`role ${caller.role.toUpperCase()} may not call ${operationId}`], traceId) };

    const query = target.query;
    const errors = found.entry.check({ method, path, params: found.params, query, headers, body });
    if (errors) return { status: 400, body: errorBody(errors.map((e) => `${e.instancePath || '(request)'} ${e.message ?? 'is invalid'}`), traceId) };
    const named = body !== null && typeof body === 'object' ? IDENTITY_FIELDS.filter((field) => Object.hasOwn(body, field)) : [];
    if (named.length) return { status: 400, body: errorBody([`the body may not carry ${named.join(', ')}: the caller is the token's client`], traceId) };
    return routeSpec.handle({ caller, params: found.params, query, headers, body, bus: bus.actingFor ? bus.actingFor(caller) : bus });
  }

  const edge = await startHttpEdge({
    name: 'opcp',
    log,
    port: options.port ?? DEFAULT_OPCP_PORT,
    host: options.host ?? '127.0.0.1',
    ...(options.limits ? { limits: options.limits } : {}),
    statusOf: (error) => httpStatusOf(error.code),
    errorReply: (error, status, traceId) => jsonReply({ status, body: errorBody([error.message], traceId), ...retryAfter(error) }),
    handle: async (request) => jsonReply(await route(request)),
  });
  // `openpnc opcp client add --nats URL` registers clients through the gateway on that bus.
  const registration = await serveClientRegistration(bus, oauth, log).catch(async (error: unknown) => {
    await edge.close();
    throw error;
  });
  return {
    url: edge.url,
    port: edge.port,
    oauth,
    close: async () => {
      await registration.unsubscribe();
      await edge.close();
    },
  };
}

const JSON_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'content-type': 'application/json' });

function jsonReply(answer: Answer): EdgeReply {
  if (answer.body === undefined) return { status: answer.status, headers: answer.headers ?? {} };
  return { status: answer.status, headers: answer.headers ? { ...answer.headers, ...JSON_HEADERS } : JSON_HEADERS, body: JSON.stringify(answer.body) };
}

/** RFC 6585 §4: a 429 says when to try again. */
function retryAfter(error: PncError): { headers?: Record<string, number> } {
  const seconds = (error.data as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  return typeof seconds === 'number' ? { headers: { 'retry-after': seconds } } : {};
}
