// `openpnc opcp …`: run the OPCP gateway with the pools it fronts, and register OAuth2 clients.
import { hostname } from 'node:os';
import { createLogger } from '../host/index.ts';
import { loadParticipants } from '../participants/index.ts';
import { DEFAULT_OPCP_PORT, startOpcpGateway } from '../opcp/gateway.ts';
import { OAUTH_ROLES, OAuthService, type OAuthRole } from '../opcp/auth.ts';
import { requestSubjectReply } from '../bus/typed.ts';
import { opcpInterface } from '../../protocols/catalogue/opcp.ts';
import { toPncError } from '../../protocols/errors.ts';
import { CliError, parseFlags, wantsHelp, type Command } from './command.ts';
import { DEFAULT_DATA_DIR, hostParticipants, parseServers, watchSignals } from './run.ts';

/** What the gateway fronts: the operator's pools, and the CPS with the V2G root CA it gets its chain from. */
const OPERATOR_PARTICIPANTS = ['v2g-root', 'rcp', 'pcp', 'ccp', 'cps'];
const POOLS = ['rcp', 'pcp', 'ccp'];

const usage = `usage: openpnc opcp serve [--port N] [--host HOST] [--pools-only] [--nats URL[,URL…] [--creds DIR | --insecure]] [--mongo URI | --data DIR]
       openpnc opcp client add --role ROLE [--prefix P …] [--nats URL[,URL…] [--creds DIR] | --mongo URI | --data DIR]

serve        runs Hubject's OPCP 1.0 REST API (RCP, PCP, CPS and CCP paths and POST /oauth/token)
             together with the participants behind it: ${OPERATOR_PARTICIPANTS.join(', ')}.
               --port N        TCP port (default ${DEFAULT_OPCP_PORT}); --host HOST (default 127.0.0.1)
               --pools-only    host only ${POOLS.join(', ')}; the CPS paths then answer when a CPS runs
                               on the same NATS bus (openpnc run v2g-root cps --nats …)
               --nats URL      talk over NATS; default: the in-process bus
               --creds DIR     NATS credentials (openpnc deploy creds); the gateway calls as opcp.nk,
                               on behalf of each token's identity
               --insecure      start the CA participants on NATS without credentials
               --mongo URI     keep state and OAuth clients in MongoDB; default: the embedded store
               --data DIR      data directory of the embedded store (default ${DEFAULT_DATA_DIR}/)

client add   registers an OAuth2 client in the store the gateway uses and prints its client_id and
             client_secret once (only an scrypt hash of the secret is kept).
               --role ROLE     ${OAUTH_ROLES.join(' | ')}
               --prefix P      OEM: its WMI (3 characters); MO: its EMAID prefix (country + provider,
                               5 characters); repeat for several; none for admin, cpo, cps
               --nats URL      ask the gateway running on that NATS bus (opcp serve --nats, or
                               start --serve) to register it (subject opcp.client.add); use tls://
                               outside one host: the secret travels in the reply; --creds DIR
                               calls as the operator (DIR/admin.nk), the only one allowed to
               --mongo URI     write into that MongoDB directly
               --data DIR      write into that embedded store directly (default ${DEFAULT_DATA_DIR}/)

examples:
  openpnc opcp client add --role cpo
  openpnc opcp client add --role mo --prefix DEABC --nats nats://127.0.0.1:4222
  openpnc opcp serve --port 7080
  curl -s -X POST localhost:7080/oauth/token -H 'content-type: application/json' \\
       -d '{"client_id":"…","client_secret":"…","grant_type":"client_credentials"}'`;

const storeFlags = { data: { type: 'string' }, mongo: { type: 'string' } } as const;

function storeOptions(values: { data?: string; mongo?: string }) {
  if (values.data !== undefined && values.mongo !== undefined) throw new CliError('give --data or --mongo, not both');
  return { dataDir: values.data ?? DEFAULT_DATA_DIR, ...(values.mongo ? { mongo: values.mongo } : {}) };
}

async function serve(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { ...storeFlags, port: { type: 'string' }, host: { type: 'string' }, nats: { type: 'string' }, 'pools-only': { type: 'boolean' }, creds: { type: 'string' }, insecure: { type: 'boolean' } }, false);
  const port = values.port === undefined ? DEFAULT_OPCP_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new CliError(`--port must be a TCP port number, not '${values.port}'`);
  const nats = values.nats !== undefined ? parseServers(values.nats) : undefined;
  const log = createLogger({ fields: { host: hostname(), pid: process.pid } });
  const signals = watchSignals();
  const hosting = await hostParticipants({
    participants: await loadParticipants(values['pools-only'] ? POOLS : OPERATOR_PARTICIPANTS),
    config: {},
    log,
    ...storeOptions(values),
    ...(nats ? { nats } : {}),
    ...(values.creds ? { credentials: values.creds } : {}), ...(values.insecure ? { insecure: true } : {}),
  }).catch((error: unknown) => {
    signals.dispose();
    throw error;
  });
  let gateway;
  try {
    gateway = await startOpcpGateway({ bus: await hosting.connect('opcp'), store: hosting.store, log: log.child({ participant: 'opcp' }), port, ...(values.host ? { host: values.host } : {}) });
  } catch (error) {
    signals.dispose();
    await hosting.stop();
    throw new CliError(`cannot listen on port ${port}: ${(error as Error).message}`, 1);
  }
  process.stderr.write(`OPCP gateway on ${gateway.url} (bus ${hosting.bus.kind}, store ${hosting.store.kind}); Ctrl-C stops it\n`);
  await signals.wait();
  await gateway.close();
  await hosting.stop();
  return 0;
}

interface RegisteredClient {
  readonly client_id: string;
  readonly client_secret: string;
  readonly role: OAuthRole;
  readonly prefixes: string[];
}

/** Registers through the store directly: the same OAuthService.addClient the gateway's bus handler calls. */
async function addClientInStore(role: OAuthRole, prefixes: string[], values: { data?: string; mongo?: string }): Promise<RegisteredClient> {
  // The same store the gateway opens (no participants: only the store is used).
  const hosting = await hostParticipants({ participants: [], config: {}, log: createLogger({ write: () => undefined }), ...storeOptions(values) });
  try {
    return await new OAuthService(hosting.store).addClient(role, prefixes);
  } finally {
    await hosting.stop();
  }
}

/** Registers through the gateway on a NATS bus (`opcp.client.add`); the secret is made and hashed there. */
async function addClientOverNats(role: OAuthRole, prefixes: string[], servers: string[], credsDir: string | undefined): Promise<RegisteredClient> {
  const where = servers.join(',');
  const { connectAs } = await import('../host/credentials.ts');
  const bus = await connectAs({ servers, name: 'admin', connectionName: 'openpnc opcp client add', log: createLogger({ write: () => undefined }), ...(credsDir ? { credsDir } : {}) }).catch((error: unknown) => {
    // BusUnavailable's message names the servers: "cannot reach NATS at nats://…: …".
    throw new CliError(toPncError(error).message.split('\n')[0], 1);
  });
  try {
    const reply = await requestSubjectReply(bus, opcpInterface.requests.addClient, { role, prefixes }, { timeoutMs: 15_000 });
    return { client_id: reply.clientId, client_secret: reply.clientSecret, role: reply.role, prefixes: reply.prefixes };
  } catch (error) {
    const e = toPncError(error);
    if (e.code === 'NoResponders') throw new CliError(`no OPCP gateway answers on NATS ${where} (start one: openpnc opcp serve --nats ${where})`, 1);
    if (e.code === 'Timeout') throw new CliError(`the OPCP gateway on NATS ${where} did not answer in time`, 1);
    throw e;
  } finally {
    await bus.close().catch(() => undefined);
  }
}

async function addClient(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { ...storeFlags, nats: { type: 'string' }, creds: { type: 'string' }, role: { type: 'string' }, prefix: { type: 'string', multiple: true } }, false);
  if (!values.role || !(OAUTH_ROLES as readonly string[]).includes(values.role)) throw new CliError(`--role must be one of ${OAUTH_ROLES.join(', ')}`);
  if (values.nats !== undefined && (values.data !== undefined || values.mongo !== undefined)) throw new CliError('give one of --nats, --mongo or --data');
  const role = values.role as OAuthRole;
  const prefixes = values.prefix ?? [];
  try {
    const client = values.nats !== undefined ? await addClientOverNats(role, prefixes, parseServers(values.nats), values.creds) : await addClientInStore(role, prefixes, values);
    console.log(JSON.stringify({ client_id: client.client_id, client_secret: client.client_secret, role: client.role, prefixes: client.prefixes }, null, 2));
    return 0;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'InvalidClient' || code === 'InvalidPayload') throw new CliError((error as Error).message);
    throw error;
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
