/**
 * Host configs from a topology: per host a `nats-server` config (cluster routes to every other host,
 * JetStream on), the command lines of its `openpnc` processes and systemd units that run them.
 * The same command lines are what `openpnc deploy netns up` starts, so what runs on one machine is
 * what the units would run on real hosts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tlsPaths } from './tls.ts';
import { participantEnvironment } from '../actors/host/runtime.ts';
import { join } from 'node:path';
import { OPCP_POOLS, mongoReplicaSetOf, mongoUriOf, natsUrlsFor, replicasOf, runParticipants, type Topology, type TopologyHost } from './topology.ts';

/** A process a host runs: the `openpnc` arguments (after the executable) and the systemd unit's name. */
export interface HostProcess {
  readonly kind: 'participants' | 'opcp';
  /** The participants it hosts. */
  readonly participants: readonly string[];
  readonly unit: string;
  readonly description: string;
  readonly args: readonly string[];
  /** Environment it needs (the cluster CA for Node's TLS when the topology has TLS). */
  readonly env: Readonly<Record<string, string>>;
}

export interface RenderedFile {
  /** Relative to the output directory: `<host>/<file>`. */
  readonly path: string;
  readonly text: string;
}

/** NATS config strings are quoted so addresses and paths never need escaping rules of their own. */
function quoted(value: string): string {
  return JSON.stringify(value);
}

/** A `tls { … }` block; `verify` makes the peer present a certificate from the CA as well. */
function tlsBlock(indent: string, paths: { ca: string; certificate: string; key: string }, verify: boolean): string[] {
  return [
    `${indent}tls {`,
    `${indent}  cert_file: ${quoted(paths.certificate)}`,
    `${indent}  key_file: ${quoted(paths.key)}`,
    `${indent}  ca_file: ${quoted(paths.ca)}`,
    ...(verify ? [`${indent}  verify: true`] : []),
    `${indent}  timeout: 2`,
    `${indent}}`,
  ];
}

/**
 * The nats-server config of one host: client port on every interface, monitor on loopback, routes to
 * the other hosts; with TLS, clients must use TLS and cluster routes verify each other's certificates.
 */
export function natsConfig(topology: Topology, host: TopologyHost, authorization?: string): string {
  const tls = tlsPaths(topology, host);
  const routes = topology.hosts.filter((other) => other !== host).map((other) => `    ${quoted(`nats-route://${other.address}:${other.nats.clusterPort}`)}`);
  return [
    `# nats-server config of host ${host.name} in topology ${topology.name} (openpnc deploy render)`,
    `server_name: ${quoted(host.name)}`,
    `listen: ${quoted(`0.0.0.0:${host.nats.clientPort}`)}`,
    `http: ${quoted(`127.0.0.1:${host.nats.monitorPort}`)}`,
    ...(tls ? tlsBlock('', tls, false) : []),
    '',
    'jetstream {',
    `  store_dir: ${quoted(host.nats.storeDir)}`,
    '}',
    '',
    'cluster {',
    `  name: ${quoted(topology.cluster)}`,
    `  listen: ${quoted(`0.0.0.0:${host.nats.clusterPort}`)}`,
    `  routes: [${routes.length ? `\n${routes.join(',\n')}\n  ` : ''}]`,
    ...(tls ? tlsBlock('  ', tls, true) : []),
    '}',
    '',
    ...(authorization ? [authorization] : []),
  ].join('\n');
}

/** `--creds DIR` when the topology has credentials, else `--insecure` (the CA participants refuse NATS without either). */
function credentialArgs(topology: Topology): string[] {
  return topology.credentials ? ['--creds', topology.credentials.dir] : ['--insecure'];
}

/** The `openpnc` processes of one host: the participants, and the OPCP gateway with its pools when configured. */
export function hostProcesses(topology: Topology, host: TopologyHost): HostProcess[] {
  const urls = natsUrlsFor(topology, host);
  const mongoUri = mongoUriOf(topology);
  const storeArgs = (dir: string, flag: '--mongo' | '--mongodb') => (mongoUri ? [flag, mongoUri] : ['--data', dir]);
  const tls = tlsPaths(topology, host);
  // Node trusts the private cluster CA on top of the system's; V8 and malloc as a participant needs them (issue 9).
  const env: Record<string, string> = { ...participantEnvironment(), ...(tls ? { NODE_EXTRA_CA_CERTS: tls.ca } : {}) };
  const processes: HostProcess[] = [];
  const participants = runParticipants(host);
  if (participants.length) {
    processes.push({
      kind: 'participants',
      participants,
      unit: 'openpnc.service',
      description: `Open Plug&Charge participants ${participants.join(', ')}`,
      args: ['run', ...participants, '--nats', urls.join(','), '--replicas', String(replicasOf(topology)), ...storeArgs(host.dataDir, '--mongo'), ...credentialArgs(topology)],
      env,
    });
  }
  if (host.opcp) {
    processes.push({
      kind: 'opcp',
      participants: OPCP_POOLS,
      unit: 'openpnc-opcp.service',
      description: 'Open Plug&Charge OPCP gateway (RCP, PCP, CCP)',
      // `opcp serve` takes one NATS URL: this host's own node.
      args: ['opcp', 'serve', '--nats', urls[0], '--host', '0.0.0.0', '--port', String(host.opcp.port), ...storeArgs(join(host.dataDir, 'opcp'), '--mongodb'), ...credentialArgs(topology)],
      env,
    });
  }
  return processes;
}

function natsUnit(topology: Topology, host: TopologyHost): string {
  return [
    '[Unit]',
    `Description=NATS node ${host.name} of the Open Plug&Charge cluster ${topology.cluster}`,
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'ExecStart=/usr/sbin/nats-server -c /etc/openpnc/nats-server.conf',
    'ExecReload=/bin/kill -HUP $MAINPID',
    'Restart=on-failure',
    'LimitNOFILE=65536',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** systemd expands `%` specifiers and `$` variables in ExecStart: a literal (a URI's %-escapes) doubles them. */
function systemdLiteral(argument: string): string {
  return argument.replace(/%/g, '%%').replace(/\$/g, '$$$$');
}

/** systemd splits ExecStart on whitespace; arguments here never contain any (topology validation). */
function openpncUnit(topology: Topology, service: HostProcess): string {
  return [
    '[Unit]',
    `Description=${service.description}`,
    'After=network-online.target openpnc-nats.service',
    'Wants=network-online.target openpnc-nats.service',
    '',
    '[Service]',
    // A value with spaces (several NODE_OPTIONS) is one assignment only when quoted.
    ...Object.entries(service.env).map(([name, value]) => (/\s/.test(value) ? `Environment="${name}=${value}"` : `Environment=${name}=${value}`)),
    `ExecStart=${[topology.openpnc, ...service.args].map(systemdLiteral).join(' ')}`,
    // SIGTERM is the participants' graceful stop.
    'KillSignal=SIGTERM',
    'TimeoutStopSec=30',
    'Restart=on-failure',
    'RestartSec=2',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** Where the rendered mongod config is installed on a member host. */
const MONGOD_CONFIG = '/etc/openpnc/mongod.conf';

/**
 * The mongod config of a replica-set member: data in dbPath, the replica set's name, listening on
 * loopback and on the address the other members and the participants use.
 */
export function mongodConfig(topology: Topology, host: TopologyHost): string {
  const replicaSet = mongoReplicaSetOf(topology)!;
  return [
    `# mongod config of host ${host.name}, member of replica set ${replicaSet.replicaSet} in topology ${topology.name} (openpnc deploy render)`,
    'storage:',
    `  dbPath: ${quoted(replicaSet.dbPath)}`,
    'net:',
    `  port: ${replicaSet.port}`,
    `  bindIp: ${quoted(host.address === '127.0.0.1' ? host.address : `127.0.0.1,${host.address}`)}`,
    'replication:',
    `  replSetName: ${quoted(replicaSet.replicaSet)}`,
    '',
  ].join('\n');
}

function mongodUnit(topology: Topology, host: TopologyHost): string {
  const replicaSet = mongoReplicaSetOf(topology)!;
  return [
    '[Unit]',
    `Description=MongoDB member ${host.name} of replica set ${replicaSet.replicaSet} (the Open Plug&Charge store)`,
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'User=mongodb',
    'Group=mongodb',
    `ExecStart=/usr/bin/mongod --config ${MONGOD_CONFIG}`,
    'Restart=on-failure',
    'LimitNOFILE=64000',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/**
 * Run once with mongosh against the first member: forms the replica set (the first member preferred as
 * primary) and makes majority the cluster's default write concern (journaled) and read concern, so that
 * any other client of the store gets what the participants ask for.
 */
export function mongoInitiateScript(topology: Topology): string {
  const replicaSet = mongoReplicaSetOf(topology)!;
  const hosts = replicaSet.members.map((name) => topology.hosts.find((candidate) => candidate.name === name)!);
  const first = hosts[0];
  const members = hosts.map((host, index) => {
    return `    { _id: ${index}, host: ${quoted(`${host.address}:${replicaSet.port}`)}, priority: ${index === 0 ? 2 : 1} },`;
  });
  return [
    `// Replica set ${replicaSet.replicaSet} of topology ${topology.name} (openpnc deploy render).`,
    `// Once, after every member's openpnc-mongod.service runs: mongosh --host ${first.address}:${replicaSet.port} rs-initiate.js`,
    'rs.initiate({',
    `  _id: ${quoted(replicaSet.replicaSet)},`,
    '  members: [',
    ...members,
    '  ],',
    '});',
    'while (!db.hello().isWritablePrimary) sleep(500);',
    "db.adminCommand({ setDefaultRWConcern: 1, defaultWriteConcern: { w: 'majority', j: true }, defaultReadConcern: { level: 'majority' } });",
    "print(rs.status().members.map((member) => `${member.name} ${member.stateStr}`).join('\\n'));",
    '',
  ].join('\n');
}

/**
 * Every file of every host, `<host>/nats-server.conf` and `<host>/<unit>`; `authorization` (deploy/creds.ts
 * `authorizationConfig`) goes into every node's config. With a MongoDB replica set, each member host also
 * gets `mongod.conf` and `openpnc-mongod.service`, and `mongodb/` holds `rs-initiate.js` and the
 * participants' `connection-string`.
 */
export function renderTopology(topology: Topology, authorization?: string): RenderedFile[] {
  const files: RenderedFile[] = [];
  for (const host of topology.hosts) {
    files.push({ path: join(host.name, 'nats-server.conf'), text: natsConfig(topology, host, authorization) });
    files.push({ path: join(host.name, 'openpnc-nats.service'), text: natsUnit(topology, host) });
    for (const service of hostProcesses(topology, host)) files.push({ path: join(host.name, service.unit), text: openpncUnit(topology, service) });
    if (mongoReplicaSetOf(topology)?.members.includes(host.name)) {
      files.push({ path: join(host.name, 'mongod.conf'), text: mongodConfig(topology, host) });
      files.push({ path: join(host.name, 'openpnc-mongod.service'), text: mongodUnit(topology, host) });
    }
  }
  if (mongoReplicaSetOf(topology)) {
    files.push({ path: join('mongodb', 'rs-initiate.js'), text: mongoInitiateScript(topology) });
    files.push({ path: join('mongodb', 'connection-string'), text: `${mongoUriOf(topology)}\n` });
  }
  return files;
}

/** Writes {@link renderTopology}'s files under `outDir`; returns their paths. */
export function writeRendered(files: readonly RenderedFile[], outDir: string): string[] {
  return files.map((file) => {
    const path = join(outDir, file.path);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, file.text);
    return path;
  });
}
