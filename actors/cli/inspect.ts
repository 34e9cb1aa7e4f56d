// `openpnc inspect`: the statechart inspector beside a running deployment.
import { CliError, parseFlags, type Command } from './command.ts';
import { parseServers, watchSignals } from './run.ts';
import { DEFAULT_INSPECTOR_PORT, DEFAULT_STORE_POLL_MS, startInspector } from '../inspect/server.ts';
import type { Bus } from '../bus/bus.ts';
import type { Store } from '../store/store.ts';

const usage = `usage: openpnc inspect (--nats URL[,URL…] | --data DIR | --mongo URI) [options]

Serves a local web page that draws every participant's statechart, lights the states of the actor
you choose as its events arrive, lists actors (filter by state, PCID, EMAID, contract or session),
shows an actor's timeline of events, snapshots and effects, and the message sequence of a contract
or charging session, with EXI messages decoded on click. Nothing leaves this machine.

sources (at least one):
  --nats URL[,URL…]  live: the inspect.> stream of a NATS deployment (events, snapshots, message sequence)
  --data DIR         the embedded store of 'openpnc run|start --data DIR': actor records, read every ${DEFAULT_STORE_POLL_MS} ms
  --mongo URI        the shared MongoDB store: actor records

options:
  --creds DIR        with --nats: connect as DIR/inspector.nk (openpnc deploy creds), the one key that may read inspect.>
  --port N           port on 127.0.0.1 (default ${DEFAULT_INSPECTOR_PORT}; 0 = any free port)
  -h, --help         show this help

'openpnc start --serve' runs the inspector itself (--inspect-port).`;

export const inspectCommand: Command = {
  summary: 'a local web page that draws and lights every statechart while the participants run',
  usage,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { nats: { type: 'string' }, data: { type: 'string' }, mongo: { type: 'string' }, port: { type: 'string' }, creds: { type: 'string' } });
    if (positionals.length) throw new CliError(`unexpected argument '${positionals[0]}' (see openpnc inspect --help)`);
    if (!values.nats && !values.data && !values.mongo) throw new CliError('name a source: --nats URL, --data DIR or --mongo URI');
    if (values.data && values.mongo) throw new CliError('--data and --mongo are two stores; choose one');
    if (values.creds && !values.nats) throw new CliError('--creds goes with --nats');
    const port = values.port === undefined ? DEFAULT_INSPECTOR_PORT : Number(values.port);
    if (!/^\d+$/.test(values.port ?? '0') || port > 65_535) throw new CliError(`--port must be a port number, got '${values.port}'`);
    const servers = values.nats === undefined ? undefined : parseServers(values.nats);
    const signals = watchSignals();
    let bus: Bus | undefined;
    let store: Store | undefined;
    try {
      const stores = await import('../store/index.ts');
      if (values.data) store = await stores.openEmbeddedStore(values.data);
      if (values.mongo) store = await stores.connectMongoStore(values.mongo);
      if (servers) bus = await (await import('../host/credentials.ts')).connectAs({ servers, name: 'inspector', connectionName: 'openpnc inspect', ...(values.creds ? { credsDir: values.creds } : {}) });
      const inspector = await startInspector({ ...(bus ? { bus } : {}), ...(store ? { store } : {}), port });
      console.log(`inspector at ${inspector.url} (Ctrl-C stops)`);
      await signals.wait();
      await inspector.close();
    } catch (error) {
      signals.dispose();
      throw new CliError(`inspector failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`, 1);
    } finally {
      await bus?.close();
      await store?.close();
    }
    return 0;
  },
};
