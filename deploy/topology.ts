/**
 * A deployment topology: the hosts, the NATS node each runs (one JetStream cluster across them) and
 * the participants each hosts. Read with {@link parseTopology}; every mistake is a {@link TopologyError}
 * naming the field (`hosts[1].participants[2]`).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';
import { fieldParticipantNames, participantNames } from '../actors/participants/index.ts';
import { PncError } from '../protocols/errors.ts';

/**
 * Participants whose records other requests read back (roots, chains, contracts, vehicles, issued
 * certificates, signing sessions): two instances on separate embedded stores would each see half of
 * them, so running one on several hosts needs the shared MongoDB store. The CPO backend keeps only its
 * own Sub-CA keys and asks the pools for everything else, so each instance may keep its own store.
 */
export const SHARED_STATE_PARTICIPANTS: ReadonlySet<string> = new Set(['v2g-root', 'oem', 'rcp', 'pcp', 'mo', 'cps', 'ccp']);

/** Participants the OPCP gateway process hosts itself (`openpnc opcp serve` fronts these pools). */
export const OPCP_POOLS: readonly string[] = ['rcp', 'pcp', 'ccp'];

const HOST_NAME = /^[a-z][a-z0-9-]{0,9}$/;
const port = z.number().int().min(1).max(65_535);
const absolutePath = z.string().regex(/^\/\S*$/, 'must be an absolute path without spaces');
const FIELD_PARTICIPANTS: ReadonlySet<string> = new Set(fieldParticipantNames);
const participant = z.enum(participantNames as [string, ...string[]]);

const natsNodeSchema = z.strictObject({
  clientPort: port.default(4222),
  clusterPort: port.default(6222),
  /** HTTP monitoring (`/healthz`, `/varz`), bound to loopback. */
  monitorPort: port.default(8222),
  storeDir: absolutePath,
});

const hostSchema = z.strictObject({
  /** Short name: the NATS server name and, on one machine, the network namespace `opnc-<name>`. */
  name: z.string().regex(HOST_NAME, 'must be 1–10 characters a-z, 0-9 or -, starting with a letter'),
  /** Address the other hosts reach it on (DNS name or IPv4). */
  address: z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/, 'must be a DNS name or IPv4 address'),
  nats: natsNodeSchema,
  participants: z.array(participant).default([]),
  /** Embedded store and participant files. */
  dataDir: absolutePath,
  /** Hubject's OPCP REST API on this host; its process hosts this host's RCP, PCP and CCP. */
  opcp: z.strictObject({ port: port.default(7080) }).optional(),
});

/** A MongoDB replica set on the topology's own hosts: one `mongod` member per named host. */
const mongoReplicaSetSchema = z.strictObject({
  replicaSet: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be 1–32 letters, digits, _ or -').default('openpnc'),
  /** Host names; an odd number, at least 3, so a majority (every write's concern) survives losing one. */
  members: z.array(z.string()).min(3, 'needs at least 3 members: writes wait for a majority'),
  port: port.default(27017),
  /** The member's data files (absolute). */
  dbPath: absolutePath.default('/var/lib/openpnc/mongodb'),
  database: z.string().regex(/^[A-Za-z0-9_-]{1,38}$/, 'must be 1–38 letters, digits, _ or -').default('openpnc'),
});

const topologySchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be a short name (letters, digits, . _ -)'),
  /** NATS cluster name shared by every node. */
  cluster: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be 1–32 letters, digits, _ or -').default('openpnc'),
  /** The `openpnc` executable on every host (the systemd units start it). */
  openpnc: absolutePath.default('/usr/local/bin/openpnc'),
  /** Copies of each JetStream work message; default min(3, hosts). */
  replicas: z.number().int().min(1).max(5).optional(),
  /**
   * A shared MongoDB store for every participant: the URI of one you run, or a replica set this
   * topology's hosts run (rendered as mongod configs and units); the embedded store in each host's dataDir when absent.
   */
  mongodb: z.union([z.string().regex(/^mongodb(\+srv)?:\/\/\S+$/, 'must be a mongodb:// URI'), mongoReplicaSetSchema]).optional(),
  /**
   * NATS over TLS: every host keeps `ca.pem`, `<host>.pem` and `<host>.key` in `dir`
   * (`openpnc deploy certs` issues them); clients verify the node, cluster routes verify each other.
   */
  tls: z.strictObject({ dir: absolutePath }).optional(),
  /**
   * NATS credentials (`openpnc deploy creds`): every participant connects with its own nkey from `dir`
   * and the nodes let in only the keys of `roster.json`, with the catalogue's subject permissions.
   */
  credentials: z.strictObject({ dir: absolutePath }).optional(),
  /** Participants a partner runs on its own systems, reached over the same NATS subjects. */
  external: z.array(participant).default([]),
  hosts: z.array(hostSchema).min(1, 'needs at least one host').max(9),
});

export type Topology = z.infer<typeof topologySchema>;
export type TopologyHost = Topology['hosts'][number];

/** A topology that is not valid; `field` is the path of the first bad field (`hosts[1].address`). */
export class TopologyError extends PncError {
  override readonly name = 'TopologyError';
  readonly field: string;

  constructor(field: string, message: string, source?: string) {
    super('TopologyInvalid', `${source ? `${source}: ` : ''}${field ? `${field}: ` : ''}${message}`, { data: { field } });
    this.field = field;
  }
}

function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i ? '.' : ''}${String(key)}`)).join('');
}

/** Checks what a schema cannot see field by field: names and addresses unique, every participant placed once or more, shared state shared. */
function checkPlacement(topology: Topology): { field: string; message: string } | undefined {
  const seenNames = new Map<string, number>();
  const seenEndpoints = new Map<string, number>();
  const placements = new Map<string, number[]>();
  for (const [i, host] of topology.hosts.entries()) {
    if (seenNames.has(host.name)) return { field: `hosts[${i}].name`, message: `'${host.name}' is already the name of hosts[${seenNames.get(host.name)}]` };
    seenNames.set(host.name, i);
    const endpoint = `${host.address}:${host.nats.clusterPort}`;
    if (seenEndpoints.has(endpoint)) return { field: `hosts[${i}].address`, message: `${endpoint} is already hosts[${seenEndpoints.get(endpoint)}]'s cluster address` };
    seenEndpoints.set(endpoint, i);
    const ports = [host.nats.clientPort, host.nats.clusterPort, host.nats.monitorPort, ...(host.opcp ? [host.opcp.port] : [])];
    if (new Set(ports).size !== ports.length) return { field: `hosts[${i}].nats`, message: `client, cluster, monitor${host.opcp ? ' and OPCP' : ''} ports must differ, got ${ports.join(', ')}` };
    for (const [j, name] of host.participants.entries()) {
      if (host.participants.indexOf(name) !== j) return { field: `hosts[${i}].participants[${j}]`, message: `${name} is listed twice on ${host.name}` };
      if (topology.external.includes(name)) return { field: `hosts[${i}].participants[${j}]`, message: `${name} is also listed as external` };
      placements.set(name, [...(placements.get(name) ?? []), i]);
    }
    if (host.opcp) {
      const missing = OPCP_POOLS.filter((name) => !host.participants.includes(name));
      if (missing.length) return { field: `hosts[${i}].opcp`, message: `the OPCP gateway hosts the RCP, PCP and CCP itself: list ${missing.join(', ')} on ${host.name}` };
    }
  }
  for (const name of participantNames) {
    const hosts = placements.get(name) ?? [];
    // Chargers and vehicles are in the field, not hosts of the back office: placing them is optional.
    if (hosts.length === 0 && !topology.external.includes(name) && !FIELD_PARTICIPANTS.has(name)) return { field: 'hosts', message: `no host runs ${name} (place it on a host or list it in "external")` };
    if (hosts.length > 1 && SHARED_STATE_PARTICIPANTS.has(name) && !topology.mongodb) {
      const second = hosts[1];
      return {
        field: `hosts[${second}].participants[${topology.hosts[second].participants.indexOf(name)}]`,
        message: `${name} keeps shared records: running it on ${hosts.map((h) => topology.hosts[h].name).join(' and ')} needs the shared store ("mongodb": "mongodb://…"), otherwise each copy sees only its own`,
      };
    }
  }
  // The NATS client checks a node's certificate against its host name only, never an IP address.
  const ipHost = topology.tls ? topology.hosts.findIndex((host) => isIP(host.address)) : -1;
  if (ipHost >= 0) return { field: `hosts[${ipHost}].address`, message: 'with "tls" every host needs a DNS name (its certificate names it), not an IP address' };
  const gateway = topology.hosts.findIndex((host) => host.opcp);
  if (gateway >= 0 && replicasOf(topology) > 1) {
    // Every process that consumes work sets the streams to its own replica count.
    return { field: `hosts[${gateway}].opcp`, message: `openpnc opcp serve has no --replicas yet and would shrink the JetStream work streams to 1 copy; set "replicas": 1 to accept that` };
  }
  const replicaSet = typeof topology.mongodb === 'object' ? topology.mongodb : undefined;
  if (replicaSet) {
    if (replicaSet.members.length % 2 === 0) return { field: 'mongodb.members', message: `${replicaSet.members.length} members: use an odd number, an even one tolerates no more failures than one fewer` };
    for (const [i, member] of replicaSet.members.entries()) {
      const host = topology.hosts.find((candidate) => candidate.name === member);
      if (!host) return { field: `mongodb.members[${i}]`, message: `no host is named '${member}'` };
      if (replicaSet.members.indexOf(member) !== i) return { field: `mongodb.members[${i}]`, message: `${member} is listed twice` };
      if ([host.nats.clientPort, host.nats.clusterPort, host.nats.monitorPort, host.opcp?.port].includes(replicaSet.port)) return { field: 'mongodb.port', message: `${replicaSet.port} is already a port of ${member}` };
    }
  }
  const opcpPools = topology.hosts.filter((host) => host.opcp).length;
  if (opcpPools > 1 && !topology.mongodb) return { field: 'hosts', message: 'several OPCP gateways need the shared store ("mongodb")' };
  if (topology.replicas !== undefined && topology.replicas > topology.hosts.length) {
    return { field: 'replicas', message: `${topology.replicas} replicas need at least as many hosts (have ${topology.hosts.length})` };
  }
  return undefined;
}

/**
 * Validates a parsed JSON value as a topology, filling in defaults.
 * @throws TopologyError naming the first bad field.
 */
export function parseTopology(value: unknown, source?: string): Topology {
  const parsed = topologySchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TopologyError(fieldPath(issue.path), issue.message, source);
  }
  const problem = checkPlacement(parsed.data);
  if (problem) throw new TopologyError(problem.field, problem.message, source);
  return parsed.data;
}

/** Reads and validates a topology file. @throws TopologyError (also for an unreadable file or bad JSON). */
export function readTopology(file: string): Topology {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new TopologyError('', `cannot read the topology: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, file);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TopologyError('', `not JSON: ${(error as Error).message}`, file);
  }
  return parseTopology(json, file);
}

/** JetStream replicas of the work streams: as configured, else min(3, hosts). */
export function replicasOf(topology: Topology): number {
  return topology.replicas ?? Math.min(3, topology.hosts.length);
}

/** The participants `openpnc run` hosts on `host` (the OPCP gateway's process hosts its pools). */
export function runParticipants(host: TopologyHost): string[] {
  return host.participants.filter((name) => !(host.opcp && OPCP_POOLS.includes(name)));
}

/** Every node's client URL, the host's own first. */
export function natsUrlsFor(topology: Topology, host?: TopologyHost): string[] {
  const ordered = host ? [host, ...topology.hosts.filter((other) => other !== host)] : topology.hosts;
  return ordered.map((node) => `nats://${node.address}:${node.nats.clientPort}`);
}

/** The MongoDB replica set the topology's hosts run, when it has one. */
export function mongoReplicaSetOf(topology: Topology): Extract<Topology['mongodb'], object> | undefined {
  return typeof topology.mongodb === 'object' ? topology.mongodb : undefined;
}

/**
 * The connection string every participant gets (`--mongo`): the given URI, or every member of the
 * topology's replica set with its name, so the driver follows the primary through an election;
 * write concern majority with journal and majority reads are also what the adapter asks for
 * (actors/store/mongo.ts), stated here for any other client of the URI.
 */
export function mongoUriOf(topology: Topology): string | undefined {
  const replicaSet = mongoReplicaSetOf(topology);
  if (!replicaSet) return topology.mongodb as string | undefined;
  const members = replicaSet.members.map((name) => `${topology.hosts.find((host) => host.name === name)!.address}:${replicaSet.port}`);
  return `mongodb://${members.join(',')}/${replicaSet.database}?replicaSet=${replicaSet.replicaSet}&w=majority&journal=true&readConcernLevel=majority&retryWrites=true`;
}
