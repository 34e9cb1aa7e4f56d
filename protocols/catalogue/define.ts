/**
 * The typed subject catalogue: one place declares each participant's subjects, payload schemas
 * and error codes, the way an EVerest interface file does. Adapters validate payloads where
 * they enter (actors/bus/typed.ts) and answer anything invalid with a typed error.
 */
import { z } from 'zod';

/** Error codes every subject may answer with, besides the ones it declares. */
export const COMMON_ERROR_CODES = ['InvalidPayload', 'PayloadTooLarge', 'UnknownSubject', 'Timeout', 'NoResponders', 'Forbidden', 'Unauthenticated', 'Internal'] as const;

/** Size limits of a request (its JSON, in bytes), checked by the typed bus before the schema. */
export const REQUEST_BYTES = {
  /** Identifiers, flags, short text. */
  default: 16 * 1024,
  /** A certificate, a short chain, a CSR, an OCSP request. */
  certificates: 64 * 1024,
  /** EXI messages and signed contract data (chains, encrypted keys, XML signatures). */
  exi: 256 * 1024,
  /** A bulk upload: up to a few hundred certificates in one request (NATS carries 1 MiB). */
  bulk: 512 * 1024,
} as const;

export interface RequestSubject<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType, Code extends string = string> {
  readonly kind: 'request';
  /** Full subject, for example `pcp.chain.get`. */
  readonly subject: string;
  readonly summary: string;
  readonly request: Req;
  readonly reply: Res;
  readonly errors: readonly Code[];
  /** Largest request accepted (JSON bytes); REQUEST_BYTES.default unless declared. */
  readonly maxRequestBytes: number;
}

export interface EventSubject<Payload extends z.ZodType = z.ZodType> {
  readonly kind: 'event';
  readonly subject: string;
  readonly summary: string;
  readonly payload: Payload;
}

/** Durable work: stored before acknowledged, delivered at least once, de-duplicated by id. */
export interface WorkQueue<Payload extends z.ZodType = z.ZodType> {
  readonly kind: 'work';
  readonly queue: string;
  readonly summary: string;
  readonly payload: Payload;
}

export type RequestOf<S extends RequestSubject> = z.input<S['request']>;
export type ReplyOf<S extends RequestSubject> = z.output<S['reply']>;
export type PayloadOf<S extends EventSubject | WorkQueue> = z.output<S['payload']>;

/**
 * Declares a request subject. Its request schema is strict: an unknown key is refused with
 * InvalidPayload instead of being dropped, so junk cannot ride along with a valid request.
 */
export function requestSubject<Req extends z.ZodType, Res extends z.ZodType, Code extends string>(
  spec: Omit<RequestSubject<Req, Res, Code>, 'kind' | 'maxRequestBytes'> & { maxRequestBytes?: number },
): RequestSubject<Req, Res, Code> {
  return { kind: 'request', ...spec, request: strict(spec.request), maxRequestBytes: spec.maxRequestBytes ?? REQUEST_BYTES.default };
}

/** The same schema refusing unknown keys at its top level (refinements and defaults kept). */
function strict<S extends z.ZodType>(schema: S): S {
  return schema instanceof z.ZodObject ? (schema.strict() as unknown as S) : schema;
}

export function eventSubject<Payload extends z.ZodType>(spec: Omit<EventSubject<Payload>, 'kind'>): EventSubject<Payload> {
  return { kind: 'event', ...spec };
}

export function workQueue<Payload extends z.ZodType>(spec: Omit<WorkQueue<Payload>, 'kind'>): WorkQueue<Payload> {
  return { kind: 'work', ...spec };
}

/** A participant's declared interface: everything it serves, emits and consumes. */
export interface ParticipantInterface {
  readonly participant: string;
  readonly summary: string;
  readonly requests: Readonly<Record<string, RequestSubject>>;
  readonly events?: Readonly<Record<string, EventSubject>>;
  readonly work?: Readonly<Record<string, WorkQueue>>;
}

export function participantInterface<I extends ParticipantInterface>(spec: I): I {
  return spec;
}
