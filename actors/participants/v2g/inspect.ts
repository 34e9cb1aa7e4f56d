/**
 * Charging sessions in the inspector: a session runner (SECC or EV) publishes its machine's events,
 * snapshots and effects on `inspect.<side>.<id>` and each V2G message it sends as a step on
 * `inspect.<side>.~trace`, keyed by the session's SessionID so the inspector draws the EV–SECC
 * sequence of one session. Both subjects are within the side's own `inspect.<side>.>` permission
 * (protocols/catalogue/access.ts). Best effort: a publish that fails never touches the session.
 * Nothing is built while the bus knows no one subscribes (the charging loop pays nothing then).
 */
import type { ActorRefLike, InspectionEvent } from 'xstate';
import type { Bus } from '../../bus/bus.ts';
import { inspectionMessage } from '../../host/inspection.ts';
import { traceSubject, type TimelineEntry } from '../../story/timeline.ts';
import { NO_SESSION_ID } from '../../../statecharts/secc/messages.ts';
import type { TraceEntry, TraceHook } from './runner.ts';

export type SessionSide = 'secc' | 'ev';

export interface SessionInspection {
  /** createActor's `inspect` option. */
  readonly inspect: (event: InspectionEvent) => void;
  /** Publishes each message this side sends as a step between the two sides. */
  readonly trace: TraceHook;
}

const PEER: Record<SessionSide, SessionSide> = { secc: 'ev', ev: 'secc' };
/** One counter for every session of the process: an EV and an SECC in one process (the story) send within the same millisecond. */
let stepsSent = 0;

/** The SessionID the machine's context holds once SessionSetup agreed one, else undefined. */
function agreedSessionId(actor: ActorRefLike | undefined): string | undefined {
  const sessionId = (actor?.getSnapshot() as { context?: { sessionId?: unknown } } | undefined)?.context?.sessionId;
  return typeof sessionId === 'string' && sessionId !== '' && sessionId !== NO_SESSION_ID && !/^0+$/.test(sessionId) ? sessionId : undefined;
}

/**
 * `id` is a subject token: the SECC's fresh SessionID, the vehicle's PCID. Steps sent before the
 * SessionID is agreed (the handshake, SessionSetupReq) wait and go out with it; a session that
 * ends before agreeing one sends them without keys.
 */
export function inspectSession(bus: Bus, side: SessionSide, id: string, machine: string): SessionInspection {
  let actor: ActorRefLike | undefined;
  const started = Date.now();
  const waiting: TimelineEntry[] = [];
  const actorSubject = `inspect.${side}.${id}`;
  const stepSubject = traceSubject(side);
  const inspected = { participant: side, id, machine };
  const publish = (subject: string, message: unknown) => void bus.publish(subject, message).catch(() => {});
  const flush = (ended: boolean) => {
    const sessionId = agreedSessionId(actor);
    if (!sessionId && !ended) return;
    for (const entry of waiting.splice(0)) publish(stepSubject, { ...entry, keys: sessionId ? { sessionId } : {} });
  };
  const trace: TraceHook = (entry) => {
    if (entry.direction !== 'out') return;
    const at = Date.now();
    waiting.push({ step: ++stepsSent, atMs: at - started, participant: side, kind: 'request', subject: `${PEER[side]}.v2g.${entry.name}`, summary: entry.name, outcome: 'ok', exi: { [entry.name]: entry.exi }, keys: {}, at: new Date(at).toISOString() });
    flush(false);
  };
  trace.listening = () => bus.mayHaveSubscribers(stepSubject);
  return {
    inspect(event) {
      const root = event.actorRef.sessionId === event.rootId;
      if (root) actor = event.actorRef;
      if (bus.mayHaveSubscribers(actorSubject)) {
        const message = inspectionMessage(event, inspected);
        if (message) publish(actorSubject, message);
      }
      // Steps held back for the SessionID go out once it is agreed, or when the session ends.
      if (root && waiting.length > 0 && event.type === '@xstate.snapshot') flush((event.snapshot as { status?: string }).status !== 'active');
    },
    trace,
  };
}
