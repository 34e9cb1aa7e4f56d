// Participants as separate OS processes: `node bin/openpnc.js run <name> --nats URL --data DIR`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Bus } from '../../actors/bus/bus.ts';
import { requestSubjectReply } from '../../actors/bus/typed.ts';
import { whenServed } from '../../actors/participants/authority.ts';
import { ccpInterface } from '../../protocols/catalogue/ccp.ts';
import { cpoInterface } from '../../protocols/catalogue/cpo.ts';
import { cpsInterface } from '../../protocols/catalogue/cps.ts';
import { moInterface } from '../../protocols/catalogue/mo.ts';
import { oemInterface } from '../../protocols/catalogue/oem.ts';
import { pcpInterface } from '../../protocols/catalogue/pcp.ts';
import { rcpInterface } from '../../protocols/catalogue/rcp.ts';
import { v2gRootInterface } from '../../protocols/catalogue/v2g-root.ts';
import { PncError } from '../../protocols/errors.ts';

const BIN = new URL('../../bin/openpnc.js', import.meta.url).pathname;

export const PARTICIPANTS = ['v2g-root', 'rcp', 'pcp', 'ccp', 'oem', 'mo', 'cps', 'cpo'] as const;
export type ParticipantName = (typeof PARTICIPANTS)[number];

export interface ParticipantProcess {
  readonly name: string;
  readonly output: () => string;
  /** The running process's id (undefined while it is down). */
  readonly pid: () => number | undefined;
  /** SIGKILL: no cleanup, no goodbye. */
  kill9(): Promise<void>;
  /** Starts it again on the same data directory. */
  restart(): void;
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** `nodeArgs` go to node itself (e.g. `--cpu-prof`, which NODE_OPTIONS does not accept). */
export function startParticipantProcess(name: string, natsUrl: string, dataRoot: string, extra: string[] = [], nodeArgs: string[] = []): ParticipantProcess {
  const dataDir = join(dataRoot, name);
  mkdirSync(dataDir, { recursive: true });
  let output = '';
  let child: ChildProcess;
  const launch = () => {
    child = spawn(process.execPath, [...nodeArgs, BIN, 'run', name, '--nats', natsUrl, '--data', dataDir, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (chunk) => { output += chunk; });
    child.stderr!.on('data', (chunk) => { output += chunk; });
  };
  launch();
  return {
    name,
    output: () => output,
    pid: () => (child.exitCode === null && child.signalCode === null ? child.pid : undefined),
    async kill9() {
      child.kill('SIGKILL');
      await exited(child);
    },
    restart: launch,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited(child);
      clearTimeout(timer);
    },
  };
}

/** Resolves when every participant answers on the bus (processes start in any order); a refusal is an answer too. */
export async function participantsReady(bus: Bus, names: readonly string[] = PARTICIPANTS): Promise<void> {
  const probes: Record<string, () => Promise<unknown>> = {
    'v2g-root': () => requestSubjectReply(bus, v2gRootInterface.requests.ca, {}),
    oem: () => requestSubjectReply(bus, oemInterface.requests.ca, {}),
    mo: () => requestSubjectReply(bus, moInterface.requests.ca, {}),
    cps: () => requestSubjectReply(bus, cpsInterface.requests.ca, {}),
    cpo: () => requestSubjectReply(bus, cpoInterface.requests.roots, { type: 'MORootCertificate' }),
    rcp: () => requestSubjectReply(bus, rcpInterface.requests.list, {}),
    pcp: () => requestSubjectReply(bus, pcpInterface.requests.lookup, { pcid: 'OPN00000000000000' }),
    ccp: () => requestSubjectReply(bus, ccpInterface.requests.list, { pcid: 'OPN00000000000000' }),
  };
  const answered = (probe: () => Promise<unknown>) => () => probe().catch((error: unknown) => {
    if (!PncError.is(error, 'Forbidden')) throw error;
  });
  await Promise.all(names.map((name) => whenServed(answered(probes[name]), 240)));
}
