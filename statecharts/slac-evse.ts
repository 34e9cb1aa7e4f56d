/**
 * SLAC on the charger side (ISO 15118-3 Annex A; link-layer.md §1.5): installs a fresh NMK in the
 * local modem, waits for the EV, answers each CM_SLAC_PARM.REQ with a session keyed by (EV MAC, RunID)
 * ([V2G3-A09-16]), several in parallel (several EVs are heard on a shared line), collects the
 * attenuation profiles the modem reports for each M-Sound, and hands its NMK/NID to the EV that asks
 * for the match. On CP A/E/F or link loss it resets with a new key, so a departed EV leaves the AVLN.
 */
import { and, assign, emit, enqueueActions, setup } from 'xstate';
import { BROADCAST_MAC } from '../protocols/slac/frame.ts';
import type { SlacFrame, SlacMessage, SlacMessageOf } from '../protocols/slac/messages.ts';
import {
  AAG_GROUPS, attenCharInd, linkStatusReq, setKeyReq, slacMatchCnf, slacParmCnf, validateCnfNotRequired,
} from '../protocols/slac/build.ts';
import {
  PLUGGED, RESET_TRANSITIONS, SLAC_LINK_GUARDS, due, earliest, failureEvents, keyConfirmedStep, keyStates, resetEvents, slacTimers, type Matched, type PilotState, type SlacEmitted, type SlacInputEvent, type SlacLinkContext, type SlacTimers,
} from './slac-common.ts';

export type EvseSessionPhase = 'waitStartAtten' | 'sounding' | 'waitAttenRsp' | 'waitMatch';

export interface EvseSession {
  readonly evMac: string;
  readonly runId: string;
  readonly phase: EvseSessionPhase;
  /** When the current phase times out (absolute ms). */
  readonly deadline: number;
  readonly sounds: number;
  readonly profiles: number;
  /** Sum of the AAG values per group over the profiles received. */
  readonly aagSum: readonly number[];
  /** Resends of CM_ATTEN_CHAR.IND so far. */
  readonly retries: number;
  readonly aag?: readonly number[];
}

export interface EvseContext extends SlacLinkContext {
  readonly evseMac: string;
  /** EVerest keeps 4; a row of chargers with cross-talk hears more. */
  readonly maxSessions: number;
  readonly key?: { readonly nmk: string; readonly nid: string };
  readonly slacInitDeadline?: number;
  readonly efDeadline?: number;
  readonly efToggles: number;
  readonly sessions: Readonly<Record<string, EvseSession>>;
}

export interface EvseInput {
  readonly evseMac: string;
  readonly timers?: Partial<SlacTimers>;
  readonly maxSessions?: number;
}

const sessionKey = (evMac: string, runId: string) => `${evMac}/${runId}`;

/** The next time the runtime must send a `tick` (absolute ms), or undefined. */
export function evseNextDeadline(context: EvseContext): number | undefined {
  return earliest(context.modemDeadline, context.slacInitDeadline, context.efDeadline, context.joinDeadline, context.pollDeadline,
    ...Object.values(context.sessions).map((s) => s.deadline));
}

type Emit = (event: SlacEmitted) => void;
const send = (emitted: Emit, destination: string, message: SlacMessage) => emitted({ type: 'transmit', destination, message });

function finishSounding(session: EvseSession, now: number, timers: SlacTimers, out: Emit): EvseSession {
  const aag = session.aagSum.map((sum) => Math.round(sum / Math.max(1, session.profiles)));
  send(out, session.evMac, attenCharInd(session.evMac, session.runId, session.profiles, aag));
  out({ type: 'step', text: `ATTEN_CHAR.IND → ${session.evMac} (${session.profiles} profiles, ${session.sounds} sounds)` });
  return { ...session, phase: 'waitAttenRsp', deadline: now + timers.TT_match_response, retries: 0, aag };
}

/** One frame in state `matching`: the per-session sub-states of link-layer.md §1.5. */
function onMatchingFrame(context: EvseContext, frame: SlacFrame, now: number, out: Emit): Partial<EvseContext> {
  const { timers } = context;
  const m = frame.message;
  const sessions = { ...context.sessions };
  const find = (evMac: string, runId: string) => sessions[sessionKey(evMac, runId)];
  switch (m.type) {
    case 'CM_SLAC_PARM.REQ': {
      const key = sessionKey(frame.source, m.runId);
      // A repeated PARM.REQ restarts its session ([V2G3-A09-16]); a new one is refused when full.
      if (!sessions[key] && Object.keys(sessions).length >= context.maxSessions) {
        out({ type: 'step', text: `PARM.REQ from ${frame.source} ignored: ${context.maxSessions} sessions already` });
        return {};
      }
      sessions[key] = { evMac: frame.source, runId: m.runId, phase: 'waitStartAtten', deadline: now + timers.TT_match_sequence, sounds: 0, profiles: 0, aagSum: new Array(AAG_GROUPS).fill(0), retries: 0 };
      send(out, frame.source, slacParmCnf(frame.source, m.runId));
      out({ type: 'step', text: `PARM.REQ from ${frame.source} run ${m.runId} → PARM.CNF` });
      return { sessions, slacInitDeadline: undefined };
    }
    case 'CM_START_ATTEN_CHAR.IND': {
      const s = find(m.forwardingSta, m.runId);
      if (!s || s.phase !== 'waitStartAtten') return {};
      sessions[sessionKey(s.evMac, s.runId)] = { ...s, phase: 'sounding', deadline: now + timers.TT_EVSE_match_MNBC };
      out({ type: 'step', text: `START_ATTEN_CHAR.IND from ${s.evMac}: sounding` });
      return { sessions };
    }
    case 'CM_MNBC_SOUND.IND': {
      const s = find(frame.source, m.runId);
      if (!s || s.phase !== 'sounding') return {};
      sessions[sessionKey(s.evMac, s.runId)] = { ...s, sounds: s.sounds + 1 };
      return { sessions };
    }
    case 'CM_ATTEN_PROFILE.IND': {
      // No RunID in a profile: it belongs to the sounding session of that EV MAC (EVerest does the same).
      const s = Object.values(sessions).find((x) => x.evMac === m.pevMac && x.phase === 'sounding');
      if (!s || m.aag.length !== AAG_GROUPS) return {};
      let next: EvseSession = { ...s, profiles: s.profiles + 1, aagSum: s.aagSum.map((sum, i) => sum + m.aag[i]) };
      // Finish early once every expected sound has its profile.
      if (next.profiles >= timers.C_EV_match_MNBC) next = finishSounding(next, now, timers, out);
      sessions[sessionKey(s.evMac, s.runId)] = next;
      return { sessions };
    }
    case 'CM_ATTEN_CHAR.RSP': {
      const s = find(frame.source, m.runId);
      if (!s || s.phase !== 'waitAttenRsp') return {};
      sessions[sessionKey(s.evMac, s.runId)] = { ...s, phase: 'waitMatch', deadline: now + timers.TT_EVSE_match_session };
      out({ type: 'step', text: `ATTEN_CHAR.RSP from ${s.evMac}: waiting for SLAC_MATCH.REQ` });
      return { sessions };
    }
    case 'CM_VALIDATE.REQ': {
      // The optional BCB-toggle validation is not offered; the EV proceeds with SLAC_MATCH.
      if (Object.values(sessions).some((x) => x.evMac === frame.source && x.phase === 'waitMatch')) send(out, frame.source, validateCnfNotRequired());
      return {};
    }
    case 'CM_SLAC_MATCH.REQ': {
      const s = find(m.pevMac, m.runId);
      if (!s || s.phase !== 'waitMatch' || m.evseMac !== context.evseMac || frame.source !== m.pevMac || !context.key) return {};
      return matchNow(context, s.evMac, s.runId, now, out);
    }
    default:
      return {};
  }
}

function matchNow(context: EvseContext, evMac: string, runId: string, now: number, out: Emit): Partial<EvseContext> {
  const key = context.key!;
  send(out, evMac, slacMatchCnf(evMac, context.evseMac, runId, key.nid, key.nmk));
  const matched: Matched = { evMac, evseMac: context.evseMac, runId, nid: key.nid, nmk: key.nmk };
  out({ type: 'step', text: `SLAC_MATCH.REQ from ${evMac} → SLAC_MATCH.CNF (NID ${key.nid}): matched` });
  out({ type: 'matched', matched });
  return { matched, sessions: {}, linkUp: false, joinDeadline: now + context.timers.TT_match_join, pollDeadline: now + context.timers.TP_link_poll };
}

/** Timeouts of the parallel sessions; a session that runs out of retries is dropped alone. */
function onMatchingTick(context: EvseContext, now: number, out: Emit): Partial<EvseContext> {
  const { timers } = context;
  const sessions: Record<string, EvseSession> = {};
  for (const [key, s] of Object.entries(context.sessions)) {
    if (!due(s.deadline, now)) { sessions[key] = s; continue; }
    if (s.phase === 'sounding') {
      if (s.profiles === 0) { out({ type: 'step', text: `no attenuation profile from ${s.evMac} within TT_EVSE_match_MNBC: session dropped` }); continue; }
      sessions[key] = finishSounding(s, now, timers, out);
    } else if (s.phase === 'waitAttenRsp' && s.retries < timers.C_EV_match_retry) {
      send(out, s.evMac, attenCharInd(s.evMac, s.runId, s.profiles, [...(s.aag ?? [])]));
      out({ type: 'step', text: `no ATTEN_CHAR.RSP from ${s.evMac}: ATTEN_CHAR.IND resent (${s.retries + 1}/${timers.C_EV_match_retry})` });
      sessions[key] = { ...s, retries: s.retries + 1, deadline: now + timers.TT_match_response };
    } else {
      out({ type: 'step', text: `session ${s.evMac}/${s.runId} timed out in ${s.phase}: dropped` });
    }
  }
  // With every session gone, wait for the EV's next attempt again.
  const idleAgain = Object.keys(sessions).length === 0 && Object.keys(context.sessions).length > 0;
  return { sessions, ...(idleAgain ? { slacInitDeadline: now + timers.TT_EVSE_SLAC_init } : {}) };
}

const CLEARED: Partial<EvseContext> = {
  key: undefined, modemDeadline: undefined, slacInitDeadline: undefined, efDeadline: undefined, sessions: {},
  matched: undefined, linkUp: false, joinDeadline: undefined, pollDeadline: undefined, modemAttempts: 0,
};

export const slacEvseMachine = setup({
  types: {
    context: {} as EvseContext,
    input: {} as EvseInput,
    events: {} as SlacInputEvent,
    emitted: {} as SlacEmitted,
  },
  guards: {
    plugged: ({ context }) => PLUGGED.has(context.pilot),
    unplugged: ({ event }) => event.type === 'pilot' && !PLUGGED.has(event.state),
    ...SLAC_LINK_GUARDS,
    keyConfirmed: ({ event }) => event.type === 'frame' && event.frame.message.type === 'CM_SET_KEY.CNF',
    slacInitDue: ({ context, event }) => event.type === 'tick' && due(context.slacInitDeadline, event.now),
    efTogglesLeft: ({ context }) => context.efToggles < context.timers.C_sequ_retry,
    efDue: ({ context, event }) => event.type === 'tick' && due(context.efDeadline, event.now),
    joinDue: ({ context, event }) => event.type === 'tick' && !context.linkUp && due(context.joinDeadline, event.now),
    linkDownReported: ({ context, event }) =>
      event.type === 'frame' && event.frame.message.type === 'VS_PL_LINK_STATUS.CNF' && context.linkUp && event.frame.message.linkStatus === 0,
  },
  actions: {
    recordPilot: assign({ pilot: ({ context, event }) => (event.type === 'pilot' ? event.state : context.pilot) }),
    clear: assign(() => CLEARED),
    askEntropy: emit({ type: 'needEntropy' } as const),
    takeEntropy: assign(({ context, event }) => (event.type === 'entropy' ? { key: { nmk: event.nmk, nid: event.nid } } : { key: context.key })),
    sendSetKey: enqueueActions(({ context, event, enqueue }) => {
      const key = context.key!;
      enqueue.assign({ modemAttempts: context.modemAttempts + 1, modemDeadline: event.now + context.timers.TT_modem_confirm });
      enqueue.emit({ type: 'transmit', destination: BROADCAST_MAC, message: setKeyReq(key.nid, key.nmk) });
      enqueue.emit({ type: 'step', text: `CM_SET_KEY.REQ (NID ${key.nid}) to the local modem${context.modemAttempts ? ` (resend ${context.modemAttempts})` : ''}` });
    }),
    noteKeyConfirmed: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'frame' || event.frame.message.type !== 'CM_SET_KEY.CNF') return;
      enqueue.emit(keyConfirmedStep(event.frame.message.result));
      enqueue.assign({ modemDeadline: undefined, modemAttempts: 0 });
    }),
    armSlacInit: assign({ slacInitDeadline: ({ context, event }) => event.now + context.timers.TT_EVSE_SLAC_init }),
    handleFrame: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'frame') return;
      const emitted: SlacEmitted[] = [];
      enqueue.assign(onMatchingFrame(context, event.frame, event.now, (e) => emitted.push(e)));
      for (const e of emitted) enqueue.emit(e);
    }),
    handleTick: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'tick') return;
      const emitted: SlacEmitted[] = [];
      enqueue.assign(onMatchingTick(context, event.now, (e) => emitted.push(e)));
      for (const e of emitted) enqueue.emit(e);
    }),
    startEfToggle: enqueueActions(({ context, event, enqueue }) => {
      enqueue.assign({ efToggles: context.efToggles + 1, efDeadline: event.now + context.timers.T_step_EF, slacInitDeadline: undefined, sessions: {} });
      enqueue.emit({ type: 'pilotRequest', state: 'F' });
      enqueue.emit({ type: 'step', text: `no CM_SLAC_PARM.REQ within TT_EVSE_SLAC_init: CP state F for T_step_EF (${context.efToggles + 1}/${context.timers.C_sequ_retry})` });
    }),
    endEfToggle: enqueueActions(({ enqueue }) => {
      enqueue.assign({ efDeadline: undefined });
      enqueue.emit({ type: 'pilotRequest', state: 'B' });
    }),
    answerRepeatedMatch: enqueueActions(({ context, event, enqueue }) => {
      // A lost MATCH.CNF: the EV repeats its MATCH.REQ (C_EV_match_retry) and gets the same answer.
      if (event.type !== 'frame' || !context.matched) return;
      const m = event.frame.message;
      if (m.type !== 'CM_SLAC_MATCH.REQ' || m.pevMac !== context.matched.evMac || m.runId !== context.matched.runId) return;
      const { evMac, evseMac, runId, nid, nmk } = context.matched;
      enqueue.emit({ type: 'transmit', destination: evMac, message: slacMatchCnf(evMac, evseMac, runId, nid, nmk) });
      enqueue.emit({ type: 'step', text: `repeated SLAC_MATCH.REQ from ${evMac}: SLAC_MATCH.CNF resent` });
    }),
    pollLink: enqueueActions(({ context, event, enqueue }) => {
      enqueue.assign({ pollDeadline: event.now + context.timers.TP_link_poll });
      enqueue.emit({ type: 'transmit', destination: BROADCAST_MAC, message: linkStatusReq() });
    }),
    noteLinkStatus: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'frame' || event.frame.message.type !== 'VS_PL_LINK_STATUS.CNF' || !context.matched) return;
      if (event.frame.message.linkStatus === 1 && !context.linkUp) {
        enqueue.assign({ linkUp: true, joinDeadline: undefined });
        enqueue.emit({ type: 'linkUp', matched: context.matched });
        enqueue.emit({ type: 'step', text: 'link up: the EV joined the AVLN' });
      }
    }),
    fail: enqueueActions(({ enqueue }, params: { code: 'ModemUnresponsive' | 'SlacMatchFailed'; message: string }) => {
      enqueue.assign({ failure: { code: params.code, message: params.message }, modemDeadline: undefined, slacInitDeadline: undefined, efDeadline: undefined, sessions: {} });
      for (const e of failureEvents(params.code, params.message)) enqueue.emit(e);
    }),
    reportLinkDown: enqueueActions(({ context, enqueue }, params: { reason: string }) => {
      for (const e of resetEvents(context.matched !== undefined, params.reason)) enqueue.emit(e);
    }),
  },
}).createMachine({
  id: 'slacEvse',
  context: ({ input }) => ({
    evseMac: input.evseMac,
    timers: slacTimers(input.timers),
    maxSessions: input.maxSessions ?? 8,
    pilot: 'A',
    modemAttempts: 0,
    efToggles: 0,
    sessions: {},
    linkUp: false,
  }),
  initial: 'resetting',
  on: RESET_TRANSITIONS,
  states: {
    ...keyStates('idle'),
    idle: {
      tags: ['waiting'],
      always: { guard: 'plugged', target: 'matching' },
    },
    matching: {
      tags: ['matching'],
      entry: 'armSlacInit',
      on: {
        frame: [
          { guard: ({ context, event }) => event.frame.message.type === 'CM_SLAC_MATCH.REQ' && onMatchingFrameMatches(context, event.frame), target: 'matched', actions: 'handleFrame' },
          { actions: 'handleFrame' },
        ],
        tick: [
          { guard: and(['slacInitDue', 'efTogglesLeft']), target: 'efToggle' },
          { guard: 'slacInitDue', target: 'failed', actions: { type: 'fail', params: { code: 'SlacMatchFailed', message: 'no CM_SLAC_PARM.REQ after C_sequ_retry E/F toggles' } } },
          { actions: 'handleTick' },
        ],
      },
    },
    efToggle: {
      tags: ['matching'],
      entry: 'startEfToggle',
      on: {
        // Our own E/F shows on the pilot; only A (unplugged) resets.
        pilot: [{ guard: ({ event }) => event.state === 'A', target: 'resetting', actions: 'recordPilot' }, { actions: 'recordPilot' }],
        tick: { guard: 'efDue', target: 'matching', actions: 'endEfToggle' },
      },
    },
    matched: {
      tags: ['matched'],
      on: {
        frame: [
          { guard: 'linkDownReported', target: 'resetting', actions: { type: 'reportLinkDown', params: { reason: 'the modem reports the link down' } } },
          { actions: ['answerRepeatedMatch', 'noteLinkStatus'] },
        ],
        tick: [
          { guard: 'joinDue', target: 'resetting', actions: { type: 'reportLinkDown', params: { reason: 'the EV did not join within TT_match_join' } } },
          { guard: 'pollDue', actions: 'pollLink' },
        ],
      },
    },
    modemFailed: { tags: ['failed'] },
    failed: { tags: ['failed'] },
  },
});

/** True if this MATCH.REQ completes a session in `waitMatch` (the transition to `matched`). */
function onMatchingFrameMatches(context: EvseContext, frame: SlacFrame): boolean {
  const m = frame.message as SlacMessageOf<'CM_SLAC_MATCH.REQ'>;
  const s = context.sessions[sessionKey(m.pevMac, m.runId)];
  return !!s && s.phase === 'waitMatch' && m.evseMac === context.evseMac && frame.source === m.pevMac && !!context.key;
}
