// The Bus contract on NATS: one real nats-server with JetStream; plus what only NATS has:
// the wire form of typed errors, an unreachable server, and work surviving a server crash.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from 'nats';
import { connectNatsBus, type WorkItem } from '../../actors/bus/index.ts';
import { ERROR_HEADER, WORK_STREAM } from '../../actors/bus/nats.ts';
import { PncError } from '../../protocols/errors.ts';
import { freePort, natsServerAvailable, startNatsServer } from '../harness/nats.ts';
import { busContract, eventually, rejection } from './contract.ts';

if (natsServerAvailable('NATS bus suite')) {
  busContract('NATS (single server)', async () => {
    const server = await startNatsServer();
    return {
      open: () => connectNatsBus({ servers: server.url, name: 'contract' }),
      target: { kind: 'nats', servers: [server.url] },
      cleanup: () => server.stop(),
    };
  });

  const specific = suite('NATS bus: wire form, unreachable server, crash');

  specific('an unreachable server gives a one-line retryable BusUnavailable', async () => {
    const url = `nats://127.0.0.1:${await freePort()}`;
    const error = await rejection(connectNatsBus({ servers: url }));
    assert.is(error.code, 'BusUnavailable');
    assert.is(error.retryable, true);
    assert.ok(error.message.includes(url) && !error.message.includes('\n'), error.message);
  });

  specific('typed errors travel as a Pnc-Error header with the error JSON as body, readable by any NATS client', async () => {
    const server = await startNatsServer();
    const bus = await connectNatsBus({ servers: server.url });
    const raw = await connect({ servers: server.url });
    try {
      await bus.serve('wire.fail', () => {
        throw new PncError('CertificateRevoked', 'OCSP says revoked', { data: { serial: '0a' } });
      });
      const reply = await raw.request('wire.fail', new TextEncoder().encode('null'));
      assert.is(reply.headers?.get(ERROR_HEADER), 'CertificateRevoked');
      assert.equal(JSON.parse(new TextDecoder().decode(reply.data)), { code: 'CertificateRevoked', message: 'OCSP says revoked', retryable: false, data: { serial: '0a' } });
    } finally {
      await raw.close();
      await bus.close();
      await server.stop();
    }
  });

  specific('work enqueued before nats-server is SIGKILLed is delivered once after it restarts', async () => {
    const server = await startNatsServer();
    try {
      const producer = await connectNatsBus({ servers: server.url });
      await producer.enqueue('crash.work', { n: 1 }, { id: 'survivor' });
      await producer.close();
      await server.kill();
      await server.restart();
      const consumer = await connectNatsBus({ servers: server.url });
      const seen: WorkItem[] = [];
      await consumer.consume('crash.work', async (item) => void seen.push(item), { durable: 'after', ackWaitMs: 500 });
      await eventually('the surviving item', () => seen.length === 1);
      await new Promise((resolve) => setTimeout(resolve, 800));
      assert.equal(seen.map((item) => [item.id, item.attempt, item.payload]), [['survivor', 1, { n: 1 }]]);
      await consumer.close();
    } finally {
      await server.stop();
    }
  });

  specific('a consumer deleted behind the back of the bus is set up again and consumption goes on', async () => {
    const server = await startNatsServer();
    const bus = await connectNatsBus({ servers: server.url });
    const raw = await connect({ servers: server.url });
    try {
      const seen: string[] = [];
      await bus.consume('resilient.work', async (item) => void seen.push(item.id), { durable: 'phoenix', ackWaitMs: 500 });
      await bus.enqueue('resilient.work', 1, { id: 'before' });
      await eventually('first item', () => seen.length === 1);
      const jsm = await raw.jetstreamManager();
      const consumers = await jsm.consumers.list(WORK_STREAM).next();
      const doomed = consumers.find((c) => c.config.filter_subject === 'pnc.work.resilient.work')!;
      await jsm.consumers.delete(WORK_STREAM, doomed.name);
      await bus.enqueue('resilient.work', 2, { id: 'after' });
      await eventually('the item enqueued after the deletion', () => seen.includes('after'));
      assert.equal(seen, ['before', 'after']);
    } finally {
      await raw.close();
      await bus.close();
      await server.stop();
    }
  });

  specific.run();
}
