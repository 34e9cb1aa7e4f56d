/**
 * hostActor: one XState v5 machine run as a durable, long-lived actor. See index.ts for the contract.
 *
 * One record per actor instance in the `actors` collection holds the persisted snapshot and the
 * lease (owner + expiry). Every write is a compare-and-set on the record's `_rev`, so even if two
 * processes both believed they held the lease, only one could ever persist: the other sees a
 * RevisionConflict and stops driving the actor (`ActorLeaseLost`).
 *
 * Everything that touches the actor or the record (events, deadline events, persisting, lease
 * renewal) runs through one serial queue, so a snapshot is persisted in event order and an
 * event's promise resolves only once the snapshot it produced is in the store.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { createActor, type Actor, type AnyMachineSnapshot, type AnyStateMachine, type EventFromLogic, type InputFrom, type InspectionEvent, type SnapshotFrom, type Subscription } from 'xstate';
import type { z } from 'zod';
import { PncError, toPncError } from '../../protocols/errors.ts';
import { DEADLINE_EVENT_PREFIX, deadlinesOf, earliestDeadline } from '../../statecharts/deadlines.ts';
import type { Bus } from '../bus/bus.ts';
import type { Collection, Store, StoredDoc } from '../store/store.ts';
import { ActorLeased, ActorLeaseLost, ActorNotRunning, EventNotAccepted, InvalidEvent, SnapshotIncompatible, TransitionFailed } from './errors.ts';
import { inspectionMessage } from './inspection.ts';
import { isPlainJson, toJsonText } from './log.ts';
import type { Logger } from './participant.ts';
import { setTimeoutAt, systemClock, type TimerAt, type WallClock } from '../transport/timers.ts';
import { wakeCollection, type WakeDoc } from './wake.ts';

/** Collection holding one record per hosted actor instance. */
export const ACTORS_COLLECTION = 'actors';
/**
 * How long a lease lasts without renewal; renewed every third of it. Only a takeover from another
 * machine waits this out (a dead process on this machine is detected at once). @default 30000
 */
export const DEFAULT_LEASE_MS = 30_000;
const LEASE_ATTEMPTS = 5;
/** Participant names and actor ids become subject tokens (`inspect.<participant>.<id>`). */
const SUBJECT_TOKEN = /^[A-Za-z0-9_:-]+$/;

export interface ActorRecord extends StoredDoc {
  readonly participant: string;
  readonly actorId: string;
  /** The machine id, checked on restore. */
  readonly logic: string;
  /** The machine's `version` (createMachine config), checked on restore; absent for unversioned machines. */
  readonly version?: string;
  readonly owner: string;
  /** Epoch ms; 0 when released by a graceful stop. */
  readonly leaseUntil: number;
  readonly snapshot: unknown;
  /** Copies of the snapshot's status and state value, for queries. */
  readonly status: string;
  readonly value: unknown;
  /** The snapshot's tags, so a participant can tell which actors to resume without hosting them. */
  readonly tags?: readonly string[];
  /** The actor's entry in the wake index (wake.ts) when it keeps one: its earliest deadline, epoch ms. */
  readonly wakeAt?: number;
  readonly updatedAt: string;
}

/** What the host needs from the participant's runtime. */
export interface HostContext {
  readonly bus: Bus;
  readonly store: Store;
  readonly log: Logger;
  /** What fires `context.deadlines`; a test passes its own so deadlines move with its time. @default the system clock */
  readonly clock?: WallClock;
}

export interface HostActorOptions<TLogic extends AnyStateMachine> {
  /** Participant name (`cps`, `mo`, …): first part of the record key and the inspect subject. */
  readonly participant: string;
  /** Actor instance id, unique within the participant (letters, digits, `_`, `-`, `:`). */
  readonly id: string;
  /** The machine, with its effects already provided (`machine.provide({ actors })`). */
  readonly logic: TLogic;
  readonly context: HostContext;
  /** Input for a new actor; ignored when a snapshot is restored. */
  readonly input?: InputFrom<TLogic>;
  /** Schema every event given to `send` must satisfy; failures reject with `InvalidEvent`. */
  readonly events?: z.ZodType;
  /**
   * Lease owner id. Another owner's live lease gives `ActorLeased` until it expires, except that
   * a default-owner lease of a dead process on this machine is taken over at once (a restart after
   * `kill -9` resumes without waiting). A process reusing its owner id also resumes at once.
   * @default `<hostname>:<pid>:<random>`
   */
  readonly owner?: string;
  /** @default DEFAULT_LEASE_MS */
  readonly leaseMs?: number;
  /**
   * Snapshots of earlier machine versions this one restores: from-version → the snapshot as the
   * current version takes it (`now` is the deadline clock's, for deadlines the upgrade arms).
   * Any other version is refused with `SnapshotIncompatible`.
   */
  readonly upgrades?: Readonly<Record<string, (snapshot: unknown, now: number) => unknown>>;
  /**
   * Keep the actor's earliest deadline in the wake index (wake.ts), so a released actor, or one not
   * restored after a restart, is hosted again when its deadline comes (HostedActors does). @default false
   */
  readonly wakeIndex?: boolean;
}

export interface HostedActor<TLogic extends AnyStateMachine> {
  /**
   * Delivers one event and resolves after the snapshot it produced is persisted (so a bus
   * consumer acknowledges only after). Rejects with `InvalidEvent`, `EventNotAccepted`,
   * `TransitionFailed` (state rolled back), `StoreUnavailable` (state rolled back),
   * `ActorNotRunning` or `ActorLeaseLost`; after any of these but the last two it keeps serving.
   */
  send(event: EventFromLogic<TLogic>): Promise<void>;
  getSnapshot(): SnapshotFrom<TLogic>;
  /** Resolves with the first persisted snapshot that satisfies `predicate`; rejects with `Timeout`. */
  waitFor(predicate: (snapshot: SnapshotFrom<TLogic>) => boolean, timeoutMs: number): Promise<SnapshotFrom<TLogic>>;
  /** Persists, releases the lease, stops the machine (in-flight effects are aborted and replayed by the next host). */
  stop(): Promise<void>;
}

type HostState = 'running' | 'stopped' | 'failed' | 'lost';

interface Waiter {
  readonly check: (snapshot: unknown) => boolean;
  readonly resolve: (snapshot: unknown) => void;
  readonly reject: (error: PncError) => void;
}

interface ArmedDeadline {
  readonly at: number;
  readonly timer: TimerAt;
}

function defaultOwner(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

/**
 * True when `owner` is a default owner id of a process on this machine that no longer exists
 * (killed with -9, so it never released its lease): its lease need not be waited out.
 */
function isDeadLocalOwner(owner: string): boolean {
  const match = /^(.*):(\d+):[0-9a-f]{8}$/.exec(owner);
  if (!match || match[1] !== hostname() || Number(match[2]) === process.pid) return false;
  try {
    process.kill(Number(match[2]), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * The fields of an XState machine snapshot, in order. getPersistedSnapshot keeps status, output, error, value
 * and historyValue (history as ids), then context (actor refs as references) and children (each persisted).
 */
const MACHINE_SNAPSHOT_FIELDS = 'status,output,error,machine,context,_nodes,value,tags,children,historyValue,matches,hasTag,can,getMeta,toJSON';

/** What XState's persistContext takes for an actor and persists as a reference. */
function looksLikeActor(value: object): boolean {
  return 'sessionId' in value && 'send' in value && 'ref' in value;
}

function hasNoKeys(value: object): boolean {
  for (const _ in value) return false;
  return true;
}

let lastIsoMs = Number.NaN;
let lastIso = '';
/** `new Date(ms).toISOString()`, made once per millisecond: a batch of events persisted in the same one shares it. */
function isoTime(ms: number): string {
  if (ms !== lastIsoMs) {
    lastIso = new Date(ms).toISOString();
    lastIsoMs = ms;
  }
  return lastIso;
}

/** A JSON copy: what is persisted or published never shares objects with the live actor. */
function jsonCopy<T>(value: T): T {
  return JSON.parse(toJsonText(value)) as T;
}

class HostedActorImpl<TLogic extends AnyStateMachine> implements HostedActor<TLogic> {
  readonly key: string;
  private readonly records: Collection<ActorRecord>;
  private readonly log: Logger;
  private readonly leaseMs: number;
  private readonly inspectSubject: string;
  private actor!: Actor<TLogic>;
  private record!: ActorRecord;
  /** The actor's snapshots have the fields persistedForm's shortcut knows (the XState this was written for). */
  private snapshotFieldsKnown = false;
  /** The start of the record's JSON text: the fields that stay the same for the actor's life (persist). */
  private recordHead: string | undefined;
  /** The persisted form of the last snapshot written, as JSON text; rollbacks restore it. */
  private lastPersistedJson = '';
  /** The live snapshot whose persisted form is `lastPersistedJson` (XState never mutates a snapshot). */
  private lastPersistedLive: AnyMachineSnapshot | undefined;
  private state: HostState = 'running';
  private queue: Promise<unknown> = Promise.resolve();
  private delivering = false;
  private renewTimer: NodeJS.Timeout | undefined;
  private readonly deadlines = new Map<string, ArmedDeadline>();
  private readonly waiters = new Set<Waiter>();
  private readonly wakes: Collection<WakeDoc> | undefined;
  /** The earliest deadline the wake index holds for this actor (undefined: no entry). */
  private wakeAt: number | undefined;
  /** XState's inspection observer on `actor` while someone may listen (syncInspection); one given to createActor has no subscription and stays. */
  private inspection: { readonly actor: Actor<TLogic>; readonly subscription?: Subscription } | undefined;
  private stopWatchingListeners: (() => void) | undefined;

  constructor(private readonly options: HostActorOptions<TLogic>, private readonly owner: string) {
    this.key = `${options.participant}/${options.id}`;
    this.records = options.context.store.collection<ActorRecord>(ACTORS_COLLECTION);
    this.log = options.context.log.child({ participant: options.participant, actor: options.id });
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.inspectSubject = `inspect.${options.participant}.${options.id}`;
    this.wakes = options.wakeIndex ? wakeCollection(options.context.store) : undefined;
  }

  // ------------------------------------------------------------------ start

  async start(): Promise<void> {
    this.record = await this.acquireLease();
    // What the wake index holds for this actor, as its last writer recorded it (no read of the index per hosting).
    this.wakeAt = this.wakes ? this.record.wakeAt : undefined;
    let stored = this.record.snapshot as AnyMachineSnapshot | null;
    if (stored !== null && this.record.logic !== this.options.logic.id) {
      throw new SnapshotIncompatible(this.key, `it belongs to machine '${this.record.logic}', not '${this.options.logic.id}'`);
    }
    // A snapshot of another version of the machine may name states or context it no longer has:
    // the machine's own upgrade takes it, else it is refused loudly.
    const storedVersion = this.record.version ?? '';
    if (stored !== null && storedVersion !== (this.options.logic.version ?? '')) {
      const upgrade = this.options.upgrades?.[storedVersion];
      const refused = `it was written by version '${this.record.version ?? '(none)'}' of machine '${this.record.logic}', this is version '${this.options.logic.version ?? '(none)'}'`;
      if (!upgrade) {
        await this.releaseQuietly();
        throw new SnapshotIncompatible(this.key, refused);
      }
      try {
        stored = upgrade(jsonCopy(stored), this.deadlineClock.now()) as AnyMachineSnapshot;
      } catch (error) {
        await this.releaseQuietly();
        throw new SnapshotIncompatible(this.key, `${refused}, and its upgrade failed: ${error instanceof Error ? error.message : String(error)}`, error);
      }
      this.log.info('actor.upgraded', { from: storedVersion, to: this.options.logic.version });
    }
    try {
      this.launch(stored ?? undefined);
    } catch (error) {
      await this.releaseQuietly();
      throw new SnapshotIncompatible(this.key, error instanceof Error ? error.message : String(error), error);
    }
    await this.serial(() => this.persist({ force: true }));
    if (this.live().status !== 'done') {
      this.renewTimer = setInterval(() => {
        this.serial(() => this.persist({ force: true })).catch((error) => this.log.warn('actor.lease.renew_failed', { error }));
      }, Math.max(1, Math.floor(this.leaseMs / 3)));
      this.renewTimer.unref(); // housekeeping only: never what keeps a process alive
    }
    this.log.info(stored ? 'actor.restored' : 'actor.created', { owner: this.owner, value: this.live().value });
  }

  private async acquireLease(): Promise<ActorRecord> {
    for (let attempt = 0; attempt < LEASE_ATTEMPTS; attempt += 1) {
      const existing = await this.records.get(this.key);
      const now = Date.now();
      const leaseUntil = now + this.leaseMs;
      if (!existing) {
        try {
          return await this.records.insert({
            _id: this.key, participant: this.options.participant, actorId: this.options.id, logic: this.options.logic.id, ...this.versionField(),
            owner: this.owner, leaseUntil, snapshot: null, status: 'new', value: null, updatedAt: new Date(now).toISOString(),
          });
        } catch (error) {
          if (PncError.is(error, 'DuplicateKey')) continue;
          throw error;
        }
      }
      if (existing.owner !== this.owner && existing.leaseUntil > now && !isDeadLocalOwner(existing.owner)) throw new ActorLeased(this.key, existing.owner, existing.leaseUntil);
      try {
        return await this.records.replace({ ...existing, owner: this.owner, leaseUntil }, { expectedRev: existing._rev });
      } catch (error) {
        if (PncError.is(error, 'RevisionConflict')) continue;
        throw error;
      }
    }
    const current = await this.records.get(this.key);
    throw new ActorLeased(this.key, current?.owner ?? 'another process', current?.leaseUntil ?? Date.now());
  }

  private versionField(): { version?: string } {
    return this.options.logic.version === undefined ? {} : { version: this.options.logic.version };
  }

  /** Creates and starts the XState actor, from a snapshot when given. Subscriptions ignore superseded actors. */
  private launch(snapshot: AnyMachineSnapshot | undefined): void {
    // A listener present now gets the observer through createActor: the initial state's effects are
    // created inside it, and their `@xstate.actor` events reach only an observer given there. That
    // observer stays for this actor's life (XState gives no handle to remove it).
    const listening = this.listening();
    const observe = (event: InspectionEvent) => this.inspect(event);
    const actor = createActor(this.options.logic, { ...(snapshot ? { snapshot } : { input: this.options.input }), ...(listening ? { inspect: observe } : {}) } as Parameters<typeof createActor<TLogic>>[1]);
    this.actor = actor;
    this.snapshotFieldsKnown = Object.keys(actor.getSnapshot()).join() === MACHINE_SNAPSHOT_FIELDS;
    if (listening) this.inspection = { actor };
    this.stopWatchingListeners ??= this.options.context.bus.onSubscribersChanged(() => this.syncInspection());
    this.syncInspection();
    actor.subscribe({
      next: () => {
        if (actor !== this.actor || this.state !== 'running') return;
        this.armDeadlines();
        // Changes that no `send` awaits (an effect finished, a child replied) are persisted here.
        if (!this.delivering) this.serial(() => this.persist()).catch((error) => this.log.error('actor.persist_failed', { error }));
      },
      error: (error: unknown) => {
        if (actor !== this.actor || this.delivering) return; // a failing send rolls back itself
        this.fail(error);
      },
    });
    actor.start();
    this.armDeadlines();
  }

  /** The live snapshot, typed for the host's own use. */
  private live(): AnyMachineSnapshot {
    return this.actor.getSnapshot() as AnyMachineSnapshot;
  }

  // ------------------------------------------------------------------ events

  send(event: EventFromLogic<TLogic>): Promise<void> {
    let checked: EventFromLogic<TLogic>;
    try {
      checked = this.checkEvent(event);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.deliver(checked); // not async itself: no second promise per event
  }

  private checkEvent(event: unknown): EventFromLogic<TLogic> {
    if (typeof event !== 'object' || event === null || Array.isArray(event)) throw new InvalidEvent(this.key, 'an event must be an object with a string type');
    const type = (event as { type?: unknown }).type;
    if (typeof type !== 'string' || type.length === 0) throw new InvalidEvent(this.key, 'an event must be an object with a string type');
    if (type.startsWith('xstate.') || type.startsWith(DEADLINE_EVENT_PREFIX)) throw new InvalidEvent(this.key, `event type '${type}' is reserved for the runtime`);
    let copy: EventFromLogic<TLogic>;
    try {
      copy = JSON.parse(JSON.stringify(event)) as EventFromLogic<TLogic>; // plain JSON: a bigint is refused, not coerced
    } catch (error) {
      throw new InvalidEvent(this.key, `not JSON: ${(error as Error).message}`);
    }
    const schema = this.options.events;
    if (!schema) return copy;
    const result = schema.safeParse(copy);
    if (result.success) return result.data as EventFromLogic<TLogic>;
    const issue = result.error.issues[0];
    throw new InvalidEvent(this.key, `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`);
  }

  private deliver(event: EventFromLogic<TLogic>): Promise<void> {
    return this.serial(async () => {
      this.assertRunning();
      const before = this.live();
      let accepted: boolean;
      try {
        accepted = before.status === 'active' && before.can(event);
      } catch (error) {
        throw new TransitionFailed(this.key, event.type, error);
      }
      if (!accepted) throw new EventNotAccepted(this.key, event.type, before.value, before.status);
      this.delivering = true;
      try {
        this.actor.send(event);
      } finally {
        this.delivering = false;
      }
      const after = this.live();
      if (after.status === 'error') {
        this.rollback('transition_failed');
        throw new TransitionFailed(this.key, event.type, after.error);
      }
      try {
        await this.persist();
      } catch (error) {
        if (this.state === 'running') this.rollback('persist_failed');
        throw error;
      }
    });
  }

  /** Replaces the live actor with one restored from the last persisted snapshot. */
  private rollback(reason: string): void {
    const broken = this.actor;
    this.launch(this.lastPersistedSnapshot());
    broken.stop();
    this.log.warn('actor.rolled_back', { reason, value: this.live().value });
  }

  // ------------------------------------------------------------------ persistence

  private serial<R>(task: () => Promise<R>): Promise<R> {
    const result = this.queue.then(task);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** The persisted (JSON) form of the last snapshot written, parsed afresh: only a rollback or a log needs it. */
  private lastPersistedSnapshot(): AnyMachineSnapshot | undefined {
    return this.lastPersistedJson ? (JSON.parse(this.lastPersistedJson) as AnyMachineSnapshot) : undefined;
  }

  /**
   * The snapshot to write: its JSON text and, for `record`, the snapshot as an object. The same live snapshot
   * as last written, without children (whose own state is not in the root's snapshot object), gives the
   * record's copy again: no serialising. Otherwise the persisted snapshot is serialised once; that text is what
   * the store writes and what the next call compares with. The object kept is the persisted snapshot itself
   * (XState never mutates it) unless it is not plain JSON, then its JSON copy.
   */
  private persistedForm(live: AnyMachineSnapshot): { json: string; snapshot: unknown } {
    const childless = hasNoKeys(live.children);
    if (live === this.lastPersistedLive && childless) return { json: this.lastPersistedJson, snapshot: this.record.snapshot };
    if (childless && this.snapshotFieldsKnown && live.status === 'active' && live.output === undefined && live.error === undefined && hasNoKeys(live.historyValue) && isPlainJson(live.context, 0, looksLikeActor)) {
      // What getPersistedSnapshot gives for it, field for field, without its object rest (about as costly as the transition).
      const snapshot = { status: live.status, value: live.value, historyValue: {}, context: live.context, children: {} };
      return { json: JSON.stringify(snapshot), snapshot };
    }
    const persisted = this.actor.getPersistedSnapshot();
    const plain = isPlainJson(persisted);
    const json = toJsonText(persisted, plain);
    return { json, snapshot: plain ? persisted : JSON.parse(json) };
  }

  /** Writes the snapshot (when changed, or always with `force`) and renews the lease; compare-and-set on `_rev`. */
  private async persist(options: { force?: boolean; release?: boolean } = {}): Promise<void> {
    if (this.state !== 'running') return;
    const live = this.live();
    if (live.status === 'error') return; // never persist a broken actor; the last good snapshot stays
    const { json, snapshot } = this.persistedForm(live);
    if (json === this.lastPersistedJson && !options.force && !options.release) {
      this.lastPersistedLive = live;
      return;
    }
    const wakeAt = this.wakes && live.status === 'active' ? earliestDeadline(live.context)?.at : undefined;
    // An earlier deadline enters the index before the record and a later one (or none) after it: a crash in
    // between wakes the actor once for nothing, never misses its deadline.
    const earlierWake = wakeAt !== undefined && (this.wakeAt === undefined || wakeAt < this.wakeAt);
    if (earlierWake) await this.writeWake(wakeAt);
    const now = Date.now();
    const { _id, _rev, participant, actorId } = this.record;
    const record: { -readonly [K in keyof ActorRecord]: ActorRecord[K] } = {
      _id, participant, actorId, logic: this.options.logic.id, version: this.options.logic.version ?? this.record.version, owner: this.owner, leaseUntil: options.release ? 0 : now + this.leaseMs,
      status: live.status, value: live.value, tags: live.tags.size === 0 ? [] : [...live.tags].sort(), wakeAt, updatedAt: isoTime(now), snapshot, _rev: undefined,
    };
    // The fields no write changes are serialised once per actor; `_id` first, as replaceJson takes it. The text has
    // the record's fields in its own order, a field left undefined left out. The state value is plain JSON.
    this.recordHead ??= JSON.stringify({ _id, participant, actorId, logic: record.logic, version: record.version, owner: record.owner }).slice(0, -1);
    const text = `${this.recordHead},"leaseUntil":${JSON.stringify(record.leaseUntil)},"status":${JSON.stringify(record.status)},"value":${JSON.stringify(record.value)},"tags":${JSON.stringify(record.tags)}${
      wakeAt === undefined ? '' : `,"wakeAt":${JSON.stringify(wakeAt)}`},"updatedAt":"${record.updatedAt}","snapshot":${json}}`;
    try {
      // The snapshot's text goes in as made above: one serialisation per write, and nothing parsed back.
      record._rev = await this.records.replaceJson(_id, text, { expectedRev: _rev ?? 0 });
      this.record = record;
    } catch (error) {
      if (PncError.is(error, 'RevisionConflict')) {
        this.lose();
        throw new ActorLeaseLost(this.key);
      }
      throw error;
    }
    if (!earlierWake && wakeAt !== this.wakeAt) await this.writeWake(wakeAt).catch((error) => this.log.warn('actor.wake_index_failed', { error }));
    // A finished actor takes no more events: nothing to own, so stop rewriting its record.
    if (live.status === 'done') clearInterval(this.renewTimer);
    const changed = json !== this.lastPersistedJson;
    this.lastPersistedJson = json;
    this.lastPersistedLive = live;
    if (changed) this.notifyWaiters(live);
  }

  /** Sets (or with undefined removes) this actor's wake index entry. */
  private async writeWake(at: number | undefined): Promise<void> {
    if (at === undefined) await this.wakes!.delete(this.key);
    else await this.wakes!.replace({ _id: this.key, participant: this.options.participant, actorId: this.options.id, at });
    this.wakeAt = at;
  }

  private assertRunning(): void {
    if (this.state === 'lost') throw new ActorLeaseLost(this.key);
    if (this.state !== 'running') throw new ActorNotRunning(this.key, this.state);
  }

  private halt(state: HostState, error: PncError): void {
    this.state = state;
    clearInterval(this.renewTimer);
    this.clearDeadlines();
    this.actor.stop();
    this.stopWatchingListeners?.();
    this.syncInspection(); // not running: off
    for (const waiter of this.waiters) waiter.reject(error);
    this.waiters.clear();
  }

  private lose(): void {
    this.log.error('actor.lease_lost', { owner: this.owner });
    this.halt('lost', new ActorLeaseLost(this.key));
  }

  /** An error no `send` is waiting for (an effect without onError, a failing action after one): stop driving, keep the last good record. */
  private fail(error: unknown): void {
    this.log.error('actor.failed', { error: toPncError(error), value: this.lastPersistedSnapshot()?.value });
    this.halt('failed', new ActorNotRunning(this.key, 'failed'));
  }

  private async releaseQuietly(): Promise<void> {
    await this.records.replace({ ...this.record, leaseUntil: 0 }, { expectedRev: this.record._rev }).catch(() => undefined);
  }

  async stop(): Promise<void> {
    if (this.state !== 'running') return;
    clearInterval(this.renewTimer);
    this.clearDeadlines();
    await this.serial(async () => {
      if (this.state !== 'running') return;
      try {
        await this.persist({ release: true });
      } catch (error) {
        this.log.warn('actor.release_failed', { error });
      }
      if (this.state === 'running') this.halt('stopped', new ActorNotRunning(this.key, 'stopped'));
    });
    this.log.info('actor.stopped', { value: this.lastPersistedSnapshot()?.value });
  }

  // ------------------------------------------------------------------ observing

  getSnapshot(): SnapshotFrom<TLogic> {
    return this.actor.getSnapshot();
  }

  waitFor(predicate: (snapshot: SnapshotFrom<TLogic>) => boolean, timeoutMs: number): Promise<SnapshotFrom<TLogic>> {
    return new Promise((resolve, reject) => {
      if (this.lastPersistedJson && predicate(this.actor.getSnapshot()) && this.lastPersistedJson === toJsonText(this.actor.getPersistedSnapshot())) {
        resolve(this.actor.getSnapshot());
        return;
      }
      if (this.state !== 'running') {
        reject(this.state === 'lost' ? new ActorLeaseLost(this.key) : new ActorNotRunning(this.key, this.state));
        return;
      }
      const waiter: Waiter = {
        check: (snapshot) => predicate(snapshot as SnapshotFrom<TLogic>),
        resolve: (snapshot) => {
          clearTimeout(timer);
          resolve(snapshot as SnapshotFrom<TLogic>);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new PncError('Timeout', `actor ${this.key}: no matching snapshot within ${timeoutMs} ms (now ${JSON.stringify(this.live().value)})`, { retryable: true }));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  private notifyWaiters(snapshot: unknown): void {
    for (const waiter of this.waiters) {
      let matched = false;
      try {
        matched = waiter.check(snapshot);
      } catch (error) {
        this.waiters.delete(waiter);
        waiter.reject(toPncError(error));
        continue;
      }
      if (matched) {
        this.waiters.delete(waiter);
        waiter.resolve(snapshot);
      }
    }
  }

  /**
   * Keeps XState's inspection of the current actor on exactly while the bus may have a listener on the inspect
   * subject: with an observer, XState builds inspection events for every event, microstep and snapshot, which
   * cost a hosted event as much as the transition itself (issue 14). The bus calls this synchronously when a
   * subscription begins or ends, so a listener misses nothing from its subscription on.
   */
  private syncInspection(): void {
    const listening = this.listening();
    if (listening && this.inspection?.actor !== this.actor) {
      // An actor replaced by a rollback keeps its own observer, as it did when each actor got one at creation.
      this.inspection = { actor: this.actor, subscription: this.actor.system.inspect((event: InspectionEvent) => this.inspect(event)) };
    } else if (!listening && this.inspection?.subscription) {
      this.inspection.subscription.unsubscribe();
      this.inspection = undefined;
    }
  }

  private listening(): boolean {
    return this.state === 'running' && this.options.context.bus.mayHaveSubscribers(this.inspectSubject);
  }

  /**
   * Publishes the root actor's events and snapshots on `inspect.<participant>.<id>`; best effort, never blocks the actor.
   * The message is built only when the bus may have a listener: every event otherwise pays for a copy nobody reads.
   */
  private inspect(event: InspectionEvent): void {
    const { bus } = this.options.context;
    if (!bus.mayHaveSubscribers(this.inspectSubject)) return;
    const message = inspectionMessage(event, { participant: this.options.participant, id: this.options.id, machine: this.options.logic.id });
    if (message) this.options.context.bus.publish(this.inspectSubject, message).catch((error) => this.log.warn('actor.inspect_publish_failed', { error }));
  }

  // ------------------------------------------------------------------ deadlines

  /** Arms a timer per `context.deadlines` entry; see statecharts/deadlines.ts for the convention. */
  private armDeadlines(): void {
    const snapshot = this.live();
    const wanted = snapshot.status === 'active' ? deadlinesOf(snapshot.context) : {};
    for (const [name, armed] of this.deadlines) {
      if (wanted[name] !== armed.at) {
        armed.timer.cancel();
        this.deadlines.delete(name);
      }
    }
    for (const [name, at] of Object.entries(wanted)) if (!this.deadlines.has(name)) this.deadlines.set(name, { at, timer: this.schedule(name, at) });
  }

  private schedule(name: string, at: number): TimerAt {
    const clock = this.deadlineClock;
    return setTimeoutAt(clock, at, () => {
      if (this.deadlines.get(name)?.at !== at || this.state !== 'running') return;
      // The entry stays armed (fired) until the machine changes or clears it, so it fires once per process.
      this.deliver({ type: `${DEADLINE_EVENT_PREFIX}${name}`, at, now: clock.now() } as unknown as EventFromLogic<TLogic>).then(
        () => this.log.info('actor.deadline_fired', { deadline: name, at }),
        (error) => this.log.warn('actor.deadline_not_handled', { deadline: name, at, error }),
      );
    });
  }

  private get deadlineClock(): WallClock {
    return this.options.context.clock ?? systemClock;
  }

  private clearDeadlines(): void {
    for (const armed of this.deadlines.values()) armed.timer.cancel();
    this.deadlines.clear();
  }
}

/**
 * Hosts one machine as a durable actor: acquires the lease, restores the persisted snapshot (or
 * starts fresh with `input`), persists after every transition, re-arms deadlines and publishes
 * inspection events. Rejects with `ActorLeased` when another process drives the actor and
 * `SnapshotIncompatible` when the stored snapshot cannot be restored.
 */
export async function hostActor<TLogic extends AnyStateMachine>(options: HostActorOptions<TLogic>): Promise<HostedActor<TLogic>> {
  for (const [what, token] of [['participant', options.participant], ['actor id', options.id]] as const) {
    if (!SUBJECT_TOKEN.test(token)) throw new PncError('InvalidActorId', `${what} '${token}' must be letters, digits, '_', '-' or ':'`);
  }
  const hosted = new HostedActorImpl(options, options.owner ?? defaultOwner());
  await hosted.start();
  return hosted;
}
