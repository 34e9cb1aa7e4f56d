// `openpnc opcp …`: run the OPCP gateway with the pools it fronts, and register OAuth2 clients.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { createMemoryBus, connectNatsBus } from '../bus/index.ts';
import type { Bus } from '../bus/bus.ts';
import { openEmbeddedStore, connectMongoStore, type Store } from '../store/index.ts';
import { createLogger } from '../host/index.ts';
import { startRcp } from '../participants/rcp.ts';
import { startPcp } from '../participants/pcp.ts';
import { startCcp } from '../participants/ccp.ts';
import { DEFAULT_OPCP_PORT, startOpcpGateway } from '../opcp/gateway.ts';
import { OAUTH_ROLES, OAuthService, type OAuthRole } from '../opcp/auth.ts';
import { CliError, parseFlags, wantsHelp, type Command } from './command.ts';

const DEFAULT_DATA_DIR = process.env.OPENPNC_DATA ?? './openpnc-data';

const usage = `usage: openpnc opcp serve [--port N] [--host HOST] [--data DIR | --mongodb URI] [--nats URL]
       openpnc opcp client add --role ROLE [--prefix P …] [--data DIR | --mongodb URI]

serve        runs Hubject's OPCP 1.0 REST API (RCP, PCP, CPS, CCP paths and POST /oauth/token) with
             the RCP, PCP and CCP participants it fronts. The CPS paths answer when a CPS participant
             runs on the same bus (openpnc run cps, or --nats shared with one).
               --port N        TCP port (default ${DEFAULT_OPCP_PORT}); --host HOST (default 127.0.0.1)
               --data DIR      embedded store directory (default ${DEFAULT_DATA_DIR}, or $OPENPNC_DATA)
               --mongodb URI   keep the pools and OAuth clients in MongoDB instead
               --nats URL      use a NATS bus instead of the in-process one

client add   registers an OAuth2 client in the store the gateway uses and prints its client_id and
             client_secret once (only an scrypt hash of the secret is kept).
               --role ROLE     ${OAUTH_ROLES.join(' | ')}
               --prefix P      OEM: its WMI (3 characters); MO: its EMAID prefix (country + provider,
                               5 characters); repeat for several; none for admin, cpo, cps

examples:
  openpnc opcp client add --role oem --prefix WMI
  openpnc opcp serve --port 7080
  curl -s -X POST localhost:7080/oauth/token -H 'content-type: application/json' \\
       -d '{"client_id":"…","client_secret":"…","grant_type":"client_credentials"}'`;

const storeFlags = { data: { type: 'string' }, mongodb: { type: 'string' } } as const;

async function openStore(values: { data?: string; mongodb?: string }): Promise<Store> {
  if (values.data !== undefined && values.mongodb !== undefined) throw new CliError('give --data or --mongodb, not both');
  if (values.mongodb !== undefined) return connectMongoStore(values.mongodb);
  const dir = resolve(values.data ?? DEFAULT_DATA_DIR);
  mkdirSync(dir, { recursive: true });
  return openEmbeddedStore(dir);
}

async function serve(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { ...storeFlags, port: { type: 'string' }, host: { type: 'string' }, nats: { type: 'string' } }, false);
  const port = values.port === undefined ? DEFAULT_OPCP_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new CliError(`--port must be a TCP port number, not '${values.port}'`);
  const log = createLogger({ fields: { participant: 'opcp' } });
  const store = await openStore(values);
  const bus: Bus = values.nats ? await connectNatsBus({ servers: values.nats, name: 'openpnc-opcp', log }) : createMemoryBus({ store, log });
  const pools = [await startRcp(bus, store, log.child({ participant: 'rcp' })), await startPcp(bus, store, log.child({ participant: 'pcp' })), await startCcp(bus, store, log.child({ participant: 'ccp' }))];
  let gateway;
  try {
    gateway = await startOpcpGateway({ bus, store, log, port, ...(values.host ? { host: values.host } : {}) });
  } catch (error) {
    for (const pool of pools.reverse()) await pool.stop();
    throw new CliError(`cannot listen on port ${port}: ${(error as Error).message}`);
  }
  process.stderr.write(`OPCP gateway on ${gateway.url} (rcp, pcp, ccp; bus ${bus.kind}, store ${store.kind}); Ctrl-C stops it\n`);
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await gateway.close();
  for (const pool of pools.reverse()) await pool.stop();
  await bus.close();
  await store.close();
  return 0;
}

async function addClient(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { ...storeFlags, role: { type: 'string' }, prefix: { type: 'string', multiple: true } }, false);
  if (!values.role || !(OAUTH_ROLES as readonly string[]).includes(values.role)) throw new CliError(`--role must be one of ${OAUTH_ROLES.join(', ')}`);
  const store = await openStore(values);
  try {
    const client = await new OAuthService(store).addClient(values.role as OAuthRole, values.prefix ?? []);
    console.log(JSON.stringify({ client_id: client.client_id, client_secret: client.client_secret, role: client.role, prefixes: client.prefixes }, null, 2));
    return 0;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'InvalidClient') throw new CliError((error as Error).message);
    throw error;
  } finally {
    await store.close();
  }
}

export const opcpCommand: Command = {
  summary: "Hubject-compatible OPCP REST gateway to the pools; OAuth2 clients",
  usage,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === undefined || wantsHelp([sub])) {
      console.log(usage);
      return sub === undefined ? 2 : 0;
    }
    if (wantsHelp(rest)) {
      console.log(usage);
      return 0;
    }
    if (sub === 'serve') return serve(rest);
    if (sub === 'client' && rest[0] === 'add') return addClient(rest.slice(1));
    throw new CliError(`unknown opcp subcommand '${[sub, ...rest.slice(0, 1)].join(' ')}' (see openpnc opcp --help)`);
  },
};
