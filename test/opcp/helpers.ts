// Test helper: the pools (RCP, PCP, CCP; optionally the V2G root and CPS participants) behind the OPCP
// gateway on the embedded defaults, OAuth clients for every role, and a checker that validates each
// request and response against the OPCP OpenAPI files with openapi-backend (ajv + formats).
import * as assert from 'uvu/assert';
import type { OpenAPIBackend } from 'openapi-backend';
import { startRcp } from '../../actors/participants/rcp.ts';
import { startPcp } from '../../actors/participants/pcp.ts';
import { startCcp } from '../../actors/participants/ccp.ts';
import { v2gRootParticipant } from '../../actors/participants/v2g-root.ts';
import { cpsParticipant } from '../../actors/participants/cps.ts';
import { startOpcpGateway, type OpcpGateway } from '../../actors/opcp/gateway.ts';
import { loadOpcpApis, type OpcpService } from '../../actors/opcp/spec.ts';
import type { OAuthRole } from '../../actors/opcp/auth.ts';
import type { RunningParticipant } from '../../actors/host/participant.ts';
import { openEmbedded, type Embedded } from '../pools/helpers.ts';

export const CLIENTS = {
  admin: ['admin', []],
  oem: ['oem', ['OPN']],
  otherOem: ['oem', ['XYZ']],
  moA: ['mo', ['DEOPN']],
  moB: ['mo', ['DEXYZ']],
  cpo: ['cpo', []],
  cps: ['cps', []],
} as const satisfies Record<string, readonly [OAuthRole, readonly string[]]>;
export type ClientName = keyof typeof CLIENTS;

export interface HttpAnswer {
  readonly status: number;
  readonly body: any;
  readonly headers: Headers;
}

export interface Stack {
  readonly env: Embedded;
  readonly gateway: OpcpGateway;
  readonly tokens: Record<ClientName, string>;
  readonly credentials: Record<ClientName, { client_id: string; client_secret: string }>;
  /** Operation ids whose response was validated against the spec. */
  readonly covered: Set<string>;
  /** Sends a request as `who` (a client name, a raw token, or null for none) and checks both sides against the spec. */
  call(who: ClientName | { token: string } | null, method: string, path: string, options?: { body?: unknown; headers?: Record<string, string> }): Promise<HttpAnswer>;
  stop(): Promise<void>;
}

let apis: Record<OpcpService, OpenAPIBackend> | undefined;

/** Asserts the request and the response conform to the operation's OpenAPI description. */
export async function conform(method: string, path: string, request: { body?: unknown; headers?: Record<string, string> }, answer: HttpAnswer): Promise<string | undefined> {
  apis ??= await loadOpcpApis();
  const url = new URL(path, 'http://x');
  for (const service of ['rcp', 'pcp', 'ccp', 'cps'] as const) {
    const api = apis[service];
    const operation = api.router.matchOperation({ method: method.toLowerCase(), path: url.pathname, headers: {} });
    if (!operation) continue;
    const declared = Object.keys(operation.responses ?? {});
    // 401/403 are declared by nearly every operation; where the spec forgot them they are still the auth answer.
    if (![401, 403].includes(answer.status)) assert.ok(declared.includes(String(answer.status)), `${operation.operationId}: status ${answer.status} is not declared (${declared.join(', ')})`);
    if (answer.status < 300) {
      const req = { method: method.toLowerCase(), path: url.pathname, query: Object.fromEntries(url.searchParams), headers: { 'content-type': 'application/json', ...request.headers }, body: request.body };
      const checked = api.validateRequest(req, operation);
      assert.ok(checked.valid, `${operation.operationId} request: ${JSON.stringify(checked.errors)}`);
    }
    if (answer.body !== undefined && answer.body !== '') {
      const checked = api.validator.validateResponse(answer.body, operation, answer.status);
      assert.ok(checked.valid, `${operation.operationId} ${answer.status} response: ${JSON.stringify(checked.errors)}`);
    }
    if (answer.status >= 400 && answer.body && !answer.body.CCPResponse) {
      // Every error carries the OPCP Error body.
      const error = api.validator.validateResponse(answer.body, { ...operation, responses: { [answer.status]: { description: 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } } } } as never, answer.status);
      assert.ok(error.valid && Array.isArray(answer.body.errorMessages) && typeof answer.body.traceId === 'string', `${operation.operationId} ${answer.status}: not an Error body: ${JSON.stringify(answer.body)}`);
    }
    return operation.operationId;
  }
  return undefined;
}

/** Starts the stack; `withCps` adds the V2G root CA and CPS participants behind `/v1/cps/…`. */
export async function startStack(options: { withCps?: boolean; tokenTtlSeconds?: number } = {}): Promise<Stack> {
  const env = await openEmbedded();
  const running: { stop(): Promise<void> }[] = [];
  running.push(await startRcp(env.bus, env.store, env.log), await startPcp(env.bus, env.store, env.log), await startCcp(env.bus, env.store, env.log));
  if (options.withCps) {
    const context = (name: string) => ({ bus: env.participant(name), store: env.store, log: env.log, dataDir: env.dir, config: {} });
    const partners: RunningParticipant[] = [await v2gRootParticipant.start(context('v2g-root'))];
    partners.push(await cpsParticipant.start(context('cps')));
    running.push(...partners);
  }
  const gateway = await startOpcpGateway({ bus: env.gatewayBus, store: env.store, log: env.log, port: 0, ...(options.tokenTtlSeconds ? { tokenTtlSeconds: options.tokenTtlSeconds } : {}) });
  const credentials = {} as Stack['credentials'];
  const tokens = {} as Stack['tokens'];
  for (const [name, [role, prefixes]] of Object.entries(CLIENTS) as [ClientName, (typeof CLIENTS)[ClientName]][]) {
    credentials[name] = await gateway.oauth.addClient(role, prefixes);
    tokens[name] = (await gateway.oauth.issueToken({ ...credentials[name], grant_type: 'client_credentials' })).access_token;
  }
  const covered = new Set<string>();
  return {
    env,
    gateway,
    tokens,
    credentials,
    covered,
    async call(who, method, path, request = {}) {
      const token = who === null ? undefined : typeof who === 'string' ? tokens[who] : who.token;
      const response = await fetch(`${gateway.url}${path}`, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(request.body === undefined ? {} : { 'content-type': 'application/json' }), ...request.headers },
        ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
      });
      const text = await response.text();
      const answer = { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
      const operationId = await conform(method, path, request, answer);
      if (operationId && answer.status < 300) covered.add(operationId);
      return answer;
    },
    async stop() {
      await gateway.close();
      for (const participant of running.reverse()) await participant.stop();
      await env.close();
    },
  };
}
