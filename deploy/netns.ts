/**
 * A multi-host deployment on one Linux machine: one network namespace per topology host, joined by a
 * bridge in a switch namespace of its own (the machine's own network namespace is never touched),
 * each running the nats-server and `openpnc` processes `openpnc deploy render` would put in its
 * systemd units, plus a client namespace that plays the story. Every namespace is named `opnc-…`,
 * so `netnsDown()` also clears what a crashed run left behind.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { PncError } from '../protocols/errors.ts';
import { hostProcesses, renderTopology, writeRendered } from './render.ts';
import { clusterCaFile, writeClusterCertificates } from './tls.ts';
import { authorizationConfig, writeCredentials } from './creds.ts';
import { readRoster } from '../actors/host/credentials.ts';
import { natsUrlsFor, TopologyError, type Topology } from './topology.ts';

/**
 * Every namespace this module creates starts with it; `OPENPNC_NETNS_PREFIX` sets another (letters,
 * digits, `-`; at most 8), so runs by several people on one machine never touch each other's.
 */
export const NAMESPACE_PREFIX = netnsPrefix(process.env.OPENPNC_NETNS_PREFIX);

function netnsPrefix(value: string | undefined): string {
  if (value === undefined || value === '') return 'opnc-';
  if (!/^[a-z][a-z0-9-]{0,7}$/.test(value)) throw new PncError('InvalidArgument', `OPENPNC_NETNS_PREFIX must be 1–8 characters a-z, 0-9 or -, got '${value}'`);
  return value;
}
const SWITCH_NS = `${NAMESPACE_PREFIX}-switch`;
const CLIENT_NS = `${NAMESPACE_PREFIX}-client`;
/** Private addresses, used only inside the namespaces created here. */
const SUBNET = '10.231.0';
const CLIENT_ADDRESS = `${SUBNET}.2`;
/** `ip netns exec NS` bind-mounts `/etc/netns/NS/hosts` over /etc/hosts: how host names resolve inside. */
const NETNS_ETC = '/etc/netns';
const WORK_MARKER = '.openpnc-netns';
export const DEFAULT_WORK_DIR = '/tmp/openpnc-netns';
const BIN = new URL('../bin/openpnc.js', import.meta.url).pathname;
const READY_TIMEOUT_MS = 90_000;
/** The rendered units' RestartSec. */
const RESTART_DELAY_MS = 2_000;

/** The machine cannot run namespaces (not root, or no iproute2 with netns support). */
export class NetnsUnavailableError extends PncError {
  override readonly name = 'NetnsUnavailableError';
  constructor(reason: string) {
    super('NetnsUnavailable', `network namespaces are unavailable: ${reason}`);
  }
}

/** A step of bringing the deployment up failed; `logFile` has the process's output when there is one. */
export class NetnsDeployError extends PncError {
  override readonly name = 'NetnsDeployError';
  constructor(message: string, readonly logFile?: string) {
    super('NetnsDeployFailed', `${message}${logFile ? ` (log: ${logFile})` : ''}`, { data: { logFile } });
  }
}

function ip(args: readonly string[], allowFailure = false): string {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  if (result.error) throw new NetnsUnavailableError(`cannot run ip: ${result.error.message}`);
  if (result.status !== 0 && !allowFailure) throw new NetnsDeployError(`ip ${args.join(' ')}: ${(result.stderr || result.stdout).trim().split('\n')[0]}`);
  return result.stdout;
}

/** Throws NetnsUnavailableError unless this process is root and `ip netns` works. */
export function requireNetns(): void {
  if (process.platform !== 'linux') throw new NetnsUnavailableError(`needs Linux, this is ${process.platform}`);
  if (process.getuid?.() !== 0) throw new NetnsUnavailableError('needs root (run as root or with sudo)');
  const probe = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (probe.error) throw new NetnsUnavailableError(`cannot run ip (install iproute2): ${probe.error.message}`);
  if (probe.status !== 0) throw new NetnsUnavailableError(`ip netns list failed: ${probe.stderr.trim().split('\n')[0]}`);
  // Root in a container without CAP_NET_ADMIN may list namespaces but not create them.
  const trial = `${NAMESPACE_PREFIX}-probe-${process.pid}`;
  const created = spawnSync('ip', ['netns', 'add', trial], { encoding: 'utf8' });
  if (created.status !== 0) throw new NetnsUnavailableError(`cannot create a network namespace: ${created.stderr.trim().split('\n')[0]}`);
  spawnSync('ip', ['netns', 'del', trial]);
}

/** True when {@link requireNetns} would pass. */
export function netnsAvailable(): boolean {
  try {
    requireNetns();
    return true;
  } catch {
    return false;
  }
}

/** Namespace of a topology host. */
export function hostNamespace(hostName: string): string {
  return `${NAMESPACE_PREFIX}${hostName}`;
}

/** Every `opnc-…` namespace that exists now. */
export function listNamespaces(): string[] {
  return ip(['netns', 'list']).split('\n').map((line) => line.split(' ')[0]).filter((name) => name.startsWith(NAMESPACE_PREFIX));
}

/** Process ids running inside a namespace. */
export function namespacePids(namespace: string): number[] {
  return ip(['netns', 'pids', namespace], true).split(/\s+/).filter(Boolean).map(Number);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function sleep(ms: number): Promise<void> {
  await new Promise((done) => setTimeout(done, ms));
}

/**
 * Stops every process in every `opnc-…` namespace (SIGTERM, SIGKILL after 5 s) and deletes the
 * namespaces, which removes their veths and the bridge. Idempotent; returns the namespaces removed.
 */
export async function netnsDown(): Promise<string[]> {
  requireNetns();
  const namespaces = listNamespaces();
  const pids = namespaces.flatMap(namespacePids);
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 5_000;
  while (pids.some(alive) && Date.now() < deadline) await sleep(100);
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (const namespace of namespaces) ip(['netns', 'del', namespace], true);
  for (const entry of existsSync(NETNS_ETC) ? readdirSync(NETNS_ETC) : []) {
    if (entry.startsWith(NAMESPACE_PREFIX)) rmSync(join(NETNS_ETC, entry), { recursive: true, force: true });
  }
  return namespaces;
}

/** The private address of host `index` on the bridge: 10.231.0.(11+index). */
export function localAddress(index: number): string {
  return `${SUBNET}.${11 + index}`;
}

/**
 * The topology as it runs on this machine: every directory under `workDir/<host>/`, TLS files (when the
 * topology has TLS) in `workDir/tls/`. Host names keep their DNS names, which resolve to the bridge
 * addresses inside the namespaces; IPv4 addresses become 10.231.0.(11+i). Ports stay as configured
 * (each namespace has its own).
 */
export function localTopology(topology: Topology, workDir: string): Topology {
  if (topology.mongodb) throw new TopologyError('mongodb', 'a netns run keeps every host\'s store in its own work directory; remove "mongodb" to run it here');
  return {
    ...topology,
    ...(topology.tls ? { tls: { dir: join(workDir, 'tls') } } : {}),
    ...(topology.credentials ? { credentials: { dir: join(workDir, 'creds') } } : {}),
    hosts: topology.hosts.map((host, i) => ({
      ...host,
      address: isIP(host.address) ? localAddress(i) : host.address,
      dataDir: join(workDir, host.name, 'data'),
      nats: { ...host.nats, storeDir: join(workDir, host.name, 'jetstream') },
    })),
  };
}

/** The hosts file of every namespace: loopback and each host's name at its bridge address. */
function writeHostsFiles(topology: Topology, namespaces: readonly string[]): void {
  const lines = ['127.0.0.1 localhost', ...topology.hosts.map((host, i) => `${localAddress(i)} ${host.address}`)];
  for (const namespace of namespaces) {
    mkdirSync(join(NETNS_ETC, namespace), { recursive: true });
    writeFileSync(join(NETNS_ETC, namespace, 'hosts'), lines.join('\n') + '\n');
  }
}

/** Creates a namespace with loopback up and, unless it is the switch, a veth `eth0` on the bridge with `address`. */
function addNamespace(namespace: string, address?: string, peer?: string): void {
  ip(['netns', 'add', namespace]);
  ip(['-n', namespace, 'link', 'set', 'lo', 'up']);
  if (!address || !peer) return;
  ip(['link', 'add', 'eth0', 'netns', namespace, 'type', 'veth', 'peer', 'name', peer, 'netns', SWITCH_NS]);
  ip(['-n', SWITCH_NS, 'link', 'set', peer, 'master', 'br0', 'up']);
  ip(['-n', namespace, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
  ip(['-n', namespace, 'link', 'set', 'eth0', 'up']);
}

/** Refuses a work directory that holds anything but an earlier run's files. */
function checkWorkDir(workDir: string): void {
  if (existsSync(workDir) && readdirSync(workDir).length > 0 && !existsSync(join(workDir, WORK_MARKER))) {
    throw new NetnsDeployError(`${workDir} is not empty and not an earlier netns run's directory; choose another --work`);
  }
}

/** Empties the work directory (checked by {@link checkWorkDir}) and marks it as ours. */
function prepareWorkDir(workDir: string): void {
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  writeFileSync(join(workDir, WORK_MARKER), 'openpnc deploy netns work directory; removed by the next netns up\n');
}

/** Starts `command` inside `namespace`, detached, output appended to `logFile`. */
function startInNamespace(namespace: string, command: readonly string[], logFile: string, env: Readonly<Record<string, string>> = {}): ChildProcess {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn('ip', ['netns', 'exec', namespace, ...command], { detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
    child.unref();
    return child;
  } finally {
    closeSync(fd);
  }
}

/** Waits until `logFile` contains `marker` past byte `offset`, failing early when the process exits. */
async function waitForLog(child: ChildProcess, logFile: string, marker: string, what: string, offset = 0): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (readFileSync(logFile).subarray(offset).toString('utf8').includes(marker)) return;
    if (child.exitCode !== null || child.signalCode !== null) throw new NetnsDeployError(`${what} exited (${child.exitCode ?? child.signalCode}) before it was ready`, logFile);
    await sleep(100);
  }
  throw new NetnsDeployError(`${what} not ready within ${READY_TIMEOUT_MS / 1000} s`, logFile);
}

export interface NetnsUpOptions {
  /** Logs, rendered configs, JetStream stores and data, one folder per host. @default /tmp/openpnc-netns */
  readonly workDir?: string;
  /** Progress lines. @default console.log */
  readonly print?: (line: string) => void;
}

export interface NetnsDeployment {
  readonly topology: Topology;
  readonly workDir: string;
  readonly natsUrls: readonly string[];
}

/**
 * Clears any earlier `opnc-…` namespaces, creates one namespace per host and a client namespace on a
 * private bridge, starts each host's nats-server and `openpnc` processes (the rendered command lines)
 * and resolves once every node and participant host is ready. They keep running until {@link netnsDown}.
 */
export async function netnsUp(topology: Topology, options: NetnsUpOptions = {}): Promise<NetnsDeployment> {
  requireNetns();
  const print = options.print ?? ((line: string) => console.log(line));
  const workDir = resolve(options.workDir ?? DEFAULT_WORK_DIR);
  // Looked up on PATH inside each namespace, as the systemd units do.
  if (spawnSync('nats-server', ['--version']).error) throw new NetnsDeployError('nats-server is not on PATH (Debian: apt-get install nats-server)');
  const local = localTopology(topology, workDir);
  checkWorkDir(workDir);
  const stale = await netnsDown();
  if (stale.length) print(`cleared ${stale.length} namespaces of an earlier run`);
  prepareWorkDir(workDir);
  if (local.credentials) writeCredentials(local.credentials.dir);
  writeRendered(renderTopology(local, local.credentials ? authorizationConfig(readRoster(local.credentials.dir)) : undefined), join(workDir, 'config'));
  if (local.tls) await writeClusterCertificates(local, local.tls.dir);

  addNamespace(SWITCH_NS);
  ip(['-n', SWITCH_NS, 'link', 'add', 'br0', 'type', 'bridge']);
  ip(['-n', SWITCH_NS, 'link', 'set', 'br0', 'up']);
  for (const [i, host] of local.hosts.entries()) {
    addNamespace(hostNamespace(host.name), localAddress(i), `h-${host.name}`);
    mkdirSync(host.dataDir, { recursive: true });
    mkdirSync(host.nats.storeDir, { recursive: true });
  }
  addNamespace(CLIENT_NS, CLIENT_ADDRESS, 'c-client');
  writeHostsFiles(local, [...local.hosts.map((host) => hostNamespace(host.name)), CLIENT_NS]);
  print(`namespaces: ${local.hosts.map((h, i) => `${hostNamespace(h.name)} ${localAddress(i)}${h.address === localAddress(i) ? '' : ` (${h.address})`}`).join(', ')}, ${CLIENT_NS} ${CLIENT_ADDRESS} (bridge in ${SWITCH_NS})`);

  // Every node first: a JetStream cluster elects its meta leader only once a quorum of routes is up.
  const nodes = local.hosts.map((host) => {
    const logFile = join(workDir, host.name, 'nats-server.log');
    return { host, logFile, child: startInNamespace(hostNamespace(host.name), ['nats-server', '-c', join(workDir, 'config', host.name, 'nats-server.conf')], logFile) };
  });
  await Promise.all(nodes.map(({ host, child, logFile }) => waitForLog(child, logFile, 'Server is ready', `nats-server on ${host.name}`)));
  print(`nats: ${local.hosts.length}-node cluster ${local.cluster}, JetStream on${local.tls ? ', TLS (clients verify the node, routes verify each other)' : ''}`
    + `${local.credentials ? `, credentials (an nkey per participant, permissions from the catalogue; ${local.credentials.dir})` : ''}, ${natsUrlsFor(local).join(' ')}`);

  const hosts = local.hosts.flatMap((host) => hostProcesses(local, host).map((service) => {
    const logFile = join(workDir, host.name, service.unit.replace(/\.service$/, '.log'));
    const child = startInNamespace(hostNamespace(host.name), [process.execPath, BIN, ...service.args], logFile, service.env);
    return { host, service, logFile, child };
  }));
  await Promise.all(hosts.map(({ host, service, child, logFile }) => (
    waitForLog(child, logFile, service.kind === 'participants' ? '"event":"host.ready"' : 'OPCP gateway on', `${service.unit} on ${host.name}`)
  )));
  for (const { host, service } of hosts) print(`${host.name}: ${service.kind === 'opcp' ? 'OPCP gateway with ' : ''}${service.participants.join(', ')} ready`);
  return { topology: local, workDir, natsUrls: natsUrlsFor(local) };
}

/** GETs a path of a host's NATS monitoring endpoint (loopback inside its namespace) and parses the JSON. */
export async function natsMonitor(topology: Topology, hostName: string, path: string): Promise<unknown> {
  const host = topology.hosts.find((h) => h.name === hostName);
  if (!host) throw new NetnsDeployError(`no host ${hostName} in topology ${topology.name}`);
  const script = `fetch(${JSON.stringify(`http://127.0.0.1:${host.nats.monitorPort}${path}`)}).then((r) => r.text()).then((t) => process.stdout.write(t), (e) => { console.error(e.cause?.code ?? e.message); process.exit(1); })`;
  const child = spawn('ip', ['netns', 'exec', hostNamespace(hostName), process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (err += chunk));
  const code = await new Promise<number | null>((done) => child.once('close', done));
  if (code !== 0) throw new NetnsDeployError(`NATS monitor of ${hostName} unreachable: ${err.trim().split('\n')[0]}`);
  return JSON.parse(out);
}

export interface NodeStatus {
  readonly host: string;
  /** False when its monitor does not answer (node down). */
  readonly up: boolean;
  readonly metaLeader?: string;
  readonly clusterSize?: number;
  /** Stream name → the node leading it, as this node sees it. */
  readonly streamLeaders: Readonly<Record<string, string | undefined>>;
  /** Queue groups of the clients connected to this node, per client connection name. */
  readonly clients: ReadonlyArray<{ readonly name: string; readonly queues: readonly string[]; /** TLS version of the connection, when encrypted. */ readonly tls?: string }>;
}

interface Jsz { meta_cluster?: { leader?: string; cluster_size?: number }; account_details?: Array<{ stream_detail?: Array<{ name: string; cluster?: { leader?: string } }> }> }
interface Connz { connections?: Array<{ name?: string; tls_version?: string; subscriptions_list_detail?: Array<{ qgroup?: string }> }> }

/** What one node reports: its JetStream meta and stream leaders and its clients' queue groups. */
export async function nodeStatus(topology: Topology, hostName: string): Promise<NodeStatus> {
  let jsz: Jsz;
  let connz: Connz;
  try {
    [jsz, connz] = await Promise.all([natsMonitor(topology, hostName, '/jsz?streams=true'), natsMonitor(topology, hostName, '/connz?subs=detail')]) as [Jsz, Connz];
  } catch {
    return { host: hostName, up: false, streamLeaders: {}, clients: [] };
  }
  const streamLeaders: Record<string, string | undefined> = {};
  for (const stream of (jsz.account_details ?? []).flatMap((account) => account.stream_detail ?? [])) streamLeaders[stream.name] = stream.cluster?.leader;
  return {
    host: hostName,
    up: true,
    ...(jsz.meta_cluster?.leader ? { metaLeader: jsz.meta_cluster.leader } : {}),
    ...(jsz.meta_cluster?.cluster_size ? { clusterSize: jsz.meta_cluster.cluster_size } : {}),
    streamLeaders,
    clients: (connz.connections ?? []).map((c) => ({
      name: c.name ?? '',
      queues: [...new Set((c.subscriptions_list_detail ?? []).map((sub) => sub.qgroup).filter((q): q is string => !!q))],
      ...(c.tls_version ? { tls: c.tls_version } : {}),
    })),
  };
}

/**
 * Plays the Plug&Charge story from the client namespace (`openpnc story --nats …`) against a running
 * netns deployment (`topology` as {@link localTopology} made it); its lines go to `print` as they come.
 * Resolves with the exit code and the output.
 */
export async function netnsStory(topology: Topology, print: (line: string) => void = (line) => console.log(line)): Promise<{ exitCode: number; output: string }> {
  requireNetns();
  if (!listNamespaces().includes(CLIENT_NS)) throw new NetnsDeployError('no netns deployment is running (openpnc deploy netns up first)');
  const ca = clusterCaFile(topology);
  const creds = topology.credentials ? ['--creds', topology.credentials.dir] : [];
  const child = spawn('ip', ['netns', 'exec', CLIENT_NS, process.execPath, BIN, 'story', '--nats', natsUrlsFor(topology).join(','), ...creds], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(ca ? { NODE_EXTRA_CA_CERTS: ca } : {}) },
  });
  let output = '';
  let pending = '';
  const onData = (chunk: Buffer) => {
    output += chunk;
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) print(line);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exitCode = await new Promise<number>((done) => child.once('close', (code) => done(code ?? 1)));
  if (pending) print(pending);
  return { exitCode, output };
}

/** How a host is cut off: its bridge port down, or netem losing every packet both ways. */
export type CutMethod = 'link' | 'netem';

/** The bridge end of a host's veth, in the switch namespace. */
const bridgePort = (hostName: string) => `h-${hostName}`;

/**
 * Partitions a host from every other namespace: its NATS node, its participant processes and anyone
 * connected to them lose every packet to and from the bridge until {@link healHost}. Connections stay
 * open (nothing tells the peers); they time out or resume, as on a real network.
 */
export function cutHost(hostName: string, method: CutMethod): void {
  if (method === 'link') ip(['-n', SWITCH_NS, 'link', 'set', bridgePort(hostName), 'down']);
  else for (const [namespace, dev] of [[hostNamespace(hostName), 'eth0'], [SWITCH_NS, bridgePort(hostName)]]) tc(namespace, ['qdisc', 'add', 'dev', dev, 'root', 'netem', 'loss', '100%']);
}

/** Undoes {@link cutHost}. */
export function healHost(hostName: string, method: CutMethod): void {
  if (method === 'link') ip(['-n', SWITCH_NS, 'link', 'set', bridgePort(hostName), 'up']);
  else for (const [namespace, dev] of [[hostNamespace(hostName), 'eth0'], [SWITCH_NS, bridgePort(hostName)]]) tc(namespace, ['qdisc', 'del', 'dev', dev, 'root']);
}

function tc(namespace: string, args: readonly string[]): void {
  const result = spawnSync('ip', ['netns', 'exec', namespace, 'tc', ...args], { encoding: 'utf8' });
  if (result.error || result.status !== 0) throw new NetnsDeployError(`tc ${args.join(' ')} in ${namespace}: ${(result.stderr || result.error?.message || '').trim().split('\n')[0]} (netem needs iproute2's tc and the sch_netem module)`);
}

/** A process of a host's deployment: its nats-server or one of its rendered `openpnc` services. */
export interface HostService {
  readonly host: string;
  /** 'nats', or the service's unit name. */
  readonly unit: string;
  readonly participants: readonly string[];
  readonly command: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly logFile: string;
  readonly readyMarker: string;
}

/** Every process {@link netnsUp} starts on `hostName`, as it starts them. */
export function hostServices(topology: Topology, workDir: string, hostName: string): HostService[] {
  const host = topology.hosts.find((h) => h.name === hostName);
  if (!host) throw new NetnsDeployError(`no host ${hostName} in topology ${topology.name}`);
  return [
    { host: host.name, unit: 'nats', participants: [], command: ['nats-server', '-c', join(workDir, 'config', host.name, 'nats-server.conf')], env: {}, logFile: join(workDir, host.name, 'nats-server.log'), readyMarker: 'Server is ready' },
    ...hostProcesses(topology, host).map((service) => ({
      host: host.name, unit: service.unit, participants: service.participants, command: [process.execPath, BIN, ...service.args], env: service.env,
      logFile: join(workDir, host.name, service.unit.replace(/\.service$/, '.log')),
      readyMarker: service.kind === 'participants' ? '"event":"host.ready"' : 'OPCP gateway on',
    })),
  ];
}

/** The ids of the processes running `service` in its host's namespace (matched by command line). */
export function servicePids(service: HostService): number[] {
  return namespacePids(hostNamespace(service.host)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') === service.command.join(' ');
    } catch {
      return false; // exited meanwhile
    }
  });
}

/** kill -9 every process of `service`; resolves once they are gone. Returns how many were killed. */
export async function killService(service: HostService): Promise<number> {
  const pids = servicePids(service);
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  while (pids.some(alive)) await sleep(20);
  return pids.length;
}

/**
 * Starts `service` again in its namespace and resolves once a start says it is ready. A start that
 * exits before it is ready (JetStream has no quorum while its host is cut off, say) is started again
 * after 2 s, as the rendered unit's Restart=on-failure / RestartSec=2 does under systemd.
 */
export async function startService(service: HostService): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const offset = existsSync(service.logFile) ? readFileSync(service.logFile).length : 0;
    const child = startInNamespace(hostNamespace(service.host), service.command, service.logFile, service.env);
    try {
      await waitForLog(child, service.logFile, service.readyMarker, `${service.unit} on ${service.host} (restarted)`, offset);
      return;
    } catch (error) {
      if (child.exitCode === null && child.signalCode === null) throw error; // still running, never ready
      if (Date.now() + RESTART_DELAY_MS > deadline) throw error;
      await sleep(RESTART_DELAY_MS);
    }
  }
}

/** The client namespace, where `openpnc chaos` runs its load against a netns deployment. */
export const CLIENT_NAMESPACE = CLIENT_NS;
