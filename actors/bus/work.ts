/**
 * Durable work-queue policy shared by both adapters: defaults, what a handler's result means
 * (ack, retry with back-off, or dead-letter), and the dead-letter record published on `dlq.<queue>`.
 */
import { PncError, toPncError, type PncErrorData } from '../../protocols/errors.ts';
import { createHash, randomUUID } from 'node:crypto';
import type { ConsumeOptions, EnqueueOptions, Headers, WorkHandler, WorkItem } from './bus.ts';
import { assertDurableName, assertSubject } from './subject.ts';

export const DEFAULT_ACK_WAIT_MS = 30_000;
export const DEFAULT_MAX_DELIVER = 5;
/** Enqueuing an id again within this time after the first enqueue stores nothing (JetStream's default window). */
export const DEFAULT_DEDUP_WINDOW_MS = 120_000;
/** First retry after a failed attempt waits this long, doubling per attempt, capped at the ack wait. */
const FIRST_RETRY_DELAY_MS = 100;

export interface ResolvedConsumeOptions {
  readonly durable: string;
  readonly ackWaitMs: number;
  readonly maxDeliver: number;
}

/** Validates and completes consume options; throws `InvalidSubject` / `InvalidArgument`. */
export function resolveConsumeOptions(queue: string, options: ConsumeOptions): ResolvedConsumeOptions {
  assertSubject(queue);
  assertDurableName(options?.durable);
  const ackWaitMs = options.ackWaitMs ?? DEFAULT_ACK_WAIT_MS;
  const maxDeliver = options.maxDeliver ?? DEFAULT_MAX_DELIVER;
  if (!Number.isInteger(ackWaitMs) || ackWaitMs < 10) throw new PncError('InvalidArgument', `ackWaitMs must be an integer >= 10, got ${ackWaitMs}`);
  if (!Number.isInteger(maxDeliver) || maxDeliver < 1) throw new PncError('InvalidArgument', `maxDeliver must be an integer >= 1, got ${maxDeliver}`);
  return { durable: options.durable, ackWaitMs, maxDeliver };
}

/** The de-duplication id of an enqueue: the caller's (printable, at most 200 characters) or a fresh UUID. */
export function workId(options: EnqueueOptions | undefined): string {
  const id = options?.id;
  if (id === undefined) return randomUUID();
  if (typeof id !== 'string' || !/^[^\u0000-\u001f\u007f]{1,200}$/.test(id)) {
    throw new PncError('InvalidArgument', `work id must be 1-200 printable characters, got ${JSON.stringify(id)}`);
  }
  return id;
}

/** The subject dead letters of `queue` are published on (and, on NATS, kept in the PNC_DLQ stream). */
export function deadLetterSubject(queue: string): string {
  return `dlq.${queue}`;
}

/** What `dlq.<queue>` carries, and what the store keeps, for an item given up on. */
export interface DeadLetter {
  readonly queue: string;
  readonly id: string;
  readonly attempts: number;
  readonly payload: unknown;
  readonly headers: Headers;
  readonly error: PncErrorData;
  /** ISO 8601 time of dead-lettering. */
  readonly deadAt: string;
}

export type WorkOutcome =
  | { readonly kind: 'ack' }
  | { readonly kind: 'retry'; readonly delayMs: number }
  | { readonly kind: 'dead'; readonly error: PncError };

/** The error recorded when an item used up its deliveries; `last` is the final attempt's failure, if it reported one. */
export function maxDeliverError(queue: string, id: string, attempts: number, last?: PncError): PncError {
  return new PncError('MaxDeliver', `work ${id} on ${queue} failed ${attempts} deliveries${last ? `: ${last.message}` : ''}`, {
    data: { queue, id, attempts, ...(last ? { last: last.toJSON() } : {}) },
  });
}

/** Runs the handler and decides: resolved → ack; non-retryable PncError or last attempt → dead; else retry later. */
export async function runWorkHandler<T>(handler: WorkHandler<T>, item: WorkItem<T>, options: ResolvedConsumeOptions): Promise<WorkOutcome> {
  try {
    await handler(item);
    return { kind: 'ack' };
  } catch (thrown) {
    const error = toPncError(thrown);
    if (thrown instanceof PncError && !error.retryable) return { kind: 'dead', error };
    if (item.attempt >= options.maxDeliver) return { kind: 'dead', error: maxDeliverError(item.subject, item.id, item.attempt, error) };
    return { kind: 'retry', delayMs: Math.min(options.ackWaitMs, FIRST_RETRY_DELAY_MS * 2 ** (item.attempt - 1)) };
  }
}

/** The dead-letter record for `item`, given up on because of `error`. */
export function deadLetter(item: WorkItem, error: PncError): DeadLetter {
  return { queue: item.subject, id: item.id, attempts: item.attempt, payload: item.payload, headers: item.headers, error: error.toJSON(), deadAt: new Date().toISOString() };
}

/** How much of a payload a bounded dead letter keeps. */
export const DEAD_LETTER_HEAD_CHARS = 1024;

/**
 * The dead letter as JSON text no longer than `maxBytes` (issue 9 D5): when the item itself is too
 * large to be dead-lettered whole (NATS `max_payload` once wrapped), the payload is replaced by its
 * size, SHA-256 and first characters, and the error message is cut, so the item is still buried
 * (and acknowledged) instead of redelivered forever.
 */
export function boundedDeadLetterText(letter: DeadLetter, maxBytes: number): string {
  const whole = JSON.stringify(letter);
  if (Buffer.byteLength(whole) <= maxBytes) return whole;
  const payloadText = typeof letter.payload === 'string' ? letter.payload : JSON.stringify(letter.payload) ?? '';
  const bounded: DeadLetter = {
    ...letter,
    payload: {
      truncated: true,
      bytes: Buffer.byteLength(payloadText),
      sha256: createHash('sha256').update(payloadText).digest('hex'),
      head: payloadText.slice(0, DEAD_LETTER_HEAD_CHARS),
    },
    headers: Object.fromEntries(Object.entries(letter.headers).map(([name, value]) => [name, value.slice(0, 256)])),
    error: { ...letter.error, message: letter.error.message.slice(0, DEAD_LETTER_HEAD_CHARS), data: undefined },
  };
  return JSON.stringify(bounded);
}
