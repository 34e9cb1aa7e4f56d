/**
 * Catalogue-aware use of the Bus: payloads are validated where they enter, both ways.
 * An invalid request gets an `InvalidPayload` error reply naming the path, and the server keeps serving.
 */
import type { z } from 'zod';
import { PncError, toPncError } from '../../protocols/errors.ts';
import { COMMON_ERROR_CODES, type EventSubject, type RequestSubject, type WorkQueue } from '../../protocols/catalogue/define.ts';
import { WIRE_PAYLOAD, type Bus, type ConsumeOptions, type Delivery, type EnqueueOptions, type RequestOptions, type SubscribeOptions, type Subscription, type WorkItem } from './bus.ts';

function validate<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  // Unknown keys first: a strict request names the junk it carried before what it lacked.
  const issues = [...result.error.issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'));
  const issue = issues[0];
  const path = issue.path.length ? issue.path.join('.') : '(root)';
  throw new PncError('InvalidPayload', `${what}: ${path}: ${issue.message}`, { data: { issues: issues.slice(0, 5) } });
}

/** Warning type of an error code a subject answered without declaring it; test/run.ts fails a file that prints one. */
export const UNDECLARED_ERROR_CODE_WARNING = 'UndeclaredErrorCode';
const reportedUndeclared = new Set<string>();

/**
 * Every code a subject answers with must be in its catalogue entry (or COMMON_ERROR_CODES): callers
 * route on it. An undeclared one still reaches the caller unchanged, and is reported once per
 * subject and code as a process warning, so every test that drives the subject checks the catalogue.
 */
function checkDeclared(spec: RequestSubject, error: PncError): void {
  if (spec.errors.includes(error.code) || (COMMON_ERROR_CODES as readonly string[]).includes(error.code)) return;
  const key = `${spec.subject} ${error.code}`;
  if (reportedUndeclared.has(key)) return;
  reportedUndeclared.add(key);
  process.emitWarning(`${spec.subject} answered error code ${error.code}, which its catalogue entry does not declare (${error.message})`, { type: UNDECLARED_ERROR_CODE_WARNING });
}

/**
 * Refuses a request larger than its subject's declared limit, before any parsing of its fields: the
 * bytes as received when the adapter kept them (no second JSON.stringify of a bulk request), else its JSON.
 */
function checkSize(spec: RequestSubject, value: unknown, wire?: string | Uint8Array): void {
  const bytes = wire === undefined ? Buffer.byteLength(JSON.stringify(value) ?? '') : typeof wire === 'string' ? Buffer.byteLength(wire) : wire.byteLength;
  if (bytes > spec.maxRequestBytes) {
    throw new PncError('PayloadTooLarge', `${spec.subject} request: ${bytes} bytes, more than the ${spec.maxRequestBytes} this subject accepts`, { data: { bytes, limit: spec.maxRequestBytes } });
  }
}

export function serveSubject<S extends RequestSubject>(
  bus: Bus,
  spec: S,
  handler: (request: z.output<S['request']>, delivery: Delivery) => Promise<z.input<S['reply']>> | z.input<S['reply']>,
  options?: SubscribeOptions,
): Promise<Subscription> {
  return bus.serve(spec.subject, async (raw, delivery) => {
    checkSize(spec, raw, delivery[WIRE_PAYLOAD]);
    const request = validate(spec.request, raw, `${spec.subject} request`) as z.output<S['request']>;
    try {
      return validate(spec.reply, await handler(request, delivery), `${spec.subject} reply`);
    } catch (error) {
      const answered = toPncError(error);
      checkDeclared(spec, answered);
      throw answered;
    }
  }, options);
}

export async function requestSubjectReply<S extends RequestSubject>(bus: Bus, spec: S, request: z.input<S['request']>, options?: RequestOptions): Promise<z.output<S['reply']>> {
  checkSize(spec, request);
  const reply = await bus.request(spec.subject, validate(spec.request, request, `${spec.subject} request`), options);
  return validate(spec.reply, reply, `${spec.subject} reply`) as z.output<S['reply']>;
}

export async function publishEvent<S extends EventSubject>(bus: Bus, spec: S, payload: z.input<S['payload']>, subject = spec.subject): Promise<void> {
  await bus.publish(subject, validate(spec.payload, payload, `${spec.subject} event`));
}

export async function enqueueWork<S extends WorkQueue>(bus: Bus, spec: S, payload: z.input<S['payload']>, options?: EnqueueOptions): Promise<void> {
  await bus.enqueue(spec.queue, validate(spec.payload, payload, `${spec.queue} work`), options);
}

/** An invalid work item is dead-lettered at once (non-retryable), never silently dropped. */
export function consumeWork<S extends WorkQueue>(bus: Bus, spec: S, handler: (payload: z.output<S['payload']>, item: WorkItem) => Promise<void>, options: ConsumeOptions): Promise<Subscription> {
  return bus.consume(spec.queue, async (item) => handler(validate(spec.payload, item.payload, `${spec.queue} work`) as z.output<S['payload']>, item), options);
}

/**
 * Subscribes to a catalogue event with its payload validated: an invalid event is reported to
 * `onInvalid` and dropped (hostile input is normal input), never handed on as a cast.
 */
export function subscribeEvent<S extends EventSubject>(bus: Bus, spec: S, handler: (payload: z.output<S['payload']>, delivery: Delivery) => Promise<void> | void, onInvalid: (error: PncError) => void, options?: SubscribeOptions): Promise<Subscription> {
  return bus.subscribe(spec.subject, async (delivery) => {
    let payload: z.output<S['payload']>;
    try {
      payload = validate(spec.payload, delivery.payload, `${spec.subject} event`) as z.output<S['payload']>;
    } catch (error) {
      onInvalid(toPncError(error));
      return;
    }
    await handler(payload, delivery);
  }, options);
}
