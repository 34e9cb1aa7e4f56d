import { randomUUID } from 'node:crypto';

/** The OPCP error body (cps.v1.json `Error`): unique messages, at least one, and a trace id. */
export function errorBody(messages: readonly string[], traceId: string = randomUUID()) {
  return { errorMessages: [...new Set(messages.length ? messages : ['error'])], traceId };
}
