/**
 * The Bus contract: one suite every adapter must pass (in-process, NATS single server, NATS cluster).
 * Each test uses its own subjects and queues, so the backend may be shared between tests.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { z } from 'zod';
import type { Bus, Delivery, Subscription, WorkItem } from '../../actors/bus/bus.ts';
import { consumeWork, enqueueWork, requestSubjectReply, serveSubject } from '../../actors/bus/typed.ts';
import type { DeadLetter } from '../../actors/bus/work.ts';
import { requestSubject, workQueue } from '../../protocols/catalogue/define.ts';
import { PncError } from '../../protocols/errors.ts';
import type { WorkerTarget } from './work-child.ts';

export interface BusFixture {
  /** A new bus on the shared backend (same store, same servers): a fresh process would get the same. */
  open(): Promise<Bus>;
  /** How a child process reaches the same backend (see work-child.ts). */
  readonly target: WorkerTarget;
  cleanup(): Promise<void>;
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `check` is true; fails with `what` after `timeoutMs`, a guard against a hang, not a speed limit. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.unreachable(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Awaits `promise` and returns the PncError it rejects with. */
export async function rejection(promise: Promise<unknown>): Promise<PncError> {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, PncError);
    return error as PncError;
  }
  assert.unreachable('expected a rejection');
  throw new Error('unreachable');
}

function unique(prefix: string): string {
  return `${prefix}.${randomUUID().slice(0, 8)}`;
}

export function busContract(name: string, setup: () => Promise<BusFixture>): void {
  const test = suite(`Bus contract: ${name}`);
  let fixture: BusFixture;
  let bus: Bus;
  const opened: Bus[] = [];
  const open = async (): Promise<Bus> => {
    const another = await fixture.open();
    opened.push(another);
    return another;
  };

  test.before(async () => {
    fixture = await setup();
  });
  test.after(async () => {
    await fixture.cleanup();
  });
  test.before.each(async () => {
    bus = await open();
  });
  test.after.each(async () => {
    await Promise.all(opened.splice(0).map((b) => b.close()));
  });

  test('subjects are validated with typed InvalidSubject errors', async () => {
    for (const bad of ['', 'a..b', '.a', 'a.', 'a b', 'a.>.b', 'a.b*', 'x\ty']) {
      assert.is((await rejection(bus.subscribe(bad, () => {}))).code, 'InvalidSubject', `subscribe ${JSON.stringify(bad)}`);
    }
    for (const wildcard of ['a.*', 'a.>', '>']) {
      assert.is((await rejection(bus.publish(wildcard, 1))).code, 'InvalidSubject', `publish ${wildcard}`);
      assert.is((await rejection(bus.request(wildcard, 1))).code, 'InvalidSubject', `request ${wildcard}`);
      assert.is((await rejection(bus.enqueue(wildcard, 1))).code, 'InvalidSubject', `enqueue ${wildcard}`);
    }
    assert.is((await rejection(bus.consume('q.ok', async () => {}, { durable: 'bad.name' }))).code, 'InvalidArgument');
    assert.is((await rejection(bus.enqueue('q.ok', 1, { id: 'line\nbreak' }))).code, 'InvalidArgument');
  });

  test('wildcards: * matches one token, > the rest', async () => {
    const root = unique('wild');
    const got: Record<string, string[]> = { star: [], tail: [], exact: [] };
    await bus.subscribe(`${root}.*.x`, (d) => void got.star.push(d.subject));
    await bus.subscribe(`${root}.>`, (d) => void got.tail.push(d.subject));
    await bus.subscribe(`${root}.a`, (d) => void got.exact.push(d.subject));
    for (const subject of [`${root}.a`, `${root}.b.x`, `${root}.a.b.c`, `${root}.b.y`, root]) await bus.publish(subject, null);
    await eventually('deliveries', () => got.tail.length === 4);
    await sleep(50);
    assert.equal(got.star, [`${root}.b.x`]);
    assert.equal(got.tail.sort(), [`${root}.a`, `${root}.a.b.c`, `${root}.b.x`, `${root}.b.y`]);
    assert.equal(got.exact, [`${root}.a`]);
  });

  test('payloads travel as JSON copies with their headers', async () => {
    const subject = unique('copy');
    const got: Delivery[] = [];
    await bus.subscribe(subject, (d) => void got.push(d));
    await bus.subscribe(subject, (d) => void got.push(d));
    const payload = { list: [1, 2], nested: { when: new Date(0) }, gone: undefined };
    await bus.publish(subject, payload, { 'Trace-Id': 't-1' });
    payload.list.push(3);
    await eventually('two deliveries', () => got.length === 2);
    assert.equal(got[0].payload, { list: [1, 2], nested: { when: '1970-01-01T00:00:00.000Z' } });
    assert.is.not(got[0].payload, got[1].payload);
    assert.is(got[0].headers['Trace-Id'], 't-1');
    assert.is((await rejection(bus.publish(subject, { big: 1n }))).code, 'InvalidPayload');
    assert.is((await rejection(bus.publish(subject, 1, { 'bad name': 'x' }))).code, 'InvalidArgument');
    assert.is((await rejection(bus.request(subject, 1, { headers: { Ok: 'line\nbreak' } }))).code, 'InvalidArgument');
  });

  test('queue groups: each message to exactly one member, balanced; plain subscribers and other groups see all', async () => {
    const subject = unique('group');
    const members = [[], [], []] as number[][];
    const other: number[] = [];
    const plain: number[] = [];
    for (const member of members) await bus.subscribe(subject, (d) => void member.push(d.payload as number), { queue: 'workers' });
    await bus.subscribe(subject, (d) => void other.push(d.payload as number), { queue: 'auditors' });
    await bus.subscribe(subject, (d) => void plain.push(d.payload as number));
    const total = 300;
    for (let i = 0; i < total; i++) await bus.publish(subject, i);
    await eventually('all deliveries', () => plain.length === total && other.length === total && members.flat().length >= total);
    await sleep(50);
    const grouped = members.flat().sort((a, b) => a - b);
    assert.equal(grouped, Array.from({ length: total }, (_, i) => i), 'each message once within the group');
    for (const member of members) assert.ok(member.length >= total / 6, `balanced: ${members.map((m) => m.length)}`);
  });

  test('request/reply: echo, headers, async handlers, many in flight', async () => {
    const subject = unique('echo');
    await bus.serve(subject, async (request: { n: number }, delivery) => {
      await sleep(request.n % 3);
      return { n: request.n, trace: delivery.headers['Trace-Id'] ?? null, subject: delivery.subject };
    });
    assert.equal(await bus.request(subject, { n: 1 }, { headers: { 'Trace-Id': 'abc' } }), { n: 1, trace: 'abc', subject });
    const replies = await Promise.all(Array.from({ length: 100 }, (_, n) => bus.request<{ n: number }>(subject, { n })));
    assert.equal(replies.map((r) => r.n), Array.from({ length: 100 }, (_, n) => n));
    const nothing = unique('nothing');
    await bus.serve(nothing, () => undefined);
    assert.is(await bus.request(nothing, undefined), undefined);
  });

  test('request/reply through a queue group: one answer per request, spread over the servers', async () => {
    const subject = unique('served');
    const calls = [0, 0];
    for (const index of [0, 1]) await bus.serve(subject, () => (calls[index]++, index), { queue: 'servers' });
    const answers = await Promise.all(Array.from({ length: 100 }, () => bus.request<number>(subject, null)));
    assert.is(calls[0] + calls[1], 100);
    assert.ok(calls[0] > 10 && calls[1] > 10, `spread: ${calls}`);
    assert.ok(answers.every((a) => a === 0 || a === 1));
  });

  test('a request nobody answers in time rejects with a retryable Timeout', async () => {
    const subject = unique('silent');
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await bus.serve(subject, () => held);
    const started = Date.now();
    const error = await rejection(bus.request(subject, 1, { timeoutMs: 150 }));
    const elapsed = Date.now() - started;
    release();
    assert.is(error.code, 'Timeout');
    assert.is(error.retryable, true);
    assert.ok(elapsed >= 140, `gave up after ${elapsed} ms, before its timeout`); // a lower bound only: a loaded machine is late, never early
  });

  test('a request on an unknown subject rejects at once with a retryable NoResponders', async () => {
    // Waiting out the timeout would answer Timeout: the code alone shows the answer came without waiting.
    const error = await rejection(bus.request(unique('nobody'), 1, { timeoutMs: 60_000 }));
    assert.is(error.code, 'NoResponders');
    assert.is(error.retryable, true);
    const gone = unique('gone');
    const subscription = await bus.serve(gone, () => 'here');
    assert.is(await bus.request(gone, null), 'here');
    await subscription.unsubscribe();
    assert.is((await rejection(bus.request(gone, null))).code, 'NoResponders');
  });

  test('typed errors cross the bus with code, message, retryable and data', async () => {
    const subject = unique('fails');
    await bus.serve(subject, (request: string) => {
      if (request === 'typed') throw new PncError('ChainMissing', 'no chain for PCID X', { retryable: true, data: { pcid: 'X', tries: [1, 2] } });
      if (request === 'plain') throw new Error('disk on fire');
      if (request === 'bigint') throw new PncError('Odd', 'data JSON cannot carry', { retryable: true, data: { n: 1n } });
      return Promise.reject(new PncError('Rejected', 'async refusal'));
    });
    const typed = await rejection(bus.request(subject, 'typed'));
    assert.equal(typed.toJSON(), { code: 'ChainMissing', message: 'no chain for PCID X', retryable: true, data: { pcid: 'X', tries: [1, 2] } });
    const plain = await rejection(bus.request(subject, 'plain'));
    assert.equal([plain.code, plain.message, plain.retryable], ['Internal', 'disk on fire', false]);
    assert.is((await rejection(bus.request(subject, 'async'))).code, 'Rejected');
    assert.equal((await rejection(bus.request(subject, 'bigint'))).toJSON(), { code: 'Odd', message: 'data JSON cannot carry', retryable: true });
    const unserializable = unique('bigint');
    await bus.serve(unserializable, () => ({ value: 10n }));
    assert.is((await rejection(bus.request(unserializable, null))).code, 'InvalidPayload');
  });

  test('catalogue subject: invalid payload gets InvalidPayload naming the path; the server keeps serving', async () => {
    const spec = requestSubject({
      subject: unique('cat'), summary: 'adds', errors: [],
      request: z.object({ a: z.number(), b: z.number() }), reply: z.object({ sum: z.number() }),
    });
    const badReply = requestSubject({ ...spec, subject: unique('cat'), summary: 'lies' });
    await serveSubject(bus, spec, ({ a, b }) => ({ sum: a + b }));
    await serveSubject(bus, badReply, () => ({ sum: 'many' }) as unknown as { sum: number });
    const invalid = await rejection(bus.request(spec.subject, { a: 1, b: 'two' }));
    assert.is(invalid.code, 'InvalidPayload');
    assert.match(invalid.message, /\bb\b/);
    assert.is((await rejection(bus.request(spec.subject, 'not even an object'))).code, 'InvalidPayload');
    assert.equal(await requestSubjectReply(bus, spec, { a: 2, b: 3 }), { sum: 5 });
    assert.is((await rejection(requestSubjectReply(bus, badReply, { a: 1, b: 1 }))).code, 'InvalidPayload');
  });

  // ------------------------------------------------------------------ durable work queues

  test('work: stored before enqueue resolves, delivered with id, attempt, payload and headers, acked once', async () => {
    const queue = unique('work.ack');
    await bus.enqueue(queue, { job: 1 }, { id: 'job-1', headers: { 'Trace-Id': 't' } });
    await bus.close();
    const consumer = await open();
    const items: WorkItem[] = [];
    await consumer.consume(queue, async (item) => void items.push(item), { durable: 'ackers', ackWaitMs: 1000 });
    await eventually('delivery', () => items.length === 1);
    await sleep(1300);
    assert.is(items.length, 1, 'acknowledged work is not redelivered');
    assert.equal({ ...items[0] }, { subject: queue, payload: { job: 1 }, headers: { 'Trace-Id': 't' }, id: 'job-1', attempt: 1 });
  });

  test('work: the same id enqueued again is stored once', async () => {
    const queue = unique('work.dedup');
    await Promise.all([1, 2, 3].map((n) => bus.enqueue(queue, { n }, { id: 'same' })));
    await bus.enqueue(queue, { n: 4 }, { id: 'other' });
    const seen: string[] = [];
    await bus.consume(queue, async (item) => void seen.push(item.id), { durable: 'dedup' });
    await eventually('both ids', () => seen.length === 2);
    await bus.enqueue(queue, { n: 5 }, { id: 'same' });
    await sleep(300);
    assert.equal(seen.sort(), ['other', 'same']);
  });

  test('work: a failing attempt is retried; one that outlives the ack wait is redelivered', async () => {
    const queue = unique('work.retry');
    const attempts: number[] = [];
    await bus.consume(queue, async (item) => {
      attempts.push(item.attempt);
      if (item.attempt === 1) throw new Error('transient');
    }, { durable: 'retry', ackWaitMs: 2000 });
    await bus.enqueue(queue, 'x');
    await eventually('second attempt', () => attempts.length === 2);
    assert.equal(attempts, [1, 2]);

    const slowQueue = unique('work.slow');
    const slow: number[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const handler = async (item: WorkItem): Promise<void> => {
      slow.push(item.attempt);
      if (item.attempt === 1) await held;
    };
    await bus.consume(slowQueue, handler, { durable: 'slow', ackWaitMs: 500 });
    await bus.consume(slowQueue, handler, { durable: 'slow', ackWaitMs: 500 });
    await bus.enqueue(slowQueue, 'y');
    await eventually('redelivery after the ack wait', () => slow.includes(2));
    release();
    assert.equal(slow.slice(0, 2), [1, 2]);
  });

  test('work: dead-lettered to dlq.<queue> after maxDeliver, and at once on a non-retryable PncError', async () => {
    const queue = unique('work.dead');
    const letters: DeadLetter[] = [];
    await bus.subscribe(`dlq.${queue}`, (d) => void letters.push(d.payload as DeadLetter));
    let calls = 0;
    await bus.consume(queue, async (item) => {
      calls++;
      if ((item.payload as { kind: string }).kind === 'fatal') throw new PncError('Unsignable', 'CSR is not P-256');
      throw new Error('always fails');
    }, { durable: 'dead', ackWaitMs: 1000, maxDeliver: 3 });
    await bus.enqueue(queue, { kind: 'flaky' }, { id: 'flaky' });
    await eventually('dead letter for flaky', () => letters.some((l) => l.id === 'flaky'));
    await bus.enqueue(queue, { kind: 'fatal' }, { id: 'fatal' });
    await eventually('dead letter for fatal', () => letters.some((l) => l.id === 'fatal'));
    await sleep(300);
    assert.is(calls, 4, 'three attempts for flaky, one for fatal');
    const flaky = letters.find((l) => l.id === 'flaky')!;
    assert.equal([flaky.queue, flaky.attempts, flaky.error.code, flaky.payload], [queue, 3, 'MaxDeliver', { kind: 'flaky' }]);
    const fatal = letters.find((l) => l.id === 'fatal')!;
    assert.equal([fatal.attempts, fatal.error.code, fatal.error.message], [1, 'Unsignable', 'CSR is not P-256']);
  });

  test('work: an invalid catalogue work item is dead-lettered as InvalidPayload, never dropped', async () => {
    const spec = workQueue({ queue: unique('work.typed'), summary: 'sign', payload: z.object({ csr: z.string() }) });
    const letters: DeadLetter[] = [];
    await bus.subscribe(`dlq.${spec.queue}`, (d) => void letters.push(d.payload as DeadLetter));
    const handled: string[] = [];
    await consumeWork(bus, spec, async (payload) => void handled.push(payload.csr), { durable: 'typed' });
    await bus.enqueue(spec.queue, { csr: 42 }, { id: 'bad' });
    await enqueueWork(bus, spec, { csr: 'MIIB' }, { id: 'good' });
    await eventually('dead letter and good item', () => letters.length === 1 && handled.length === 1);
    assert.equal([letters[0].id, letters[0].error.code], ['bad', 'InvalidPayload']);
    assert.equal(handled, ['MIIB']);
  });

  test('work: one durable consumer per queue', async () => {
    const queue = unique('work.conflict');
    await bus.consume(queue, async () => {}, { durable: 'first' });
    assert.is((await rejection(bus.consume(queue, async () => {}, { durable: 'second' }))).code, 'ConsumerConflict');
  });

  test('work: a consumer process killed with SIGKILL before acking gets its item redelivered', async () => {
    const queue = unique('work.crash');
    await bus.enqueue(queue, { precious: true }, { id: 'crash-1' });
    const child = spawn(process.execPath, ['--import', 'tsx', new URL('./work-child.ts', import.meta.url).pathname, JSON.stringify(fixture.target), queue, 'crashers', '800'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await eventually('the child to take the item', () => output.includes('GOT crash-1 1'), 20_000);
    child.kill('SIGKILL');
    await exited;
    const items: WorkItem[] = [];
    await bus.consume(queue, async (item) => void items.push(item), { durable: 'crashers', ackWaitMs: 800 });
    await eventually('redelivery', () => items.length === 1);
    assert.equal([items[0].id, items[0].attempt, items[0].payload], ['crash-1', 2, { precious: true }]);
  });

  test('unsubscribe lets running handlers finish; close() rejects later calls with BusClosed', async () => {
    const subject = unique('closing');
    let finished = false;
    let started!: () => void;
    const handlerStarted = new Promise<void>((resolve) => (started = resolve));
    const subscription: Subscription = await bus.subscribe(subject, async () => {
      started();
      await sleep(100);
      finished = true;
    });
    await bus.publish(subject, null);
    await handlerStarted; // the event, not a guess at how long delivery takes
    await subscription.unsubscribe();
    assert.ok(finished, 'handler finished before unsubscribe resolved');
    await bus.close();
    await bus.close();
    assert.is((await rejection(bus.publish(subject, 1))).code, 'BusClosed');
    assert.is((await rejection(bus.request(subject, 1))).code, 'BusClosed');
    assert.is((await rejection(bus.enqueue('q.closed', 1))).code, 'BusClosed');
  });

  test.run();
}
