/**
 * The in-process Bus (the embedded default). It keeps NATS semantics so code moves to NATS
 * unchanged: subject wildcards, queue groups, request/reply with `Timeout` / `NoResponders`,
 * JSON payloads (no shared objects), and durable work queues kept in the Store: stored before
 * `enqueue` resolves, delivered at least once, redelivered after the ack wait or a restart,
 * de-duplicated by id and dead-lettered to `dlq.<queue>` (published and kept in the store).
 */
import { randomUUID } from 'node:crypto';
import { PncError, toPncError } from '../../protocols/errors.ts';
import type { Collection, Store, StoredDoc } from '../store/store.ts';
import {
  WIRE_PAYLOAD, type Bus, type ConsumeOptions, type Delivery, type EnqueueOptions, type Headers, type RequestHandler, type RequestOptions, type SubscribeOptions,
  type Subscription, type WorkHandler, type WorkItem,
} from './bus.ts';
import { CLOSE_GRACE_MS, DeadlineQueue, type Deadline, waitAtMost } from './deadlines.ts';
import { busClosedError, noRespondersError, timeoutError } from './errors.ts';
import { assertPattern, assertSubject, subjectMatches } from './subject.ts';
import { stderrLog, type BusLog } from './log.ts';
import { DEFAULT_REQUEST_TIMEOUT_MS, EMPTY_HEADERS, copyHeaders, decodePayload, encodeError, encodePayload, isThenable } from './wire.ts';
import {
  DEFAULT_DEDUP_WINDOW_MS, deadLetter, workId, type DeadLetter, deadLetterSubject, maxDeliverError, resolveConsumeOptions, runWorkHandler, type ResolvedConsumeOptions,
} from './work.ts';

/** Collection holding work items: pending ones and `done` tombstones for de-duplication. */
export const WORK_COLLECTION = 'bus_work';
/** Collection keeping every dead letter (what NATS keeps in the PNC_DLQ stream), `DeadLetter` records. */
export const DEAD_LETTER_COLLECTION = 'bus_dead_letters';

export interface MemoryBusOptions {
  /** Where durable work queues live; with the embedded SQLite store they survive a restart. */
  readonly store: Store;
  /** Receives handler failures that have nobody to answer to (subscribers, store errors). @default JSON lines on stderr */
  readonly log?: BusLog;
}

/**
 * Creates the in-process bus. Use one per process and store: two buses consuming the same queue
 * from one store would each deliver its items.
 * @example
 * const bus = createMemoryBus({ store: await openEmbeddedStore(dataDir) });
 * await bus.serve('pcp.ping', () => 'pong');
 * await bus.request('pcp.ping', null); // 'pong'
 */
export function createMemoryBus(options: MemoryBusOptions): Bus {
  return new MemoryBus(options.store, options.log ?? stderrLog);
}

// ---------------------------------------------------------------- core messaging

interface Reply {
  readonly error: boolean;
  /** JSON text: the reply payload, or the PncError when `error`. */
  readonly text: string;
}

interface Message {
  readonly subject: string;
  readonly text: string;
  readonly headers: Headers;
  /** Present on requests: the first reply settles it. */
  readonly request?: PendingRequest;
}

interface Route {
  readonly plain: readonly LocalSubscription[];
  readonly groups: readonly QueueGroup[];
}

interface QueueGroup {
  readonly members: LocalSubscription[];
  next: number;
}

type MessageHandler = (message: Message) => void | Promise<void>;

class LocalSubscription implements Subscription {
  readonly tokens: string[];
  active = true;
  /** Messages received but not yet handed to the handler; drained in one microtask. */
  private inbox: Message[] = [];
  private scheduled = false;
  private inFlight = 0;
  private idle: (() => void) | undefined;
  private readonly drain = (): void => {
    this.scheduled = false;
    const inbox = this.inbox;
    this.inbox = [];
    for (const message of inbox) {
      if (!this.active) return;
      const running = this.handle(message);
      if (running) {
        this.inFlight++;
        running.then(this.settle, this.settle);
      }
    }
  };
  private readonly settle = (): void => {
    if (--this.inFlight === 0 && this.idle) this.idle();
  };

  constructor(
    private readonly bus: MemoryBus,
    readonly pattern: string,
    readonly queue: string | undefined,
    private readonly handle: MessageHandler,
  ) {
    this.tokens = pattern.split('.');
  }

  receive(message: Message): void {
    this.inbox.push(message);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.drain);
    }
  }

  async unsubscribe(): Promise<void> {
    if (this.active) {
      this.active = false;
      this.bus.remove(this);
    }
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
  }
}

/** A request waiting for its first reply; a class rather than closures keeps the hot path lean. */
class PendingRequest implements Deadline {
  settled = false;
  readonly deadline: number;

  constructor(
    private readonly deadlines: DeadlineQueue,
    private readonly subject: string,
    private readonly timeoutMs: number,
    private readonly resolve: (value: unknown) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    this.deadline = Date.now() + timeoutMs;
  }

  expire(): void {
    this.reject(timeoutError(this.subject, this.timeoutMs));
  }

  answer(reply: Reply): void {
    if (this.settled) return;
    this.settle();
    if (reply.error) this.reject(PncError.fromJSON(JSON.parse(reply.text)));
    else this.resolve(decodePayload(reply.text));
  }

  fail(error: PncError): void {
    if (this.settled) return;
    this.settle();
    this.reject(error);
  }

  private settle(): void {
    this.settled = true;
    this.deadlines.settled();
  }
}

class MemoryBus implements Bus {
  readonly kind = 'memory' as const;
  private closed = false;
  private readonly subscriptions = new Set<LocalSubscription>();
  private readonly groups = new Map<string, QueueGroup>();
  private routes = new Map<string, Route>();
  private readonly subscribersChanged = new Set<() => void>();
  private readonly deadlines = new DeadlineQueue();
  private readonly work: WorkQueues;

  constructor(store: Store, readonly log: BusLog) {
    // Dead letters go out even while closing, so they bypass the closed check.
    const publishDeadLetter = (subject: string, letter: unknown): void => void this.dispatch({ subject, text: encodePayload(letter), headers: EMPTY_HEADERS });
    this.work = new WorkQueues(publishDeadLetter, store.collection<WorkDoc>(WORK_COLLECTION), store.collection<DeadLetterDoc>(DEAD_LETTER_COLLECTION), log);
  }

  private assertOpen(): void {
    if (this.closed) throw busClosedError();
  }

  private route(subject: string): Route {
    let route = this.routes.get(subject);
    if (route) return route;
    const tokens = subject.split('.');
    const plain: LocalSubscription[] = [];
    const groups = new Set<QueueGroup>();
    for (const subscription of this.subscriptions) {
      if (!subjectMatches(subscription.tokens, tokens)) continue;
      if (subscription.queue === undefined) plain.push(subscription);
      else groups.add(this.groups.get(groupKey(subscription))!);
    }
    route = { plain, groups: [...groups] };
    if (this.routes.size >= 10_000) this.routes.clear();
    this.routes.set(subject, route);
    return route;
  }

  /** Hands the message to every plain subscriber and one member of each queue group; returns how many got it. */
  private dispatch(message: Message): number {
    const route = this.route(message.subject);
    for (const subscription of route.plain) subscription.receive(message);
    for (const group of route.groups) group.members[group.next++ % group.members.length].receive(message);
    return route.plain.length + route.groups.length;
  }

  private add(pattern: string, queue: string | undefined, handle: MessageHandler): LocalSubscription {
    this.assertOpen();
    assertPattern(pattern);
    if (queue !== undefined) assertSubject(queue);
    const subscription = new LocalSubscription(this, pattern, queue, handle);
    this.subscriptions.add(subscription);
    if (queue !== undefined) {
      const key = groupKey(subscription);
      const group = this.groups.get(key);
      if (group) group.members.push(subscription);
      else this.groups.set(key, { members: [subscription], next: 0 });
    }
    this.routes = new Map();
    this.notifySubscribersChanged();
    return subscription;
  }

  private notifySubscribersChanged(): void {
    for (const listener of this.subscribersChanged) listener();
  }

  onSubscribersChanged(listener: () => void): () => void {
    // A wrapper per call: the same function given twice is two listeners, each stopped on its own.
    const entry = () => listener();
    this.subscribersChanged.add(entry);
    return () => void this.subscribersChanged.delete(entry);
  }

  /** @internal called by LocalSubscription.unsubscribe */
  remove(subscription: LocalSubscription): void {
    this.subscriptions.delete(subscription);
    if (subscription.queue !== undefined) {
      const key = groupKey(subscription);
      const group = this.groups.get(key)!;
      group.members.splice(group.members.indexOf(subscription), 1);
      if (group.members.length === 0) this.groups.delete(key);
    }
    this.routes = new Map();
    this.notifySubscribersChanged();
  }

  mayHaveSubscribers(subject: string): boolean {
    if (this.closed) return false;
    const route = this.route(subject);
    return route.plain.length + route.groups.length > 0;
  }

  async publish(subject: string, payload: unknown, headers?: Headers): Promise<void> {
    this.assertOpen();
    assertSubject(subject);
    this.dispatch({ subject, text: encodePayload(payload), headers: copyHeaders(headers) });
  }

  async subscribe(subject: string, handler: (delivery: Delivery) => void | Promise<void>, options?: SubscribeOptions): Promise<Subscription> {
    const failed = (subject: string, error: unknown): void => this.log.error('bus.subscriber_failed', { subject, error: toPncError(error).toJSON() });
    return this.add(subject, options?.queue, (message) => {
      try {
        const running = handler({ subject: message.subject, payload: decodePayload(message.text), headers: message.headers, [WIRE_PAYLOAD]: message.text });
        if (isThenable(running)) return Promise.resolve(running).then(undefined, (error) => failed(message.subject, error));
      } catch (error) {
        failed(message.subject, error);
      }
    });
  }

  async serve<Req, Res>(subject: string, handler: RequestHandler<Req, Res>, options?: SubscribeOptions): Promise<Subscription> {
    const answer = (message: Message, result: unknown): void => {
      let text: string;
      try {
        text = encodePayload(result, `reply on ${message.subject}`);
      } catch (error) {
        return refuse(message, error);
      }
      message.request?.answer({ error: false, text });
    };
    const refuse = (message: Message, error: unknown): void => message.request?.answer({ error: true, text: encodeError(error).text });
    return this.add(subject, options?.queue, (message) => {
      let result: unknown;
      try {
        const payload = decodePayload(message.text) as Req;
        result = handler(payload, { subject: message.subject, payload, headers: message.headers, [WIRE_PAYLOAD]: message.text });
      } catch (error) {
        return refuse(message, error);
      }
      if (!isThenable(result)) return answer(message, result);
      return Promise.resolve(result).then((value) => answer(message, value), (error) => refuse(message, error));
    });
  }

  request<Res = unknown>(subject: string, payload: unknown, options?: RequestOptions): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.assertOpen();
      assertSubject(subject);
      const text = encodePayload(payload);
      const headers = copyHeaders(options?.headers);
      const timeoutMs = options?.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
      const request = new PendingRequest(this.deadlines, subject, timeoutMs, resolve as (value: unknown) => void, reject);
      this.deadlines.add(timeoutMs, request);
      if (this.dispatch({ subject, text, headers, request }) === 0) request.fail(noRespondersError(subject));
    });
  }

  async enqueue(queue: string, payload: unknown, options?: EnqueueOptions): Promise<void> {
    this.assertOpen();
    return this.work.enqueue(queue, payload, options);
  }

  async consume<T = unknown>(queue: string, handler: WorkHandler<T>, options: ConsumeOptions): Promise<Subscription> {
    this.assertOpen();
    return this.work.consume(queue, handler as WorkHandler, options);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await waitAtMost(this.work.close(), CLOSE_GRACE_MS);
    await waitAtMost(Promise.all([...this.subscriptions].map((subscription) => subscription.unsubscribe())), CLOSE_GRACE_MS);
    this.deadlines.clear((request) => (request as PendingRequest).fail(busClosedError()));
  }
}

function groupKey(subscription: LocalSubscription): string {
  return `${subscription.pattern} ${subscription.queue}`;
}

// ---------------------------------------------------------------- durable work queues

interface WorkDoc extends StoredDoc {
  readonly queue: string;
  readonly id: string;
  /** Enqueue order. */
  readonly seq: number;
  readonly state: 'pending' | 'done';
  readonly payload?: unknown;
  readonly headers?: Headers;
  /** Epoch ms; de-duplication lasts DEFAULT_DEDUP_WINDOW_MS from here. */
  readonly enqueuedAt: number;
  /** Deliveries so far, counted before each hand-over so a crash counts too. */
  readonly attempts: number;
  /** Bus instance holding the current delivery; items leased by an earlier process are redelivered at once. */
  readonly leaseOwner?: string;
  readonly finishedAt?: number;
}

type DeadLetterDoc = DeadLetter & StoredDoc;

interface Entry {
  doc: WorkDoc;
  readonly text: string;
  /** Bumped on every hand-over; a failure reported under an older token is stale. */
  token: number;
  finished: boolean;
  timer?: NodeJS.Timeout;
}

interface Worker {
  readonly handler: WorkHandler;
  readonly options: ResolvedConsumeOptions;
  active: boolean;
  busy: boolean;
  readonly running: Set<Promise<void>>;
}

interface QueueState {
  readonly name: string;
  durable?: string;
  readonly entries: Map<string, Entry>;
  ready: Entry[];
  readonly workers: Worker[];
  loaded?: Promise<void>;
}

let sequence = 0;
function nextSeq(): number {
  sequence = (sequence + 1) % 1000;
  return Date.now() * 1000 + sequence;
}

function isDuplicateKey(error: unknown): boolean {
  return PncError.is(error, 'DuplicateKey');
}

class WorkQueues {
  private readonly instance = randomUUID();
  private readonly queues = new Map<string, QueueState>();
  private purgeTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly publishDeadLetter: (subject: string, letter: unknown) => void,
    private readonly items: Collection<WorkDoc>,
    private readonly deadLetters: Collection<DeadLetterDoc>,
    private readonly log: BusLog,
  ) {}

  async enqueue(queue: string, payload: unknown, options?: EnqueueOptions): Promise<void> {
    assertSubject(queue);
    const id = workId(options);
    const text = encodePayload(payload);
    const doc: WorkDoc = {
      _id: `${queue} ${id}`, queue, id, seq: nextSeq(), state: 'pending', enqueuedAt: Date.now(), attempts: 0,
      ...(text === '' ? {} : { payload: JSON.parse(text) }),
      ...(options?.headers ? { headers: copyHeaders(options.headers) } : {}),
    };
    try {
      await this.items.insert(doc);
    } catch (error) {
      if (!isDuplicateKey(error)) throw toPncError(error);
      const existing = await this.items.get(doc._id);
      if (existing && (existing.state === 'pending' || Date.now() - existing.enqueuedAt < DEFAULT_DEDUP_WINDOW_MS)) return;
      await this.items.replace(doc);
    }
    const state = this.queues.get(queue);
    if (state) {
      this.track(state, doc, text);
      this.dispatch(state);
    }
  }

  async consume(queue: string, handler: WorkHandler, options: ConsumeOptions): Promise<Subscription> {
    const resolved = resolveConsumeOptions(queue, options);
    const state = this.queueState(queue);
    if (state.durable !== undefined && state.durable !== resolved.durable) {
      throw new PncError('ConsumerConflict', `${queue} is already consumed by durable ${state.durable}; one queue has one durable consumer`, {
        data: { queue, durable: state.durable },
      });
    }
    state.durable = resolved.durable;
    const worker: Worker = { handler, options: resolved, active: true, busy: false, running: new Set() };
    state.workers.push(worker);
    try {
      state.loaded ??= this.load(state);
      await state.loaded;
    } catch (error) {
      state.loaded = undefined; // the next consume tries the store again
      state.workers.splice(state.workers.indexOf(worker), 1);
      throw toPncError(error);
    }
    this.startPurging();
    this.dispatch(state);
    return {
      unsubscribe: async () => {
        worker.active = false;
        const index = state.workers.indexOf(worker);
        if (index >= 0) state.workers.splice(index, 1);
        await Promise.all(worker.running);
      },
    };
  }

  private queueState(queue: string): QueueState {
    let state = this.queues.get(queue);
    if (!state) this.queues.set(queue, (state = { name: queue, entries: new Map(), ready: [], workers: [] }));
    return state;
  }

  /** Everything pending in the store is ready now: leases of earlier processes died with them. */
  private async load(state: QueueState): Promise<void> {
    const docs = await this.items.find({ queue: state.name, state: 'pending' }, { sort: 'seq' });
    for (const doc of docs) this.track(state, doc, encodePayload(doc.payload));
  }

  private track(state: QueueState, doc: WorkDoc, text: string): void {
    if (state.entries.has(doc._id)) return;
    const entry: Entry = { doc, text, token: 0, finished: false };
    state.entries.set(doc._id, entry);
    state.ready.push(entry);
  }

  private dispatch(state: QueueState): void {
    if (this.closed) return;
    while (state.ready.length > 0) {
      const worker = state.workers.find((w) => w.active && !w.busy);
      if (!worker) return;
      const entry = state.ready.shift()!;
      if (entry.finished) continue;
      worker.busy = true;
      const run = this.deliver(state, worker, entry).finally(() => {
        worker.busy = false;
        worker.running.delete(run);
        this.dispatch(state);
      });
      worker.running.add(run);
    }
  }

  private later(state: QueueState, entry: Entry, delayMs: number, token: number): void {
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      if (entry.finished || entry.token !== token || this.closed) return;
      entry.token++;
      state.ready.push(entry);
      this.dispatch(state);
    }, delayMs);
  }

  private async deliver(state: QueueState, worker: Worker, entry: Entry): Promise<void> {
    const token = ++entry.token;
    const attempt = entry.doc.attempts + 1;
    const { ackWaitMs, maxDeliver } = worker.options;
    try {
      if (attempt > maxDeliver) {
        return await this.bury(state, entry, maxDeliverError(state.name, entry.doc.id, entry.doc.attempts), entry.doc.attempts);
      }
      entry.doc = await this.items.replace({ ...entry.doc, attempts: attempt, leaseOwner: this.instance });
      this.later(state, entry, ackWaitMs, token);
      const item: WorkItem = { subject: state.name, payload: decodePayload(entry.text), headers: copyHeaders(entry.doc.headers), id: entry.doc.id, attempt, [WIRE_PAYLOAD]: entry.text };
      const outcome = await runWorkHandler(worker.handler, item, worker.options);
      if (entry.finished) return;
      if (outcome.kind === 'ack') return await this.finish(state, entry, { state: 'done', finishedAt: Date.now() });
      if (entry.token !== token) return; // the ack wait ran out and the item was handed over again
      if (outcome.kind === 'retry') this.later(state, entry, outcome.delayMs, token);
      else await this.bury(state, entry, outcome.error, attempt);
    } catch (error) {
      // The store failed: keep the item pending and try again after the ack wait.
      this.log.error('bus.work_store_failed', { queue: state.name, id: entry.doc.id, error: toPncError(error).toJSON() });
      if (!entry.finished && entry.token === token) this.later(state, entry, ackWaitMs, token);
    }
  }

  private async finish(state: QueueState, entry: Entry, change: Partial<WorkDoc>): Promise<void> {
    entry.finished = true;
    clearTimeout(entry.timer);
    state.entries.delete(entry.doc._id);
    const { payload: _payload, headers: _headers, leaseOwner: _lease, ...kept } = entry.doc;
    entry.doc = await this.items.replace({ ...kept, ...change });
  }

  /** Dead-letters: the record is stored, then the item is finished, then the record is published on `dlq.<queue>`. */
  private async bury(state: QueueState, entry: Entry, error: PncError, attempts: number): Promise<void> {
    const item: WorkItem = { subject: state.name, payload: decodePayload(entry.text), headers: copyHeaders(entry.doc.headers), id: entry.doc.id, attempt: attempts };
    const letter = deadLetter(item, error);
    // One record per enqueue: a crash before `finish` buries the item again under the same key.
    await this.deadLetters.replace({ _id: `${entry.doc._id} ${entry.doc.enqueuedAt}`, ...letter });
    await this.finish(state, entry, { state: 'done', finishedAt: Date.now() });
    this.publishDeadLetter(deadLetterSubject(state.name), letter);
  }

  /** Drops `done` tombstones once their de-duplication window is over. */
  private startPurging(): void {
    if (this.purgeTimer) return;
    this.purgeTimer = setInterval(async () => {
      try {
        const cutoff = Date.now() - DEFAULT_DEDUP_WINDOW_MS;
        for (const doc of await this.items.find({ state: 'done' })) if (doc.enqueuedAt < cutoff) await this.items.delete(doc._id);
      } catch (error) {
        this.log.warn('bus.work_purge_failed', { error: toPncError(error).toJSON() });
      }
    }, DEFAULT_DEDUP_WINDOW_MS);
    this.purgeTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.purgeTimer);
    const running: Promise<void>[] = [];
    for (const state of this.queues.values()) {
      for (const worker of state.workers) {
        worker.active = false;
        running.push(...worker.running);
      }
      for (const entry of state.entries.values()) clearTimeout(entry.timer);
    }
    await Promise.all(running);
  }
}
