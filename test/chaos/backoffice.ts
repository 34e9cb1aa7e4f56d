/**
 * Chaos run of the whole back office (issue 9 "Done when"): the eight participants, each its own
 * OS process, on a three-node NATS cluster; contracts are concluded while participants are killed
 * with -9 and started again (as systemd would), and one NATS node is restarted. After a quiet
 * period it counts lost, stuck and duplicated contracts and installs every one through the CPO.
 *
 *   npm run chaos:backoffice                          200 contracts with faults
 *   npm run chaos:backoffice -- --contracts 1000 --no-faults
 *   npm run chaos:backoffice -- --contracts 1000 --no-faults --measure   RSS and idle CPU of MO and OEM
 *
 * `runChaos` is also what test/chaos/backoffice.test.ts runs, smaller.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectNatsBus } from '../../actors/bus/nats.ts';
import type { Bus } from '../../actors/bus/bus.ts';
import { requestSubjectReply } from '../../actors/bus/typed.ts';
import { playStory } from '../../actors/story/index.ts';
import { buildInstallationRequest, checkInstallationResponse } from '../../actors/story/vehicle.ts';
import { ccpInterface } from '../../protocols/catalogue/ccp.ts';
import { cpoInterface } from '../../protocols/catalogue/cpo.ts';
import { moInterface, type ContractSummaryJson } from '../../protocols/catalogue/mo.ts';
import { oemInterface, type VehicleRecordJson } from '../../protocols/catalogue/oem.ts';
import { PncError, toPncError } from '../../protocols/errors.ts';
import { makePcid } from '../../protocols/identifiers/index.ts';
import { pcidCheckCharacter } from '../../actors/participants/oem.ts';
import { startNatsCluster, type NatsCluster } from '../harness/nats.ts';
import { PARTICIPANTS, participantsReady, startParticipantProcess, type ParticipantProcess } from '../e2e/processes.ts';

export interface ChaosOptions {
  readonly contracts: number;
  /** Kill participants and restart a NATS node while contracts are concluded. */
  readonly faults: boolean;
  /** A random participant is killed with -9 this often. @default 3000 */
  readonly killEveryMs?: number;
  /** How long a killed participant stays down before its restart. @default 1000 */
  readonly downMs?: number;
  /** The NATS node restart comes after this many participant kills. @default 4 */
  readonly natsRestartAfterKills?: number;
  /** Faults go on after the load until at least this many kills (and the NATS restart) happened, however fast the load was. @default 0 */
  readonly minKills?: number;
  /** Conclusions in flight at once. @default 8 */
  readonly concurrency?: number;
  /** After the load: how long to wait for every contract to settle. @default 180000 */
  readonly quietMs?: number;
  /** Measure RSS and idle CPU of the MO and the OEM (start, and after `idleMs` of idle). */
  readonly measure?: boolean;
  /** @default 60000 */
  readonly idleMs?: number;
  readonly print?: (line: string) => void;
  /** The whole run gives up after this long, with the tail of every participant's output. @default 1800000 */
  readonly deadlineMs?: number;
}

export interface ChaosFigures {
  readonly contracts: number;
  readonly concluded: number;
  readonly kills: number;
  readonly natsRestarts: number;
  readonly lost: number;
  readonly stuck: number;
  readonly duplicates: number;
  readonly inCcp: number;
  readonly installable: number;
  readonly moInstalled: number;
  readonly seconds: number;
  readonly stuckDetail: string[];
  readonly measured?: Record<string, { rssStartMb: number; rssEndMb: number; rssChangePct: number; idleCpuPct: number }>;
}

const OEM_CALLER = { role: 'oem' as const, prefixes: ['OPN'] };
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Calls `call` until it answers, through kills and restarts; non-retryable answers are given to `settle`. */
let giveUpAt = Number.POSITIVE_INFINITY;

async function persist<T>(what: string, call: () => Promise<T>, settle?: (error: PncError) => T | undefined): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (thrown) {
      const error = toPncError(thrown);
      const settled = settle?.(error);
      if (settled !== undefined) return settled;
      if (Date.now() > giveUpAt) throw new PncError('ChaosGaveUp', `${what}: ${error.code} ${error.message}`);
      if (process.env.CHAOS_DEBUG) console.error(`retry ${what}: ${error.code} ${error.message}`);
      await sleep(Math.min(2_000, 100 * attempt));
    }
  }
}

/** Rejects with `ChaosGaveUp` when the run's deadline passes first. */
function beforeDeadline<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new PncError('ChaosGaveUp', `gave up waiting for ${what}`)), Math.max(0, giveUpAt - Date.now())); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, clock ticks (100 per second on Linux)
}

async function idleCpuPct(pid: number, windowMs: number): Promise<number> {
  const before = cpuTicks(pid);
  await sleep(windowMs);
  return ((cpuTicks(pid) - before) / 100) / (windowMs / 1000) * 100;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosFigures> {
  const print = options.print ?? ((line: string) => console.log(line));
  const started = Date.now();
  giveUpAt = started + (options.deadlineMs ?? 1_800_000);
  const dataRoot = mkdtempSync(join(tmpdir(), 'openpnc-chaos-'));
  let cluster: NatsCluster | undefined;
  let bus: Bus | undefined;
  const processes = new Map<string, ParticipantProcess>();
  let faulting = false;
  let faultLoop: Promise<void> = Promise.resolve();
  let kills = 0;
  let natsRestarts = 0;
  try {
    cluster = await startNatsCluster(3);
    const servers = cluster.urls.join(',');
    for (const name of PARTICIPANTS) processes.set(name, startParticipantProcess(name, servers, dataRoot, ['--replicas', '3']));
    bus = await connectNatsBus({ servers: cluster.urls, name: 'chaos-driver', replicas: 3 });
    await beforeDeadline('the participants to start', participantsReady(bus));
    // Processes 1–6 once: the roots go into the RCP, and one contract proves the path.
    await playStory(() => bus!, bus);
    print(`ready: 8 participants on a 3-node NATS cluster (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    const measured: ChaosFigures['measured'] = {};
    const rssStart: Record<string, number> = {};
    if (options.measure) for (const name of ['mo', 'oem']) rssStart[name] = rssMb(processes.get(name)!.pid()!);

    if (options.faults) {
      faulting = true;
      const killEveryMs = options.killEveryMs ?? 3_000;
      const downMs = options.downMs ?? 1_000;
      faultLoop = (async () => {
        let natsRestarted = false;
        while (faulting) {
          await sleep(killEveryMs);
          if (!faulting) break;
          // Halfway through the kills, one NATS node goes down and comes back.
          if (!natsRestarted && kills >= (options.natsRestartAfterKills ?? 4)) {
            natsRestarted = true;
            const node = cluster!.nodes[kills % cluster!.nodes.length];
            await node.kill();
            print(`nats ${node.name} killed`);
            await sleep(downMs * 2);
            await node.restart();
            natsRestarts++;
            print(`nats ${node.name} restarted`);
            continue;
          }
          const victim = processes.get(PARTICIPANTS[Math.floor(Math.random() * PARTICIPANTS.length)])!;
          await victim.kill9();
          kills++;
          await sleep(downMs);
          victim.restart();
        }
      })();
    }

    // The load: vehicles and contracts with ids of our own, so a retried call is the same call.
    const count = options.contracts;
    const entries: Array<{ vehicle?: VehicleRecordJson; contractId: string; contract?: ContractSummaryJson }> = [];
    let next = 0;
    const conclude = async () => {
      for (let i = next++; i < count; i = next++) {
        const vehicleId = `CHAOS${String(i).padStart(9, '0')}`;
        const contractId = `chaos-${i}`;
        const entry: (typeof entries)[number] = { contractId };
        entries[i] = entry;
        // A produce answered after our timeout is asked again: the vehicle exists then, and is read.
        const produced = await persist(`vehicle ${vehicleId}`, () => requestSubjectReply(bus!, oemInterface.requests.produceVehicle, { vehicleId }), (error) => (error.code === 'VehicleExists' ? null : undefined));
        const pcid = makePcid('OPN', vehicleId, pcidCheckCharacter(`OPN${vehicleId}`));
        entry.vehicle = produced ?? await persist(`vehicle ${pcid}`, () => requestSubjectReply(bus!, oemInterface.requests.getVehicle, { pcid }));
        entry.contract = await persist(`contract ${contractId}`, () => requestSubjectReply(bus!, moInterface.requests.conclude, { pcid: entry.vehicle!.pcid, contractId }, { timeoutMs: 20_000 }));
        if ((i + 1) % 50 === 0) print(`${i + 1} concluded (${kills} kills)`);
      }
    };
    await beforeDeadline('the contracts to be concluded', Promise.all(Array.from({ length: options.concurrency ?? 8 }, conclude)));
    const concluded = entries.filter((e) => e.contract).length;
    // A fast machine may finish the load before the faults: they happen anyway, to what is still in flight.
    const enoughFaults = () => kills >= (options.minKills ?? 0) && natsRestarts >= 1;
    if (options.faults) await beforeDeadline('the faults', (async () => { while (!enoughFaults()) await sleep(100); })());
    faulting = false;
    await faultLoop;
    // Everyone back up (a kill may just have happened), then the quiet period.
    await beforeDeadline('the participants to come back', participantsReady(bus));
    print(`load done: ${concluded}/${count} concluded, ${kills} kills, ${natsRestarts} NATS restarts; quiet period`);

    const statusOf = async (contractId: string) => (await persist(`status ${contractId}`, () => requestSubjectReply(bus!, moInterface.requests.get, { contractId }), (error) => (error.code === 'UnknownContract' ? ({ status: 'lost' } as unknown as ContractSummaryJson) : undefined))).status;
    const quietUntil = Date.now() + (options.quietMs ?? 180_000);
    let pending = entries.map((e) => e.contractId);
    while (pending.length && Date.now() < Math.min(quietUntil, giveUpAt)) {
      const statuses = await Promise.all(pending.map(async (id) => [id, await statusOf(id)] as const));
      pending = statuses.filter(([, status]) => status !== 'installed').map(([id]) => id);
      if (pending.length) await sleep(2_000);
    }

    // The checks.
    let lost = 0;
    let duplicates = 0;
    let inCcp = 0;
    let installable = 0;
    let moInstalled = 0;
    const stuckDetail: string[] = [];
    for (const entry of entries) {
      const summary = await persist('get', () => requestSubjectReply(bus!, moInterface.requests.get, { contractId: entry.contractId }), (error) => (error.code === 'UnknownContract' ? ({ status: 'lost' } as unknown as ContractSummaryJson) : undefined));
      if (summary.status === 'installed') moInstalled++;
      else stuckDetail.push(`${entry.contractId}: ${summary.status}${summary.failure ? ` (${summary.failure.code}: ${summary.failure.message})` : ''}`);
      if (!entry.vehicle?.pcid) { lost++; continue; }
      const { contracts } = await persist('ccp list', () => requestSubjectReply(bus!, ccpInterface.requests.list, { caller: OEM_CALLER, pcid: entry.vehicle!.pcid }));
      if (contracts.length === 0) { lost++; continue; }
      inCcp++;
      if (contracts.length > 1) duplicates += contracts.length - 1;
      const exiRequest = Buffer.from(await buildInstallationRequest(entry.vehicle)).toString('base64');
      const answer = await persist('install', () => requestSubjectReply(bus!, cpoInterface.requests.installContract, { exiRequest }));
      if (answer.status === 'Accepted') {
        const check = await checkInstallationResponse(new Uint8Array(Buffer.from(answer.exiResponse, 'base64')), entry.vehicle);
        if (check.responseCode === 'OK' && check.emaid.slice(0, 14) === summary.emaid?.slice(0, 14)) installable++;
      }
    }
    const stuck = entries.length - moInstalled;

    if (options.measure) {
      print(`idle for ${(options.idleMs ?? 60_000) / 1000} s before measuring`);
      await sleep(options.idleMs ?? 60_000);
      for (const name of ['mo', 'oem']) {
        const pid = processes.get(name)!.pid()!;
        const rssEnd = rssMb(pid);
        measured[name] = { rssStartMb: rssStart[name], rssEndMb: rssEnd, rssChangePct: ((rssEnd - rssStart[name]) / rssStart[name]) * 100, idleCpuPct: await idleCpuPct(pid, 30_000) };
      }
    }
    return {
      contracts: count, concluded, kills, natsRestarts, lost, stuck, duplicates, inCcp, installable, moInstalled,
      seconds: Math.round((Date.now() - started) / 1000), stuckDetail,
      ...(options.measure ? { measured } : {}),
    };
  } catch (error) {
    for (const p of processes.values()) print(`--- ${p.name} (last output)\n${p.output().slice(-1500)}`);
    throw error;
  } finally {
    faulting = false;
    await faultLoop.catch(() => undefined);
    await bus?.close().catch(() => undefined);
    await Promise.all([...processes.values()].map((p) => p.stop().catch(() => undefined)));
    await cluster?.stop().catch(() => undefined);
    rmSync(dataRoot, { recursive: true, force: true });
  }
}

export function printFigures(figures: ChaosFigures, print: (line: string) => void = console.log): void {
  print(`contracts ${figures.contracts}, concluded ${figures.concluded}, kills ${figures.kills}, NATS restarts ${figures.natsRestarts}, ${figures.seconds} s`);
  print(`lost ${figures.lost}, stuck ${figures.stuck}, duplicates ${figures.duplicates}; in the CCP ${figures.inCcp}, installable ${figures.installable}, MO installed ${figures.moInstalled}`);
  for (const line of figures.stuckDetail.slice(0, 20)) print(`  not installed: ${line}`);
  for (const [name, m] of Object.entries(figures.measured ?? {})) {
    print(`${name}: RSS ${m.rssStartMb.toFixed(1)} MB at start, ${m.rssEndMb.toFixed(1)} MB after idle (${m.rssChangePct >= 0 ? '+' : ''}${m.rssChangePct.toFixed(1)} %), idle CPU ${m.idleCpuPct.toFixed(2)} %`);
  }
  print(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      contracts: { type: 'string', default: '200' },
      'no-faults': { type: 'boolean', default: false },
      measure: { type: 'boolean', default: false },
      'kill-every-ms': { type: 'string', default: '3000' },
      'quiet-ms': { type: 'string', default: '180000' },
      'idle-ms': { type: 'string', default: '60000' },
      concurrency: { type: 'string', default: '8' },
    },
  });
  const figures = await runChaos({
    contracts: Number(values.contracts), faults: !values['no-faults'], measure: values.measure, killEveryMs: Number(values['kill-every-ms']),
    quietMs: Number(values['quiet-ms']), idleMs: Number(values['idle-ms']), concurrency: Number(values.concurrency),
  });
  printFigures(figures);
  const ok = figures.lost === 0 && figures.stuck === 0 && figures.duplicates === 0 && figures.installable === figures.contracts;
  process.exit(ok ? 0 : 1);
}
