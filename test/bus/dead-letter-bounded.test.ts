// Issue 9 D5: a work item that is too large to dead-letter once wrapped (NATS max_payload) used to be
// redelivered forever; now a bounded record (size, SHA-256, head of the payload) is dead-lettered.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { connectNatsBus } from '../../actors/bus/index.ts';
import type { Bus } from '../../actors/bus/bus.ts';
import { boundedDeadLetterText, DEAD_LETTER_HEAD_CHARS, type DeadLetter } from '../../actors/bus/work.ts';
import { PncError } from '../../protocols/errors.ts';
import { natsServerAvailable, startNatsServer, type NatsServer } from '../harness/nats.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('boundedDeadLetterText keeps a small letter whole and cuts a large one to size, with its hash', () => {
  const small: DeadLetter = { queue: 'q', id: '1', attempts: 1, payload: { a: 1 }, headers: {}, error: { code: 'X', message: 'm', retryable: false }, deadAt: 'now' };
  assert.equal(JSON.parse(boundedDeadLetterText(small, 10_000)), small);
  const big = 'x'.repeat(50_000);
  const text = boundedDeadLetterText({ ...small, payload: big, error: { code: 'X', message: 'y'.repeat(20_000), retryable: false, data: { huge: big } } }, 10_000);
  assert.ok(Buffer.byteLength(text) <= 10_000);
  const letter = JSON.parse(text) as DeadLetter;
  assert.equal(letter.payload, { truncated: true, bytes: 50_000, sha256: createHash('sha256').update(big).digest('hex'), head: big.slice(0, DEAD_LETTER_HEAD_CHARS) });
  assert.is(letter.error.code, 'X');
});

if (natsServerAvailable('NATS dead-letter suite')) {
  let server: NatsServer;
  let bus: Bus;
  test.before(async () => {
    server = await startNatsServer();
    bus = await connectNatsBus({ servers: server.url, name: 'dead-letter-test' });
  });
  test.after(async () => {
    await bus?.close();
    await server?.stop();
  });

  test('a work item near max_payload that fails for good is dead-lettered once, bounded, and not redelivered', async () => {
    const letters: DeadLetter[] = [];
    await bus.subscribe('dlq.work.big', (d) => void letters.push(d.payload as DeadLetter));
    let calls = 0;
    await bus.consume('work.big', async () => {
      calls++;
      throw new PncError('Unprocessable', `refused: ${'z'.repeat(2_000)}`);
    }, { durable: 'big', ackWaitMs: 500, maxDeliver: 3 });
    // 1 MiB is the server's max_payload: the item fits, the item wrapped with its error does not.
    const payload = 'p'.repeat(1024 * 1024 - 600);
    await bus.enqueue('work.big', payload, { id: 'big-1' });
    for (let waited = 0; letters.length === 0 && waited < 10_000; waited += 50) await sleep(50);
    await sleep(1_500); // several ack waits: a redelivery would show up
    assert.is(calls, 1, 'handled once, not redelivered');
    assert.is(letters.length, 1);
    const letter = letters[0];
    assert.is(letter.id, 'big-1');
    assert.is(letter.error.code, 'Unprocessable');
    assert.equal((letter.payload as { truncated: boolean; bytes: number }).truncated, true);
    assert.is((letter.payload as { bytes: number }).bytes, payload.length);
  });
}

test.run();
