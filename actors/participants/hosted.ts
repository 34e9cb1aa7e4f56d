/**
 * The hosted actors a participant keeps running (one per contract, one per vehicle): hosted on
 * first use, restored from the store after a restart, and released when their work is done so
 * a long-running participant does not hold (and renew a lease for) every actor it ever had
 * (issue 9 D6). An actor is released once `idle` holds for its snapshot and nobody asked for it
 * for `idleMs`; the next use hosts it again from its snapshot, and so does its earliest deadline:
 * such actors keep it in the wake index, whose one timer per process (actors/host/wake.ts, read
 * again at start) hosts a released or not yet restored actor when the deadline comes.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { AnyStateMachine, InputFrom, SnapshotFrom } from 'xstate';
import { ACTORS_COLLECTION, hostActor, type ActorRecord, type HostActorOptions, type HostedActor } from '../host/index.ts';
import { Waker } from '../host/wake.ts';
import { earliestDeadline } from '../../statecharts/deadlines.ts';
import { systemClock } from '../transport/timers.ts';

/** How long an idle actor stays hosted after its last use. @default 5000 */
export const DEFAULT_IDLE_MS = 5_000;

export interface HostedActorsOptions<TLogic extends AnyStateMachine> extends Omit<HostActorOptions<TLogic>, 'id' | 'input' | 'owner'> {
  /** True when the actor waits for nothing but outside events (finished, or settled): it may be released. */
  readonly idle?: (snapshot: SnapshotFrom<TLogic>) => boolean;
  /** @default DEFAULT_IDLE_MS */
  readonly idleMs?: number;
}

interface Entry<TLogic extends AnyStateMachine> {
  readonly actor: Promise<HostedActor<TLogic>>;
  running?: HostedActor<TLogic>;
  lastUsed: number;
}

export class HostedActors<TLogic extends AnyStateMachine> {
  // Promises, so two requests for one actor at the same moment share one host (and one lease).
  private readonly actors = new Map<string, Entry<TLogic>>();
  private readonly releasing = new Map<string, Promise<void>>();
  /** One lease owner for all of this process's actors: a re-hosted actor is taken over at once. */
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly sweeper: NodeJS.Timeout | undefined;
  private readonly waker: Waker | undefined;
  /** Resolves once the wake index was read (its earliest entry armed). */
  readonly ready: Promise<void>;

  constructor(private readonly options: HostedActorsOptions<TLogic>) {
    const idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
    if (options.idle) {
      this.sweeper = setInterval(() => this.sweep(idleMs), Math.max(10, Math.floor(idleMs / 2)));
      this.sweeper.unref(); // housekeeping: never what keeps a process alive
      const { store, log, clock = systemClock } = options.context;
      this.waker = new Waker({
        store, log, clock, participant: options.participant,
        isHosted: (id) => this.actors.has(id),
        // Restoring needs no input; an entry exists only for an actor with a persisted snapshot.
        wake: async (id) => { await this.get(id, undefined as InputFrom<TLogic>); },
      });
    }
    this.ready = this.waker ? this.waker.start().catch((error) => options.context.log.warn('actors.wake_index_unreadable', { participant: options.participant, error })) : Promise.resolve();
  }

  /** The running actor `id`, hosted now (restored, or new with `input`) if it is not yet. */
  get(id: string, input: InputFrom<TLogic>): Promise<HostedActor<TLogic>> {
    const known = this.actors.get(id);
    if (known) {
      known.lastUsed = Date.now();
      return known.actor;
    }
    const { idle: _idle, idleMs: _idleMs, ...hostOptions } = this.options;
    const pending = this.releasing.get(id) ?? Promise.resolve();
    const actor = pending.then(() => hostActor({ ...hostOptions, id, input, owner: this.owner, wakeIndex: this.waker !== undefined }));
    const entry: Entry<TLogic> = { actor, lastUsed: Date.now() };
    this.actors.set(id, entry);
    actor.then((running) => { entry.running = running; }, () => {
      if (this.actors.get(id) === entry) this.actors.delete(id);
    });
    return actor;
  }

  /**
   * The ids of this participant's actors the store knows, and of those not finished (status
   * `active`) and without any of `idleTags`: what a participant resumes at start (issue 9 D4).
   * Unfinished actors written by another version of the machine count as unfinished whatever their
   * tags: hosted once, they are upgraded and their deadlines enter the wake index.
   */
  async stored(idleTags: readonly string[] = []): Promise<{ all: Set<string>; unfinished: Set<string> }> {
    const records = await this.options.context.store.collection<ActorRecord>(ACTORS_COLLECTION).find({ participant: this.options.participant });
    const outdated = (record: ActorRecord) => (record.version ?? '') !== (this.options.logic.version ?? '');
    const waiting = (record: ActorRecord) => record.status === 'active' && (outdated(record) || !(record.tags ?? []).some((tag) => idleTags.includes(tag)));
    return {
      all: new Set(records.map((record) => record.actorId)),
      unfinished: new Set(records.filter(waiting).map((record) => record.actorId)),
    };
  }

  /** How many actors are hosted now. */
  get size(): number {
    return this.actors.size;
  }

  /** Stops actor `id` (its snapshot stays in the store) and forgets it. */
  async release(id: string): Promise<void> {
    const entry = this.actors.get(id);
    if (!entry) return this.releasing.get(id);
    this.actors.delete(id);
    const stopping = entry.actor.then(async (running) => {
      await running.stop();
      // No timer of its own from now on: the wake index's takes its earliest deadline (of the snapshot stop persisted).
      const last = running.getSnapshot() as { status: string; context: unknown };
      const earliest = earliestDeadline(last.context);
      if (earliest && last.status !== 'done') this.waker?.consider(earliest.at);
    }).catch(() => {}).finally(() => {
      if (this.releasing.get(id) === stopping) this.releasing.delete(id);
    });
    this.releasing.set(id, stopping);
    return stopping;
  }

  private sweep(idleMs: number): void {
    const now = Date.now();
    for (const [id, entry] of this.actors) {
      if (!entry.running || now - entry.lastUsed < idleMs) continue;
      let idle = false;
      try {
        idle = this.options.idle!(entry.running.getSnapshot());
      } catch {
        idle = false;
      }
      if (idle) void this.release(id);
    }
  }

  async stopAll(): Promise<void> {
    clearInterval(this.sweeper);
    await this.waker?.stop();
    await Promise.all([...this.actors.keys()].map((id) => this.release(id)));
  }
}
