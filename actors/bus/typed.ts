/**
 * Catalogue-aware use of the Bus: payloads are validated where they enter, both ways.
 * An invalid request gets an `InvalidPayload` error reply naming the path, and the server keeps serving.
 */
import type { z } from 'zod';
import { PncError, toPncError } from '../../protocols/errors.ts';
import type { EventSubject, RequestSubject, WorkQueue } from '../../protocols/catalogue/define.ts';
import type { Bus, ConsumeOptions, Delivery, EnqueueOptions, RequestOptions, SubscribeOptions, Subscription, WorkItem } from './bus.ts';

function validate<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue.path.length ? issue.path.join('.') : '(root)';
  throw new PncError('InvalidPayload', `${what}: ${path}: ${issue.message}`, { data: { issues: result.error.issues.slice(0, 5) } });
}

export function serveSubject<S extends RequestSubject>(
  bus: Bus,
  spec: S,
  handler: (request: z.output<S['request']>, delivery: Delivery) => Promise<z.input<S['reply']>> | z.input<S['reply']>,
  options?: SubscribeOptions,
): Promise<Subscription> {
  return bus.serve(spec.subject, async (raw, delivery) => {
    const request = validate(spec.request, raw, `${spec.subject} request`) as z.output<S['request']>;
    try {
      return validate(spec.reply, await handler(request, delivery), `${spec.subject} reply`);
    } catch (error) {
      throw toPncError(error);
    }
  }, options);
}

export async function requestSubjectReply<S extends RequestSubject>(bus: Bus, spec: S, request: z.input<S['request']>, options?: RequestOptions): Promise<z.output<S['reply']>> {
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
