/** Typed errors of the actor host; each is a PncError with a stable code. */
import { PncError } from '../../protocols/errors.ts';

/** Another process holds the lease on this actor instance. Retryable: the lease expires unless renewed. */
export class ActorLeased extends PncError {
  override readonly name = 'ActorLeased';
  constructor(key: string, owner: string, leaseUntil: number) {
    super('ActorLeased', `actor ${key} is driven by ${owner} until ${new Date(leaseUntil).toISOString()}`, { retryable: true, data: { key, owner, leaseUntil } });
  }
}

/** While running, another process took over the actor (its write won the compare-and-set); this host stopped it. */
export class ActorLeaseLost extends PncError {
  override readonly name = 'ActorLeaseLost';
  constructor(key: string) {
    super('ActorLeaseLost', `actor ${key} was taken over by another process; this host stopped driving it`, { data: { key } });
  }
}

/** The event is not an object with a string `type`, or fails the actor's event schema. */
export class InvalidEvent extends PncError {
  override readonly name = 'InvalidEvent';
  constructor(key: string, detail: string) {
    super('InvalidEvent', `actor ${key}: invalid event: ${detail}`, { data: { key } });
  }
}

/** The event is valid but the actor's current state has no transition for it. */
export class EventNotAccepted extends PncError {
  override readonly name = 'EventNotAccepted';
  constructor(key: string, eventType: string, state: unknown, status: string) {
    super('EventNotAccepted', `actor ${key}: event '${eventType}' is not accepted in state ${JSON.stringify(state)} (${status})`, { data: { key, eventType, state, status } });
  }
}

/** The machine threw while handling the event; the actor went back to its last persisted snapshot. */
export class TransitionFailed extends PncError {
  override readonly name = 'TransitionFailed';
  constructor(key: string, eventType: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super('TransitionFailed', `actor ${key}: handling '${eventType}' failed: ${reason.split('\n')[0]}`, { cause, data: { key, eventType } });
  }
}

/** The actor was stopped, failed, or lost its lease, and takes no more events. */
export class ActorNotRunning extends PncError {
  override readonly name = 'ActorNotRunning';
  constructor(key: string, state: string) {
    super('ActorNotRunning', `actor ${key} is ${state}`, { data: { key, state } });
  }
}

/** The stored snapshot belongs to another machine or cannot be restored by this one. */
export class SnapshotIncompatible extends PncError {
  override readonly name = 'SnapshotIncompatible';
  constructor(key: string, detail: string, cause?: unknown) {
    super('SnapshotIncompatible', `actor ${key}: stored snapshot cannot be restored: ${detail.split('\n')[0]}`, { cause, data: { key } });
  }
}
