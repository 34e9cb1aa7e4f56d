/**
 * The NATS Bus: core NATS for publish/subscribe, request/reply and queue groups (horizontal scale);
 * JetStream for durable work queues. Typed errors travel as a `Pnc-Error: <code>` header with the
 * PncError JSON as body, so the requester rebuilds them with `PncError.fromJSON`.
 *
 * Work queues: one work-queue stream `PNC_WORK` on `pnc.work.<queue>` with one durable pull consumer
 * per queue (explicit ack, redelivery after the ack wait, de-duplication by `Nats-Msg-Id`), and a
 * stream `PNC_DLQ` keeping what was dead-lettered on `dlq.<queue>`. Streams and consumers are created
 * idempotently on first use.
 */
import { createHash } from 'node:crypto';
import {
  AckPolicy, DeliverPolicy, ErrorCode, NatsError, RetentionPolicy, StorageType, connect, headers as natsHeaders, nanos, nkeyAuthenticator,
  type ConsumerConfig, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg, type Msg, type MsgHdrs, type NatsConnection, type StreamConfig,
  type Subscription as NatsSubscription,
} from 'nats';
import { PncError, toPncError } from '../../protocols/errors.ts';
import {
  WIRE_PAYLOAD, type Bus, type ConsumeOptions, type Delivery, type EnqueueOptions, type Headers, type RequestHandler, type RequestOptions, type SubscribeOptions,
  type Subscription, type WorkHandler, type WorkItem,
} from './bus.ts';
import { CLOSE_GRACE_MS, waitAtMost } from './deadlines.ts';
import { busClosedError, busUnavailableError, noRespondersError, timeoutError } from './errors.ts';
import { stderrLog, type BusLog } from './log.ts';
import { assertPattern, assertSubject } from './subject.ts';
import { DEFAULT_REQUEST_TIMEOUT_MS, EMPTY_HEADERS, copyHeaders, decodePayload, encodeError, encodePayload, isThenable } from './wire.ts';
import {
  DEFAULT_DEDUP_WINDOW_MS, boundedDeadLetterText, deadLetter, workId, deadLetterSubject, maxDeliverError, resolveConsumeOptions, runWorkHandler, type ResolvedConsumeOptions,
} from './work.ts';

/** Reply header naming the PncError code; the body is the error's JSON. */
export const ERROR_HEADER = 'Pnc-Error';
export const WORK_STREAM = 'PNC_WORK';
export const WORK_SUBJECT_PREFIX = 'pnc.work.';
export const DEAD_LETTER_STREAM = 'PNC_DLQ';
const CONNECT_TIMEOUT_MS = 5000;
const JETSTREAM_READY_TIMEOUT_MS = 20_000;
/**
 * One message at a time: a buffered message's ack wait would run while it waits for the handler.
 * A deleted consumer or stream ends the iterator, and the consume loop sets them up again; short
 * pulls (heartbeat every 2.5 s) notice a deletion the server did not announce within about 5 s.
 */
const CONSUME_OPTIONS = { max_messages: 1, expires: 5000, abort_on_missing_resource: true };

export interface NatsBusOptions {
  /** One URL or several (`nats://host:4222`); the client fails over between them. */
  readonly servers: string | readonly string[];
  /** Connection name shown by the server's monitoring. */
  readonly name?: string;
  /** Replicas of the JetStream streams (3 on a three-node cluster). @default 1 */
  readonly replicas?: number;
  /** Receives failures that have nobody to answer to. @default JSON lines on stderr */
  readonly log?: BusLog;
  /** The nkey seed (`SU…`) the server authenticates this connection with (openpnc deploy creds). */
  readonly seed?: string;
  /** Where replies to this connection's requests go (`_INBOX_<name>`), so its permissions can keep them private. */
  readonly inboxPrefix?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Connects to NATS; rejects with a one-line retryable `BusUnavailable` when no server answers.
 * @example
 * const bus = await connectNatsBus({ servers: ['nats://127.0.0.1:4222'], name: 'pcp' });
 */
export async function connectNatsBus(options: NatsBusOptions): Promise<Bus> {
  const servers = typeof options.servers === 'string' ? [options.servers] : [...options.servers];
  if (servers.length === 0) throw new PncError('InvalidArgument', 'connectNatsBus needs at least one server URL');
  let connection: NatsConnection;
  try {
    connection = await connect({
      servers, name: options.name, timeout: CONNECT_TIMEOUT_MS, maxReconnectAttempts: -1, reconnectTimeWait: 250, reconnectJitter: 100,
      // nats.js otherwise captures up to three stack traces per request, for errors of its own that
      // busError turns into typed ones naming the subject and the timeout.
      noAsyncTraces: true,
      ...(options.seed ? { authenticator: nkeyAuthenticator(encoder.encode(options.seed.trim())) } : {}),
      ...(options.inboxPrefix ? { inboxPrefix: options.inboxPrefix } : {}),
    });
  } catch (error) {
    throw busUnavailableError(servers, error);
  }
  return new NatsBus(connection, options.replicas ?? 1, options.log ?? stderrLog);
}

function isNatsError(error: unknown, code: string): boolean {
  return error instanceof NatsError && error.code === code;
}

/** Maps client errors to the bus's typed errors. */
function busError(error: unknown, subject: string, timeoutMs: number): PncError {
  if (error instanceof PncError) return error;
  if (isNatsError(error, ErrorCode.Timeout)) return timeoutError(subject, timeoutMs);
  if (isNatsError(error, ErrorCode.NoResponders)) return noRespondersError(subject);
  if (isNatsError(error, ErrorCode.ConnectionClosed) || isNatsError(error, ErrorCode.ConnectionDraining)) return busClosedError();
  if (isNatsError(error, ErrorCode.BadSubject)) return new PncError('InvalidSubject', `invalid subject ${JSON.stringify(subject)}`);
  // The server's subject permissions (openpnc deploy creds) refused it.
  if (isNatsError(error, ErrorCode.PermissionsViolation)) return new PncError('Forbidden', `this credential may not use ${subject}: ${(error as Error).message}`);
  return toPncError(error, 'BusError');
}

/** Failures that go away by themselves: timeouts, no responders, a JetStream cluster between leaders. */
function isTransient(error: unknown): boolean {
  if (isNatsError(error, ErrorCode.Timeout) || isNatsError(error, ErrorCode.NoResponders) || isNatsError(error, ErrorCode.JetStream408RequestTimeout)) return true;
  return /timeout|no responders|not available|no suitable peers|leader|insufficient resources|temporarily|not current/i.test((error as Error)?.message ?? '');
}

function toNatsHeaders(headers: Headers): MsgHdrs {
  const result = natsHeaders();
  for (const [name, value] of Object.entries(copyHeaders(headers))) result.set(name, value);
  return result;
}

/** Application headers of a message; `Nats-*` headers belong to the server and client. */
function userHeaders(headers: MsgHdrs | undefined): Headers {
  if (!headers) return EMPTY_HEADERS;
  const result: Record<string, string> = {};
  for (const name of headers.keys()) if (!name.startsWith('Nats-') && name !== ERROR_HEADER) result[name] = headers.get(name);
  return Object.freeze(result);
}

function payloadOf(data: Uint8Array): unknown {
  return data.length === 0 ? undefined : decodePayload(decoder.decode(data));
}

/** Counts handler runs so unsubscribe and close can wait for the ones already started. */
class InFlight {
  private count = 0;
  private idle: (() => void) | undefined;
  readonly done = (): void => {
    if (--this.count === 0 && this.idle) this.idle();
  };
  track(running: PromiseLike<unknown>): void {
    this.count++;
    running.then(this.done, this.done);
  }
  async settled(): Promise<void> {
    if (this.count > 0) await new Promise<void>((resolve) => (this.idle = resolve));
  }
}

/** JetStream consumer names cannot hold dots; the hash keeps `a.b` and `a_b` apart. */
function consumerName(queue: string, durable: string): string {
  const readable = queue.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 48);
  return `${durable}__${readable}_${createHash('sha256').update(queue).digest('hex').slice(0, 8)}`;
}

class NatsBus implements Bus {
  readonly kind = 'nats' as const;
  private closed = false;
  private readonly subscriptions = new Set<Subscription>();
  private jetstream: Promise<{ js: JetStreamClient; jsm: JetStreamManager }> | undefined;

  constructor(private readonly nc: NatsConnection, private readonly replicas: number, private readonly log: BusLog) {
    void this.watchStatus();
  }

  private async watchStatus(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnect' || status.type === 'error') {
        this.log.warn(`bus.nats_${status.type}`, { data: String(status.data) });
      }
    }
  }

  private assertOpen(): void {
    if (this.closed || this.nc.isClosed()) throw busClosedError();
  }

  mayHaveSubscribers(): boolean {
    return true;
  }

  onSubscribersChanged(): () => void {
    return () => undefined; // interest lives on the server: the answer above never changes
  }

  async publish(subject: string, payload: unknown, headers?: Headers): Promise<void> {
    this.assertOpen();
    assertSubject(subject);
    const data = encoder.encode(encodePayload(payload));
    try {
      this.nc.publish(subject, data, headers ? { headers: toNatsHeaders(headers) } : undefined);
    } catch (error) {
      throw busError(error, subject, 0);
    }
  }

  /** Subscribes and waits until the server has the interest, so a request sent after this resolves finds it. */
  private async listen(subject: string, options: SubscribeOptions | undefined, handle: (msg: Msg) => PromiseLike<unknown> | void): Promise<Subscription> {
    this.assertOpen();
    assertPattern(subject);
    if (options?.queue !== undefined) assertSubject(options.queue);
    const inFlight = new InFlight();
    let sub: NatsSubscription;
    try {
      sub = this.nc.subscribe(subject, {
        ...(options?.queue === undefined ? {} : { queue: options.queue }),
        callback: (error, msg) => {
          if (error) return this.log.error('bus.subscription_failed', { subject, error: error.message });
          const running = handle(msg);
          if (running) inFlight.track(running);
        },
      });
    } catch (error) {
      throw busError(error, subject, 0);
    }
    const subscription: Subscription = {
      unsubscribe: async () => {
        if (this.subscriptions.delete(subscription) && !this.nc.isClosed()) await sub.drain().catch(() => sub.unsubscribe());
        await inFlight.settled();
      },
    };
    this.subscriptions.add(subscription);
    try {
      await this.nc.flush();
    } catch (error) {
      throw busError(error, subject, 0);
    }
    return subscription;
  }

  async subscribe(subject: string, handler: (delivery: Delivery) => void | Promise<void>, options?: SubscribeOptions): Promise<Subscription> {
    const failed = (error: unknown): void => this.log.error('bus.subscriber_failed', { subject, error: toPncError(error).toJSON() });
    return this.listen(subject, options, (msg) => {
      try {
        const running = handler({ subject: msg.subject, payload: payloadOf(msg.data), headers: userHeaders(msg.headers), [WIRE_PAYLOAD]: msg.data });
        if (isThenable(running)) return Promise.resolve(running).then(undefined, failed);
      } catch (error) {
        failed(error);
      }
    });
  }

  async serve<Req, Res>(subject: string, handler: RequestHandler<Req, Res>, options?: SubscribeOptions): Promise<Subscription> {
    const respond = (msg: Msg, data: Uint8Array, headers?: MsgHdrs): void => {
      if (!msg.reply) return; // published rather than requested: nobody to answer
      try {
        msg.respond(data, headers ? { headers } : undefined);
      } catch (error) {
        this.log.warn('bus.reply_failed', { subject: msg.subject, error: toPncError(error).toJSON() });
      }
    };
    const refuse = (msg: Msg, error: unknown): void => {
      const { code, text } = encodeError(error);
      const headers = natsHeaders();
      headers.set(ERROR_HEADER, code.replace(/[\r\n]/g, ' '));
      respond(msg, encoder.encode(text), headers);
    };
    const answer = (msg: Msg, result: unknown): void => {
      let text: string;
      try {
        text = encodePayload(result, `reply on ${msg.subject}`);
      } catch (error) {
        return refuse(msg, error);
      }
      respond(msg, encoder.encode(text));
    };
    return this.listen(subject, options, (msg) => {
      let result: unknown;
      try {
        const payload = payloadOf(msg.data) as Req;
        result = handler(payload, { subject: msg.subject, payload, headers: userHeaders(msg.headers), [WIRE_PAYLOAD]: msg.data });
      } catch (error) {
        return refuse(msg, error);
      }
      if (!isThenable(result)) return answer(msg, result);
      return Promise.resolve(result).then((value) => answer(msg, value), (error) => refuse(msg, error));
    });
  }

  async request<Res = unknown>(subject: string, payload: unknown, options?: RequestOptions): Promise<Res> {
    this.assertOpen();
    assertSubject(subject);
    const data = encoder.encode(encodePayload(payload));
    const timeout = options?.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    let reply: Msg;
    try {
      reply = await this.nc.request(subject, data, options?.headers ? { timeout, headers: toNatsHeaders(options.headers) } : { timeout });
    } catch (error) {
      throw busError(error, subject, timeout);
    }
    const text = decoder.decode(reply.data);
    if (reply.headers?.get(ERROR_HEADER)) throw PncError.fromJSON(decodePayload(text));
    return decodePayload(text) as Res;
  }

  // ------------------------------------------------------------ JetStream work queues

  /** Connects JetStream and creates both streams once; retries while a fresh cluster elects its leaders. */
  /**
   * Runs a JetStream operation, retrying transient failures (timeouts, no responders, a cluster electing
   * its leaders) for up to JETSTREAM_READY_TIMEOUT_MS; then rejects with a retryable `BusUnavailable`.
   * Our own PncErrors (such as `ConsumerConflict`) and lasting JetStream refusals pass straight through.
   */
  private async retrying<T>(what: string, operation: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + JETSTREAM_READY_TIMEOUT_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        return await operation();
      } catch (error) {
        if (error instanceof PncError) throw error;
        if (this.closed || this.nc.isClosed()) throw busClosedError();
        if (!isTransient(error)) throw new PncError('BusError', `${what}: ${(error as Error).message}`, { cause: error });
        if (Date.now() > deadline) throw new PncError('BusUnavailable', `${what}: JetStream did not answer: ${(error as Error).message}`, { retryable: true, cause: error });
        await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 100 * 2 ** attempt)));
      }
    }
  }

  /** Connects JetStream and creates both streams once (again after a failure). */
  private streams(): Promise<{ js: JetStreamClient; jsm: JetStreamManager }> {
    this.jetstream ??= this.retrying('setting up the JetStream streams', async () => {
      const jsm = await this.nc.jetstreamManager({ timeout: 5000 });
      const common = { storage: StorageType.File, num_replicas: this.replicas, duplicate_window: nanos(DEFAULT_DEDUP_WINDOW_MS) };
      await this.ensureStream(jsm, { name: WORK_STREAM, subjects: [`${WORK_SUBJECT_PREFIX}>`], retention: RetentionPolicy.Workqueue, ...common });
      await this.ensureStream(jsm, { name: DEAD_LETTER_STREAM, subjects: ['dlq.>'], retention: RetentionPolicy.Limits, ...common });
      return { js: this.nc.jetstream({ timeout: 5000 }), jsm };
    }).catch((error: unknown) => {
      this.jetstream = undefined;
      throw error;
    });
    return this.jetstream;
  }

  private async ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
    try {
      const info = await jsm.streams.info(config.name);
      if (info.config.num_replicas !== config.num_replicas) await jsm.streams.update(config.name, config);
    } catch (error) {
      if (!isNatsError(error, '404') && !/stream not found/i.test((error as Error).message)) throw error;
      await jsm.streams.add(config);
    }
  }

  async enqueue(queue: string, payload: unknown, options?: EnqueueOptions): Promise<void> {
    this.assertOpen();
    assertSubject(queue);
    const id = workId(options);
    const data = encoder.encode(encodePayload(payload));
    const { js } = await this.streams();
    const publish = { msgID: `${queue}/${id}`, ...(options?.headers ? { headers: toNatsHeaders(options.headers) } : {}) };
    // Retrying is safe: a publish that did land is de-duplicated by its Nats-Msg-Id.
    await this.retrying(`storing work ${id} on ${queue}`, () => js.publish(WORK_SUBJECT_PREFIX + queue, data, publish));
  }

  private async ensureConsumer(jsm: JetStreamManager, name: string, queue: string, options: ResolvedConsumeOptions): Promise<void> {
    const config: Partial<ConsumerConfig> = {
      durable_name: name, filter_subject: WORK_SUBJECT_PREFIX + queue, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(options.ackWaitMs), max_deliver: -1, // the client dead-letters after maxDeliver, see handleWork
    };
    try {
      const info = await jsm.consumers.info(WORK_STREAM, name);
      if (info.config.ack_wait !== config.ack_wait) await jsm.consumers.update(WORK_STREAM, name, { ack_wait: config.ack_wait });
      return;
    } catch (error) {
      if (!/consumer not found/i.test((error as Error).message)) throw error;
    }
    try {
      await jsm.consumers.add(WORK_STREAM, config);
    } catch (error) {
      if (/not unique|overlap|workqueue/i.test((error as Error).message)) {
        throw new PncError('ConsumerConflict', `${queue} is already consumed under another durable name; one queue has one durable consumer`, {
          data: { queue, durable: options.durable }, cause: error,
        });
      }
      throw error;
    }
  }

  async consume<T = unknown>(queue: string, handler: WorkHandler<T>, options: ConsumeOptions): Promise<Subscription> {
    this.assertOpen();
    const resolved = resolveConsumeOptions(queue, options);
    const { js, jsm } = await this.streams();
    const name = consumerName(queue, resolved.durable);
    const start = (): Promise<ConsumerMessages> => this.retrying(`consuming ${queue}`, async () => {
      await this.ensureConsumer(jsm, name, queue, resolved);
      return (await js.consumers.get(WORK_STREAM, name)).consume(CONSUME_OPTIONS);
    });
    let stopped = false;
    let messages = await start();
    const loop = (async () => {
      while (!stopped) {
        try {
          for await (const msg of messages) {
            try {
              await this.handleWork(msg, queue, handler as WorkHandler, resolved);
            } catch (error) {
              this.log.error('bus.work_failed', { queue, error: toPncError(error).toJSON() });
            }
          }
        } catch (error) {
          this.log.warn('bus.work_consumer_failed', { queue, error: toPncError(error).toJSON() });
        }
        // The consumer went away (deleted, stream lost, connection trouble): set it up again and go on.
        while (!stopped && !this.closed) {
          await new Promise((resolve) => setTimeout(resolve, 1000));
          try {
            const next = await start();
            if (stopped) next.stop(); // unsubscribed meanwhile: stop() only saw the old iterator
            else messages = next;
            break;
          } catch (error) {
            this.log.warn('bus.work_consumer_retry', { queue, error: toPncError(error).toJSON() });
          }
        }
      }
    })();
    const subscription: Subscription = {
      unsubscribe: async () => {
        this.subscriptions.delete(subscription);
        stopped = true;
        messages.stop();
        await loop;
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  private async handleWork(msg: JsMsg, queue: string, handler: WorkHandler, options: ResolvedConsumeOptions): Promise<void> {
    const attempt = msg.info.deliveryCount;
    const msgId = msg.headers?.get('Nats-Msg-Id') ?? '';
    const id = msgId.startsWith(`${queue}/`) ? msgId.slice(queue.length + 1) : `seq-${msg.seq}`;
    const headers = userHeaders(msg.headers);
    let payload: unknown;
    try {
      payload = payloadOf(msg.data);
    } catch (error) {
      return this.bury(msg, { subject: queue, payload: decoder.decode(msg.data), headers, id, attempt }, toPncError(error));
    }
    const item: WorkItem = { subject: queue, payload, headers, id, attempt, [WIRE_PAYLOAD]: msg.data };
    if (attempt > options.maxDeliver) {
      // The last delivery was never acknowledged (the consumer crashed or ran out of ack wait).
      return this.bury(msg, { ...item, attempt: attempt - 1 }, maxDeliverError(queue, id, attempt - 1));
    }
    const outcome = await runWorkHandler(handler, item, options);
    if (outcome.kind === 'ack') await msg.ackAck();
    else if (outcome.kind === 'retry') msg.nak(outcome.delayMs);
    else await this.bury(msg, item, outcome.error);
  }

  /** Dead-letters: stored in PNC_DLQ (and seen by `dlq.<queue>` subscribers) before the work item is acknowledged. */
  private async bury(msg: JsMsg, item: WorkItem, error: PncError): Promise<void> {
    const { js } = await this.streams();
    // Room for the headers JetStream adds: a dead letter never exceeds what the server accepts (issue 9 D5).
    const maxBytes = Math.max(4096, (this.nc.info?.max_payload ?? 1024 * 1024) - 4096);
    await js.publish(deadLetterSubject(item.subject), encoder.encode(boundedDeadLetterText(deadLetter(item, error), maxBytes)), { msgID: `${item.subject}/${item.id}` });
    await msg.ackAck();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await waitAtMost(Promise.all([...this.subscriptions].map((subscription) => subscription.unsubscribe())), CLOSE_GRACE_MS);
    // Drain lets replies in flight go out; a connection stuck reconnecting cannot drain, so it is closed.
    if (!this.nc.isClosed()) await waitAtMost(this.nc.drain(), CLOSE_GRACE_MS);
    if (!this.nc.isClosed()) await this.nc.close();
  }
}
