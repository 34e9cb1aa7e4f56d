/**
 * Real `nats-server` processes on this machine, for tests, benchmarks and `openpnc chaos`: JetStream
 * on, free ports, temporary store directories, a single server or a JetStream cluster. Nodes can be killed (SIGKILL) and restarted
 * on the same ports and store. Everything is removed by `stop()` (and killed if the test process exits).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

const READY_TIMEOUT_MS = 20_000;

export interface NatsNode {
  /** Client URL, `nats://127.0.0.1:<port>`. */
  readonly url: string;
  readonly name: string;
  readonly port: number;
  readonly monitorPort: number;
  readonly storeDir: string;
  /** SIGKILL: no goodbye to clients or peers; resolves once the process is gone. */
  kill(): Promise<void>;
  /** Starts the node again on the same ports and store, resolving when it is healthy. */
  restart(): Promise<void>;
  readonly running: boolean;
}

export interface NatsServer extends NatsNode {
  stop(): Promise<void>;
}

export interface NatsCluster {
  readonly nodes: readonly NatsNode[];
  /** Every node's client URL, for `connectNatsBus({ servers })`. */
  readonly urls: string[];
  stop(): Promise<void>;
}

/** The nats-server binary: `$NATS_SERVER`, `/usr/sbin/nats-server`, or on PATH; undefined when absent. */
export function findNatsServer(): string | undefined {
  const candidates = [process.env.NATS_SERVER, '/usr/sbin/nats-server', ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'nats-server'))];
  return candidates.find((path): path is string => !!path && existsSync(path));
}

/** A TCP port free on 127.0.0.1 right now (the OS picks it; another process could still take it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * nats-server runs under a small shell watchdog holding a pipe from this process: when the pipe closes
 * (kill(), or this process dying in any way, SIGKILL included) the watchdog SIGKILLs the server, so no
 * test run leaves servers behind.
 */
const WATCHDOG = 'exec 3<&0; "$0" -c "$1" </dev/null 3<&- & server=$!; (cat <&3 >/dev/null; kill -9 $server 2>/dev/null) & exec 3<&-; wait $server';
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.stdin?.destroy();
});

interface NodeConfig {
  name: string;
  port: number;
  monitorPort: number;
  clusterPort?: number;
  routes?: number[];
  storeDir: string;
  /** Appended to the config, for example an `authorization { … }` block. */
  extra?: string;
}

function configText(config: NodeConfig): string {
  const lines = [
    `server_name: ${config.name}`,
    'listen: 127.0.0.1:' + config.port,
    'http: 127.0.0.1:' + config.monitorPort,
    `jetstream { store_dir: "${config.storeDir}" }`,
  ];
  if (config.clusterPort !== undefined) {
    lines.push(
      'cluster {',
      '  name: pnc-test',
      `  listen: 127.0.0.1:${config.clusterPort}`,
      `  routes: [${(config.routes ?? []).map((port) => `"nats-route://127.0.0.1:${port}"`).join(', ')}]`,
      '}',
    );
  }
  if (config.extra) lines.push(config.extra);
  return lines.join('\n') + '\n';
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits for `/healthz` (JetStream included) to answer 200. */
async function waitHealthy(monitorPort: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`nats-server exited early:\n${output()}`);
    try {
      const response = await fetch(`http://127.0.0.1:${monitorPort}/healthz`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`nats-server on monitor port ${monitorPort} not healthy within ${READY_TIMEOUT_MS} ms:\n${output()}`);
}

class ServerProcess implements NatsNode {
  private child: ChildProcess | undefined;
  private output = '';
  readonly url: string;
  readonly configFile: string;

  constructor(private readonly binary: string, private readonly config: NodeConfig, dir: string) {
    this.url = `nats://127.0.0.1:${config.port}`;
    this.configFile = join(dir, `${config.name}.conf`);
    writeFileSync(this.configFile, configText(config));
  }

  get name(): string { return this.config.name; }
  get port(): number { return this.config.port; }
  get monitorPort(): number { return this.config.monitorPort; }
  get storeDir(): string { return this.config.storeDir; }
  get running(): boolean { return this.child !== undefined; }

  /** Spawns the process; `healthy` waits for /healthz (skipped while a cluster is still forming). */
  async spawn(healthy = true): Promise<void> {
    if (this.child) throw new Error(`${this.name} is already running`);
    this.output = '';
    const child = spawn('/bin/sh', ['-c', WATCHDOG, this.binary, this.configFile], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdout!.on('data', (chunk) => (this.output = (this.output + chunk).slice(-8000)));
    child.stderr!.on('data', (chunk) => (this.output = (this.output + chunk).slice(-8000)));
    live.add(child);
    child.once('exit', () => live.delete(child));
    this.child = child;
    if (healthy) await this.waitHealthy();
  }

  async waitHealthy(): Promise<void> {
    await waitHealthy(this.config.monitorPort, this.child!, () => this.output);
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin!.end(); // the watchdog SIGKILLs the server, then the shell exits
      await exited;
    }
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.spawn();
  }
}

/**
 * Starts one JetStream-enabled nats-server on free ports.
 * @example
 * const server = await startNatsServer();
 * const bus = await connectNatsBus({ servers: [server.url] });
 */
export async function startNatsServer(options: { readonly extraConfig?: string } = {}): Promise<NatsServer> {
  const binary = findNatsServer();
  if (!binary) throw new Error('nats-server is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'pnc-nats-'));
  const node = new ServerProcess(binary, {
    name: 'n1', port: await freePort(), monitorPort: await freePort(), storeDir: join(dir, 'js'), ...(options.extraConfig ? { extra: options.extraConfig } : {}),
  }, dir);
  await node.spawn();
  return Object.assign(node, {
    async stop() {
      await node.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

/** Starts a JetStream cluster of `size` nodes (routes on loopback), resolving when every node is healthy. */
export async function startNatsCluster(size = 3, options: { readonly extraConfig?: string } = {}): Promise<NatsCluster> {
  const binary = findNatsServer();
  if (!binary) throw new Error('nats-server is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'pnc-nats-cluster-'));
  const clusterPorts: number[] = [];
  for (let i = 0; i < size; i++) clusterPorts.push(await freePort());
  const nodes: ServerProcess[] = [];
  for (let i = 0; i < size; i++) {
    nodes.push(new ServerProcess(binary, {
      name: `n${i + 1}`, port: await freePort(), monitorPort: await freePort(), clusterPort: clusterPorts[i],
      routes: clusterPorts.filter((_, j) => j !== i), storeDir: join(dir, `js-n${i + 1}`), ...(options.extraConfig ? { extra: options.extraConfig } : {}),
    }, dir));
  }
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.kill()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // A JetStream cluster is only healthy once a meta leader is elected, which needs a quorum: start all, then wait.
    for (const node of nodes) await node.spawn(false);
    await Promise.all(nodes.map((node) => node.waitHealthy()));
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, urls: nodes.map((node) => node.url), stop };
}
