/**
 * The wake index: for each hosted actor that asks for it (`wakeIndex`), its earliest
 * `context.deadlines` entry, kept in the participant's Store (`actors.wake`, _id = the actor's
 * record key). A running actor fires its own deadlines; an actor released when idle
 * (actors/participants/hosted.ts), or not restored yet after a restart, has no timer. One `Waker`
 * per participant process watches the earliest entry and hosts the actor again when it comes:
 * restored, the actor re-arms its deadlines and fires those that passed at once. The MO's renewal
 * deadlines lie months ahead, beyond setTimeout's range, so the timer is re-armed in steps.
 */
import type { Collection, Store, StoredDoc } from '../store/store.ts';
import { setTimeoutAt, type TimerAt, type WallClock } from '../transport/timers.ts';
import type { Logger } from './participant.ts';

export const WAKE_COLLECTION = 'actors.wake';
/** Entries read per look at the index; more when that many are due at once. */
const PAGE = 64;

export interface WakeDoc extends StoredDoc {
  /** _id = `<participant>/<actor id>`, the actor record's key. */
  readonly participant: string;
  readonly actorId: string;
  /** The actor's earliest deadline, epoch ms. */
  readonly at: number;
}

export const wakeCollection = (store: Store): Collection<WakeDoc> => store.collection<WakeDoc>(WAKE_COLLECTION);

export interface WakerOptions {
  readonly store: Store;
  readonly participant: string;
  readonly clock: WallClock;
  readonly log: Logger;
  /** True while the actor runs in this process: its own timer fires its deadlines. */
  readonly isHosted: (actorId: string) => boolean;
  /** Hosts the actor again (restoring it fires its passed deadlines). */
  readonly wake: (actorId: string) => Promise<void>;
}

/** One timer for a participant's earliest wake entry; `consider` moves it earlier, `stop` ends it. */
export class Waker {
  private readonly wakes: Collection<WakeDoc>;
  private timer: TimerAt | undefined;
  private armedAt: number | undefined;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();
  /** The deadline each actor was woken for in this process: an entry the machine left as it was wakes it once, not in a loop. */
  private readonly woken = new Map<string, number>();

  constructor(private readonly options: WakerOptions) {
    this.wakes = wakeCollection(options.store);
  }

  /** Reads the index (what a previous process left) and arms the timer for its earliest entry. */
  async start(): Promise<void> {
    await this.wakes.ensureIndex({ fields: ['participant', 'at'] });
    await this.run();
  }

  /** An actor with a deadline at `at` stops being hosted here: wake it then, unless already armed earlier. */
  consider(at: number): void {
    if (this.stopped || (this.armedAt !== undefined && this.armedAt <= at)) return;
    this.arm(at);
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    return this.running;
  }

  private arm(at: number): void {
    this.timer?.cancel();
    this.armedAt = at;
    // Housekeeping: never what keeps a process alive.
    this.timer = setTimeoutAt(this.options.clock, at, () => {
      if (this.stopped || this.armedAt !== at) return;
      this.armedAt = undefined;
      void this.run();
    }, { unref: true });
  }

  /** Wakes every due entry (one run at a time), then arms for the next one. */
  private run(): Promise<void> {
    this.running = this.running.then(() => this.wakeDue()).catch((error) => {
      this.options.log.warn('actors.wake_failed', { participant: this.options.participant, error });
      if (!this.stopped) this.consider(this.options.clock.now() + 60_000); // the store was down: look again in a minute
    });
    return this.running;
  }

  private async wakeDue(): Promise<void> {
    const { participant, clock, isHosted, wake, log } = this.options;
    for (let limit = PAGE; !this.stopped; limit *= 2) {
      const entries = await this.wakes.find({ participant }, { sort: 'at', limit });
      const now = clock.now();
      for (const entry of entries) {
        if (entry.at > now) return this.consider(entry.at);
        if (this.woken.get(entry.actorId) === entry.at || isHosted(entry.actorId)) continue;
        this.woken.set(entry.actorId, entry.at);
        try {
          await wake(entry.actorId);
          log.info('actor.woken', { participant, actor: entry.actorId, deadline: entry.at });
        } catch (error) {
          log.warn('actor.wake_failed', { participant, actor: entry.actorId, error });
        }
      }
      if (entries.length < limit) return; // every entry is due and handled
    }
  }
}
