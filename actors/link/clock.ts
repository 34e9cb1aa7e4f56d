import { systemClock as wallSystemClock, type WallClock } from '../transport/timers.ts';

/**
 * Time for the link runtime, scheduled at absolute instants: the wall clock in production, a
 * discrete-event clock (`SimClock`) in tests and benchmarks.
 */
export interface LinkClock {
  now(): number;
  /** Calls `fn` at absolute time `at` (ms); returns a cancel function. */
  at(at: number, fn: () => void): () => void;
}

/** The absolute-time view of a `WallClock` (now + relative timers). */
export function linkClockOf(wall: WallClock): LinkClock {
  return {
    now: () => wall.now(),
    at(at, fn) {
      const timer = wall.setTimeout(fn, Math.max(0, at - wall.now()));
      return () => wall.clearTimeout(timer);
    },
  };
}

export const systemLinkClock: LinkClock = linkClockOf(wallSystemClock);

interface Scheduled { at: number; seq: number; fn: () => void; cancelled: boolean }

/**
 * Simulated time: callbacks run in (time, insertion) order and the clock jumps to each one, so a
 * minute of SLAC takes milliseconds and no test depends on the machine's speed.
 */
export class SimClock implements LinkClock {
  private time: number;
  private seq = 0;
  private heap: Scheduled[] = [];

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  at(at: number, fn: () => void): () => void {
    const item: Scheduled = { at: Math.max(at, this.time), seq: this.seq++, fn, cancelled: false };
    this.push(item);
    return () => { item.cancelled = true; };
  }

  /** Runs everything due up to `until` (absolute ms), then sets the clock to `until`. */
  runUntil(until: number): void {
    while (this.heap.length && this.heap[0].at <= until) {
      const item = this.pop()!;
      if (item.cancelled) continue;
      this.time = item.at;
      item.fn();
    }
    this.time = Math.max(this.time, until);
  }

  /** Runs until `done()` holds or simulated time passes `limit`; returns whether `done()` held. */
  runWhile(notDone: () => boolean, limit: number): boolean {
    while (notDone()) {
      while (this.heap.length && this.heap[0].cancelled) this.pop();
      if (!this.heap.length || this.heap[0].at > limit) return !notDone();
      const item = this.pop()!;
      this.time = item.at;
      item.fn();
    }
    return true;
  }

  get pending(): number {
    return this.heap.filter((i) => !i.cancelled).length;
  }

  private less(a: Scheduled, b: Scheduled): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(item: Scheduled): void {
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  private pop(): Scheduled | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}
