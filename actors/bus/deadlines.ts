/**
 * One timer for many deadlines (request timeouts). Entries of equal duration expire in insertion
 * order, so each duration keeps a FIFO and only its head is ever checked: adding and settling
 * are O(1) amortised and there is no timer per request.
 */
export interface Deadline {
  readonly deadline: number;
  /** Set by the owner when the entry completes before its deadline. */
  settled: boolean;
  expire(): void;
}

interface Bucket {
  items: Deadline[];
  head: number;
}

export class DeadlineQueue {
  private readonly buckets = new Map<number, Bucket>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private pending = 0;

  /** Tracks `entry`, whose deadline must be now + `durationMs`. */
  add(durationMs: number, entry: Deadline): void {
    let bucket = this.buckets.get(durationMs);
    if (!bucket) this.buckets.set(durationMs, (bucket = { items: [], head: 0 }));
    this.dropSettledHead(bucket);
    bucket.items.push(entry);
    this.pending++;
    if (entry.deadline < this.timerAt) this.arm(entry.deadline);
  }

  /** Call once after setting `entry.settled` on an entry that was added. */
  settled(): void {
    if (this.pending > 0 && --this.pending === 0) this.clear();
  }

  /** Forgets every entry without expiring it, handing each unsettled one to `abandon` first. */
  clear(abandon?: (entry: Deadline) => void): void {
    const abandoned: Deadline[] = [];
    if (abandon) {
      for (const bucket of this.buckets.values()) {
        for (let i = bucket.head; i < bucket.items.length; i++) if (!bucket.items[i].settled) abandoned.push(bucket.items[i]);
      }
    }
    this.buckets.clear();
    this.pending = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    for (const entry of abandoned) abandon!(entry);
  }

  private dropSettledHead(bucket: Bucket): void {
    while (bucket.head < bucket.items.length && bucket.items[bucket.head].settled) bucket.head++;
    if (bucket.head > 1024 && bucket.head * 2 > bucket.items.length) {
      bucket.items = bucket.items.slice(bucket.head);
      bucket.head = 0;
    } else if (bucket.head === bucket.items.length) {
      bucket.items.length = 0;
      bucket.head = 0;
    }
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, at - Date.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const bucket of this.buckets.values()) {
      while (bucket.head < bucket.items.length) {
        const entry = bucket.items[bucket.head];
        if (!entry.settled && entry.deadline > now) break;
        bucket.head++;
        if (entry.settled) continue;
        entry.settled = true;
        this.pending--;
        entry.expire();
      }
      this.dropSettledHead(bucket);
      if (bucket.head < bucket.items.length) next = Math.min(next, bucket.items[bucket.head].deadline);
    }
    if (this.pending === 0) this.clear();
    else if (next < Infinity) this.arm(next);
  }
}

/** How long `close()` waits for handlers already running before it lets go of them. */
export const CLOSE_GRACE_MS = 5000;

/** Resolves when `work` settles or after `ms`, whichever comes first; never rejects. */
export async function waitAtMost(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
