/**
 * Memory and idle CPU of participant processes (issue 9: "after 1,000 contracts and 60 s idle, the
 * MO's and OEM's RSS are back within 10 % of their start and their idle CPU below 1 %").
 * RSS and CPU ticks are read from /proc by the runner, so measuring costs the process nothing;
 * the V8 heap only the process itself knows: a `--chaos` host answers `chaos.memory.<participant>`
 * with `process.memoryUsage()`, after a forced full GC when asked, which tells memory V8 keeps but
 * no longer uses (RSS falls after the GC) from memory still reachable (heapUsed stays).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { z } from 'zod';
import type { Bus, Subscription } from '../bus/bus.ts';
import { PncError } from '../../protocols/errors.ts';

export const CHAOS_MEMORY_PREFIX = 'chaos.memory.';

export interface HeapFigures {
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

const memoryRequest = z.strictObject({ collectGarbage: z.boolean().default(false) });

let forcedGc: (() => void) | undefined;
/** V8's full GC, made reachable at run time (no `--expose-gc` on the command line needed). */
function collectGarbage(): void {
  if (!forcedGc) {
    setFlagsFromString('--expose-gc');
    forcedGc = runInNewContext('gc') as () => void;
  }
  forcedGc();
}

/** Answers `chaos.memory.<participant>`: the process's memory, after a full GC when `collectGarbage`. */
export function serveChaosMemory(bus: Bus, participant: string): Promise<Subscription> {
  return bus.serve(`${CHAOS_MEMORY_PREFIX}${participant}`, (request) => {
    const parsed = memoryRequest.safeParse(request ?? {});
    if (!parsed.success) throw new PncError('InvalidPayload', `memory request: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    if (parsed.data.collectGarbage) collectGarbage();
    const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
    return { participant, pid: process.pid, memory: { rss, heapTotal, heapUsed, external, arrayBuffers } satisfies HeapFigures };
  });
}

/** Resident set size of `pid` in bytes (VmRSS of /proc/<pid>/status). */
export function residentBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new PncError('MeasureFailed', `no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** User plus system CPU time of `pid` in clock ticks (fields 14 and 15 of /proc/<pid>/stat). */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

let ticksPerSecond: number | undefined;
/** The kernel's clock ticks per second (`getconf CLK_TCK`, 100 on nearly every Linux). */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU % of one core used between two tick readings `elapsedMs` apart. */
export function cpuPercent(ticksBefore: number, ticksAfter: number, elapsedMs: number): number {
  return ((ticksAfter - ticksBefore) / clockTicksPerSecond() / (elapsedMs / 1000)) * 100;
}
