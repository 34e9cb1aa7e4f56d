/**
 * Gives memory back when a participant process falls idle (issue 9). V8 collects only when it
 * allocates: a process that goes quiet after a burst of load keeps the burst's garbage (the OEM:
 * 6.5 MB of dead old-space objects and a 10 MB young generation after 60 s idle) until the next
 * request. Once the event loop has been nearly idle for `quietChecks` checks in a row, one full GC
 * runs (which also shrinks the young generation: the allocation rate is low by then); then nothing
 * until the process was busy again. Timers are a port, so a test drives it with its own clock.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { systemTimers, type Timers } from '../transport/timers.ts';

let forcedGc: (() => void) | undefined;
/** V8's full GC, made reachable at run time (no `--expose-gc` on the command line needed). */
export function collectGarbage(): void {
  if (!forcedGc) {
    setFlagsFromString('--expose-gc');
    forcedGc = runInNewContext('gc') as () => void;
  }
  forcedGc();
}

/** The event loop's busy fraction since the previous call (0 idle … 1 busy). */
export type Utilization = () => number;

/** Node's event-loop utilization between successive calls. */
export function eventLoopUtilization(): Utilization {
  let previous: EventLoopUtilization = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const delta = performance.eventLoopUtilization(now, previous);
    previous = now;
    return delta.utilization;
  };
}

export interface IdleCollectorOptions {
  /** @default every 5 s */
  readonly checkEveryMs?: number;
  /** Checks in a row with the loop busy less than `busyBelow` before collecting. @default 3 (15 s) */
  readonly quietChecks?: number;
  /** @default 0.02 (an idle participant's housekeeping is well under 1 %, any load far above) */
  readonly busyBelow?: number;
  readonly utilization?: Utilization;
  readonly collect?: () => void;
  readonly timers?: Timers;
}

/** Runs `collect` once at the start of each idle period; `stop()` ends the checks. */
export function collectWhenIdle(options: IdleCollectorOptions = {}): { stop(): void } {
  const checkEveryMs = options.checkEveryMs ?? 5_000;
  const quietChecks = options.quietChecks ?? 3;
  const busyBelow = options.busyBelow ?? 0.02;
  const utilization = options.utilization ?? eventLoopUtilization();
  const collect = options.collect ?? collectGarbage;
  const timers = options.timers ?? systemTimers;
  let quiet = 0;
  let collected = false;
  let handle: unknown;
  let stopped = false;
  const check = () => {
    if (utilization() >= busyBelow) {
      quiet = 0;
      collected = false;
    } else if (++quiet >= quietChecks && !collected) {
      collected = true;
      collect();
      // The collection's own time is not load: the next check measures from here.
      utilization();
    }
    arm();
  };
  const arm = () => {
    if (stopped) return;
    handle = timers.setTimeout(check, checkEveryMs);
    // Housekeeping never keeps a process alive.
    (handle as { unref?: () => void } | undefined)?.unref?.();
  };
  arm();
  return {
    stop() {
      stopped = true;
      timers.clearTimeout(handle);
    },
  };
}
