/**
 * The garbage-collection policy of a process that must answer within a performance time: the SECC
 * host (CurrentDemandRes within 25 ms). Measured at 1,000 sessions × 4 Hz (bench:sessions):
 *
 * - V8 pretenures allocation sites whose objects often survive a scavenge, and a session's state
 *   lives 250 ms (until its next message), across a scavenge or two: the sites of the decoded
 *   requests, the response bodies and XState's snapshots went straight to the old generation,
 *   2 MB of promotion per scavenge. Without pretenuring they die young: 0.6 MB.
 * - V8 starts a major GC when the old generation reaches the live heap times a factor it picks,
 *   about 1.25× here: a major GC every 2–3 s, holding the event loop 40–60 ms. Growing to 7× the
 *   live heap (about 50 MB at 1,000 sessions) spaces them about a minute apart.
 *
 * Together: CurrentDemand p99 at the SECC's socket went from 40 ms to 9 ms over 60 s. The price is
 * memory: the heap may grow to 7× what is live before a major GC. Each flag is read when V8 decides
 * (at each scavenge and each GC), so setting them at run time, before the load, takes effect.
 */
import { setFlagsFromString } from 'node:v8';

const HEAP_GROWING_PERCENT = 600;

export function preferShortGcPauses(): void {
  setFlagsFromString('--no-allocation-site-pretenuring');
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
