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
import { getHeapSpaceStatistics } from 'node:v8';
import { z } from 'zod';
import type { Bus, Subscription } from '../bus/bus.ts';
import { PncError } from '../../protocols/errors.ts';
import { collectGarbage } from '../host/idle.ts';

export const CHAOS_MEMORY_PREFIX = 'chaos.memory.';

export interface HeapFigures {
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
  /** Committed (physical) bytes per V8 heap space: which space holds memory (new, old, code, large_object, …). */
  readonly spaces: Readonly<Record<string, number>>;
}

/** Physical bytes of each V8 heap space, by its name without `_space`. */
export function heapSpaces(): Record<string, number> {
  return Object.fromEntries(getHeapSpaceStatistics().map((space) => [space.space_name.replace(/_space$/, ''), space.physical_space_size]));
}

const memoryRequest = z.strictObject({ collectGarbage: z.boolean().default(false) });

/** Answers `chaos.memory.<participant>`: the process's memory, after a full GC when `collectGarbage`. */
export function serveChaosMemory(bus: Bus, participant: string): Promise<Subscription> {
  return bus.serve(`${CHAOS_MEMORY_PREFIX}${participant}`, (request) => {
    const parsed = memoryRequest.safeParse(request ?? {});
    if (!parsed.success) throw new PncError('InvalidPayload', `memory request: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    if (parsed.data.collectGarbage) collectGarbage();
    const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
    return { participant, pid: process.pid, memory: { rss, heapTotal, heapUsed, external, arrayBuffers, spaces: heapSpaces() } satisfies HeapFigures };
  });
}

/** Resident set size of `pid` in bytes (VmRSS of /proc/<pid>/status). */
export function residentBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new PncError('MeasureFailed', `no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** Where a process's resident memory lies (/proc/<pid>/smaps), in bytes. */
export interface ResidentParts {
  /** `[heap]`: glibc malloc's main arena (brk). */
  readonly mallocMain: number;
  /** Anonymous mappings: V8's heap pages and code, glibc's per-thread malloc arenas, large mallocs, thread stacks. */
  readonly anonymous: number;
  /** Mapped files: the node binary, shared libraries, native addons. */
  readonly files: number;
}

/** The resident set of `pid` split by kind of mapping (VmRSS counts the same pages). */
export function residentParts(pid: number): ResidentParts {
  let mallocMain = 0;
  let anonymous = 0;
  let files = 0;
  let kind: keyof ResidentParts = 'anonymous';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (header) {
      const name = header[1];
      kind = name === '[heap]' ? 'mallocMain' : name === '' || name.startsWith('[') ? 'anonymous' : 'files';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (!rss) continue;
    const bytes = Number(rss[1]) * 1024;
    if (kind === 'mallocMain') mallocMain += bytes;
    else if (kind === 'anonymous') anonymous += bytes;
    else files += bytes;
  }
  return { mallocMain, anonymous, files };
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
