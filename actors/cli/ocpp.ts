// `openpnc ocpp …`: the CSMS edge of the CPO backend with the back office behind it, and station credentials.
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../host/index.ts';
import { backOfficeParticipantNames, loadParticipants } from '../participants/index.ts';
import { DEFAULT_OCPP_PORT } from '../ocpp/listen.ts';
import { StationCredentials } from '../ocpp/credentials.ts';
import { CliError, parseFlags, wantsHelp, type Command } from './command.ts';
import { DEFAULT_DATA_DIR, hostParticipants, parseServers, watchSignals } from './run.ts';

const usage = `usage: openpnc ocpp serve [--port N] [--host HOST] [--nats URL[,URL…]] [--mongo URI | --data DIR]
       openpnc ocpp station add --id STATION [--mongo URI | --data DIR]

serve        the OCPP 2.0.1 CSMS (and OCPP 1.6 with the OCA Plug&Charge DataTransfer) at
             wss://HOST:PORT/ocpp/<stationId>, with every back-office participant behind it.
             Security profile 2 (TLS + Basic auth) and 3 (mutual TLS under the CSMS root); the
             CSMS root is written to DIR/csms-root.pem for stations to trust.
               --port N        TCP port (default ${DEFAULT_OCPP_PORT}; 0 = any free port); --host HOST (default 127.0.0.1)
               --nats URL      talk over NATS; default: the in-process bus
               --mongo URI / --data DIR   the store (default ${DEFAULT_DATA_DIR}/)

station add  registers a station for security profile 2 and prints its password once (the store
             keeps only an scrypt hash).`;

const storeFlags = { data: { type: 'string' }, mongo: { type: 'string' } } as const;

function storeOptions(values: { data?: string; mongo?: string }) {
  if (values.data !== undefined && values.mongo !== undefined) throw new CliError('give --data or --mongo, not both');
  return { dataDir: values.data ?? DEFAULT_DATA_DIR, ...(values.mongo ? { mongo: values.mongo } : {}) };
}

async function serve(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { ...storeFlags, port: { type: 'string' }, host: { type: 'string' }, nats: { type: 'string' } }, false);
  const port = values.port === undefined ? DEFAULT_OCPP_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new CliError(`--port must be a TCP port number, not '${values.port}'`);
  const log = createLogger({ fields: { host: hostname(), pid: process.pid } });
  const signals = watchSignals();
  const store = storeOptions(values);
  const hosting = await hostParticipants({ participants: await loadParticipants(backOfficeParticipantNames), config: {}, log, ...store, ...(values.nats ? { nats: parseServers(values.nats) } : {}) })
    .catch((error: unknown) => { signals.dispose(); throw error; });
  const { startCsms } = await import('../ocpp/csms.ts');
  let csms;
  try {
    csms = await startCsms({ bus: hosting.bus, store: hosting.store, log: log.child({ participant: 'ocpp' }), port, ...(values.host ? { host: values.host } : {}) });
  } catch (error) {
    signals.dispose();
    await hosting.stop();
    throw new CliError(`cannot serve OCPP on port ${port}: ${(error as Error).message}`, 1);
  }
  mkdirSync(store.dataDir, { recursive: true });
  const caFile = join(store.dataDir, 'csms-root.pem');
  writeFileSync(caFile, csms.caCertificate);
  process.stderr.write(`OCPP CSMS at ${csms.url}/<stationId> (CSMS root in ${caFile}; bus ${hosting.bus.kind}, store ${hosting.store.kind}); Ctrl-C stops it\n`);
  await signals.wait();
  await csms.close();
  await hosting.stop();
  return 0;
}

async function addStation(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { ...storeFlags, id: { type: 'string' } }, false);
  if (!values.id || !/^[A-Za-z0-9*_=+.|@-]{1,48}$/.test(values.id)) throw new CliError('--id must be an OCPP station identity (1–48 of A-Z a-z 0-9 * _ = + . | @ -)');
  const hosting = await hostParticipants({ participants: [], config: {}, log: createLogger({ write: () => undefined }), ...storeOptions(values) });
  try {
    const { stationId, password } = await new StationCredentials(hosting.store).add(values.id);
    console.log(JSON.stringify({ stationId, password }));
  } finally {
    await hosting.stop();
  }
  return 0;
}

export const ocppCommand: Command = {
  summary: 'the OCPP 2.0.1 CSMS edge of the CPO backend; station credentials',
  usage,
  async run(argv) {
    if (wantsHelp(argv) || argv.length === 0) {
      console.log(usage);
      return 0;
    }
    const [verb, ...rest] = argv;
    if (verb === 'serve') return serve(rest);
    if (verb === 'station' && rest[0] === 'add') return addStation(rest.slice(1));
    throw new CliError(`unknown ocpp command '${argv.join(' ')}' (see openpnc ocpp --help)`);
  },
};
