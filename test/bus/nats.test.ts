// The Bus contract on NATS: one real nats-server with JetStream.
import { connectNatsBus } from '../../actors/bus/index.ts';
import { natsServerAvailable, startNatsServer } from '../harness/nats.ts';
import { busContract } from './contract.ts';

if (natsServerAvailable('NATS bus suite')) {
  busContract('NATS (single server)', async () => {
    const server = await startNatsServer();
    return {
      open: () => connectNatsBus({ servers: server.url, name: 'contract' }),
      target: { kind: 'nats', servers: [server.url] },
      cleanup: () => server.stop(),
    };
  });
}
