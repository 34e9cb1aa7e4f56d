// Timers as a port, so retry schedules can be driven by a test clock instead of the wall clock.

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Time and timers together: deadlines driven by a test's clock move with the test, not the machine's speed. */
export interface WallClock extends Timers {
  now(): number;
}

export const systemClock: WallClock = { ...systemTimers, now: () => Date.now() };

/** What reads only the time accepts either a bare `() => number` or a whole clock. */
export type Clock = () => number;

export const wallClockOf = (clock: Clock | WallClock): WallClock => (typeof clock === 'function' ? { ...systemTimers, now: clock } : clock);

/** setTimeout's ceiling (about 24.8 days). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export interface TimerAt {
  cancel(): void;
}

/**
 * Calls `fire` once `clock` reaches `at`, however far ahead: a time beyond setTimeout's range is waited
 * for in steps (the MO's renewal deadlines lie months ahead). `unref`: a timer that never keeps the
 * process alive on its own.
 */
export function setTimeoutAt(clock: WallClock, at: number, fire: () => void, options: { readonly unref?: boolean } = {}): TimerAt {
  let handle: unknown;
  let cancelled = false;
  const step = () => {
    handle = clock.setTimeout(() => {
      if (cancelled) return;
      if (clock.now() < at) return step();
      fire();
    }, Math.min(MAX_TIMEOUT_MS, Math.max(0, at - clock.now())));
    if (options.unref) (handle as { unref?: () => void } | undefined)?.unref?.();
  };
  step();
  return {
    cancel() {
      cancelled = true;
      clock.clearTimeout(handle);
    },
  };
}
