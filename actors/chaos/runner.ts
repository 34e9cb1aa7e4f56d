/**
 * Runs a chaos scenario: starts its NATS nodes and its participant processes (`openpnc run --chaos`),
 * plays the story once to set the roots, then concludes contracts while the faults happen at their
 * times, waits for a quiet period, and checks the invariants that must hold after any fault:
 * every contract asked for was concluded once, is installed at the MO and installable from the CCP;
 * with `load.sessions`, charging sessions at the SECC process pause, outlive the faults and resume by
 * SessionID (actors/chaos/sessions.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { mkdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { Bus } from '../bus/bus.ts';
import { requestSubjectReply } from '../bus/typed.ts';
import { CHAOS_CONTROL_PREFIX, type FaultCounts } from '../bus/faults.ts';
import { freePort, startNatsCluster, startNatsServer, type NatsNode } from '../nats/local-server.ts';
import { startSessionLoad, type SessionLoad, type SessionTally } from './sessions.ts';
import { playStory } from '../story/index.ts';
import { buildInstallationRequest, checkInstallationResponse, produceVehicle, type Vehicle } from '../story/vehicle.ts';
import { connectAs } from '../host/credentials.ts';
import { participantEnvironment } from '../host/runtime.ts';
import { AUTHORIZATION_FILE, writeCredentials } from '../../deploy/creds.ts';
import { cpoInterface } from '../../protocols/catalogue/cpo.ts';
import { moInterface } from '../../protocols/catalogue/mo.ts';
import { PncError, toPncError } from '../../protocols/errors.ts';
import type { ChaosScenario } from './scenario.ts';
import { NetnsTarget } from './netns.ts';
import { accountCertificates, certificateInvariant, loseStoredRecords, type CertificateAccount } from './certificates.ts';
import { CHAOS_MEMORY_PREFIX, cpuPercent, cpuTicks, residentBytes, residentParts, type HeapFigures, type ResidentParts } from './measure.ts';

const OPENPNC = new URL('../../bin/openpnc.js', import.meta.url).pathname;
/** How long a participant process may take to say host.ready (minutes on a machine at load 30: tsx compiles at start). */
const READY_TIMEOUT_MS = 180_000;
/** A customer retries a retryable failure this long before the contract counts as lost. */
const CUSTOMER_PATIENCE_MS = 120_000;

export interface Invariant {
  readonly name: string;
  readonly holds: boolean;
  readonly detail: string;
}

/** One moment of a measured process: RSS from /proc, the V8 heap as the process tells it. */
export interface MemorySample {
  readonly rssBytes: number;
  /** The same resident set by kind of mapping: malloc's main arena, anonymous (V8, other arenas), files. */
  readonly rssParts: ResidentParts;
  readonly heap: HeapFigures;
}

export interface ProcessFigures {
  readonly participants: readonly string[];
  readonly pid: number;
  /** The instant it said `host.ready` (start-up garbage not yet collected; for reference). */
  readonly readyRssBytes: number;
  /** Up and ready, nothing asked of it yet, after `idleMs` idle: the criterion's start. */
  readonly start: MemorySample;
  /** Right after `start`, after a forced full GC: the heap reachable before the load. */
  readonly startAfterGc: MemorySample;
  readonly afterLoad: MemorySample;
  readonly afterIdle: MemorySample;
  /** After a forced full GC at the end: what the heap still holds, and what RSS V8 gives back. */
  readonly afterGc: MemorySample;
  readonly rssGrowthPct: number;
  readonly rssGrowthAfterGcPct: number;
  /** Heap still reachable after the load (after GC) minus before it: retention, unlike V8 keeping freed pages. */
  readonly retainedHeapBytes: number;
  readonly idleCpuPct: number;
  readonly holds: boolean;
}

export interface MeasureReport {
  readonly idleMs: number;
  readonly maxRssGrowthPct: number;
  readonly maxIdleCpuPct: number;
  readonly processes: readonly ProcessFigures[];
  /** 1, 5 and 15 minute load averages when the load began and when the idle period ended. */
  readonly loadAverage: { readonly atLoad: readonly number[]; readonly afterIdle: readonly number[] };
}

export interface ChaosReport {
  readonly scenario: string;
  readonly measure?: MeasureReport;
  readonly contracts: { asked: number; concluded: number; installedAtMo: number; installable: number; duplicates: number; lost: number; stuck: number };
  readonly faults: { kills: number; natsRestarts: number; busPlans: number; partitions: number; counts: Record<string, FaultCounts> };
  /** Charging sessions of the load (none without `load.sessions`). */
  readonly sessions?: SessionTally;
  /** Every CA's issuance log against where each certificate belongs, read from the stores. */
  readonly certificates: CertificateAccount;
  /** Documents deleted on purpose (`loseStoredRecords`). */
  readonly lostRecords?: number;
  readonly invariants: readonly Invariant[];
  readonly holds: boolean;
  readonly durationMs: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One `openpnc run --chaos` process hosting some participants; killed with -9 and started again. */
class ParticipantProcess {
  private child: ChildProcess | undefined;
  private output = '';
  /** RSS right after the last start said host.ready. */
  readyRssBytes = 0;

  constructor(readonly participants: readonly string[], private readonly args: readonly string[]) {}

  async start(): Promise<void> {
    this.output = '';
    // Started as a participant is in production (actors/host/runtime.ts): what is measured is what runs.
    const env = { ...process.env, ...participantEnvironment(process.env) };
    const child = spawn(process.execPath, [OPENPNC, 'run', ...this.participants, ...this.args, '--chaos'], { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new PncError('ChaosDeploymentFailed', `${this.participants.join(' ')} not ready within ${READY_TIMEOUT_MS} ms: ${this.output.slice(-500)}`)), READY_TIMEOUT_MS);
      let ready = false;
      const onData = (chunk: Buffer) => {
        this.output = (this.output + chunk).slice(-20_000);
        if (!ready && this.output.includes('"host.ready"')) {
          ready = true;
          clearTimeout(timer);
          if (child.pid) this.readyRssBytes = residentBytes(child.pid);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new PncError('ChaosDeploymentFailed', `${this.participants.join(' ')} exited (${code ?? signal}) before it was ready: ${this.output.slice(-500)}`));
      });
    });
  }

  /** The running process's id. */
  get pid(): number {
    if (!this.child?.pid || this.child.exitCode !== null || this.child.signalCode !== null) throw new PncError('MeasureFailed', `${this.participants.join(' ')} is not running`);
    return this.child.pid;
  }

  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

interface Concluded {
  readonly vehicle: Vehicle;
  readonly contractIds: string[];
  readonly emaids: string[];
}

/** Calls `step` until it succeeds or fails for good; a retryable failure is tried again, as a customer would. */
async function patiently<T>(step: () => Promise<T>): Promise<T> {
  const until = Date.now() + CUSTOMER_PATIENCE_MS;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
    try {
      return await step();
    } catch (error) {
      const failure = toPncError(error);
      if (!failure.retryable && !['NoResponders', 'Timeout', 'BusUnavailable'].includes(failure.code)) throw failure;
      if (Date.now() > until) throw failure;
      await sleep(delay);
    }
  }
}

export interface RunOptions {
  /** Work directory for the participants' stores; with a netns scenario, the running deployment's (actors/chaos/netns.ts). */
  readonly workDir: string;
  readonly print?: (line: string) => void;
}

export async function runScenario(scenario: ChaosScenario, options: RunOptions): Promise<ChaosReport> {
  const print = options.print ?? (() => {});
  const started = Date.now();
  // A netns deployment is up already (netns.ts brought it up and started this runner in its client namespace).
  const netns = 'netns' in scenario.deployment ? new NetnsTarget(scenario.deployment.netns.topology, options.workDir) : undefined;
  const own = 'processes' in scenario.deployment ? scenario.deployment : { natsNodes: 1 as const, processes: [] };
  // Every participant, the operator (the load) and the chaos control hold their own key, as in production.
  const credsDir = netns?.credsDir ?? join(options.workDir, 'creds');
  if (!netns) writeCredentials(credsDir);
  const extraConfig = netns ? '' : readFileSync(join(credsDir, AUTHORIZATION_FILE), 'utf8');
  const cluster = !netns && own.natsNodes === 3 ? await startNatsCluster(3, { extraConfig }) : undefined;
  const single = cluster || netns ? undefined : await startNatsServer({ extraConfig });
  const nodes: readonly NatsNode[] = cluster?.nodes ?? (single ? [single] : []);
  const urls = netns?.urls ?? nodes.map((node) => node.url);
  // The SECC serves the load's vehicles on a TCP port of its own; a restart listens on the same one.
  const seccPort = scenario.load.sessions > 0 ? await freePort() : undefined;
  const dataDirs = netns?.dataDirs ?? own.processes.map((_, index) => join(options.workDir, `p${index + 1}`));
  const processes = own.processes.map((participants, index) => {
    const dataDir = dataDirs[index];
    mkdirSync(dataDir, { recursive: true });
    const secc = seccPort && participants.includes('secc') ? ['--set', `tcpPort=${seccPort}`] : [];
    return new ParticipantProcess(participants, ['--nats', urls.join(','), '--replicas', String(own.natsNodes), '--data', dataDir, '--creds', credsDir, ...secc]);
  });
  let sessionLoad: SessionLoad | undefined;
  let bus: Bus | undefined;
  const counts: Record<string, FaultCounts> = {};
  let kills = 0;
  let natsRestarts = 0;
  let busPlans = 0;
  let partitions = 0;
  /** Partitions that did not cut (the host still answered) or did not heal. */
  const unprovenCuts: string[] = [];
  try {
    // In order: the V2G root first, so the CPO and CPS domains get their Sub-CA 1 as they start.
    for (const process of processes) await process.start();
    print(netns ? `deployment: deploy netns ${netns.topology.name}, hosts ${netns.topology.hosts.map((host) => host.name).join(', ')}, NATS ${urls.join(' ')}` : `deployment: ${urls.length} NATS node(s), ${processes.length} participant processes`);
    bus = await connectAs({ servers: urls, credsDir, name: 'admin', connectionName: `openpnc chaos ${scenario.name}` });
    const client = bus;
    const measured = scenario.measure ? processes.filter((host) => host.participants.some((name) => scenario.measure!.participants.includes(name))) : [];
    const sample = async (host: ParticipantProcess, collectGarbage = false): Promise<MemorySample> => {
      const reply = await client.request<{ memory: HeapFigures }>(`${CHAOS_MEMORY_PREFIX}${host.participants[0]}`, { collectGarbage }, { timeoutMs: 30_000 });
      return { rssBytes: residentBytes(host.pid), rssParts: residentParts(host.pid), heap: reply.memory };
    };
    const starts: Array<{ pid: number; sample: MemorySample; afterGc: MemorySample }> = [];
    if (scenario.measure) {
      // Start (issue 9): the participant up and ready, nothing asked of it yet, not the story either.
      // Taken after as long idle as the end figures, so neither carries start-up or load garbage V8
      // would collect anyway; and before the forced GC, so the GC does not flatter it.
      await sleep(scenario.measure.idleMs);
      for (const host of measured) starts.push({ pid: host.pid, sample: await sample(host), afterGc: await sample(host, true) });
      print('start figures taken (up and ready, idle)');
    }
    await playStory(() => client, client);
    print('story played once: roots in the RCP, one contract installed');

    // The load: vehicles produced and contracts concluded, a few at a time, by patient customers.
    const concluded: Concluded[] = [];
    let asked = 0;
    let lost = 0;
    const conclude = async (count: number) => {
      let next = 0;
      const customer = async () => {
        while (next < count) {
          next += 1;
          asked += 1;
          try {
            const vehicle = await patiently(() => produceVehicle(client));
            const record: Concluded = { vehicle, contractIds: [], emaids: [] };
            // The customer names the contract, so asking again after a lost answer is the same contract, not a second one.
            const contractId = randomUUID();
            const contract = await patiently(() => requestSubjectReply(client, moInterface.requests.conclude, { pcid: vehicle.pcid, customerId: 'chaos', contractId }));
            record.contractIds.push(contract.contractId);
            if (contract.emaid) record.emaids.push(contract.emaid);
            concluded.push(record);
          } catch (error) {
            lost += 1;
            print(`contract lost: ${toPncError(error).code}: ${toPncError(error).message}`);
          }
        }
      };
      await Promise.all(Array.from({ length: scenario.load.inFlight }, customer));
    };
    // Every concluded contract must reach `installed` at the MO before `until`.
    const installed = new Set<string>();
    const awaitInstalled = async (until: number) => {
      while (Date.now() < until && installed.size < concluded.length) {
        for (const record of concluded) {
          const contractId = record.contractIds[0];
          if (installed.has(contractId)) continue;
          const summary = await requestSubjectReply(client, moInterface.requests.get, { contractId }).catch(() => undefined);
          if (summary?.status !== 'installed') continue;
          installed.add(contractId);
          if (summary.emaid && !record.emaids.includes(summary.emaid)) record.emaids.push(summary.emaid);
        }
        if (installed.size < concluded.length) await sleep(500);
      }
    };

    const loadAtStart = loadavg();

    // Kills and NATS restarts are awaited before the quiet period; a bus fault plan lasts until its
    // untilMs or the end of the run, whichever comes first.
    const disruptions: Promise<void>[] = [];
    const ended = new AbortController();
    setMaxListeners(scenario.faults.length + 10, ended.signal); // one waiting timer per fault listens for the end
    const wait = (ms: number) => new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      ended.signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
    });
    // The plan in force per participant: a restarted process gets it again. Counts are summed over
    // a process's lives: each control reply reports what its current life did since the last one.
    const active = new Map<string, object>();
    const control = async (participant: string, plan: object) => {
      const reply = (await patiently(() => client.request(`${CHAOS_CONTROL_PREFIX}${participant}`, plan, { timeoutMs: 5_000 }))) as { counts: FaultCounts };
      const total = (counts[participant] ??= { dropped: 0, duplicated: 0, delayed: 0, reordered: 0 });
      const seen = (reported[participant] ??= { dropped: 0, duplicated: 0, delayed: 0, reordered: 0 });
      for (const key of Object.keys(total) as Array<keyof FaultCounts>) {
        total[key] += reply.counts[key] - seen[key];
        seen[key] = reply.counts[key];
      }
    };
    const reported: Record<string, FaultCounts> = {};
    // Charging sessions start with the contracts; a fault `afterSessionsPaused` waits for all of them to pause.
    if (seccPort) sessionLoad = startSessionLoad(client, { count: scenario.load.sessions, port: seccPort, workDir: options.workDir, patiently, quietMs: scenario.quietMs });
    const sessionsPaused = sessionLoad?.allPaused.then(() => print(`+${Date.now() - started} ms  charging sessions paused`));
    const restart = async (host: ParticipantProcess) => {
      for (const participant of host.participants) if (active.has(participant)) await control(participant, active.get(participant)!).catch(() => {});
      await host.kill();
      for (const participant of host.participants) delete reported[participant];
      kills += 1;
    };
    for (const fault of scenario.faults) {
      const task = (async () => {
        if ('kill' in fault && fault.afterSessionsPaused) await sessionsPaused;
        await wait(fault.atMs);
        if (ended.signal.aborted) return;
        if ('kill' in fault && netns) {
          const services = netns.servicesOf(fault.kill, fault.host);
          print(`+${Date.now() - started} ms  kill -9 ${services.map((service) => `${service.participants.join(' ')} on ${service.host}`).join('; ')}`);
          // Read after the await: faults run side by side, `kills += await …` would add to a stale count.
          const killed = await netns.killAndRestart(services, fault.restartAfterMs);
          kills += killed;
          print(`+${Date.now() - started} ms  restarted ${services.map((service) => `${service.participants.join(' ')} on ${service.host}`).join('; ')}`);
        } else if ('partition' in fault) {
          // A cut host's node and participants go on inside; every packet to or from the bridge is lost.
          print(`+${Date.now() - started} ms  host ${fault.partition} cut off (${fault.method})`);
          const cut = await netns!.cut(fault.partition, fault.method);
          partitions += 1;
          if (!cut) unprovenCuts.push(`${fault.partition} still reachable while cut (${fault.method})`);
          await sleep(fault.healAfterMs);
          const healed = await netns!.heal(fault.partition, fault.method);
          if (!healed) unprovenCuts.push(`${fault.partition} unreachable after the heal`);
          print(`+${Date.now() - started} ms  host ${fault.partition} healed${healed ? '' : ', but its NATS node does not answer'}`);
        } else if ('natsNode' in fault && netns) {
          print(`+${Date.now() - started} ms  kill -9 NATS node on ${netns.topology.hosts[fault.natsNode].name}`);
          await netns.killAndRestart([netns.natsOf(fault.natsNode)], fault.restartAfterMs);
          natsRestarts += 1;
          print(`+${Date.now() - started} ms  NATS node on ${netns.topology.hosts[fault.natsNode].name} back`);
        } else if ('kill' in fault) {
          const host = processes.find((candidate) => candidate.participants.includes(fault.kill))!;
          print(`+${Date.now() - started} ms  kill -9 ${host.participants.join(' ')}`);
          await restart(host);
          await sleep(fault.restartAfterMs);
          await host.start();
          for (const participant of host.participants) if (active.has(participant)) await control(participant, active.get(participant)!);
          print(`+${Date.now() - started} ms  restarted ${host.participants.join(' ')}`);
        } else if ('natsNode' in fault) {
          print(`+${Date.now() - started} ms  kill -9 NATS node ${fault.natsNode}`);
          await nodes[fault.natsNode].kill();
          natsRestarts += 1;
          await sleep(fault.restartAfterMs);
          await nodes[fault.natsNode].restart();
          print(`+${Date.now() - started} ms  NATS node ${fault.natsNode} back`);
        } else {
          print(`+${Date.now() - started} ms  faults on what ${fault.participant} sends: ${JSON.stringify(fault.rules)}${fault.clockSkewMs ? `, clock ${fault.clockSkewMs} ms` : ''}`);
          const plan = { rules: fault.rules, ...(fault.clockSkewMs !== undefined ? { clockSkewMs: fault.clockSkewMs } : {}) };
          active.set(fault.participant, plan);
          await control(fault.participant, plan);
          busPlans += 1;
          await wait(fault.untilMs - fault.atMs);
          active.delete(fault.participant);
          if (ended.signal.aborted) return;
          await control(fault.participant, { rules: [], ...(fault.clockSkewMs !== undefined ? { clockSkewMs: 0 } : {}) });
          print(`+${Date.now() - started} ms  faults on ${fault.participant} cleared`);
        }
      })();
      // Awaited with the others after the load; handled now, so a fault that fails does not end the process first.
      if (!('participant' in fault)) {
        disruptions.push(task);
        task.catch(() => {});
      }
      else task.catch((error: unknown) => print(`fault plan on ${fault.participant} failed: ${toPncError(error).message}`));
    }

    await conclude(scenario.load.contracts);
    print(`load done: ${concluded.length} of ${asked} contracts concluded`);
    await Promise.all(disruptions);

    // Quiet period: every concluded contract must reach `installed` at the MO.
    await awaitInstalled(Date.now() + scenario.quietMs);

    // Paused sessions come back after the faults: each must join its own session and finish.
    const sessions = sessionLoad ? await sessionLoad.resume(scenario.quietMs) : undefined;

    // Installable from the CCP: the vehicle's own request answered with its own contract.
    let installable = 0;
    for (const record of concluded) {
      try {
        const exiRequest = Buffer.from(await buildInstallationRequest(record.vehicle)).toString('base64');
        const answer = await patiently(() => requestSubjectReply(client, cpoInterface.requests.installContract, { exiRequest }));
        if (answer.status !== 'Accepted') continue;
        const check = await checkInstallationResponse(new Uint8Array(Buffer.from(answer.exiResponse, 'base64')), record.vehicle);
        if (record.emaids.includes(check.emaid)) installable += 1;
      } catch {
        // not installable: counted below
      }
    }
    let lostRecords: number | undefined;
    if (scenario.loseStoredRecords) {
      const { participant, collection, count } = scenario.loseStoredRecords;
      lostRecords = loseStoredRecords(netns?.dataDirOf(participant) ?? dataDirs[own.processes.findIndex((hosted) => hosted.includes(participant))], collection, count);
      print(`lost on purpose: ${lostRecords} document(s) of ${collection} in ${participant}'s store`);
    }
    const certificates = accountCertificates(dataDirs);
    // The last counts of every faulted participant, asked with the plan still in force.
    for (const participant of Object.keys(counts)) await control(participant, active.get(participant) ?? { rules: [] }).catch(() => {});
    ended.abort();
    let measure: MeasureReport | undefined;
    if (scenario.measure) {
      const { idleMs, maxRssGrowthPct, maxIdleCpuPct } = scenario.measure;
      const afterLoad: MemorySample[] = [];
      for (const host of measured) afterLoad.push(await sample(host));
      print(`load measured; idle for ${idleMs / 1000} s`);
      // Nothing is asked of anyone meanwhile: the ticks are what the processes do on their own.
      const idleFrom = measured.map((host) => ({ pid: host.pid, ticks: cpuTicks(host.pid), at: Date.now() }));
      await sleep(idleMs);
      const figures: ProcessFigures[] = [];
      for (const [index, host] of measured.entries()) {
        const { pid, ticks, at } = idleFrom[index];
        const idleCpuPct = cpuPercent(ticks, cpuTicks(pid), Date.now() - at);
        const afterIdle = await sample(host);
        const afterGc = await sample(host, true);
        const { pid: startPid, sample: start, afterGc: startAfterGc } = starts[index];
        const growth = (sampled: MemorySample) => ((sampled.rssBytes - start.rssBytes) / start.rssBytes) * 100;
        const rssGrowthPct = growth(afterIdle);
        figures.push({
          participants: host.participants, pid: host.pid, readyRssBytes: host.readyRssBytes, start, startAfterGc, afterLoad: afterLoad[index], afterIdle, afterGc,
          rssGrowthPct, rssGrowthAfterGcPct: growth(afterGc), retainedHeapBytes: afterGc.heap.heapUsed - startAfterGc.heap.heapUsed, idleCpuPct,
          // A process restarted meanwhile is not the one measured at the start.
          holds: pid === startPid && rssGrowthPct <= maxRssGrowthPct && idleCpuPct < maxIdleCpuPct,
        });
      }
      measure = { idleMs, maxRssGrowthPct, maxIdleCpuPct, processes: figures, loadAverage: { atLoad: loadAtStart, afterIdle: loadavg() } };
    }
    const duplicates = concluded.filter((record) => record.emaids.length > 1).length + (new Set(concluded.map((record) => record.vehicle.pcid)).size === concluded.length ? 0 : 1);
    const stuck = concluded.length - installed.size;
    const invariants: Invariant[] = [
      { name: 'every contract asked for was concluded', holds: lost === 0 && concluded.length === asked, detail: `${concluded.length} of ${asked}, ${lost} lost` },
      { name: 'no vehicle holds two contracts', holds: duplicates === 0, detail: `${duplicates} duplicates` },
      { name: 'every concluded contract is installed at the MO after the quiet period', holds: stuck === 0, detail: `${installed.size} installed, ${stuck} stuck` },
      { name: 'every concluded contract is installable from the CCP with its own EMAID', holds: installable === concluded.length, detail: `${installable} of ${concluded.length}` },
      ...(measure?.processes ?? []).map((figures) => ({
        name: `${figures.participants.join(' ')}: RSS after ${measure!.idleMs / 1000} s idle within ${measure!.maxRssGrowthPct} % of its start, idle CPU below ${measure!.maxIdleCpuPct} %`,
        holds: figures.holds,
        detail: `RSS ${signed(figures.rssGrowthPct)} %, idle CPU ${figures.idleCpuPct.toFixed(2)} %`,
      })),
      ...(sessions ? [
        { name: 'every charging session started was resumed by its SessionID and completed, or ended with a named outcome', holds: sessions.resumed + sessions.ended.length === sessions.started && sessions.hanging === 0, detail: `${sessions.started} started, ${sessions.paused} paused, ${sessions.resumed} resumed and completed, ${sessions.ended.length} ended otherwise${sessions.ended.length ? ` (${sessions.ended.slice(0, 3).join('; ')})` : ''}` },
        { name: 'no charging session hangs after the quiet period', holds: sessions.hanging === 0, detail: `${sessions.hanging} hanging${sessions.hanging ? ` (${sessions.hangingAfter.slice(0, 3).join('; ')})` : ''}` },
        { name: 'every paused session survived the faults and was joined again', holds: sessions.paused === sessions.started && sessions.resumed === sessions.paused, detail: `${sessions.resumed} of ${sessions.paused} paused` },
      ] : []),
      certificateInvariant(certificates),
      ...(partitions ? [{ name: 'every cut host was unreachable from the client namespace while cut and reachable again after its heal', holds: unprovenCuts.length === 0, detail: `${partitions} cut${unprovenCuts.length ? `; ${unprovenCuts.join('; ')}` : ', each proven by its NATS client port'}` }] : []),
    ];
    return {
      scenario: scenario.name,
      ...(measure ? { measure } : {}),
      ...(sessions ? { sessions } : {}),
      contracts: { asked, concluded: concluded.length, installedAtMo: installed.size, installable, duplicates, lost, stuck },
      certificates,
      ...(lostRecords !== undefined ? { lostRecords } : {}),
      faults: { kills, natsRestarts, busPlans, partitions, counts },
      invariants,
      holds: invariants.every((invariant) => invariant.holds),
      durationMs: Date.now() - started,
    };
  } finally {
    await sessionLoad?.close().catch(() => {});
    await bus?.close().catch(() => {});
    await Promise.all(processes.map((process) => process.kill()));
    await cluster?.stop();
    await single?.stop();
  }
}

const signed = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;
const mb = (bytes: number) => (bytes / 1_048_576).toFixed(1);

/** The measured figures as lines: RSS (and the V8 heap in use) at each moment, per process. */
function measureLines(measure: MeasureReport): string[] {
  const spaces = (heap: HeapFigures) => Object.entries(heap.spaces ?? {}).filter(([, bytes]) => bytes >= 262_144).map(([name, bytes]) => `${name} ${mb(bytes)}`).join(', ');
  const moment = (label: string, sampled: MemorySample) => `${label} RSS ${mb(sampled.rssBytes)} MB = malloc main ${mb(sampled.rssParts.mallocMain)} + anonymous ${mb(sampled.rssParts.anonymous)} + files ${mb(sampled.rssParts.files)} (heap used ${mb(sampled.heap.heapUsed)} of ${mb(sampled.heap.heapTotal)} MB: ${spaces(sampled.heap)}; external ${mb(sampled.heap.external)} MB)`;
  return [
    `  memory (start = up and ready, before the story and the load, after ${measure.idleMs / 1000} s idle; end after ${measure.idleMs / 1000} s idle; load average ${measure.loadAverage.atLoad.map((l) => l.toFixed(2)).join(' ')} at load, ${measure.loadAverage.afterIdle.map((l) => l.toFixed(2)).join(' ')} after idle)`,
    ...measure.processes.flatMap((figures) => [
      `    ${figures.participants.join(' ')} (pid ${figures.pid}): ready ${mb(figures.readyRssBytes)} MB`,
      `      ${moment('start     ', figures.start)}`,
      `      ${moment('start, GC ', figures.startAfterGc)}`,
      `      ${moment('after load', figures.afterLoad)}`,
      `      ${moment('after idle', figures.afterIdle)}  ${signed(figures.rssGrowthPct)} % of start, idle CPU ${figures.idleCpuPct.toFixed(2)} %`,
      `      ${moment('after GC  ', figures.afterGc)}  ${signed(figures.rssGrowthAfterGcPct)} % of start; heap retained since start ${signed(figures.retainedHeapBytes / 1_048_576)} MB`,
    ]),
  ];
}

/** The report as readable lines, ending with the verdict. */
export function formatReport(report: ChaosReport): string[] {
  const lines = [
    `invariant report — ${report.scenario} (${(report.durationMs / 1000).toFixed(1)} s)`,
    `  contracts: asked ${report.contracts.asked}, concluded ${report.contracts.concluded}, installed at MO ${report.contracts.installedAtMo}, installable ${report.contracts.installable}, duplicates ${report.contracts.duplicates}, lost ${report.contracts.lost}, stuck ${report.contracts.stuck}`,
    `  faults: ${report.faults.kills} process kills, ${report.faults.natsRestarts} NATS node restarts, ${report.faults.partitions} host partitions, ${report.faults.busPlans} bus fault plans ${JSON.stringify(report.faults.counts)}`,
    ...(report.measure ? measureLines(report.measure) : []),
    `  certificates: issued ${report.certificates.issued}, held where they belong ${report.certificates.held}, revoked ${report.certificates.revoked}, superseded ${report.certificates.superseded}, purged from the CCP ${report.certificates.purged}, handed out ${report.certificates.handedOut}, unaccounted ${report.certificates.unaccounted.length}, serials issued twice ${report.certificates.duplicateSerials.length}${report.lostRecords !== undefined ? ` (${report.lostRecords} stored document(s) lost on purpose)` : ''}`,
    ...(report.sessions ? [`  charging sessions: started ${report.sessions.started}, paused ${report.sessions.paused}, resumed and completed ${report.sessions.resumed}, ended otherwise ${report.sessions.ended.length}, hanging ${report.sessions.hanging}`] : []),
    ...report.invariants.map((invariant) => `  ${invariant.holds ? '✓' : '✗'} ${invariant.name}: ${invariant.detail}`),
    report.holds ? 'every invariant holds' : 'INVARIANTS BROKEN',
  ];
  return lines;
}
