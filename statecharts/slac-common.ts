/**
 * What the two SLAC machines (slac-evse.ts, slac-ev.ts) share: the ISO 15118-3 Table A.1 timers and
 * counters (link-layer.md §1.4) as named, overridable constants, the control-pilot input, and the
 * events they take and emit. Pure: time arrives as `now` (epoch ms) on every event, randomness as an
 * `entropy` event the runtime answers to `needEntropy`; deadlines are absolute times in context.
 */
import { and } from 'xstate';
import type { SlacFrame, SlacMessage } from '../protocols/slac/messages.ts';

export const SLAC_TIMERS = {
  /** EVSE: CP state B with 5 % PWM until the first CM_SLAC_PARM.REQ (20–50 s; EVerest 40 s). */
  TT_EVSE_SLAC_init: 40_000,
  /** Wait for the next request of the sequence (START_ATTEN_CHAR after PARM.CNF). */
  TT_match_sequence: 400,
  /** Wait for a response (PARM.CNF, ATTEN_CHAR.RSP, MATCH.CNF) before retrying. */
  TT_match_response: 200,
  /** Retries of a REQ/IND message. */
  C_EV_match_retry: 2,
  /** CM_START_ATTEN_CHAR.IND repetitions. */
  C_EV_start_atten_char_inds: 3,
  /** M-Sounds per matching. */
  C_EV_match_MNBC: 10,
  /** Spacing of START_ATTEN_CHAR / MNBC_SOUND frames (20–50 ms; EVerest 40 ms). */
  TP_EV_batch_msg_interval: 40,
  /** EVSE sounding window, then CM_ATTEN_CHAR.IND with what was collected (TIME_OUT = 6). */
  TT_EVSE_match_MNBC: 600,
  /** EV: from the start of sounding, collect CM_ATTEN_CHAR.IND, then choose. */
  TT_EV_atten_results: 1200,
  /** EVSE: ATTEN_CHAR.RSP → SLAC_MATCH.REQ. */
  TT_EVSE_match_session: 10_000,
  /** After MATCH.CNF + SET_KEY: time to join the AVLN (≤ 12 s). */
  TT_match_join: 12_000,
  /** Total window for retrying a failed matching. */
  TT_matching_repetition: 10_000,
  /** Pause before restarting a failed matching. */
  TT_matching_rate: 400,
  /** Matching attempts (≥ 3). */
  C_conn_max_match: 3,
  /** EVSE: E/F toggles when no SLAC arrives. */
  C_sequ_retry: 2,
  /** Time in CP state E/F when restarting (≥ 4 s, [V2G3-M06-07]). */
  T_step_EF: 4000,
  /** Not in Table A.1: how long the host waits for its modem's CM_SET_KEY.CNF before resending (pyPLC: 1 s). */
  TT_modem_confirm: 1000,
  /** Not in Table A.1: CM_SET_KEY.REQ resends before the modem counts as unresponsive. */
  C_modem_retry: 2,
  /** Not in Table A.1: VS_PL_LINK_STATUS polling while joining and once matched (EVerest polls the link too). */
  TP_link_poll: 1000,
  /** EV: highest average attenuation (dB) of an acceptable EVSE (open-plc-utils pev SLAC_LIMIT). */
  ATTEN_LIMIT_DB: 40,
} as const;

export type SlacTimers = { readonly [K in keyof typeof SLAC_TIMERS]: number };

export function slacTimers(overrides: Partial<SlacTimers> = {}): SlacTimers {
  return { ...SLAC_TIMERS, ...overrides };
}

/** IEC 61851-1 control-pilot states; `pwm5` = 5 % duty cycle (high-level communication). */
export type PilotState = 'A' | 'B' | 'C' | 'D' | 'E' | 'F';
export const PLUGGED: ReadonlySet<PilotState> = new Set(['B', 'C', 'D']);

/** Fresh randomness from the runtime: a RunID (8 bytes), an NMK (16) and its NID (7), as hex. */
export interface Entropy {
  readonly runId: string;
  readonly nmk: string;
  readonly nid: string;
}

export type SlacInputEvent =
  | { type: 'frame'; now: number; frame: SlacFrame }
  | { type: 'tick'; now: number }
  | { type: 'pilot'; now: number; state: PilotState; pwm5: boolean }
  | ({ type: 'entropy'; now: number } & Entropy)
  /** The adapter lost the interface or the modem (carrier down, device gone). */
  | { type: 'link.lost'; now: number };

export type SlacFailureCode = 'SlacMatchFailed' | 'ModemUnresponsive' | 'LinkDown';

/**
 * What both SLAC machines keep about their own side of the link: the modem handshake
 * (CM_SET_KEY), the AVLN join and link polling once matched, and why the link failed.
 */
export interface SlacLinkContext {
  readonly timers: SlacTimers;
  readonly pilot: PilotState;
  readonly modemDeadline?: number;
  readonly modemAttempts: number;
  readonly matched?: Matched;
  readonly linkUp: boolean;
  readonly joinDeadline?: number;
  readonly pollDeadline?: number;
  readonly failure?: { readonly code: string; readonly message: string };
}

export interface Matched {
  readonly evMac: string;
  readonly evseMac: string;
  readonly runId: string;
  readonly nid: string;
  readonly nmk: string;
}

/** What a machine asks of its runtime (XState `emit`); the owner subscribes with `actor.on`. */
export type SlacEmitted =
  | { type: 'transmit'; destination: string; message: SlacMessage }
  | { type: 'needEntropy' }
  /** The EVSE asks its control pilot for state F during T_step_EF ([V2G3-M06-07]), then back to 5 % PWM. */
  | { type: 'pilotRequest'; state: 'F' | 'B' }
  | { type: 'matched'; matched: Matched }
  | { type: 'linkUp'; matched: Matched }
  | { type: 'linkDown'; reason: string }
  | { type: 'failed'; code: SlacFailureCode; message: string; retryable: boolean }
  /** A step for people (`openpnc slac … --if`), also the trace the tests read. */
  | { type: 'step'; text: string };

/** The earliest of a context's deadlines (absolute ms), or undefined when nothing is armed. */
export function earliest(...deadlines: (number | undefined)[]): number | undefined {
  let min: number | undefined;
  for (const d of deadlines) if (d !== undefined && (min === undefined || d < min)) min = d;
  return min;
}

/** True if `deadline` is armed and has passed at `now`. */
export function due(deadline: number | undefined, now: number): boolean {
  return deadline !== undefined && deadline <= now;
}

/**
 * The part both machines share word for word: CP A/E/F or a lost link resets from anywhere
 * ([V2G3-M06-07]; link-layer.md §1.5 step 4, §1.6 step 1), and a reset installs a fresh key in the
 * own modem, resent every TT_modem_confirm until CM_SET_KEY.CNF, at most C_modem_retry times.
 * Each machine names the actions and guards used here in its own `setup()`.
 */
export const RESET_TRANSITIONS = {
  pilot: [
    { guard: 'unplugged', target: '.resetting', actions: ['recordPilot', { type: 'reportLinkDown', params: { reason: 'control pilot left B/C/D' } }], reenter: true },
    { actions: 'recordPilot' },
  ],
  'link.lost': { target: '.resetting', actions: { type: 'reportLinkDown', params: { reason: 'link lost' } }, reenter: true },
} as const;

export function keyStates(afterKey: string) {
  return {
    resetting: {
      tags: ['busy'],
      entry: ['clear', 'askEntropy'],
      on: { entropy: { target: 'confirmingKey', actions: ['takeEntropy', 'sendSetKey'] } },
    },
    confirmingKey: {
      tags: ['busy'],
      on: {
        frame: { guard: 'keyConfirmed', target: afterKey, actions: 'noteKeyConfirmed' },
        tick: [
          { guard: and(['modemDue', 'modemRetriesLeft']), actions: 'sendSetKey' },
          { guard: 'modemDue', target: 'modemFailed', actions: { type: 'fail', params: { code: 'ModemUnresponsive', message: 'the local modem never confirmed CM_SET_KEY' } } },
        ],
      },
    },
  } as const;
}

interface SlacGuardArgs { readonly context: SlacLinkContext; readonly event: SlacInputEvent }

/** The guards both machines read off their own side of the link. */
export const SLAC_LINK_GUARDS = {
  modemDue: ({ context, event }: SlacGuardArgs) => event.type === 'tick' && due(context.modemDeadline, event.now),
  modemRetriesLeft: ({ context }: SlacGuardArgs) => context.modemAttempts <= context.timers.C_modem_retry,
  pollDue: ({ context, event }: SlacGuardArgs) => event.type === 'tick' && due(context.pollDeadline, event.now),
};

/** What a machine emits when it gives up. */
export function failureEvents(code: SlacFailureCode, message: string): SlacEmitted[] {
  return [{ type: 'failed', code, message, retryable: true }, { type: 'step', text: `failed: ${message}` }];
}

/** What a machine emits on a reset; `linkDown` only if there was a match to lose. */
export function resetEvents(wasMatched: boolean, reason: string): SlacEmitted[] {
  return [...(wasMatched ? [{ type: 'linkDown', reason } as const] : []), { type: 'step', text: `reset: ${reason}` }];
}

/** CM_SET_KEY.CNF: real QCA firmware answers 1 where HomePlug says 0 = success (link-layer.md §1.7): log, never fail on it. */
export function keyConfirmedStep(result: number): SlacEmitted {
  return { type: 'step', text: `CM_SET_KEY.CNF result ${result} (informational)` };
}
