/**
 * `openpnc run <participant…>`: hosts the named participants in this process until SIGINT or
 * SIGTERM, on NATS (`--nats`) or the in-process bus, with MongoDB (`--mongo`) or the embedded
 * store in `--data`. Logs are JSON lines on stdout; `host.ready` says every participant started.
 */
import { join } from 'node:path';
import { hostname } from 'node:os';
import { unsubscribeAll, type Bus, type Subscription } from '../bus/bus.ts';
import { FaultState, FaultyBus, serveChaosControl } from '../bus/faults.ts';
import { createLogger } from '../host/log.ts';
import type { Logger, ParticipantDefinition, RunningParticipant } from '../host/participant.ts';
import { loadParticipants, participantNames } from '../participants/index.ts';
import type { Store } from '../store/store.ts';
import { Timeline } from '../story/timeline.ts';
import { PncError } from '../../protocols/errors.ts';
import { CliError, parseFlags, type Command } from './command.ts';
import { Credential, IdentifiedBus, LocalIdentities } from '../bus/identity.ts';
import { CA_PARTICIPANTS, participantHandle, readCredential, readRoster } from '../host/credentials.ts';
import { inboxPrefixOf } from '../../protocols/catalogue/access.ts';
import { resolveKek, type KeyEncryptionKey } from '../host/kek.ts';
import { serveChaosMemory } from '../chaos/measure.ts';
import { runtimeSettings } from '../host/runtime.ts';
import { collectWhenIdle } from '../host/idle.ts';

/** Where the embedded store lives when `--data` is not given. */
export const DEFAULT_DATA_DIR = '.data';

export interface HostingOptions {
  readonly participants: readonly ParticipantDefinition[];
  /** NATS server URLs; the in-process bus when absent. */
  readonly nats?: readonly string[];
  /** JetStream replicas for the work streams (3 on a three-node cluster). */
  readonly replicas?: number;
  /** MongoDB URI; the embedded store in `dataDir` when absent. */
  readonly mongo?: string;
  readonly dataDir: string;
  readonly config: Readonly<Record<string, string>>;
  readonly log: Logger;
  /** Puts each participant's bus behind the chaos fault layer, controlled over `chaos.control.<participant>`; memory on `chaos.memory.<participant>`. */
  readonly chaos?: boolean;
  /** Credentials directory from `openpnc deploy creds`: each participant connects to NATS with its own key. */
  readonly credentials?: string;
  /** Lets CA participants start on NATS without credentials (said loudly on stderr). */
  readonly insecure?: boolean;
  /** File with the key-encryption key of the CA keys at rest; else OPENPNC_KEK / OPENPNC_KEK_FILE / `<dataDir>/kek`. */
  readonly kekFile?: string;
}

export interface Hosting {
  /** The first bus connection (its `kind` says NATS or in-process). */
  readonly bus: Bus;
  readonly store: Store;
  /** A bus handle for an identity hosted beside the participants, such as the OPCP gateway (`opcp`). */
  connect(name: string): Promise<IdentifiedBus>;
  /** Stops the participants in reverse start order, then closes bus and store. */
  stop(): Promise<void>;
}

/** Turns a failure to reach a backing service into the CLI's one-line error. */
function unavailable(what: string, error: unknown): CliError {
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  return new CliError(`${what}: ${message}`, 1);
}

/**
 * Opens the store and the bus, then starts each participant in order with its own logger and
 * data directory (`<dataDir>/<name>`). On a failed start, stops what already runs and throws a CliError.
 */
export async function hostParticipants(options: HostingOptions): Promise<Hosting> {
  const { log } = options;
  let store: Store;
  try {
    const stores = await import('../store/index.ts');
    store = options.mongo ? await stores.connectMongoStore(options.mongo) : await stores.openEmbeddedStore(options.dataDir);
  } catch (error) {
    throw unavailable('store unavailable', error);
  }
  let kek: KeyEncryptionKey;
  try {
    kek = resolveKek({ dataDir: options.dataDir, ...(options.kekFile ? { file: options.kekFile } : {}) });
  } catch (error) {
    await store.close();
    throw new CliError((error as Error).message, 1);
  }
  const names = options.participants.map((p) => p.name);
  const unprotected = names.filter((name) => CA_PARTICIPANTS.has(name));
  if (options.nats && !options.credentials && unprotected.length) {
    if (!options.insecure) {
      await store.close();
      throw new CliError(`${unprotected.join(', ')} hold${unprotected.length === 1 ? 's' : ''} a CA key: refusing to serve on NATS without credentials (--creds DIR from 'openpnc deploy creds'); --insecure starts anyway`, 1);
    }
    process.stderr.write(`\n*** INSECURE: ${unprotected.join(', ')} on NATS WITHOUT CREDENTIALS. Anyone who reaches ${options.nats.join(', ')} can call and serve their subjects; `
      + 'requests from other processes carry no identity the pools accept. Use --creds DIR (openpnc deploy creds). ***\n\n');
  }
  const connections: Bus[] = [];
  let handleFor: (name: string, config?: Readonly<Record<string, string>>) => Promise<IdentifiedBus>;
  try {
    const buses = await import('../bus/index.ts');
    const nats = (connectionName: string, holder?: { name: string; credential: Credential }) => buses.connectNatsBus({
      servers: options.nats!, name: connectionName, log, ...(options.replicas ? { replicas: options.replicas } : {}),
      ...(holder ? { seed: holder.credential.seed, inboxPrefix: inboxPrefixOf(holder.name) } : {}),
    });
    if (options.nats && options.credentials) {
      // Each participant its own connection: the server authenticates its key and applies its permissions.
      const dir = options.credentials;
      const roster = readRoster(dir);
      for (const name of names) readCredential(dir, roster, name, options.config);
      handleFor = async (name, config) => {
        const credential = readCredential(dir, roster, name, config);
        const connection = await nats(`openpnc ${name} (${names.join(' ') || name})`, { name, credential });
        connections.push(connection);
        return new IdentifiedBus(connection, credential, roster);
      };
    } else {
      const shared = options.nats ? await nats(`openpnc ${names.join(' ')}`) : buses.createMemoryBus({ store, log });
      connections.push(shared);
      const identities = new LocalIdentities();
      handleFor = async (name, config) => (name === 'opcp' ? identities.gateway(shared) : participantHandle(identities, shared, name, config));
    }
  } catch (error) {
    await Promise.all(connections.map((connection) => connection.close().catch(() => undefined)));
    await store.close();
    if (error instanceof PncError && error.code === 'CredentialInvalid') throw new CliError(error.message, 1);
    throw unavailable('bus unavailable', error);
  }
  const running: Array<{ name: string; participant: RunningParticipant }> = [];
  const controls: Subscription[] = [];
  // Memory a burst of load left goes back once the process is idle (issue 9).
  const idleCollector = collectWhenIdle();
  const stop = async (): Promise<void> => {
    idleCollector.stop();
    await unsubscribeAll(controls);
    for (const { name, participant } of running.reverse()) {
      try {
        await participant.stop();
        log.info('participant.stopped', { participant: name });
      } catch (error) {
        log.error('participant.stop_failed', { participant: name, error });
      }
    }
    for (const connection of connections) await connection.close().catch((error: unknown) => log.warn('bus.close_failed', { error }));
    await store.close().catch((error: unknown) => log.warn('store.close_failed', { error }));
  };
  for (const definition of options.participants) {
    try {
      const handle = await handleFor(definition.name, options.config);
      // What the participant sends goes to the inspector's message sequence as well (inspect.<name>.~trace).
      const traced = new Timeline({ keepEntries: false }).publishTo(handle).busFor(definition.name, handle);
      let participantBus: Bus = traced;
      if (options.chaos) {
        const faults = new FaultState();
        participantBus = new FaultyBus(traced, faults);
        controls.push(await serveChaosControl(handle, definition.name, faults), await serveChaosMemory(handle, definition.name));
      }
      const participant = await definition.start({
        bus: participantBus, store, kek, config: options.config, dataDir: join(options.dataDir, definition.name), log: log.child({ participant: definition.name }),
      });
      running.push({ name: definition.name, participant });
      log.info('participant.started', { participant: definition.name });
    } catch (error) {
      await stop();
      const reason = error instanceof PncError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
      throw new CliError(`participant ${definition.name} failed to start: ${reason.split('\n')[0]}`, 1);
    }
  }
  return { get bus() { return connections[0]; }, store, stop, connect: (name) => handleFor(name) };
}

export interface SignalWatch {
  /** Resolves on the first SIGINT or SIGTERM; a second one takes the default action (the process ends at once). */
  readonly signalled: Promise<NodeJS.Signals>;
  /** Keeps the process alive until a signal (the in-process bus holds no socket that would). */
  wait(): Promise<NodeJS.Signals>;
  /** Stops listening, for a start-up that failed. */
  dispose(): void;
}

/** Starts listening for SIGINT and SIGTERM. */
export function watchSignals(): SignalWatch {
  let onSignal!: (signal: NodeJS.Signals) => void;
  const dispose = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = (signal) => {
      dispose();
      resolve(signal);
    };
  });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signalled,
    dispose,
    async wait() {
      const keepAlive = setInterval(() => undefined, 1 << 30);
      try {
        return await signalled;
      } finally {
        clearInterval(keepAlive);
      }
    },
  };
}

/** `--set key=value` pairs → participant config. */
export function parseSettings(pairs: readonly string[] | undefined): Record<string, string> {
  const config: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new CliError(`--set wants KEY=VALUE, got '${pair}'`);
    config[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return config;
}

/** `--nats URL[,URL…]` → server URLs, each checked. */
export function parseServers(value: string): string[] {
  const servers = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const server of servers) {
    if (!/^(nats|tls|wss?):\/\/[^\s/]+/.test(server)) throw new CliError(`--nats wants nats://host:port[,…], got '${server}'`);
  }
  if (servers.length === 0) throw new CliError('--nats needs at least one server URL');
  return servers;
}

const usage = `usage: openpnc run <participant…> [options]

Hosts the named participants in this process until SIGINT or SIGTERM (graceful stop).
Participants: ${participantNames.join(', ')}.

options:
  --nats URL[,URL…]  talk over NATS (JetStream for durable work); default: the in-process bus
  --replicas N       JetStream replicas of the work streams (3 on a three-node cluster; default 1)
  --mongo URI        keep state in MongoDB; default: the embedded store in --data
  --data DIR         data directory: embedded store and participant files (default ${DEFAULT_DATA_DIR}/)
  --creds DIR        NATS credentials from 'openpnc deploy creds': each participant connects with DIR/<name>.nk
                     and knows the others by DIR/roster.json
  --insecure         let CA participants (v2g-root, oem, mo, cps, cpo) start on NATS without --creds
  --kek FILE         key-encryption key of the CA keys at rest (32 bytes, base64); default OPENPNC_KEK,
                     OPENPNC_KEK_FILE, else <data>/kek (made on first start)
  --set KEY=VALUE    participant setting, repeatable (for example --set organization=ACME)
  --chaos            accept fault plans on chaos.control.<participant> and answer memory figures on
                     chaos.memory.<participant> (openpnc chaos); never in production
  -h, --help         show this help

Logs are JSON lines on stdout; {"event":"host.ready"} means every participant is serving.`;

export const runCommand: Command = {
  summary: 'host the named participants until interrupted (NATS or in-process bus, MongoDB or embedded store)',
  usage,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, {
      nats: { type: 'string' },
      replicas: { type: 'string' },
      mongo: { type: 'string' },
      data: { type: 'string' },
      set: { type: 'string', multiple: true },
      chaos: { type: 'boolean' },
      creds: { type: 'string' },
      insecure: { type: 'boolean' },
      kek: { type: 'string' },
    });
    if (positionals.length === 0) throw new CliError(`name at least one participant (${participantNames.join(', ')})`);
    const replicas = values.replicas === undefined ? undefined : Number(values.replicas);
    if (replicas !== undefined && (!Number.isInteger(replicas) || replicas < 1 || replicas > 5)) throw new CliError(`--replicas must be 1 to 5, got '${values.replicas}'`);
    if (replicas !== undefined && values.nats === undefined) throw new CliError('--replicas needs --nats');
    const nats = values.nats === undefined ? undefined : parseServers(values.nats);
    const config = parseSettings(values.set);
    let participants: ParticipantDefinition[];
    try {
      participants = await loadParticipants([...new Set(positionals)]);
    } catch (error) {
      throw new CliError((error as Error).message);
    }
    const log = createLogger({ fields: { host: hostname(), pid: process.pid } });
    // Listening before anything starts: a signal during start-up stops cleanly once start-up is done.
    const signals = watchSignals();
    let hosting: Hosting;
    try {
      hosting = await hostParticipants({
        participants, config, log, dataDir: values.data ?? DEFAULT_DATA_DIR, ...(values.chaos ? { chaos: true } : {}),
        ...(nats ? { nats } : {}), ...(replicas ? { replicas } : {}), ...(values.mongo ? { mongo: values.mongo } : {}),
        ...(values.creds ? { credentials: values.creds } : {}), ...(values.insecure ? { insecure: true } : {}), ...(values.kek ? { kekFile: values.kek } : {}),
      });
    } catch (error) {
      signals.dispose();
      throw error;
    }
    if (values.chaos) console.error('openpnc: WARNING: --chaos: anyone on this bus can drop, delay, duplicate or reorder what these participants send and skew this process\'s clock');
    log.info('host.ready', { participants: participants.map((p) => p.name), bus: hosting.bus.kind, store: hosting.store.kind, runtime: runtimeSettings() });
    const signal = await signals.wait();
    log.info('host.stopping', { signal });
    await hosting.stop();
    log.info('host.stopped', {});
    return 0;
  },
};
