/**
 * The main story of `openpnc start`: all participants in one process on the in-process bus and the
 * embedded store, running the six VDE processes end to end and printing one timeline line per step.
 * It ends with the vehicle's own check of the result: the CertificateInstallationRes signature
 * verifies up to the V2G root and the decrypted contract key matches the contract certificate.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryBus } from '../bus/memory.ts';
import type { Bus, Subscription } from '../bus/bus.ts';
import { requestSubjectReply } from '../bus/typed.ts';
import { createLogger } from '../host/log.ts';
import type { ParticipantDefinition, RunningParticipant } from '../host/participant.ts';
import { connectMongoStore, openEmbeddedStore } from '../store/index.ts';
import type { Store } from '../store/store.ts';
import { cpoInterface } from '../../protocols/catalogue/cpo.ts';
import { cpsInterface } from '../../protocols/catalogue/cps.ts';
import { moInterface, type ContractSummaryJson } from '../../protocols/catalogue/mo.ts';
import { oemInterface, type VehicleRecordJson } from '../../protocols/catalogue/oem.ts';
import { rcpInterface, type RootType } from '../../protocols/catalogue/rcp.ts';
import { v2gRootInterface } from '../../protocols/catalogue/v2g-root.ts';
import { PncError } from '../../protocols/errors.ts';
import { Timeline } from './timeline.ts';
import { buildInstallationRequest, checkInstallationResponse, produceVehicle, type InstallationCheck, type Vehicle } from './vehicle.ts';
import { unsubscribeAll } from '../bus/bus.ts';
import { fieldParticipantNames } from '../participants/index.ts';
import { chargeAtStation } from './charging.ts';
import { startStoryOcpp } from './ocpp.ts';

import { LocalIdentities } from '../bus/identity.ts';
import { participantHandle } from '../host/credentials.ts';
import { resolveKek } from '../host/kek.ts';

export interface StoryOptions {
  /** Every participant to start, in start order (the registry's list). */
  readonly participants: readonly ParticipantDefinition[];
  /** Where the embedded store lives; a fresh temp directory when omitted. */
  readonly dataDir?: string;
  /** Writes the timeline as JSON lines, EXI in hex. */
  readonly traceFile?: string;
  /** Where readable lines go. @default console.log */
  readonly print?: (line: string) => void;
  /** Process 7 (the car charges at an SECC of the in-memory line). @default true; `openpnc secc --if` serves a real car instead */
  readonly charge?: boolean;
  /** Runs once bus and store exist, before any participant starts (the inspector attaches here). */
  readonly beforeStart?: (bus: Bus, store: Store) => Promise<void>;
  /** Keeps every participant's state in this MongoDB instead of the embedded store (`database` overrides the URI's). */
  readonly mongo?: { readonly uri: string; readonly database?: string };
}

export interface StoryResult {
  readonly timeline: Timeline;
  /** The story's vehicle, with the provisioning key it made itself. */
  readonly vehicle: Vehicle;
  readonly check: InstallationCheck;
  readonly contract: ContractSummaryJson;
  readonly bus: Bus;
  /** The identities the participants were given; `identities.gateway(bus)` for an OPCP gateway beside them. */
  readonly identities: LocalIdentities;
  readonly store: Store;
  /** Stops every participant and closes bus and store. */
  stop(): Promise<void>;
}

const ADMIN = { role: 'admin' as const, prefixes: [] };

/**
 * Resolves when processes 4–5 are over for the contract: the CPS announced it signed and stored
 * (cps.contract.signed) and the MO announced it installed (mo.contract.changed). Listening starts
 * before the contract is concluded, so no announcement is missed; a failure ends the wait at once.
 */
function contractSettled(bus: Bus, timeoutMs: number) {
  let subscriptions: Subscription[] = [];
  const seen = { signed: new Set<string>(), installed: new Map<string, ContractSummaryJson>() };
  let wake = () => {};
  const ready = Promise.all([
    bus.subscribe(cpsInterface.events.signed.subject, ({ payload }) => { seen.signed.add((payload as { contractId: string }).contractId); wake(); }),
    bus.subscribe(moInterface.events.contractChanged.subject, ({ payload }) => {
      const contract = payload as ContractSummaryJson;
      seen.installed.set(contract.contractId, contract);
      wake();
    }),
  ]).then((subs) => { subscriptions = subs; });
  return {
    ready,
    async wait(contractId: string): Promise<ContractSummaryJson> {
      const until = Date.now() + timeoutMs;
      try {
        for (;;) {
          const contract = seen.installed.get(contractId);
          if (contract?.status === 'failed') throw new PncError('ContractNotInstalled', `contract ${contract.emaid} failed: ${contract.failure?.message ?? ''}`);
          if (contract?.status === 'installed' && seen.signed.has(contractId)) return contract;
          if (Date.now() > until) throw new PncError('ContractNotInstalled', `contract ${contractId} was not installed within ${timeoutMs} ms`);
          await new Promise<void>((resolve) => { wake = resolve; setTimeout(resolve, 100); });
        }
      } finally {
        await unsubscribeAll(subscriptions);
      }
    },
  };
}

/** Runs processes 1–6 and the vehicle's check; leaves every participant running for `stop()`. */
export async function runStory(options: StoryOptions): Promise<StoryResult> {
  const print = options.print ?? ((line: string) => console.log(line));
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'openpnc-story-'));
  const store = options.mongo ? await connectMongoStore(options.mongo.uri, options.mongo.database ? { database: options.mongo.database } : {}) : await openEmbeddedStore(dataDir);
  const bus = createMemoryBus({ store });
  // Each participant's handle signs as that participant; the story's actors act as the operator.
  const identities = new LocalIdentities();
  const kek = resolveKek({ dataDir });
  const operator = identities.handle(bus, 'admin', ADMIN);
  const timeline = new Timeline().printTo(print).publishTo(bus);
  const quiet = createLogger({ write: () => {} });
  const running: RunningParticipant[] = [];
  const stop = async () => {
    for (const participant of running.reverse()) await participant.stop();
    await bus.close();
    await store.close();
  };
  try {
    await options.beforeStart?.(bus, store);
    print('Open Plug&Charge: the six VDE processes, every participant in this process');
    const start = async (definition: ParticipantDefinition) => {
      running.push(await definition.start({ bus: timeline.busFor(definition.name, participantHandle(identities, bus, definition.name)), store, kek, log: quiet.child({ participant: definition.name }), dataDir, config: {} }));
    };
    // The V2G root CA first: the CPO and CPS domains get their Sub-CA 1 from it as they start.
    // The back office runs as participants; the SECC and the EV of process 7 are built for the scene.
    const backOffice = options.participants.filter((p) => !fieldParticipantNames.includes(p.name));
    const [rootCa, others] = [backOffice.filter((p) => p.name === 'v2g-root'), backOffice.filter((p) => p.name !== 'v2g-root')];
    print(`── 0  start ${backOffice.map((p) => p.name).join(', ')}`);
    for (const definition of rootCa) await start(definition);
    await Promise.all(others.map(start));
    const { check, contract, vehicle } = await playStory((who) => timeline.busFor(who, operator), operator, print);
    if (options.charge ?? true) {
      print('── 7  the car plugs in: ISO 15118-2 Plug&Charge at an SECC (in-memory line: SLAC, SDP, TLS), its CPO backend over OCPP 2.0.1');
      const ocpp = await startStoryOcpp(timeline, bus, store);
      let charged;
      try {
        charged = await chargeAtStation(timeline, timeline.busFor('secc', participantHandle(identities, bus, 'secc')), store, vehicle, { backend: ocpp.backend, evBus: participantHandle(identities, bus, 'ev') });
      } finally {
        await ocpp.stop();
      }
      print(`✓ charged: session ${charged.ev.sessionId} installed the contract of EMAID ${charged.ev.emaid} through the SECC, authorized with the contract key, `
        + `took ${(charged.chargedWh / 1000).toFixed(2)} kWh (SoC ${charged.soc.from.toFixed(1)} → ${charged.soc.to.toFixed(1)} %), signed ${charged.ev.receiptsSigned} MeteringReceipt, stopped`);
    }
    if (options.traceFile) writeFileSync(options.traceFile, timeline.entries.map((entry) => JSON.stringify(entry)).join('\n') + '\n');
    return { timeline, vehicle, check, contract, bus, identities, store, stop };
  } catch (error) {
    if (options.traceFile) writeFileSync(options.traceFile, timeline.entries.map((entry) => JSON.stringify(entry)).join('\n') + '\n');
    await stop().catch(() => {});
    throw error;
  }
}

/** Process 1: the V2G, OEM and MO roots from their CAs into the RCP (the operator's `admin` bus). */
export async function putRootsInRcp(admin: Bus): Promise<void> {
  const roots: Array<[typeof v2gRootInterface.requests.ca, RootType]> = [
    [v2gRootInterface.requests.ca, 'V2G'],
    [oemInterface.requests.ca, 'OEM'],
    [moInterface.requests.ca, 'MO'],
  ];
  for (const [subject, rootType] of roots) {
    const { certificates } = await requestSubjectReply(admin, subject, {});
    await requestSubjectReply(admin, rcpInterface.requests.put, { caCertificate: certificates[certificates.length - 1], rootType });
  }
}

/**
 * Processes 3–5 for a produced vehicle: the customer concludes a contract at the MO, which resolves
 * once the CPS signed it into the CCP and the MO saw it installed (`quiet` listens, outside the timeline).
 * @throws PncError `ContractNotInstalled` and the MO's conclusion errors
 */
export async function concludeContract(customer: Bus, quiet: Bus, pcid: string, customerId: string): Promise<ContractSummaryJson> {
  const settled = contractSettled(quiet, 15_000);
  await settled.ready;
  const concluded = await requestSubjectReply(customer, moInterface.requests.conclude, { pcid, customerId });
  return settled.wait(concluded.contractId);
}

export interface PlayedStory {
  readonly vehicle: Vehicle;
  readonly contract: ContractSummaryJson;
  readonly check: InstallationCheck;
}

/**
 * Plays processes 1–6 against participants that are already running on `bus` (in this process or
 * in others over NATS): `as(who)` is the bus a story actor (admin, factory, customer, ev) uses,
 * `quiet` one for polling that stays out of the timeline.
 */
export async function playStory(as: (who: string) => Bus, quiet: Bus, print: (line: string) => void = () => {}): Promise<PlayedStory> {
  print('── 1  roots to the RCP (admin)');
  await putRootsInRcp(as('admin'));

  print('── 2  vehicle production (OEM)');
  const vehicle = await produceVehicle(as('factory'));

  print('── 3–5  contract conclusion, contract data to the CPS, signing into the CCP');
  const contract = await concludeContract(as('customer'), quiet, vehicle.pcid, 'story-customer');

  print('── 6  installation on request (EV → charger → CPO backend → CCP)');
  const exiRequest = await buildInstallationRequest(vehicle);
  const answer = await requestSubjectReply(as('ev'), cpoInterface.requests.installContract, { exiRequest: Buffer.from(exiRequest).toString('base64') });
  if (answer.status !== 'Accepted') throw new PncError('InstallationFailed', `CPO backend answered Failed: ${answer.statusInfo?.reasonCode} ${answer.statusInfo?.additionalInfo ?? ''}`);
  const check = await checkInstallationResponse(new Uint8Array(Buffer.from(answer.exiResponse, 'base64')), vehicle);
  if (check.emaid !== contract.emaid) throw new PncError('InstallationFailed', `installed EMAID ${check.emaid} is not the concluded ${contract.emaid}`);

  print(`✓ verified: CertificateInstallationRes for ${vehicle.pcid} signed by ${check.cpsLeaf.subjectName.getField('CN')[0]} verifies up to the V2G root; `
    + `the vehicle decrypted the contract key of EMAID ${check.emaid} with its provisioning key and it matches the contract certificate`);
  return { vehicle, contract, check };
}
