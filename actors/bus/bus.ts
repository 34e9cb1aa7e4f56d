/**
 * The Bus port. Participants talk only through it. Two adapters implement it:
 * the in-process default (actors/bus/memory.ts) and NATS (actors/bus/nats.ts).
 * Both pass the same contract suite (test/bus/contract.ts).
 *
 * Payloads are JSON values; byte fields travel as base64 or hex strings, as the catalogue declares.
 * Subjects follow NATS rules: dot-separated tokens, `*` matches one token, `>` the rest.
 */
import type { Caller } from '../../protocols/catalogue/caller.ts';
import type { PncError } from '../../protocols/errors.ts';

export type Headers = Readonly<Record<string, string>>;

/**
 * Where an adapter puts the payload exactly as it travelled (its JSON text, or that text's UTF-8
 * bytes) on what it delivers: what an identity signature covers, hashed without serialising the
 * payload again. A symbol, so it stays out of JSON, key listings and comparisons.
 */
export const WIRE_PAYLOAD: unique symbol = Symbol('pnc.wirePayload');

export interface Delivery<T = unknown> {
  readonly subject: string;
  readonly payload: T;
  readonly headers: Headers;
  /** Who sent it, as authenticated (actors/bus/identity.ts); absent when nothing was. */
  readonly caller?: Caller;
  /** The payload as received (see {@link WIRE_PAYLOAD}); absent on a delivery made by hand. */
  readonly [WIRE_PAYLOAD]?: string | Uint8Array;
}

export interface Subscription {
  /** Stops delivery; messages already handed to a handler finish. */
  unsubscribe(): Promise<void>;
}

export interface SubscribeOptions {
  /** Queue group: each message goes to one member of the group. */
  readonly queue?: string;
}

export interface RequestOptions {
  /** @default 5000 */
  readonly timeoutMs?: number;
  readonly headers?: Headers;
}

/** Replies to a request; throwing a PncError sends it back as a typed error reply. */
export type RequestHandler<Req = unknown, Res = unknown> = (request: Req, delivery: Delivery<Req>) => Promise<Res> | Res;

export interface WorkItem<T = unknown> extends Delivery<T> {
  /** De-duplication id given at enqueue (or assigned). */
  readonly id: string;
  /** 1 on first delivery, then 2, 3, … on redelivery. */
  readonly attempt: number;
}

export interface EnqueueOptions {
  /** Enqueuing the same id twice within the de-duplication window stores it once. */
  readonly id?: string;
  readonly headers?: Headers;
}

export interface ConsumeOptions {
  /**
   * Durable consumer name (letters, digits, `_`, `-`); all consumers of one name share the work, and a
   * restarted process resumes under it. A queue has one durable name: consuming it under another
   * rejects with `ConsumerConflict` (JetStream work-queue semantics).
   */
  readonly durable: string;
  /** Redeliver when not acknowledged within this time. @default 30000 */
  readonly ackWaitMs?: number;
  /** After this many deliveries the item goes to the dead-letter subject `dlq.<queue>` (a `DeadLetter` record). @default 5 */
  readonly maxDeliver?: number;
}

/**
 * Resolving acknowledges the item; throwing a non-retryable PncError dead-letters it;
 * any other throw leads to redelivery after a back-off (100 ms doubling, at most the ack wait),
 * a crash or a hang to redelivery after the ack wait.
 */
export type WorkHandler<T = unknown> = (item: WorkItem<T>) => Promise<void>;

export interface Bus {
  readonly kind: 'memory' | 'nats';
  publish(subject: string, payload: unknown, headers?: Headers): Promise<void>;
  /**
   * False only when a publish on `subject` would certainly reach no one now, so a publisher can skip
   * building a payload no one reads (the inspection stream of every charging message). The in-process
   * bus knows its subscribers; NATS interest lives on the server, so there it is always true.
   */
  mayHaveSubscribers(subject: string): boolean;
  /**
   * Calls `listener` (synchronously) whenever what `mayHaveSubscribers` answers may have changed: a
   * subscription began or ended. Returns what stops it. A hosted actor keeps XState's inspection off
   * while no one listens (it costs every event) and on from the moment someone does. NATS, whose answer
   * never changes, never calls it.
   */
  onSubscribersChanged(listener: () => void): () => void;
  subscribe(subject: string, handler: (delivery: Delivery) => void | Promise<void>, options?: SubscribeOptions): Promise<Subscription>;
  /** Resolves with the reply payload; rejects with the PncError the responder threw, or `Timeout` / `NoResponders`. */
  request<Res = unknown>(subject: string, payload: unknown, options?: RequestOptions): Promise<Res>;
  /** Serves requests on a subject (queue group optional). */
  serve<Req = unknown, Res = unknown>(subject: string, handler: RequestHandler<Req, Res>, options?: SubscribeOptions): Promise<Subscription>;
  /** Durable work: stored before this resolves, delivered at least once, de-duplicated by id. */
  enqueue(queue: string, payload: unknown, options?: EnqueueOptions): Promise<void>;
  consume<T = unknown>(queue: string, handler: WorkHandler<T>, options: ConsumeOptions): Promise<Subscription>;
  close(): Promise<void>;
}

export type BusError = PncError;

/** Lets go of every subscription at once: what each participant's `stop()` does with its subjects. */
export async function unsubscribeAll(subscriptions: Iterable<Subscription>): Promise<void> {
  await Promise.all([...subscriptions].map((subscription) => subscription.unsubscribe()));
}
