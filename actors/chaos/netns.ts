/**
 * Chaos against `openpnc deploy netns` (issue 13): the deployment comes up as `deploy netns up` starts
 * it (one namespace per host, a NATS cluster across them, each host's rendered services), the runner
 * then runs inside the client namespace, where the host names resolve and the nodes are reachable, and
 * its faults act on the namespaces: hosts cut off from the bridge and healed, participant services and
 * NATS nodes killed with -9 and started again with their rendered command lines. Down afterwards.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { CLIENT_NAMESPACE, cutHost, healHost, hostServices, killService, localTopology, netnsDown, netnsUp, requireNetns, startService, type CutMethod, type HostService } from '../../deploy/netns.ts';
import { clusterCaFile } from '../../deploy/tls.ts';
import { natsUrlsFor, readTopology, type Topology } from '../../deploy/topology.ts';
import { PncError } from '../../protocols/errors.ts';

const OPENPNC = new URL('../../bin/openpnc.js', import.meta.url).pathname;
/** How long a probe of a host's NATS port waits for the TCP handshake. */
const PROBE_MS = 2_000;
/** Set for the runner inside the client namespace: the work directory of the running deployment. */
export const NETNS_WORK_ENV = 'OPENPNC_CHAOS_NETNS_WORK';

/**
 * Brings the scenario's topology up in namespaces, runs `openpnc chaos` again inside the client
 * namespace against it (its output is this command's), and takes everything down. Resolves with its exit code.
 */
export async function runInNetns(scenarioFile: string, topologyFile: string, options: { json: boolean; print: (line: string) => void }): Promise<number> {
  requireNetns();
  const workDir = mkdtempSync(join(tmpdir(), 'openpnc-chaos-netns-'));
  try {
    const deployment = await netnsUp(readTopology(topologyFile), { workDir, print: options.print });
    const ca = clusterCaFile(deployment.topology);
    const child = spawn('ip', ['netns', 'exec', CLIENT_NAMESPACE, process.execPath, OPENPNC, 'chaos', '--scenario', scenarioFile, ...(options.json ? ['--json'] : [])], {
      stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, [NETNS_WORK_ENV]: workDir, ...(ca ? { NODE_EXTRA_CA_CERTS: ca } : {}) },
    });
    return await new Promise<number>((resolve) => child.once('close', (code) => resolve(code ?? 1)));
  } finally {
    await netnsDown();
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** A running netns deployment as the runner inside the client namespace sees and faults it. */
export class NetnsTarget {
  readonly topology: Topology;

  constructor(topologyFile: string, readonly workDir: string) {
    this.topology = localTopology(readTopology(topologyFile), workDir);
    if (!this.topology.credentials) throw new PncError('InvalidScenario', `topology ${this.topology.name} has no "credentials": the chaos load connects as the operator with its key`);
  }

  get urls(): string[] {
    return natsUrlsFor(this.topology);
  }

  get credsDir(): string {
    return this.topology.credentials!.dir;
  }

  /** Each host's store, in topology order. */
  get dataDirs(): string[] {
    return this.topology.hosts.map((host) => host.dataDir);
  }

  /** The data directory of the (first) host running `participant`. */
  dataDirOf(participant: string): string {
    return this.topology.hosts.find((host) => host.participants.includes(participant))!.dataDir;
  }

  /** The participant services a kill of `participant` hits: on `host`, or on every host running it. */
  servicesOf(participant: string, host?: string): HostService[] {
    return this.topology.hosts.filter((h) => !host || h.name === host)
      .flatMap((h) => hostServices(this.topology, this.workDir, h.name))
      .filter((service) => service.unit !== 'nats' && service.participants.includes(participant));
  }

  natsOf(index: number): HostService {
    return hostServices(this.topology, this.workDir, this.topology.hosts[index].name).find((service) => service.unit === 'nats')!;
  }

  /** Per service, the kill and restart under way: a second fault on it waits until it is ready again. */
  private readonly underWay = new Map<string, Promise<unknown>>();

  /** kill -9 these services, wait `restartAfterMs`, start them again; resolves once they are ready. */
  async killAndRestart(services: readonly HostService[], restartAfterMs: number): Promise<number> {
    const keys = services.map((service) => `${service.host}/${service.unit}`);
    await Promise.all(keys.map((key) => this.underWay.get(key)?.catch(() => {})));
    const run = (async () => {
      let killed = 0;
      for (const service of services) killed += await killService(service);
      await new Promise((resolve) => setTimeout(resolve, restartAfterMs));
      await Promise.all(services.map(startService));
      return killed;
    })();
    for (const key of keys) this.underWay.set(key, run);
    return run;
  }

  /**
   * Cuts `host` off and proves it: its NATS client port, reachable before, no longer answers from the
   * client namespace. Resolves false when the cut did not take (the run reports it as a broken invariant).
   */
  async cut(host: string, method: CutMethod): Promise<boolean> {
    const before = await this.reachable(host, PROBE_MS);
    cutHost(host, method);
    return before && !(await this.reachable(host, PROBE_MS));
  }

  /** Heals `host` and waits until its NATS node answers again; false when it does not within 30 s. */
  async heal(host: string, method: CutMethod): Promise<boolean> {
    healHost(host, method);
    const until = Date.now() + 30_000;
    while (Date.now() < until) if (await this.reachable(host, PROBE_MS)) return true;
    return false;
  }

  /** A TCP connection to the host's NATS client port opens within `ms`. */
  private reachable(hostName: string, ms: number): Promise<boolean> {
    const host = this.topology.hosts.find((h) => h.name === hostName)!;
    return new Promise((resolve) => {
      const socket = connect({ host: host.address, port: host.nats.clientPort, timeout: ms });
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.once('connect', () => done(true));
      socket.once('timeout', () => done(false));
      socket.once('error', () => setTimeout(() => done(false), 200));
    });
  }
}
