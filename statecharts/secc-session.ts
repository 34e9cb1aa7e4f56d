/**
 * One SECC charging session (ISO 15118-2 and DIN 70121), from supportedAppProtocol to SessionStop,
 * for one connected EV. Pure: each state is one step of the message sequence of
 * charging-session.md §1 and lists the requests it accepts next; any other request gets its own
 * response type with FAILED_SequenceError and the session closes [V2G2-538][V2G2-539]. Crypto, the
 * CPO backend, the store and the charger hardware are named effects the participant provides
 * (actors/participants/secc/). Time comes in with every event; timers are deadlines in context.
 *
 * Durability (tag `durable`): only two states write through the Store port before they answer —
 * `storingReceipt` (a signed MeteringReceipt is the CPO's proof of the energy billed; once the EV has
 * MeteringReceiptRes OK it will not sign again) and `pausing` (a paused session is resumed by its
 * SessionID with OK_OldSessionJoined, also after the SECC process was killed and restarted). Every
 * other state lives in memory: a live session dies with its TCP/TLS connection anyway, so the
 * charging loop (`charging`, tag `loop`: CurrentDemand/ChargingStatus at 4 Hz within 25 ms) never
 * waits for a disk. test/session/crash.test.ts SIGKILLs an SECC process to hold this.
 */
import { assign, setup } from 'xstate';
import { effect } from './effect.ts';
import { withDeadline, withoutDeadline, type Deadlines } from './deadlines.ts';
import type { ChargerCommand, ChargerStatus, SeccConfig } from './secc/charger.ts';
import {
  PROTOCOL_NAMESPACES, PROTOCOL_MAJOR_VERSION, isDcMode, timersOf, isNoSession, responseNameOf, valueOf,
  type Body, type PaymentOption, type ResponseCode, type SessionProtocol,
} from './secc/messages.ts';
import { answers, CERTIFICATE_SERVICE_ID, responseBody, type ResponseInputs } from './secc/responses.ts';

export interface AppProtocol {
  readonly ProtocolNamespace: string;
  readonly VersionNumberMajor: number;
  readonly VersionNumberMinor: number;
  readonly SchemaID: number;
  readonly Priority: number;
}

/** The contract an EV presented in PaymentDetailsReq (certificates as hex DER, leaf first). */
export interface PresentedContract {
  readonly emaid: string;
  readonly certificate: string;
  readonly subCertificates: readonly string[];
}

/** What a paused session keeps (persisted by `persist`, read back by `resumeSession`). */
export interface PausedSession {
  readonly sessionId: string;
  readonly protocol: SessionProtocol;
  readonly paymentOption?: PaymentOption;
  readonly energyMode?: string;
  readonly contract?: PresentedContract;
  readonly pausedAt: number;
}

/** A request as the participant hands it to the machine. */
export interface SeccRequestEvent {
  readonly type: `req.${string}`;
  readonly header: { readonly SessionID: string; readonly Signature?: unknown };
  readonly body: Body;
  /** The V2GTP payload as received (forwarded unchanged to the backend for CertificateInstallation). */
  readonly exi: Uint8Array;
  readonly now: number;
  readonly charger: ChargerStatus;
}

export type SeccEvent =
  | { readonly type: 'sap'; readonly appProtocols: readonly AppProtocol[]; readonly now: number }
  | SeccRequestEvent
  | { readonly type: 'deadline.sequence' | 'deadline.backend' | 'deadline.authorizationAnswer'; readonly at: number }
  /** Bytes that are not a V2GTP frame or not an EXI document of the session's protocol: close [V2G2-034]. */
  | { readonly type: 'garbage'; readonly reason: string }
  | { readonly type: 'transport.closed' };

/** What the participant sends: a document of a schema, or EXI relayed unchanged. */
export type SeccResponse =
  | { readonly schema: 'app'; readonly name: 'supportedAppProtocolRes'; readonly body: Body }
  | { readonly schema: SessionProtocol; readonly name: string; readonly body: Body; readonly signed?: false }
  | { readonly schema: 'relay'; readonly name: string; readonly exi: Uint8Array; readonly code: string };

export interface SeccInput {
  readonly config: SeccConfig;
  /** The SessionID this session gets unless it resumes one (8 random bytes, hex, from the participant). */
  readonly sessionId: string;
  readonly now: number;
}

export type SeccOutcome = 'terminated' | 'paused' | 'failed' | 'disconnected';

export interface SeccContext {
  readonly config: SeccConfig;
  readonly freshSessionId: string;
  sessionId?: string;
  protocol?: SessionProtocol;
  evccId?: string;
  paymentOption?: PaymentOption;
  energyMode?: string;
  contract?: PresentedContract;
  genChallenge?: string;
  /** Backend / hardware authorization once decided. */
  authorization?: { readonly code: ResponseCode };
  answerOwed: boolean;
  resumed: boolean;
  /** When the first CableCheckReq of this session came (its performance time runs from there). */
  cableCheckSince?: number;
  receiptDone: boolean;
  request?: SeccRequestEvent;
  charger?: ChargerStatus;
  now: number;
  response?: SeccResponse;
  deadlines: Deadlines;
  outcome?: SeccOutcome;
  /** The last ResponseCode sent (or why the session closed without one). */
  lastCode?: string;
  closeReason?: string;
}

export interface SeccOutput {
  readonly outcome: SeccOutcome;
  readonly sessionId?: string;
  readonly protocol?: SessionProtocol;
  readonly lastCode?: string;
  readonly closeReason?: string;
}

interface AnswerParams {
  readonly code: ResponseCode;
  readonly evseProcessing?: 'Finished' | 'Ongoing';
  /** Request this MeteringReceipt with the answer. */
  readonly receiptRequired?: boolean;
}

/** Picks the protocol: the SECC's preference among what the EV offers at the supported major version. */
function negotiate(config: SeccConfig, offered: readonly AppProtocol[]): { protocol: SessionProtocol; entry: AppProtocol; minorDeviation: boolean } | undefined {
  for (const protocol of config.protocols) {
    const entry = offered.find((p) => p.ProtocolNamespace === PROTOCOL_NAMESPACES[protocol] && p.VersionNumberMajor === PROTOCOL_MAJOR_VERSION[protocol]);
    if (entry) return { protocol, entry, minorDeviation: entry.VersionNumberMinor !== 0 };
  }
  return undefined;
}

const requestOf = (context: SeccContext): SeccRequestEvent => {
  if (!context.request) throw new Error('no request in context');
  return context.request;
};
const requestName = (event: { type: string }): string => event.type.slice(4);
const bodyOfRequest = (request: SeccRequestEvent): Body => (request.body[requestName(request)] ?? {}) as Body;
const bodyOf = (context: SeccContext): Body => bodyOfRequest(requestOf(context));

/** The answer to `request` (taken at `now`) and what giving it changes in context. */
function answerOf(context: SeccContext, request: SeccRequestEvent, now: number, params: AnswerParams): Pick<SeccContext, 'response' | 'lastCode' | 'deadlines'> {
  const name = requestName(request);
  const protocol = context.protocol ?? 'iso2';
  const serviceId = bodyOfRequest(request).ServiceID;
  const inputs: ResponseInputs = {
    protocol, code: params.code, config: context.config, charger: request.charger, now,
    energyMode: context.energyMode, evseProcessing: params.evseProcessing, genChallenge: context.genChallenge,
    serviceId: typeof serviceId === 'number' ? serviceId : undefined,
    receiptRequired: params.receiptRequired,
  };
  const body = responseBody(name, inputs);
  return {
    response: body ? { schema: protocol, name: responseNameOf(name), body } : undefined,
    lastCode: params.code,
    // [V2G2-443] the next request is due within V2G_SECC_Sequence_Timeout of this answer.
    deadlines: withDeadline(context.deadlines, 'sequence', now + timersOf(context.protocol).seccSequence),
  };
}

/** ISO-2 ChargeProgress, or DIN's ReadyToChargeState as Start/Stop. */
function chargeProgress(context: SeccContext): 'Start' | 'Stop' | 'Renegotiate' {
  const body = bodyOf(context);
  if (context.protocol === 'din') return body.ReadyToChargeState === true ? 'Start' : 'Stop';
  const progress = body.ChargeProgress;
  return progress === 'Stop' || progress === 'Renegotiate' ? progress : 'Start';
}

/** The energy transfer mode the EV asks for, and whether its parameters match it. */
function requestedMode(context: SeccContext): { mode: string; parametersMatch: boolean } {
  const body = bodyOf(context);
  const mode = String(context.protocol === 'din' ? body.EVRequestedEnergyTransferType : body.RequestedEnergyTransferMode);
  const parametersMatch = isDcMode(mode) ? body.DC_EVChargeParameter !== undefined : body.AC_EVChargeParameter !== undefined;
  return { mode, parametersMatch };
}

/** A request naming another session, in any state: FAILED_UnknownSession, then the session closes. */
const UNKNOWN_SESSION = {
  guard: 'foreignSession',
  target: '#secc.closing',
  actions: ['takeRequest', { type: 'answer', params: { code: 'FAILED_UnknownSession' } }, 'respond', 'markFailed'],
} as const;

/**
 * PowerDeliveryReq before the charging loop (after ChargeParameterDiscovery, or after PreCharge on DC):
 * Start closes the contactors and charging begins; Stop (DIN: ReadyToChargeState false) ends the
 * session before any energy flowed.
 */
const POWER_DELIVERY_BEFORE_CHARGING = [
  UNKNOWN_SESSION,
  {
    guard: 'startsCharging',
    target: 'charging',
    actions: ['takeRequest', { type: 'command', params: { type: 'contactors', closed: true } }, { type: 'answer', params: { code: 'OK' } }, 'respond'],
  },
  { target: 'stopped', actions: ['takeRequest', { type: 'command', params: { type: 'contactors', closed: false } }, { type: 'answer', params: { code: 'OK' } }, 'respond'] },
] as const;

export const seccSessionMachine = setup({
  types: { context: {} as SeccContext, events: {} as SeccEvent, input: {} as SeccInput, output: {} as SeccOutput },
  actors: {
    /** Reads a paused session by its SessionID; fails when none is stored. */
    resumeSession: effect<PausedSession, { sessionId: string }>('resumeSession'),
    /** Forwards the raw EXI to the CPO backend (M01) and returns its EXI answer and ResponseCode. */
    installContract: effect<{ exi: Uint8Array; code: string }, { exi: Uint8Array; action: 'Install' | 'Update' }>('installContract'),
    /** PaymentDetailsReq: contract chain to the MO/V2G roots, eMAID of certificate and request; issues the GenChallenge. */
    checkContract: effect<{ code: ResponseCode; contract?: PresentedContract; genChallenge?: string }, { body: Body; protocol: SessionProtocol }>('checkContract'),
    /** AuthorizationReq: PnC — the EV's signature with the contract key and C07 at the backend; EIM — the charger's identification means. */
    authorize: effect<{ code: ResponseCode }, { paymentOption: PaymentOption; contract?: PresentedContract; header: SeccRequestEvent['header']; body: Body }>('authorize'),
    /** MeteringReceiptReq: the signature with the contract key and the MeterInfo the SECC sent. */
    verifyReceipt: effect<{ code: ResponseCode }, { contract?: PresentedContract; header: SeccRequestEvent['header']; body: Body; sessionId: string }>('verifyReceipt'),
    /** Durable write: a signed receipt or a paused session. */
    persist: effect<void, { kind: 'receipt'; sessionId: string; receipt: { header: SeccRequestEvent['header']; body: Body } } | { kind: 'paused'; session: PausedSession }>('persist'),
  },
  actions: {
    takeRequest: assign(({ event }) => {
      const request = event as SeccRequestEvent;
      return { request, now: request.now, charger: request.charger };
    }),
    answer: assign(({ context }, params: AnswerParams) => answerOf(context, requestOf(context), context.now, params)),
    /** `takeRequest` then `answer` in one context copy: the charging loop's path, 4 times a second per session. */
    takeRequestAndAnswer: assign(({ context, event }, params: AnswerParams) => {
      const request = event as SeccRequestEvent;
      return { request, now: request.now, charger: request.charger, ...answerOf(context, request, request.now, params) };
    }),
    /** Provided: encode `context.response` and write it to the EV. */
    respond: () => {},
    markFailed: assign({ outcome: 'failed' as const }),
    /** Provided: end the connection (after the last answer is written). */
    close: () => {},
    /** Provided: a command to the charger hardware. */
    command: (_, _params: ChargerCommand) => {},
  },
  guards: {
    /** Any request after SessionSetup must carry the SessionID this SECC issued (or joined). */
    foreignSession: ({ context, event }) => (event as SeccRequestEvent).header?.SessionID?.toLowerCase() !== context.sessionId,
    startsCharging: ({ context, event }) => chargeProgress({ ...context, request: event as SeccRequestEvent }) === 'Start',
    contract: ({ context }) => context.paymentOption === 'Contract',
    externalPayment: ({ context }) => context.paymentOption === 'ExternalPayment',
    dc: ({ context }) => isDcMode(context.energyMode),
  },
}).createMachine({
  id: 'secc',
  context: ({ input }) => ({
    config: input.config,
    freshSessionId: input.sessionId.toLowerCase(),
    now: input.now,
    answerOwed: false,
    resumed: false,
    receiptDone: false,
    deadlines: withDeadline({}, 'sequence', input.now + timersOf(undefined).seccSequence),
  }),
  initial: 'handshake',
  on: {
    'deadline.sequence': { target: '.closing', actions: assign({ outcome: 'failed', closeReason: 'V2G_SECC_Sequence_Timeout [V2G2-443]' }) },
    garbage: { target: '.closing', actions: assign({ outcome: 'failed', closeReason: ({ event }) => event.reason }) },
    'transport.closed': { target: '.closed', actions: assign({ outcome: ({ context }) => context.outcome ?? 'disconnected' }) },
  },
  states: {
    handshake: {
      on: {
        sap: [
          {
            guard: ({ context, event }) => negotiate(context.config, event.appProtocols) !== undefined,
            target: 'session',
            actions: [
              assign(({ context, event }) => {
                const { protocol, entry, minorDeviation } = negotiate(context.config, event.appProtocols)!;
                return {
                  protocol, now: event.now,
                  response: { schema: 'app' as const, name: 'supportedAppProtocolRes' as const, body: { ResponseCode: minorDeviation ? 'OK_SuccessfulNegotiationWithMinorDeviation' : 'OK_SuccessfulNegotiation', SchemaID: entry.SchemaID } },
                  lastCode: 'OK_SuccessfulNegotiation',
                  deadlines: withDeadline(context.deadlines, 'sequence', event.now + timersOf(protocol).seccSequence),
                };
              }),
              'respond',
            ],
          },
          {
            target: 'closing',
            actions: [
              assign({ response: { schema: 'app', name: 'supportedAppProtocolRes', body: { ResponseCode: 'Failed_NoNegotiation' } }, lastCode: 'Failed_NoNegotiation', outcome: 'failed', closeReason: 'no common protocol' }),
              'respond',
            ],
          },
        ],
        'req.*': { target: 'closing', actions: assign({ outcome: 'failed', closeReason: 'a V2G message before supportedAppProtocol' }) },
      },
    },
    session: {
      initial: 'sessionSetup',
      on: {
        // [V2G2-538] a request not accepted in the current state: its own response type with
        // FAILED_SequenceError, then the session ends [V2G2-539].
        'req.*': [
          {
            guard: ({ context, event }) => answers(context.protocol ?? 'iso2', requestName(event)),
            target: 'closing',
            actions: ['takeRequest', { type: 'answer', params: { code: 'FAILED_SequenceError' } }, 'respond', assign({ outcome: 'failed', closeReason: ({ event }) => `${requestName(event)} out of sequence` })],
          },
          { target: 'closing', actions: assign({ outcome: 'failed', closeReason: ({ event }) => `${requestName(event)} is not a request of this protocol` }) },
        ],
      },
      states: {
        sessionSetup: {
          on: {
            'req.SessionSetupReq': [
              { guard: ({ event }) => !isNoSession(event.header.SessionID), target: 'resuming', actions: 'takeRequest' },
              {
                target: 'serviceDiscovery',
                actions: ['takeRequest', assign({ sessionId: ({ context }) => context.freshSessionId, evccId: ({ event }) => String(((event.body.SessionSetupReq ?? {}) as Body).EVCCID ?? '') }),
                  { type: 'answer', params: { code: 'OK_NewSessionEstablished' } }, 'respond'],
              },
            ],
          },
        },
        resuming: {
          invoke: {
            src: 'resumeSession',
            input: ({ context }) => ({ sessionId: requestOf(context).header.SessionID.toLowerCase() }),
            onDone: [
              {
                // A paused session of the same protocol is joined under its old SessionID.
                guard: ({ context, event }) => event.output.protocol === context.protocol,
                target: 'serviceDiscovery',
                actions: [
                  assign(({ event }) => ({ sessionId: event.output.sessionId, paymentOption: event.output.paymentOption, energyMode: event.output.energyMode, contract: event.output.contract, resumed: true })),
                  { type: 'answer', params: { code: 'OK_OldSessionJoined' } }, 'respond',
                ],
              },
              { target: 'serviceDiscovery', actions: [assign({ sessionId: ({ context }) => context.freshSessionId }), { type: 'answer', params: { code: 'OK_NewSessionEstablished' } }, 'respond'] },
            ],
            // No such paused session: a new one starts.
            onError: { target: 'serviceDiscovery', actions: [assign({ sessionId: ({ context }) => context.freshSessionId }), { type: 'answer', params: { code: 'OK_NewSessionEstablished' } }, 'respond'] },
          },
        },
        serviceDiscovery: {
          on: {
            'req.ServiceDiscoveryReq': [
              UNKNOWN_SESSION,
              { target: 'serviceSelection', actions: ['takeRequest', { type: 'answer', params: { code: 'OK' } }, 'respond'] },
            ],
          },
        },
        serviceSelection: {
          on: {
            'req.ServiceDetailReq': [
              UNKNOWN_SESSION,
              {
                guard: ({ event }) => ((event.body.ServiceDetailReq ?? {}) as Body).ServiceID === CERTIFICATE_SERVICE_ID,
                actions: ['takeRequest', { type: 'answer', params: { code: 'OK' } }, 'respond'],
              },
              { target: '#secc.closing', actions: ['takeRequest', { type: 'answer', params: { code: 'FAILED_ServiceIDInvalid' } }, 'respond', assign({ outcome: 'failed' })] },
            ],
            'req.PaymentServiceSelectionReq': [
              UNKNOWN_SESSION,
              {
                guard: ({ context, event }) => {
                  const option = ((event.body.PaymentServiceSelectionReq ?? {}) as Body).SelectedPaymentOption as PaymentOption;
                  const offered = context.protocol === 'din' ? ['ExternalPayment'] : context.config.paymentOptions;
                  return !offered.includes(option);
                },
                target: '#secc.closing',
                actions: ['takeRequest', { type: 'answer', params: { code: 'FAILED_PaymentSelectionInvalid' } }, 'respond', assign({ outcome: 'failed' })],
              },
              {
                guard: ({ event }) => {
                  const list = ((((event.body.PaymentServiceSelectionReq ?? {}) as Body).SelectedServiceList ?? {}) as Body).SelectedService;
                  return !Array.isArray(list) || !list.some((s) => (s as Body).ServiceID === 1);
                },
                target: '#secc.closing',
                actions: ['takeRequest', { type: 'answer', params: ({ context }) => ({ code: context.protocol === 'din' ? 'FAILED_ServiceSelectionInvalid' : 'FAILED_NoChargeServiceSelected' }) }, 'respond', assign({ outcome: 'failed' })],
              },
              {
                target: 'paymentSelected',
                actions: ['takeRequest', assign({ paymentOption: ({ event }) => ((event.body.PaymentServiceSelectionReq ?? {}) as Body).SelectedPaymentOption as PaymentOption }), { type: 'answer', params: { code: 'OK' } }, 'respond'],
              },
            ],
          },
        },
        paymentSelected: {
          on: {
            'req.CertificateInstallationReq': [
              UNKNOWN_SESSION,
              { guard: 'contract', target: 'installing', actions: 'takeRequest' },
            ],
            'req.CertificateUpdateReq': [
              UNKNOWN_SESSION,
              { guard: 'contract', target: 'installing', actions: 'takeRequest' },
            ],
            'req.PaymentDetailsReq': [
              UNKNOWN_SESSION,
              { guard: 'contract', target: 'checkingContract', actions: 'takeRequest' },
            ],
            'req.AuthorizationReq': [
              UNKNOWN_SESSION,
              { guard: 'externalPayment', target: 'authorizing', actions: 'takeRequest' },
            ],
          },
        },
        installing: {
          // [V2G2-917/918] the backend has 4.5 s; then the EV gets FAILED and the session ends.
          entry: assign({ deadlines: ({ context }) => withDeadline(context.deadlines, 'backend', context.now + timersOf(context.protocol).seccCertificateInstallation) }),
          exit: assign({ deadlines: ({ context }) => withoutDeadline(context.deadlines, 'backend') }),
          invoke: {
            src: 'installContract',
            input: ({ context }) => ({ exi: requestOf(context).exi, action: requestName(requestOf(context)) === 'CertificateUpdateReq' ? 'Update' as const : 'Install' as const }),
            onDone: [
              {
                guard: ({ event }) => event.output.code.startsWith('OK'),
                target: 'paymentSelected',
                actions: [assign({ response: ({ event, context }) => ({ schema: 'relay' as const, name: responseNameOf(requestName(requestOf(context))), exi: event.output.exi, code: event.output.code }), lastCode: ({ event }) => event.output.code, deadlines: ({ context }) => withDeadline(context.deadlines, 'sequence', context.now + timersOf(context.protocol).seccSequence) }), 'respond'],
              },
              // The backend's own FAILED_* answer is relayed, and ends the session like ours would [V2G2-539].
              { target: '#secc.closing', actions: [assign({ response: ({ event, context }) => ({ schema: 'relay' as const, name: responseNameOf(requestName(requestOf(context))), exi: event.output.exi, code: event.output.code }), lastCode: ({ event }) => event.output.code, outcome: 'failed' }), 'respond'] },
            ],
            onError: { target: '#secc.closing', actions: [{ type: 'answer', params: { code: 'FAILED' } }, 'respond', assign({ outcome: 'failed', closeReason: 'CPO backend failed the installation' })] },
          },
          on: {
            'deadline.backend': { target: '#secc.closing', actions: [{ type: 'answer', params: { code: 'FAILED' } }, 'respond', assign({ outcome: 'failed', closeReason: 'no CertificateInstallationRes from the backend within 4.5 s [V2G2-917]' })] },
          },
        },
        checkingContract: {
          invoke: {
            src: 'checkContract',
            input: ({ context }) => ({ body: bodyOf(context), protocol: context.protocol ?? 'iso2' }),
            onDone: [
              {
                guard: ({ event }) => event.output.code === 'OK',
                target: 'authorization',
                actions: [assign({ contract: ({ event }) => event.output.contract, genChallenge: ({ event }) => event.output.genChallenge }), { type: 'answer', params: { code: 'OK' } }, 'respond'],
              },
              { target: '#secc.closing', actions: [{ type: 'answer', params: ({ event }) => ({ code: event.output.code }) }, 'respond', assign({ outcome: 'failed' })] },
            ],
            onError: { target: '#secc.closing', actions: [{ type: 'answer', params: { code: 'FAILED' } }, 'respond', assign({ outcome: 'failed' })] },
          },
        },
        authorization: {
          on: {
            'req.AuthorizationReq': [
              UNKNOWN_SESSION,
              // The signed request must carry the challenge of PaymentDetailsRes.
              {
                guard: ({ context, event }) => String(((event.body.AuthorizationReq ?? {}) as Body).GenChallenge ?? '').toLowerCase() !== context.genChallenge,
                target: '#secc.closing',
                actions: ['takeRequest', { type: 'answer', params: { code: 'FAILED_ChallengeInvalid' } }, 'respond', assign({ outcome: 'failed' })],
              },
              { target: 'authorizing', actions: 'takeRequest' },
            ],
          },
        },
        authorizing: {
          // The decision runs while the EV repeats AuthorizationReq; each repeat gets Ongoing until it is in.
          invoke: {
            src: 'authorize',
            input: ({ context }) => ({ paymentOption: context.paymentOption ?? 'ExternalPayment', contract: context.contract, header: requestOf(context).header, body: bodyOf(context) }),
            onDone: [
              { guard: ({ context, event }) => context.answerOwed && event.output.code === 'OK', target: 'chargeParameterDiscovery', actions: [assign({ authorization: { code: 'OK' } }), { type: 'answer', params: { code: 'OK', evseProcessing: 'Finished' } }, 'respond'] },
              { guard: ({ event }) => event.output.code === 'OK', target: 'authorized', actions: assign({ authorization: { code: 'OK' } }) },
              { guard: ({ context }) => context.answerOwed, target: '#secc.closing', actions: [{ type: 'answer', params: ({ event }) => ({ code: event.output.code }) }, 'respond', assign({ outcome: 'failed' })] },
              { target: 'authorizationFailed', actions: assign({ authorization: ({ event }) => ({ code: event.output.code }) }) },
            ],
            onError: { target: '#secc.closing', actions: [{ type: 'answer', params: { code: 'FAILED' } }, 'respond', assign({ outcome: 'failed' })] },
          },
          initial: 'owed',
          states: {
            owed: {
              entry: assign({ answerOwed: true, deadlines: ({ context }) => withDeadline(context.deadlines, 'authorizationAnswer', context.now + timersOf(context.protocol).seccAuthorizationAnswer) }),
              exit: assign({ answerOwed: false, deadlines: ({ context }) => withoutDeadline(context.deadlines, 'authorizationAnswer') }),
              on: { 'deadline.authorizationAnswer': { target: 'answered', actions: [{ type: 'answer', params: { code: 'OK', evseProcessing: 'Ongoing' } }, 'respond'] } },
            },
            answered: {
              on: {
                'req.AuthorizationReq': [
                  UNKNOWN_SESSION,
                  { target: 'owed', actions: 'takeRequest' },
                ],
              },
            },
          },
        },
        authorized: {
          on: {
            'req.AuthorizationReq': [
              UNKNOWN_SESSION,
              { target: 'chargeParameterDiscovery', actions: ['takeRequest', { type: 'answer', params: { code: 'OK', evseProcessing: 'Finished' } }, 'respond'] },
            ],
          },
        },
        authorizationFailed: {
          on: {
            'req.AuthorizationReq': { target: '#secc.closing', actions: ['takeRequest', { type: 'answer', params: ({ context }) => ({ code: context.authorization?.code ?? 'FAILED' }) }, 'respond', assign({ outcome: 'failed' })] },
          },
        },
        chargeParameterDiscovery: {
          on: {
            'req.ChargeParameterDiscoveryReq': [
              UNKNOWN_SESSION,
              {
                guard: ({ context, event }) => {
                  const body = (event.body.ChargeParameterDiscoveryReq ?? {}) as Body;
                  const mode = String(context.protocol === 'din' ? body.EVRequestedEnergyTransferType : body.RequestedEnergyTransferMode);
                  return context.protocol === 'din' ? !isDcMode(mode) : !context.config.energyModes.includes(mode as never);
                },
                target: '#secc.closing',
                actions: ['takeRequest', { type: 'answer', params: ({ context }) => ({ code: context.protocol === 'din' ? 'FAILED_WrongEnergyTransferType' as ResponseCode : 'FAILED_WrongEnergyTransferMode' }) }, 'respond', assign({ outcome: 'failed' })],
              },
              {
                guard: ({ context, event }) => !requestedMode({ ...context, request: event }).parametersMatch,
                target: '#secc.closing',
                actions: ['takeRequest', { type: 'answer', params: { code: 'FAILED_WrongChargeParameter' } }, 'respond', assign({ outcome: 'failed' })],
              },
              {
                target: 'chargeParameterDiscovered',
                actions: ['takeRequest', assign({ energyMode: ({ context }) => requestedMode(context).mode }), { type: 'answer', params: { code: 'OK', evseProcessing: 'Finished' } }, 'respond'],
              },
            ],
          },
        },
        chargeParameterDiscovered: {
          always: [{ guard: 'dc', target: 'cableCheck' }, { target: 'powerDelivery' }],
        },
        powerDelivery: {
          on: {
            // The EV may ask again (EVSEProcessing was Finished, its parameters stand).
            'req.ChargeParameterDiscoveryReq': [
              UNKNOWN_SESSION,
              { actions: ['takeRequest', { type: 'answer', params: { code: 'OK', evseProcessing: 'Finished' } }, 'respond'] },
            ],
            'req.PowerDeliveryReq': POWER_DELIVERY_BEFORE_CHARGING,
          },
        },
        cableCheck: {
          on: {
            'req.CableCheckReq': [
              UNKNOWN_SESSION,
              // Isolation measured: the EV may pre-charge.
              {
                guard: ({ event }) => ['Valid', 'Warning', 'No_IMD'].includes(event.charger.isolation),
                target: 'preCharge',
                actions: ['takeRequest', { type: 'answer', params: { code: 'OK', evseProcessing: 'Finished' } }, 'respond'],
              },
              // DIN: isolation not confirmed within V2G_SECC_CableCheck_Performance_Time of the first CableCheckReq ends the session.
              {
                guard: ({ context, event }) => {
                  const limit = timersOf(context.protocol).seccCableCheck;
                  return limit !== undefined && context.cableCheckSince !== undefined && event.now - context.cableCheckSince >= limit;
                },
                target: '#secc.closing',
                actions: ['takeRequest', { type: 'answer', params: { code: 'FAILED' } }, 'respond', assign({ outcome: 'failed', closeReason: ({ context }) => `isolation not confirmed within V2G_SECC_CableCheck_Performance_Time (${timersOf(context.protocol).seccCableCheck} ms)` })],
              },
              { actions: ['takeRequest', assign({ cableCheckSince: ({ context, event }) => context.cableCheckSince ?? event.now }), { type: 'command', params: { type: 'cableCheck' } }, { type: 'answer', params: { code: 'OK', evseProcessing: 'Ongoing' } }, 'respond'] },
            ],
          },
        },
        preCharge: {
          on: {
            // Isolation was measured; an EV that asks again gets Finished again.
            'req.CableCheckReq': [
              UNKNOWN_SESSION,
              { actions: ['takeRequest', { type: 'answer', params: { code: 'OK', evseProcessing: 'Finished' } }, 'respond'] },
            ],
            'req.PreChargeReq': [
              UNKNOWN_SESSION,
              {
                actions: ['takeRequest',
                  { type: 'command', params: ({ event }) => ({ type: 'preCharge' as const, voltage: valueOf(((event as SeccRequestEvent).body.PreChargeReq as Body | undefined)?.EVTargetVoltage), current: valueOf(((event as SeccRequestEvent).body.PreChargeReq as Body | undefined)?.EVTargetCurrent) }) },
                  { type: 'answer', params: { code: 'OK' } }, 'respond'],
              },
            ],
            'req.PowerDeliveryReq': POWER_DELIVERY_BEFORE_CHARGING,
          },
        },
        charging: {
          tags: ['loop'],
          on: {
            'req.ChargingStatusReq': [
              UNKNOWN_SESSION,
              { guard: ({ context }) => !isDcMode(context.energyMode), actions: [{ type: 'takeRequestAndAnswer', params: ({ context }) => ({ code: 'OK', receiptRequired: receiptWanted(context) }) }, 'respond'] },
            ],
            'req.CurrentDemandReq': [
              UNKNOWN_SESSION,
              {
                guard: ({ context }) => isDcMode(context.energyMode),
                // The answer reports the charger as the request found it (its status came with the event), so the command may go first.
                actions: [
                  { type: 'command', params: ({ event }) => ({ type: 'target' as const, voltage: valueOf(((event as SeccRequestEvent).body.CurrentDemandReq as Body | undefined)?.EVTargetVoltage), current: valueOf(((event as SeccRequestEvent).body.CurrentDemandReq as Body | undefined)?.EVTargetCurrent) }) },
                  { type: 'takeRequestAndAnswer', params: ({ context }) => ({ code: 'OK', receiptRequired: receiptWanted(context) }) }, 'respond'],
              },
            ],
            'req.MeteringReceiptReq': [
              UNKNOWN_SESSION,
              // [V2G2-909] the receipt names the session it belongs to.
              {
                guard: ({ context, event }) => String(((event.body.MeteringReceiptReq ?? {}) as Body).SessionID ?? '').toLowerCase() !== context.sessionId,
                target: '#secc.closing',
                actions: ['takeRequest', { type: 'answer', params: { code: 'FAILED_UnknownSession' } }, 'respond', assign({ outcome: 'failed' })],
              },
              { guard: 'contract', target: 'receipt', actions: 'takeRequest' },
            ],
            'req.PowerDeliveryReq': [
              UNKNOWN_SESSION,
              {
                guard: ({ context, event }) => chargeProgress({ ...context, request: event }) === 'Renegotiate',
                target: 'chargeParameterDiscovery',
                actions: ['takeRequest', { type: 'answer', params: { code: 'OK' } }, 'respond'],
              },
              {
                guard: ({ context, event }) => chargeProgress({ ...context, request: event }) === 'Stop',
                target: 'stopped',
                actions: ['takeRequest', { type: 'command', params: { type: 'contactors', closed: false } }, { type: 'answer', params: { code: 'OK' } }, 'respond'],
              },
              { actions: ['takeRequest', { type: 'answer', params: { code: 'OK' } }, 'respond'] },
            ],
          },
        },
        receipt: {
          invoke: {
            src: 'verifyReceipt',
            input: ({ context }) => ({ contract: context.contract, header: requestOf(context).header, body: bodyOf(context), sessionId: context.sessionId ?? '' }),
            onDone: [
              { guard: ({ event }) => event.output.code === 'OK', target: 'storingReceipt' },
              { target: '#secc.closing', actions: [{ type: 'answer', params: ({ event }) => ({ code: event.output.code }) }, 'respond', assign({ outcome: 'failed' })] },
            ],
            onError: { target: '#secc.closing', actions: [{ type: 'answer', params: { code: 'FAILED_MeteringSignatureNotValid' } }, 'respond', assign({ outcome: 'failed' })] },
          },
        },
        storingReceipt: {
          tags: ['durable'],
          invoke: {
            src: 'persist',
            input: ({ context }) => ({ kind: 'receipt' as const, sessionId: context.sessionId ?? '', receipt: { header: requestOf(context).header, body: bodyOf(context) } }),
            onDone: { target: 'charging', actions: [assign({ receiptDone: true }), { type: 'answer', params: { code: 'OK' } }, 'respond'] },
            onError: { target: '#secc.closing', actions: [{ type: 'answer', params: { code: 'FAILED' } }, 'respond', assign({ outcome: 'failed' })] },
          },
        },
        stopped: {
          on: {
            'req.WeldingDetectionReq': [
              UNKNOWN_SESSION,
              { guard: 'dc', actions: ['takeRequest', { type: 'answer', params: { code: 'OK' } }, 'respond'] },
            ],
            'req.MeteringReceiptReq': [
              UNKNOWN_SESSION,
              { guard: 'contract', target: 'receipt', actions: 'takeRequest' },
            ],
            'req.SessionStopReq': [
              UNKNOWN_SESSION,
              { guard: ({ context, event }) => context.protocol === 'iso2' && ((event.body.SessionStopReq ?? {}) as Body).ChargingSession === 'Pause', target: 'pausing', actions: 'takeRequest' },
              { target: '#secc.closing', actions: ['takeRequest', { type: 'command', params: { type: 'stop' } }, { type: 'answer', params: { code: 'OK' } }, 'respond', assign({ outcome: 'terminated' })] },
            ],
          },
        },
        pausing: {
          tags: ['durable'],
          invoke: {
            src: 'persist',
            input: ({ context }) => ({
              kind: 'paused' as const,
              session: { sessionId: context.sessionId ?? '', protocol: context.protocol ?? 'iso2', paymentOption: context.paymentOption, energyMode: context.energyMode, contract: context.contract, pausedAt: context.now },
            }),
            onDone: { target: '#secc.closing', actions: [{ type: 'answer', params: { code: 'OK' } }, 'respond', assign({ outcome: 'paused' })] },
            onError: { target: '#secc.closing', actions: [{ type: 'answer', params: { code: 'FAILED' } }, 'respond', assign({ outcome: 'failed' })] },
          },
        },
      },
    },
    closing: {
      entry: 'close',
      always: 'closed',
    },
    closed: { type: 'final' },
  },
  output: ({ context }) => ({
    outcome: context.outcome ?? 'failed',
    sessionId: context.sessionId,
    protocol: context.protocol,
    lastCode: context.lastCode,
    closeReason: context.closeReason,
  }),
});

/** PnC sessions ask once for a MeteringReceipt when so configured. */
function receiptWanted(context: SeccContext): boolean {
  return context.config.receiptRequired && context.paymentOption === 'Contract' && context.protocol === 'iso2' && !context.receiptDone;
}

