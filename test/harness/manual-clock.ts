// A test's own time for code that takes a clock (sessions, the host's deadlines, the pools' purges).
import type { WallClock } from '../../actors/transport/timers.ts';

/** A clock whose time moves only when told; timers due by then fire in order. */
export class ManualClock implements WallClock {
  // By default a little ahead of the wall clock, so certificates issued while a test sets up are already valid.
  private time: number;
  private timers: { at: number; callback: () => void; id: number }[] = [];
  private ids = 0;

  constructor(start = Date.now() + 10 * 60_000) {
    this.time = start;
  }

  now = (): number => this.time;

  setTimeout(callback: () => void, ms: number): unknown {
    const id = ++this.ids;
    this.timers.push({ at: this.time + ms, callback, id });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Moves time forward, firing every timer due on the way. */
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = due.at;
      due.callback();
    }
    this.time = until;
  }
}
