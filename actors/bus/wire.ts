/**
 * Payloads cross the bus as JSON text on both adapters, so the in-process bus shares no mutable
 * objects and behaves exactly like NATS. `undefined` travels as an empty payload.
 */
import { PncError, toPncError } from '../../protocols/errors.ts';
import { notSerializableError } from './errors.ts';
import type { Headers } from './bus.ts';

/** How long `request` waits for a reply unless told otherwise. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;

export const EMPTY_HEADERS: Headers = Object.freeze({});

/**
 * A payload its sender already turned into JSON text: the adapters send that text as it is. The
 * identity layer signs the digest of the very text that travels, serialising the payload once.
 */
export class EncodedPayload {
  constructor(readonly text: string) {}
}

/** JSON text of a payload; throws `InvalidPayload` for values JSON cannot carry (BigInt, cycles). */
export function encodePayload(payload: unknown, what = 'payload'): string {
  if (payload === undefined) return '';
  if (payload instanceof EncodedPayload) return payload.text;
  let text: string | undefined;
  try {
    text = JSON.stringify(payload);
  } catch (error) {
    throw notSerializableError(what, error);
  }
  if (text === undefined) throw notSerializableError(what, `${typeof payload} has no JSON form`);
  return text;
}

/** Parses JSON text received from the bus; malformed text from a foreign publisher is an `InvalidPayload`. */
export function decodePayload(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new PncError('InvalidPayload', `payload is not JSON: ${(error as Error).message}`);
  }
}

/** Header names NATS (like HTTP) accepts: RFC 9110 token characters. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A private, frozen copy of caller headers; throws `InvalidArgument` for what NATS could not carry. */
export function copyHeaders(headers: Headers | undefined): Headers {
  if (!headers) return EMPTY_HEADERS;
  const copy: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name)) throw new PncError('InvalidArgument', `invalid header name ${JSON.stringify(name)}`);
    if (typeof value !== 'string' || /[\r\n]/.test(value)) throw new PncError('InvalidArgument', `header ${name} must be a string without line breaks`);
    copy[name] = value;
  }
  return Object.freeze(copy);
}

/** True for promises and other thenables a handler may return. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/** The wire form of anything a handler threw: PncError JSON, without `data` that JSON cannot carry. */
export function encodeError(thrown: unknown): { readonly code: string; readonly text: string } {
  const error = toPncError(thrown);
  let text: string;
  try {
    text = JSON.stringify(error);
  } catch {
    text = JSON.stringify(new PncError(error.code, error.message, { retryable: error.retryable }));
  }
  return { code: error.code, text };
}
