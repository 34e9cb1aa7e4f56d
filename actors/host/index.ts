/**
 * The actor host: runs XState v5 machines as durable, long-lived actors.
 *
 * Contract of `hostActor({ participant, id, logic, context, input?, events?, owner?, leaseMs? })`:
 * - **Persistence.** The snapshot (`actor.getPersistedSnapshot()`) lives in the `actors` collection
 *   under `<participant>/<id>`; it is restored at start and written after every transition, before
 *   `send` resolves, so a bus consumer that acknowledges after `send` never loses an event.
 * - **Deadlines.** XState drops pending `after` timers on restore, so hosted machines keep timers as
 *   absolute times: `context.deadlines: Record<name, epochMs>` (helpers in statecharts/deadlines.ts).
 *   The host arms a timer per entry and sends `{ type: 'deadline.<name>', at, now }` when it passes; after
 *   a restart it re-arms them and fires at once those that passed while the process was down. The
 *   machine handles the event or removes the entry; an unhandled one is logged and fires again only
 *   after a restart. With `wakeIndex` the earliest deadline is also kept in the wake index (wake.ts), so an
 *   actor that is not running (released when idle, not restored yet) is hosted again when it comes.
 * - **Versions.** A snapshot of another machine version is refused (`SnapshotIncompatible`) unless the
 *   machine's `upgrades` takes it from that version.
 * - **Effects.** Machines hold no I/O: they invoke named effects declared in `setup({ actors })`
 *   and provided by the participant with `.provide()`. An effect in flight at a crash runs again
 *   on restore; `idempotentEffect` (effects.ts) makes it happen once with an effect key.
 * - **One owner.** A lease (owner id + expiry, renewed every third of `leaseMs`) makes a second
 *   host fail with `ActorLeased`; every write is also compare-and-set on the record's `_rev`, so a
 *   host that lost the lease cannot write and stops with `ActorLeaseLost`.
 * - **Typed rejections; keeps serving.** Invalid events (`InvalidEvent`), events the current state does
 *   not take (`EventNotAccepted`), a throwing transition (`TransitionFailed`, state rolled back to the
 *   last persisted snapshot) and a failed write (`StoreUnavailable`, rolled back) leave the actor running.
 * - **Observability.** JSON-line logs through the given Logger; every event the actor receives and
 *   every snapshot it takes are published on `inspect.<participant>.<id>` as
 *   `{ kind: 'event', event }` / `{ kind: 'snapshot', status, value, context }` with `participant`, `id`, `at`.
 *
 * @example
 * const booking = await hostActor({ participant: 'cpo', id: 'session-42', logic: sessionMachine.provide({ actors }), context: { bus, store, log }, input });
 * await booking.send({ type: 'AUTHORIZED' });          // persisted when this resolves
 * await booking.waitFor((s) => s.status === 'done', 10_000);
 * await booking.stop();                                 // lease released; another process may resume it
 */
export { hostActor, ACTORS_COLLECTION, DEFAULT_LEASE_MS, type ActorRecord, type HostActorOptions, type HostContext, type HostedActor } from './actor.ts';
export { idempotentEffect, timedEffect, EFFECTS_COLLECTION, type EffectInput } from './effects.ts';
export { ActorLeased, ActorLeaseLost, ActorNotRunning, EventNotAccepted, InvalidEvent, SnapshotIncompatible, TransitionFailed } from './errors.ts';
export { createLogger, toJsonText, type LoggerOptions } from './log.ts';
export { WAKE_COLLECTION, Waker, type WakeDoc } from './wake.ts';
export { DEFAULT_RETENTION_MS, pruneFinishedActors, retentionOf, startRetention } from './retention.ts';
export type { Logger, ParticipantContext, ParticipantDefinition, RunningParticipant } from './participant.ts';
