/**
 * The inspection stream's message (`inspect.<participant>.<id>`, read by actors/inspect/model.ts)
 * made from one XState inspection event of a root actor: what the actor host publishes for
 * durable actors and the V2G session runners publish for charging sessions.
 */
import type { InspectionEvent } from 'xstate';
import { asPlainJson } from './log.ts';

/** An inspect message as hosts and session runners publish it. */
export interface InspectMessage {
  readonly kind: 'event' | 'snapshot' | 'effect';
  readonly participant: string;
  readonly id: string;
  readonly machine: string;
  readonly at: string;
  readonly event?: { readonly type: string };
  readonly status?: string;
  readonly value?: unknown;
  readonly context?: unknown;
  readonly effect?: string;
  readonly invokeId?: string;
}

export interface InspectedActor {
  readonly participant: string;
  readonly id: string;
  readonly machine: string;
}

/** The message for `event`, or undefined for events the inspector does not show (children's own steps). */
export function inspectionMessage(event: InspectionEvent, actor: InspectedActor): InspectMessage | undefined {
  let payload: Pick<InspectMessage, 'kind'> & Partial<InspectMessage>;
  if (event.actorRef.sessionId !== event.rootId) {
    // An effect the root invoked starts: the inspector times it until the root hears `xstate.done|error.actor.<id>`.
    const parent = (event.actorRef as { _parent?: { sessionId?: string } })._parent;
    if (event.type !== '@xstate.actor' || parent?.sessionId !== event.rootId) return undefined;
    const child = event.actorRef as { src?: unknown; id?: string };
    payload = { kind: 'effect', effect: typeof child.src === 'string' ? child.src : child.id, invokeId: child.id };
  } else if (event.type === '@xstate.event') payload = { kind: 'event', event: event.event };
  else if (event.type === '@xstate.snapshot') {
    const snapshot = event.snapshot as { status?: string; value?: unknown; context?: unknown };
    payload = { kind: 'snapshot', status: snapshot.status, value: snapshot.value, context: snapshot.context };
  } else return undefined;
  // Bytes become hex, errors their PncError JSON: the message crosses the bus as JSON. Plain JSON is not
  // copied: both bus adapters encode the payload before `publish` returns, so the live snapshot is never shared.
  return asPlainJson({ ...payload, participant: actor.participant, id: actor.id, machine: actor.machine, at: new Date().toISOString() }) as InspectMessage;
}
