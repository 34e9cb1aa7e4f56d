/**
 * The OPCP 1.0 OpenAPI files (copied as data in ./spec, see ./spec/SOURCES.md), loaded with the
 * corrections that make them usable for routing and validation. The gateway routes and validates
 * requests with them; the conformance tests validate responses with them.
 */
import { readFileSync } from 'node:fs';
import { OpenAPIBackend, type Document, type Operation, type ParsedRequest } from 'openapi-backend';
import type { ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';

export const OPCP_SPEC_FILES = ['accessToken', 'rcp', 'pcp', 'ccp', 'cps'] as const;
export type OpcpService = (typeof OPCP_SPEC_FILES)[number];

type Json = Record<string, unknown>;

/**
 * Defects of the published files, corrected at load time. Each entry says why; nothing else is changed.
 */
export const OPCP_ERRATA: readonly { readonly file: OpcpService; readonly why: string; readonly apply: (doc: Json) => void }[] = [
  ...(['rcp', 'pcp', 'ccp'] as const).map((file) => ({
    file,
    why: 'the 404 Error schema points at "./cps.v1.json#/components/schemas/Error"; every file defines the same Error locally',
    apply: (doc: Json) => rewriteRefs(doc, './cps.v1.json#/components/schemas/Error', '#/components/schemas/Error'),
  })),
  {
    file: 'rcp',
    why: 'RootCertV2 declares minProperties 1 / maxProperties 1, which rejects its own examples (a root has at least caCertificate and rootType)',
    apply: (doc) => {
      const root = schemas(doc).RootCertV2 as Json;
      delete root.minProperties;
      delete root.maxProperties;
    },
  },
  {
    file: 'ccp',
    why: 'LookupContractResponse swaps the patterns of cpsRootCertificateDN (UUID) and cpsV2GRootCertificateFingerprint (DN)',
    apply: (doc) => {
      const item = ((schemas(doc).LookupContractResponse as Json).properties as Json).XMLContracts as Json;
      const props = (item.items as Json).properties as Json;
      const dn = props.cpsRootCertificateDN as Json;
      const fingerprint = props.cpsV2GRootCertificateFingerprint as Json;
      [dn.pattern, fingerprint.pattern] = [fingerprint.pattern, dn.pattern];
    },
  },
  {
    file: 'rcp',
    why: 'PUT /v1/root/rootCerts declares only 200; a refused root gets 400 (Error), a missing token 401 and a non-admin 403, as every other operation declares',
    apply: (doc) => {
      const put = ((doc.paths as Json)['/v1/root/rootCerts'] as Json).put as Json;
      const error = { description: 'Bad Request', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
      put.responses = { ...(put.responses as Json), 400: error, 401: { description: 'Unauthorized' }, 403: { description: 'Forbidden' } };
    },
  },
  {
    file: 'accessToken',
    why: 'clients send the token request form-encoded (CitrineOS) and without audience (MaEVe); OAuth2 (RFC 6749 §4.4) allows both',
    apply: (doc) => {
      const post = ((doc.paths as Json)['/oauth/token'] as Json).post as Json;
      const content = (post.requestBody as Json).content as Json;
      const schema = structuredClone((content['application/json'] as Json).schema as Json);
      schema.required = ['grant_type'];
      content['application/json'] = { schema };
      content['application/x-www-form-urlencoded'] = { schema };
    },
  },
];

function schemas(doc: Json): Json {
  return (doc.components as Json).schemas as Json;
}

function rewriteRefs(node: unknown, from: string, to: string): void {
  if (Array.isArray(node)) {
    for (const item of node) rewriteRefs(item, from, to);
  } else if (node && typeof node === 'object') {
    const obj = node as Json;
    if (obj.$ref === from) obj.$ref = to;
    for (const value of Object.values(obj)) rewriteRefs(value, from, to);
  }
}

/** One OPCP OpenAPI document, as published plus OPCP_ERRATA. */
export function loadOpcpDocument(file: OpcpService): Document {
  const doc = JSON.parse(readFileSync(new URL(`./spec/${file}.v1.json`, import.meta.url), 'utf8')) as Json;
  for (const erratum of OPCP_ERRATA) if (erratum.file === file) erratum.apply(doc);
  return doc as unknown as Document;
}

let loaded: Promise<Record<OpcpService, OpenAPIBackend>> | undefined;

/**
 * An initialised openapi-backend per OPCP file, with format checks (uuid, date-time, uri) on. Built once
 * per process (compiling the schemas takes a while) and shared: the instances hold no per-request state.
 */
export function loadOpcpApis(): Promise<Record<OpcpService, OpenAPIBackend>> {
  loaded ??= buildOpcpApis();
  return loaded;
}

async function buildOpcpApis(): Promise<Record<OpcpService, OpenAPIBackend>> {
  const entries = await Promise.all(
    OPCP_SPEC_FILES.map(async (file) => {
      const api = new OpenAPIBackend({
        definition: loadOpcpDocument(file),
        strict: false,
        validate: true,
        // Validators compile on first use: the gateway needs the request side only, the tests the responses too.
        quick: true,
        coerceTypes: true,
        // The published patterns use `\-`, which is not valid in a Unicode-mode RegExp.
        ajvOpts: { unicodeRegExp: false },
        customizeAjv: (ajv) => {
          addFormats.default(ajv);
          return ajv;
        },
      });
      await api.init();
      return [file, api] as const;
    }),
  );
  return Object.fromEntries(entries) as Record<OpcpService, OpenAPIBackend>;
}

/** A request as the gateway has it: path parameters decoded, query parsed, body parsed from JSON. */
export interface CheckedRequest {
  readonly method: string;
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string | string[]>>;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: unknown;
}

/** Validation errors (Ajv's), or null when the request is valid. */
export type RequestCheck = (request: CheckedRequest) => ErrorObject[] | null;

/**
 * The request check of one operation, built once: the operation's precompiled validators (the same
 * ones openapi-backend's validateRequest runs) called with the parts the gateway has already parsed,
 * instead of validateRequest re-parsing the request (path template, query copy, cookies) on every call.
 * openapi-backend's own path is kept for what it treats specially and the gateway does not parse the
 * same way: array, JSON-content or non-exploded query parameters, cookie parameters, and bodies that
 * are not objects (it parses a JSON string body once more).
 */
export function requestCheck(api: OpenAPIBackend, operation: Operation): RequestCheck {
  const generic: RequestCheck = ({ method, path, query, headers, body }) =>
    api.validateRequest({ method, path, query, headers: headers as ParsedRequest['headers'], body }, operation).errors ?? null;
  const parameters = (operation.parameters ?? []) as unknown as Record<string, unknown>[];
  const special = parameters.some((parameter) => '$ref' in parameter || parameter.in === 'cookie' || (parameter.in === 'query' && ('content' in parameter || parameter.explode === false || (parameter.schema as { type?: unknown } | undefined)?.type === 'array')));
  if (special) return generic;
  const validators = api.validator.getRequestValidatorsForOperation(operation.operationId!) ?? [];
  return (request) => {
    const { body, headers } = request;
    if (typeof body !== 'object' && body !== undefined) return generic(request);
    const contentType = String((Array.isArray(headers['content-type']) ? headers['content-type'][0] : headers['content-type']) ?? '').split(';')[0].trim().toLowerCase();
    // Copies: with coerceTypes the validators rewrite the values they check.
    const input: Record<string, unknown> = {
      path: { ...request.params },
      query: Object.fromEntries(Object.entries(request.query).map(([name, value]) => [name, Array.isArray(value) ? [...value] : value])),
      header: { ...headers },
      cookie: {},
    };
    if (typeof body === 'object' || contentType === 'application/json') input.requestBody = body;
    const errors: ErrorObject[] = [];
    for (const validate of validators) {
      validate(input);
      if (validate.errors) errors.push(...validate.errors);
    }
    return errors.length ? errors : null;
  };
}
