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
