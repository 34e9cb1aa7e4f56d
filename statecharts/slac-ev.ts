/**
 * SLAC on the vehicle side (ISO 15118-3 Annex A; link-layer.md §1.6): on 5 % PWM it broadcasts
 * CM_SLAC_PARM.REQ, sounds (3 × START_ATTEN_CHAR, 10 × MNBC_SOUND), collects the chargers'
 * CM_ATTEN_CHAR.IND until TT_EV_atten_results, picks the lowest average attenuation under
 * ATTEN_LIMIT_DB, asks that charger for the match, installs its NMK/NID in the own modem and waits
 * for the link. Failed attempts restart after TT_matching_rate, at most C_conn_max_match times within
 * TT_matching_repetition. CP A/E/F or link loss reset with a fresh random key (leave any AVLN).
 */
import { and, assign, emit, enqueueActions, setup } from 'xstate';
import { BROADCAST_MAC } from '../protocols/slac/frame.ts';
import type { SlacFrame } from '../protocols/slac/messages.ts';
import {
  AAG_GROUPS, APPLICATION_TYPE_PEV_EVSE, SECURITY_TYPE_NONE, attenCharRsp, averageAttenuation, linkStatusReq, mnbcSoundInd, setKeyReq,
  slacMatchReq, slacParmReq, startAttenCharInd,
} from '../protocols/slac/build.ts';
import {
  PLUGGED, RESET_TRANSITIONS, SLAC_LINK_GUARDS, due, earliest, failureEvents, keyConfirmedStep, keyStates, resetEvents, slacTimers, type Matched, type PilotState, type SlacEmitted, type SlacInputEvent, type SlacLinkContext, type SlacTimers,
} from './slac-common.ts';

export interface EvseHeard {
  /** Average attenuation (dB) of its CM_ATTEN_CHAR.IND, once received. */
  readonly attenuation?: number;
}

export interface EvContext extends SlacLinkContext {
  readonly evMac: string;
  readonly pwm5: boolean;
  readonly runId: string;
  readonly ownKey?: { readonly nmk: string; readonly nid: string };
  readonly attempt: number;
  readonly repetitionDeadline?: number;
  readonly responseDeadline?: number;
  readonly retries: number;
  readonly evses: Readonly<Record<string, EvseHeard>>;
  readonly chosen?: string;
  readonly batchSent: number;
  readonly batchDeadline?: number;
  readonly resultsDeadline?: number;
  readonly pauseDeadline?: number;
}

export interface EvInput {
  readonly evMac: string;
  readonly timers?: Partial<SlacTimers>;
}

export function evNextDeadline(c: EvContext): number | undefined {
  return earliest(c.modemDeadline, c.responseDeadline, c.batchDeadline, c.resultsDeadline, c.pauseDeadline, c.joinDeadline, c.pollDeadline);
}

/** 16 bytes for an M-Sound's RND field: the RunID and the count, enough to make each sound distinct. */
const soundRandom = (runId: string, remaining: number) => (runId + remaining.toString(16).padStart(2, '0')).padEnd(32, '5a');

/**
 * The EVSE with the lowest average attenuation at or under the limit ([V2G3-A09-35/36] filters in
 * `validAttenChar`; SOURCE_ID/RESP_ID are not required to be zero: Debian's `evse` puts its station id there).
 */
export function chooseEvse(evses: Readonly<Record<string, EvseHeard>>, limitDb: number): string | undefined {
  let best: string | undefined;
  let bestDb = Infinity;
  for (const [mac, heard] of Object.entries(evses)) {
    if (heard.attenuation === undefined || heard.attenuation > limitDb) continue;
    if (heard.attenuation < bestDb) { best = mac; bestDb = heard.attenuation; }
  }
  return best;
}

function validAttenChar(context: EvContext, frame: SlacFrame): boolean {
  const m = frame.message;
  return m.type === 'CM_ATTEN_CHAR.IND' && m.applicationType === APPLICATION_TYPE_PEV_EVSE && m.securityType === SECURITY_TYPE_NONE &&
    m.sourceAddress === context.evMac && m.runId === context.runId &&
    m.numSounds > 0 && m.aag.length === AAG_GROUPS;
}

const isParmCnf = (c: EvContext, f: SlacFrame) => f.message.type === 'CM_SLAC_PARM.CNF' && f.message.runId === c.runId && f.message.forwardingSta === c.evMac;
const isMatchCnf = (c: EvContext, f: SlacFrame) =>
  f.message.type === 'CM_SLAC_MATCH.CNF' && f.source === c.chosen && f.message.runId === c.runId && f.message.pevMac === c.evMac && f.message.evseMac === c.chosen;
const linkStatus = (f: SlacFrame) => (f.message.type === 'VS_PL_LINK_STATUS.CNF' ? f.message.linkStatus : undefined);

const RESET: Partial<EvContext> = {
  modemDeadline: undefined, modemAttempts: 0, attempt: 0, repetitionDeadline: undefined, responseDeadline: undefined, retries: 0, evses: {},
  chosen: undefined, batchSent: 0, batchDeadline: undefined, resultsDeadline: undefined, pauseDeadline: undefined, matched: undefined,
  linkUp: false, joinDeadline: undefined, pollDeadline: undefined,
};

export const slacEvMachine = setup({
  types: {
    context: {} as EvContext,
    input: {} as EvInput,
    events: {} as SlacInputEvent,
    emitted: {} as SlacEmitted,
  },
  guards: {
    ready: ({ context }) => PLUGGED.has(context.pilot) && context.pwm5,
    unplugged: ({ event }) => event.type === 'pilot' && !PLUGGED.has(event.state),
    ...SLAC_LINK_GUARDS,
    keyConfirmed: ({ event }) => event.type === 'frame' && event.frame.message.type === 'CM_SET_KEY.CNF',
    responseDue: ({ context, event }) => event.type === 'tick' && due(context.responseDeadline, event.now),
    retriesLeft: ({ context }) => context.retries < context.timers.C_EV_match_retry,
    parmCnf: ({ context, event }) => event.type === 'frame' && isParmCnf(context, event.frame),
    attenChar: ({ context, event }) => event.type === 'frame' && validAttenChar(context, event.frame),
    batchDue: ({ context, event }) => event.type === 'tick' && due(context.batchDeadline, event.now),
    resultsDue: ({ context, event }) => event.type === 'tick' && due(context.resultsDeadline, event.now),
    someoneChosen: ({ context }) => chooseEvse(context.evses, context.timers.ATTEN_LIMIT_DB) !== undefined,
    matchCnf: ({ context, event }) => event.type === 'frame' && isMatchCnf(context, event.frame),
    linkReportedUp: ({ event }) => event.type === 'frame' && linkStatus(event.frame) === 1,
    linkReportedDown: ({ event }) => event.type === 'frame' && linkStatus(event.frame) === 0,
    joinDue: ({ context, event }) => event.type === 'tick' && due(context.joinDeadline, event.now),
    pauseDue: ({ context, event }) => event.type === 'tick' && due(context.pauseDeadline, event.now),
    attemptsLeft: ({ context, event }) =>
      context.attempt < context.timers.C_conn_max_match && context.repetitionDeadline !== undefined && event.now < context.repetitionDeadline,
  },
  actions: {
    recordPilot: assign(({ context, event }) => (event.type === 'pilot' ? { pilot: event.state, pwm5: event.pwm5 } : { pilot: context.pilot })),
    clear: assign(() => RESET),
    askEntropy: emit({ type: 'needEntropy' } as const),
    takeEntropy: assign(({ context, event }) => (event.type === 'entropy' ? { runId: event.runId, ownKey: { nmk: event.nmk, nid: event.nid } } : { runId: context.runId })),
    sendSetKey: enqueueActions(({ context, event, enqueue }) => {
      const key = context.ownKey!;
      enqueue.assign({ modemAttempts: context.modemAttempts + 1, modemDeadline: event.now + context.timers.TT_modem_confirm });
      // A random key of our own: leave whatever AVLN the modem was in (link-layer.md §1.6 step 1).
      enqueue.emit({ type: 'transmit', destination: BROADCAST_MAC, message: setKeyReq(key.nid, key.nmk) });
      enqueue.emit({ type: 'step', text: `CM_SET_KEY.REQ (own random NID ${key.nid})${context.modemAttempts ? ` resend ${context.modemAttempts}` : ''}` });
    }),
    noteKeyConfirmed: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'frame' || event.frame.message.type !== 'CM_SET_KEY.CNF') return;
      enqueue.emit(keyConfirmedStep(event.frame.message.result));
      enqueue.assign({ modemDeadline: undefined, modemAttempts: 0 });
    }),
    startMatching: assign(({ event, context }) => ({ attempt: 1, repetitionDeadline: event.now + context.timers.TT_matching_repetition })),
    sendParm: enqueueActions(({ context, event, enqueue }, params: { resend: boolean }) => {
      enqueue.assign({
        responseDeadline: event.now + context.timers.TT_match_response,
        retries: params.resend ? context.retries + 1 : 0,
        ...(params.resend ? {} : { evses: {}, chosen: undefined }),
      });
      enqueue.emit({ type: 'transmit', destination: BROADCAST_MAC, message: slacParmReq(context.runId) });
      enqueue.emit({ type: 'step', text: `CM_SLAC_PARM.REQ run ${context.runId} (attempt ${context.attempt}${params.resend ? `, resend ${context.retries + 1}` : ''})` });
    }),
    recordEvse: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'frame' || context.evses[event.frame.source]) return;
      enqueue.assign({ evses: { ...context.evses, [event.frame.source]: {} } });
      enqueue.emit({ type: 'step', text: `CM_SLAC_PARM.CNF from ${event.frame.source}` });
    }),
    startSounding: enqueueActions(({ context, event, enqueue }) => {
      enqueue.assign({ responseDeadline: undefined, batchSent: 1, batchDeadline: event.now + context.timers.TP_EV_batch_msg_interval, resultsDeadline: event.now + context.timers.TT_EV_atten_results });
      enqueue.emit({ type: 'transmit', destination: BROADCAST_MAC, message: startAttenCharInd(context.evMac, context.runId) });
      enqueue.emit({ type: 'step', text: 'sounding: START_ATTEN_CHAR.IND ×3, MNBC_SOUND.IND ×10' });
    }),
    sendBatch: enqueueActions(({ context, event, enqueue }) => {
      const { C_EV_start_atten_char_inds: starts, C_EV_match_MNBC: sounds, TP_EV_batch_msg_interval: interval } = context.timers;
      const n = context.batchSent;
      const message = n < starts ? startAttenCharInd(context.evMac, context.runId) : mnbcSoundInd(context.runId, starts + sounds - 1 - n, soundRandom(context.runId, starts + sounds - 1 - n));
      enqueue.emit({ type: 'transmit', destination: BROADCAST_MAC, message });
      enqueue.assign({ batchSent: n + 1, batchDeadline: n + 1 < starts + sounds ? event.now + interval : undefined });
    }),
    answerAttenChar: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'frame' || event.frame.message.type !== 'CM_ATTEN_CHAR.IND') return;
      const evse = event.frame.source;
      const attenuation = averageAttenuation(event.frame.message.aag);
      // Each IND is acknowledged; the choice waits for TT_EV_atten_results.
      enqueue.emit({ type: 'transmit', destination: evse, message: attenCharRsp(context.evMac, context.runId) });
      enqueue.assign({ evses: { ...context.evses, [evse]: { attenuation } } });
      enqueue.emit({ type: 'step', text: `ATTEN_CHAR.IND from ${evse}: ${attenuation.toFixed(1)} dB over ${event.frame.message.numSounds} sounds → ATTEN_CHAR.RSP` });
    }),
    choose: enqueueActions(({ context, enqueue }) => {
      const chosen = chooseEvse(context.evses, context.timers.ATTEN_LIMIT_DB)!;
      enqueue.assign({ chosen, resultsDeadline: undefined, batchDeadline: undefined });
      enqueue.emit({ type: 'step', text: `chose ${chosen} (${context.evses[chosen].attenuation!.toFixed(1)} dB of ${Object.keys(context.evses).length} heard)` });
    }),
    sendMatchReq: enqueueActions(({ context, event, enqueue }, params: { resend: boolean }) => {
      enqueue.assign({ responseDeadline: event.now + context.timers.TT_match_response, retries: params.resend ? context.retries + 1 : 0 });
      enqueue.emit({ type: 'transmit', destination: context.chosen!, message: slacMatchReq(context.evMac, context.chosen!, context.runId) });
      enqueue.emit({ type: 'step', text: `CM_SLAC_MATCH.REQ → ${context.chosen}${params.resend ? ` (resend ${context.retries + 1})` : ''}` });
    }),
    join: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'frame' || event.frame.message.type !== 'CM_SLAC_MATCH.CNF') return;
      const { nid, nmk } = event.frame.message;
      const matched: Matched = { evMac: context.evMac, evseMac: context.chosen!, runId: context.runId, nid, nmk };
      enqueue.assign({ matched, responseDeadline: undefined, joinDeadline: event.now + context.timers.TT_match_join, pollDeadline: event.now + context.timers.TP_link_poll });
      enqueue.emit({ type: 'transmit', destination: BROADCAST_MAC, message: setKeyReq(nid, nmk) });
      enqueue.emit({ type: 'matched', matched });
      enqueue.emit({ type: 'step', text: `CM_SLAC_MATCH.CNF: NID ${nid}; CM_SET_KEY.REQ, joining` });
    }),
    pollLink: enqueueActions(({ context, event, enqueue }) => {
      enqueue.assign({ pollDeadline: event.now + context.timers.TP_link_poll });
      enqueue.emit({ type: 'transmit', destination: BROADCAST_MAC, message: linkStatusReq() });
    }),
    linkUp: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ linkUp: true, joinDeadline: undefined });
      enqueue.emit({ type: 'linkUp', matched: context.matched! });
      enqueue.emit({ type: 'step', text: 'link up: joined the charger\'s AVLN' });
    }),
    noteAttemptFailed: enqueueActions(({ context, enqueue }, params: { why: string }) => {
      enqueue.assign({ responseDeadline: undefined, batchDeadline: undefined, resultsDeadline: undefined, joinDeadline: undefined, pollDeadline: undefined, matched: undefined });
      enqueue.emit({ type: 'step', text: `attempt ${context.attempt} failed: ${params.why}` });
    }),
    pause: enqueueActions(({ context, event, enqueue }) => {
      enqueue.assign({ pauseDeadline: event.now + context.timers.TT_matching_rate });
      enqueue.emit({ type: 'needEntropy' });
    }),
    nextAttempt: assign(({ context }) => ({ attempt: context.attempt + 1, pauseDeadline: undefined })),
    fail: enqueueActions(({ enqueue }, params: { code: 'ModemUnresponsive' | 'SlacMatchFailed'; message: string }) => {
      enqueue.assign({ failure: { code: params.code, message: params.message }, modemDeadline: undefined });
      for (const e of failureEvents(params.code, params.message)) enqueue.emit(e);
    }),
    reportLinkDown: enqueueActions(({ context, enqueue }, params: { reason: string }) => {
      for (const e of resetEvents(context.matched !== undefined, params.reason)) enqueue.emit(e);
    }),
  },
}).createMachine({
  id: 'slacEv',
  context: ({ input }) => ({ evMac: input.evMac, timers: slacTimers(input.timers), pilot: 'A', pwm5: false, runId: '00'.repeat(8), modemAttempts: 0, attempt: 0, retries: 0, evses: {}, batchSent: 0, linkUp: false }),
  initial: 'resetting',
  on: RESET_TRANSITIONS,
  states: {
    ...keyStates('waitPilot'),
    waitPilot: {
      tags: ['waiting'],
      always: { guard: 'ready', target: 'parm', actions: 'startMatching' },
    },
    parm: {
      tags: ['matching'],
      entry: { type: 'sendParm', params: { resend: false } },
      on: {
        frame: { guard: 'parmCnf', target: 'sounding', actions: 'recordEvse' },
        tick: [
          { guard: and(['responseDue', 'retriesLeft']), actions: { type: 'sendParm', params: { resend: true } } },
          { guard: 'responseDue', target: 'attemptFailed', actions: { type: 'noteAttemptFailed', params: { why: 'no CM_SLAC_PARM.CNF' } } },
        ],
      },
    },
    sounding: {
      tags: ['matching'],
      entry: 'startSounding',
      on: {
        frame: [
          { guard: 'parmCnf', actions: 'recordEvse' },
          { guard: 'attenChar', actions: 'answerAttenChar' },
        ],
        tick: [
          { guard: and(['resultsDue', 'someoneChosen']), target: 'matchRequest', actions: 'choose' },
          { guard: 'resultsDue', target: 'attemptFailed', actions: { type: 'noteAttemptFailed', params: { why: 'no charger under the attenuation limit' } } },
          { guard: 'batchDue', actions: 'sendBatch' },
        ],
      },
    },
    matchRequest: {
      tags: ['matching'],
      entry: { type: 'sendMatchReq', params: { resend: false } },
      on: {
        frame: [
          { guard: 'matchCnf', target: 'joining', actions: 'join' },
          // Late INDs of the same run still get their acknowledgement.
          { guard: 'attenChar', actions: 'answerAttenChar' },
        ],
        tick: [
          { guard: and(['responseDue', 'retriesLeft']), actions: { type: 'sendMatchReq', params: { resend: true } } },
          { guard: 'responseDue', target: 'attemptFailed', actions: { type: 'noteAttemptFailed', params: { why: 'no CM_SLAC_MATCH.CNF' } } },
        ],
      },
    },
    joining: {
      tags: ['matching'],
      on: {
        frame: [
          { guard: 'linkReportedUp', target: 'matched', actions: 'linkUp' },
          { guard: 'keyConfirmed', actions: 'noteKeyConfirmed' },
        ],
        tick: [
          { guard: 'joinDue', target: 'attemptFailed', actions: { type: 'noteAttemptFailed', params: { why: 'no link within TT_match_join' } } },
          { guard: 'pollDue', actions: 'pollLink' },
        ],
      },
    },
    matched: {
      tags: ['matched'],
      on: {
        frame: { guard: 'linkReportedDown', target: 'resetting', actions: { type: 'reportLinkDown', params: { reason: 'the modem reports the link down' } } },
        tick: { guard: 'pollDue', actions: 'pollLink' },
      },
    },
    attemptFailed: {
      always: [
        { guard: 'attemptsLeft', target: 'pause' },
        { target: 'failed', actions: { type: 'fail', params: { code: 'SlacMatchFailed', message: 'no match within C_conn_max_match attempts / TT_matching_repetition' } } },
      ],
    },
    pause: {
      tags: ['matching'],
      entry: 'pause',
      on: {
        entropy: { actions: 'takeEntropy' },
        tick: { guard: 'pauseDue', target: 'parm', actions: 'nextAttempt' },
      },
    },
    modemFailed: { tags: ['failed'] },
    failed: { tags: ['failed'] },
  },
});
