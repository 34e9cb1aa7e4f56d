/**
 * `openpnc deploy …`: check a topology, render each host's nats-server config and systemd units, and
 * run the whole topology on this machine in network namespaces.
 */
import { resolve } from 'node:path';
import { CliError, parseFlags, wantsHelp, type Command } from '../actors/cli/command.ts';
import { PncError } from '../protocols/errors.ts';
import { DEFAULT_WORK_DIR, localTopology, netnsDown, netnsStory, netnsUp, nodeStatus } from './netns.ts';
import { renderTopology, writeRendered } from './render.ts';
import { readTopology, replicasOf, type Topology } from './topology.ts';
import { writeClusterCertificates } from './tls.ts';
import { authorizationConfig, writeCredentials } from './creds.ts';
import { readRoster } from '../actors/host/credentials.ts';
import { credentialNames } from '../protocols/catalogue/access.ts';
import { parseSettings } from '../actors/cli/run.ts';

const usage = `usage: openpnc deploy check --topology FILE
       openpnc deploy render --topology FILE --out DIR [--creds DIR]
       openpnc deploy certs --topology FILE --out DIR
       openpnc deploy creds --out DIR [--rotate NAME …] [--set wmi=OPN] [--set emaidPrefix=DEOPN]
       openpnc deploy netns up --topology FILE [--work DIR]
       openpnc deploy netns story --topology FILE [--work DIR]
       openpnc deploy netns status --topology FILE
       openpnc deploy netns down

check        validates a topology (hosts, NATS nodes, participants, OPCP gateway) and prints a summary
render       writes per host <DIR>/<host>/nats-server.conf (cluster routes, JetStream) and systemd
             units: openpnc-nats.service, openpnc.service (openpnc run …), openpnc-opcp.service;
             a topology with "credentials" needs --creds DIR (from deploy creds): its users go into
             every node's config
creds        issues the NATS credentials: DIR/<name>.nk (an nkey seed, mode 600) for each participant,
             admin (the operator), inspector (reads inspect.>) and opcp (the gateway); DIR/roster.json
             (public key → role and WMI/EMAID prefixes, for every host); DIR/nats-authorization.conf
             (each key's subject permissions, from the catalogue). --rotate NAME issues a new key for
             NAME only (repeatable); render again and reload the nodes. --set gives the OEM's WMI and
             the MO's EMAID prefix as their --set settings say
certs        issues the NATS TLS files of a topology with "tls": a cluster CA (ca.pem, ca.key: keep the
             key off the hosts) and per host <host>.pem / <host>.key for its address; copy ca.pem and
             the host's pair into tls.dir on each host
netns up     runs the topology on this machine (root, iproute2): one network namespace per host on a
             private bridge (10.231.0.0/24), each with its nats-server and openpnc processes as
             rendered, then plays the Plug&Charge story from a client namespace. Everything keeps
             running until 'netns down'. Logs, configs and stores go to --work (default ${DEFAULT_WORK_DIR}).
netns story  plays the story again against the running namespaces
netns status each node: up or down, JetStream meta and stream leaders, its clients' queue groups
netns down   stops every process in the opnc-* namespaces and deletes them (also after a crash)

A topology example: deploy/topologies/three-hosts.json; deploy/README.md explains the fields.`;

function topologyFlag(value: string | undefined): Topology {
  if (!value) throw new CliError('--topology FILE is required');
  return readTopology(value);
}

/** PncErrors (bad topology, no namespaces, a process that did not start) become one-line CLI errors. */
async function oneLine<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof PncError) throw new CliError(error.message, error.code === 'TopologyInvalid' ? 2 : 1);
    throw error;
  }
}

async function netns(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  const { values, positionals } = parseFlags(rest, { topology: { type: 'string' }, work: { type: 'string' } });
  if (positionals.length) throw new CliError(`unexpected argument '${positionals[0]}' (see openpnc deploy --help)`);
  if (action === 'down') {
    const removed = await oneLine(netnsDown);
    console.log(removed.length ? `removed ${removed.join(', ')}` : 'no opnc- namespaces to remove');
    return 0;
  }
  if (action === 'up') {
    const topology = await oneLine(async () => topologyFlag(values.topology));
    const deployment = await oneLine(() => netnsUp(topology, values.work ? { workDir: values.work } : {})).catch((error: unknown) => {
      // What started keeps running for its logs; say how to clear it.
      if (error instanceof CliError) throw new CliError(`${error.message}; 'openpnc deploy netns down' clears what started`, error.exitCode);
      throw error;
    });
    const { exitCode } = await oneLine(() => netnsStory(deployment.topology));
    console.log(`running until 'openpnc deploy netns down'; logs in ${deployment.workDir}/<host>/`);
    return exitCode;
  }
  if (action === 'story') {
    const topology = await oneLine(async () => localTopology(topologyFlag(values.topology), resolve(values.work ?? DEFAULT_WORK_DIR)));
    return (await oneLine(() => netnsStory(topology))).exitCode;
  }
  if (action === 'status') {
    const topology = await oneLine(async () => localTopology(topologyFlag(values.topology), DEFAULT_WORK_DIR));
    for (const status of await oneLine(() => Promise.all(topology.hosts.map((host) => nodeStatus(topology, host.name))))) {
      if (!status.up) {
        console.log(`${status.host.padEnd(10)} nats down`);
        continue;
      }
      const streams = Object.entries(status.streamLeaders).map(([stream, leader]) => `${stream}→${leader ?? 'none'}`).join(' ');
      console.log(`${status.host.padEnd(10)} nats up  meta leader ${status.metaLeader ?? 'none'} (${status.clusterSize ?? '?'} nodes)  ${streams}`);
      for (const client of status.clients) console.log(`${''.padEnd(10)} client '${client.name}' ${client.tls ? `TLS ${client.tls}` : 'plain TCP'}, queues ${client.queues.join(', ') || '-'}`);
    }
    return 0;
  }
  throw new CliError(`unknown netns action '${action ?? ''}' (up, story, status or down)`);
}

export const deployCommand: Command = {
  summary: 'run participants on many hosts: check a topology, render host configs, or run it in network namespaces',
  usage,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === undefined || wantsHelp([sub]) || wantsHelp(rest)) {
      console.log(usage);
      return sub === undefined ? 2 : 0;
    }
    if (sub === 'check') {
      const { values } = parseFlags(rest, { topology: { type: 'string' } }, false);
      const topology = await oneLine(async () => topologyFlag(values.topology));
      console.log(`topology ${topology.name}: ${topology.hosts.length} hosts, NATS cluster ${topology.cluster}, JetStream replicas ${replicasOf(topology)}`);
      for (const host of topology.hosts) {
        console.log(`  ${host.name.padEnd(10)} ${host.address}  ${host.participants.join(', ')}${host.opcp ? `  OPCP :${host.opcp.port}` : ''}`);
      }
      if (topology.external.length) console.log(`  external: ${topology.external.join(', ')}`);
      return 0;
    }
    if (sub === 'render') {
      const { values } = parseFlags(rest, { topology: { type: 'string' }, out: { type: 'string' }, creds: { type: 'string' } }, false);
      const topology = await oneLine(async () => topologyFlag(values.topology));
      if (!values.out) throw new CliError('--out DIR is required');
      if (topology.credentials && !values.creds) throw new CliError(`topology ${topology.name} has "credentials": give --creds DIR (openpnc deploy creds) so the nodes know the keys`);
      const authorization = values.creds ? await oneLine(async () => authorizationConfig(readRoster(resolve(values.creds!)))) : undefined;
      for (const path of writeRendered(renderTopology(topology, authorization), resolve(values.out))) console.log(path);
      return 0;
    }
    if (sub === 'creds') {
      const { values } = parseFlags(rest, { out: { type: 'string' }, rotate: { type: 'string', multiple: true }, set: { type: 'string', multiple: true } }, false);
      if (!values.out) throw new CliError('--out DIR is required');
      const unknown = (values.rotate ?? []).find((name) => !(credentialNames as readonly string[]).includes(name));
      if (unknown) throw new CliError(`--rotate ${unknown}: no such credential (${credentialNames.join(', ')})`);
      const written = await oneLine(async () => writeCredentials(resolve(values.out!), { config: parseSettings(values.set), ...(values.rotate ? { rotate: values.rotate } : {}) }));
      for (const path of written) console.log(path);
      return 0;
    }
    if (sub === 'certs') {
      const { values } = parseFlags(rest, { topology: { type: 'string' }, out: { type: 'string' } }, false);
      const topology = await oneLine(async () => topologyFlag(values.topology));
      if (!values.out) throw new CliError('--out DIR is required');
      if (!topology.tls) throw new CliError(`topology ${topology.name} has no "tls": { "dir": … }; its NATS connections are plain TCP`);
      for (const path of await writeClusterCertificates(topology, resolve(values.out))) console.log(path);
      return 0;
    }
    if (sub === 'netns') return netns(rest);
    throw new CliError(`unknown deploy subcommand '${sub}' (see openpnc deploy --help)`);
  },
};
