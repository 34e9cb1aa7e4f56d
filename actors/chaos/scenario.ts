/**
 * A chaos scenario: which deployment to run (NATS nodes, participant processes), the load that goes
 * on meanwhile, and the faults at their times. Read from a JSON file and validated; shipped
 * scenarios live in deploy/chaos/.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { faultRule } from '../bus/faults.ts';
import { backOfficeParticipantNames, participantNames } from '../participants/index.ts';
import { PncError } from '../../protocols/errors.ts';
import { readTopology, type Topology } from '../../deploy/topology.ts';

const participant = z.string().refine((name) => participantNames.includes(name), { message: `a participant (${participantNames.join(', ')})` });
const ms = z.number().int().min(0).max(3_600_000);

const killFault = z.strictObject({
  atMs: ms,
  /** kill -9 the process hosting this participant, and start it again after restartAfterMs. */
  kill: participant,
  restartAfterMs: ms.default(1_000),
  /** With a netns deployment: only the process on this host (a participant may run on several). */
  host: z.string().min(1).optional(),
  /** atMs counts from the moment every charging session of the load is paused, not from the start. */
  afterSessionsPaused: z.boolean().default(false),
});
const natsFault = z.strictObject({
  atMs: ms,
  /** kill -9 this NATS node (0-based) and start it again on the same ports and store. */
  natsNode: z.number().int().min(0).max(8),
  restartAfterMs: ms.default(2_000),
});
const partitionFault = z.strictObject({
  atMs: ms,
  /** A netns deployment's host cut off from every other namespace: its NATS node, its participants, their clients. */
  partition: z.string().min(1),
  healAfterMs: ms.default(5_000),
  /** `link`: its bridge port down; `netem`: tc netem loss 100 % on both ends of its veth. */
  method: z.enum(['link', 'netem']).default('link'),
});
const busFault = z.strictObject({
  atMs: ms,
  /** What this participant sends is faulted until untilMs (chaos.control.<participant>). */
  participant,
  rules: z.array(faultRule).max(64).default([]),
  clockSkewMs: z.number().int().optional(),
  untilMs: ms,
});

/**
 * Memory and idle CPU of the processes hosting these participants (issue 9). "Start" is the
 * participant up and ready, before the story and the load, after `idleMs` idle (as long as the end
 * figures, so neither carries garbage V8 would collect anyway).
 */
const measure = z.strictObject({
  participants: z.array(participant).min(1).default(['mo', 'oem']),
  /** Nothing is asked of the deployment for this long before the start and after the load; idle CPU is measured over the latter. */
  idleMs: ms.default(60_000),
  /** RSS after the idle period at most this much above its start. */
  maxRssGrowthPct: z.number().min(0).max(1_000).default(10),
  maxIdleCpuPct: z.number().min(0).max(100).default(1),
});

export const chaosScenario = z.strictObject({
  name: z.string().min(1).max(80),
  summary: z.string().max(500).default(''),
  deployment: z.union([
    z.strictObject({
      /** 1 = one nats-server, 3 = a JetStream cluster with replicated work streams. */
      natsNodes: z.union([z.literal(1), z.literal(3)]).default(1),
      /** One `openpnc run --chaos` process per entry, hosting those participants; every back-office participant exactly once. */
      processes: z.array(z.array(participant).min(1)).min(1),
    }),
    z.strictObject({
      /**
       * `openpnc deploy netns` of this topology (a path relative to the scenario file): one namespace per
       * host with its NATS node and its rendered `openpnc` services, the load from the client namespace.
       */
      netns: z.strictObject({ topology: z.string().min(1) }),
    }),
  ]),
  load: z.strictObject({
    contracts: z.number().int().min(1).max(10_000),
    inFlight: z.number().int().min(1).max(64).default(4),
    /**
     * Charging sessions (EIM, DC, over TCP) against the SECC process: each starts, charges and pauses;
     * after the faults each is resumed by its SessionID and charged to the end.
     */
    sessions: z.number().int().min(0).max(200).default(0),
  }),
  faults: z.array(z.union([killFault, natsFault, partitionFault, busFault])).max(500).default([]),
  /** How long, after load and faults, every contract has to settle before it counts as stuck. */
  quietMs: ms.default(20_000),
  measure: measure.optional(),
  /**
   * Breaks the certificate invariant on purpose: after the installability check, `count` documents of
   * `collection` are deleted from the store of the process hosting `participant` (lost acknowledged writes).
   */
  loseStoredRecords: z.strictObject({ participant, collection: z.string().regex(/^[a-z0-9_.-]{1,64}$/), count: z.number().int().min(1).max(1_000).default(1) }).optional(),
}).superRefine((scenario, context) => {
  if ('netns' in scenario.deployment) {
    // The rendered services have no fault layer and no memory endpoint (`--chaos` is never in production).
    const refused = scenario.faults.some((fault) => 'participant' in fault) ? 'bus faults and clock skew' : scenario.load.sessions > 0 ? 'charging sessions' : scenario.measure ? 'measure' : undefined;
    if (refused) context.addIssue({ code: 'custom', path: ['deployment', 'netns'], message: `${refused} need a process deployment (the netns services run without --chaos)` });
    return;
  }
  for (const fault of scenario.faults) {
    if ('partition' in fault || ('kill' in fault && fault.host)) context.addIssue({ code: 'custom', path: ['faults'], message: 'partitions and kill.host need a netns deployment' });
  }
  const hosted = scenario.deployment.processes.flat();
  for (const name of backOfficeParticipantNames) {
    const count = hosted.filter((entry) => entry === name).length;
    if (count !== 1) context.addIssue({ code: 'custom', path: ['deployment', 'processes'], message: `${name} must be hosted exactly once (found ${count})` });
  }
  if (scenario.load.sessions > 0 && hosted.filter((entry) => entry === 'secc').length !== 1) context.addIssue({ code: 'custom', path: ['deployment', 'processes'], message: 'charging sessions need the secc hosted exactly once' });
  for (const fault of scenario.faults) {
    if ('kill' in fault && fault.afterSessionsPaused && scenario.load.sessions === 0) context.addIssue({ code: 'custom', path: ['faults'], message: 'afterSessionsPaused needs load.sessions' });
    if ('natsNode' in fault && fault.natsNode >= (scenario.deployment as { natsNodes: number }).natsNodes) context.addIssue({ code: 'custom', path: ['faults'], message: `natsNode ${fault.natsNode} does not exist with ${scenario.deployment.natsNodes} node(s)` });
    if ('untilMs' in fault && fault.untilMs < fault.atMs) context.addIssue({ code: 'custom', path: ['faults'], message: 'untilMs is before atMs' });
  }
});
export type ChaosScenario = z.output<typeof chaosScenario>;

/** Reads and validates a scenario file; a PncError `InvalidScenario` says what is wrong and where. */
export function loadScenario(file: string): ChaosScenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new PncError('InvalidScenario', `cannot read ${file}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new PncError('InvalidScenario', `${file} is not JSON: ${(error as Error).message}`);
  }
  const parsed = chaosScenario.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PncError('InvalidScenario', `${file}: ${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  const scenario = parsed.data;
  if ('netns' in scenario.deployment) {
    const topologyFile = resolve(dirname(file), scenario.deployment.netns.topology);
    let topology: Topology;
    try {
      topology = readTopology(topologyFile);
    } catch (error) {
      throw new PncError('InvalidScenario', `${file}: deployment.netns.topology: ${(error as Error).message}`);
    }
    const hosts = topology.hosts.map((host) => host.name);
    for (const fault of scenario.faults) {
      const host = 'partition' in fault ? fault.partition : 'kill' in fault ? fault.host : undefined;
      if (host !== undefined && !hosts.includes(host)) throw new PncError('InvalidScenario', `${file}: faults: no host '${host}' in topology ${topology.name} (${hosts.join(', ')})`);
      if ('kill' in fault && !topology.hosts.some((h) => h.participants.includes(fault.kill) && (!fault.host || h.name === fault.host))) throw new PncError('InvalidScenario', `${file}: faults: ${fault.kill} runs on no host${fault.host ? ` named ${fault.host}` : ''}`);
      if ('natsNode' in fault && fault.natsNode >= hosts.length) throw new PncError('InvalidScenario', `${file}: faults: natsNode ${fault.natsNode} does not exist with ${hosts.length} hosts`);
    }
    return { ...scenario, deployment: { netns: { topology: topologyFile } } };
  }
  return scenario;
}
