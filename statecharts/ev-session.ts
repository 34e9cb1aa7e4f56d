/**
 * One EV charging session (EVCC side of ISO 15118-2 and DIN 70121), pure. Each state sends one
 * request and lists the response it waits for; a response of another type, a FAILED_* code or a
 * missed EVCC timeout (charging-session.md §2, deadlines in context) ends the session. Signing,
 * the contract store and the provisioning key are named effects the EV participant provides
 * (actors/participants/ev/); the vehicle's state comes in with every response.
 */
import { assign, setup } from 'xstate';
import { effect } from './effect.ts';
import { withDeadline, withoutDeadline, type Deadlines } from './deadlines.ts';
import { NO_SESSION_ID, evccMessageTimeout, timersOf, isDcMode, isFailure, valueOf, type Body, type SessionProtocol } from './secc/messages.ts';
import { appProtocolRequest, certificateServiceOf, protocolOfSchemaId, requestBody, type CertificateService, type EvPlan, type VehicleStatus } from './ev/requests.ts';

export type { EvPlan, VehicleStatus } from './ev/requests.ts';

/** A request the participant encodes and sends. */
export interface EvRequest {
  readonly schema: 'app' | SessionProtocol;
  /** ISO 15118-2 name (the participant writes DIN's own name on the wire). */
  readonly name: string;
  readonly sessionId: string;
  readonly body: Body;
  /** xmldsig Signature for the header (PnC requests). */
  readonly signature?: Body;
}

export interface EvResponseEvent {
  readonly type: `res.${string}`;
  readonly header: { readonly SessionID?: string };
  readonly body: Body;
  /** The V2GTP payload as received (CertificateInstallationRes is checked over it). */
  readonly exi: Uint8Array;
  readonly now: number;
  readonly vehicle: VehicleStatus;
}

type DeadlineName = 'response' | 'ongoing' | 'next' | 'cableCheck' | 'preCharge' | 'communicationSetup' | 'readyToCharge';

export type EvEvent =
  | EvResponseEvent
  | { readonly type: `deadline.${DeadlineName}`; readonly at: number }
  | { readonly type: 'garbage'; readonly reason: string }
  | { readonly type: 'transport.closed' };

export interface EvInput {
  readonly plan: EvPlan;
  readonly vehicle: VehicleStatus;
  readonly now: number;
}

export type EvOutcome = 'completed' | 'paused' | 'failed';

export interface EvContext {
  readonly plan: EvPlan;
  protocol?: SessionProtocol;
  sessionId: string;
  vehicle: VehicleStatus;
  now: number;
  request?: EvRequest;
  deadlines: Deadlines;
  genChallenge?: string;
  emaid?: string;
  saScheduleTupleId: number;
  /** MeterInfo of the response that asked for a receipt. */
  meterInfo?: Body;
  receiptsSigned: number;
  loops: number;
  /** Last response received: its name and code. */
  last?: { readonly name: string; readonly code?: string };
  outcome?: EvOutcome;
  reason?: string;
  joinedOldSession?: boolean;
}

export interface EvOutput {
  readonly outcome: EvOutcome;
  readonly protocol?: SessionProtocol;
  readonly sessionId: string;
  readonly emaid?: string;
  readonly loops: number;
  readonly receiptsSigned: number;
  readonly joinedOldSession: boolean;
  readonly last?: { readonly name: string; readonly code?: string };
  readonly reason?: string;
}

interface SignedPart { readonly body: Body; readonly signature: Body }

const responseBodyOf = (event: EvEvent): Body => {
  const e = event as EvResponseEvent;
  return (e.body?.[e.type.slice(4)] ?? {}) as Body;
};
const codeOf = (event: EvEvent): string => String(responseBodyOf(event).ResponseCode ?? '');

const evSetup = setup({
  types: { context: {} as EvContext, events: {} as EvEvent, input: {} as EvInput, output: {} as EvOutput },
  actors: {
    /**
     * CertificateInstallationReq signed with the provisioning key, or CertificateUpdateReq (contract
     * chain, eMAID, V2G roots) signed with the current contract key (pki-and-crypto.md §11.2).
     */
    signCertificateRequest: effect<SignedPart, { sessionId: string; service: CertificateService }>('signCertificateRequest'),
    /**
     * CertificateInstallationRes / CertificateUpdateRes: CPS signature and chain, contract key decrypted
     * with the provisioning key (Installation) or the current contract key (Update) and checked, contract stored (§8.1, §10.1).
     */
    acceptCertificateResponse: effect<{ emaid: string }, { exi: Uint8Array; service: CertificateService }>('acceptCertificateResponse'),
    /** PaymentDetailsReq body from the contract store: eMAID and contract chain. */
    paymentDetails: effect<{ body: Body; emaid: string }, void>('paymentDetails'),
    /** AuthorizationReq with the GenChallenge, signed with the contract key. */
    signAuthorization: effect<SignedPart, { genChallenge: string }>('signAuthorization'),
    /** MeteringReceiptReq signed with the contract key. */
    signReceipt: effect<SignedPart, { sessionId: string; saScheduleTupleId: number; meterInfo: Body }>('signReceipt'),
  },
  actions: {
    /** Builds an unsigned request, arms its EVCC timeout [charging-session.md §2] and sends it. */
    request: assign(({ context }, params: { name: string; chargeProgress?: 'Start' | 'Stop' | 'Renegotiate' }) => {
      const protocol = context.protocol ?? 'iso2';
      const body = params.name === 'supportedAppProtocolReq'
        ? appProtocolRequest(context.plan)
        : requestBody(params.name, { protocol, plan: context.plan, vehicle: context.vehicle, saScheduleTupleId: context.saScheduleTupleId, chargeProgress: params.chargeProgress });
      const schema = params.name === 'supportedAppProtocolReq' ? 'app' as const : protocol;
      return {
        request: { schema, name: params.name, sessionId: context.sessionId, body },
        deadlines: withDeadline(withoutDeadline(context.deadlines, 'next'), 'response', context.now + evccMessageTimeout(context.protocol, params.name)),
      };
    }),
    signedRequest: assign(({ context }, params: { name: string; part: SignedPart }) => ({
      request: { schema: context.protocol ?? 'iso2', name: params.name, sessionId: context.sessionId, body: params.part.body, signature: params.part.signature },
      deadlines: withDeadline(context.deadlines, 'response', context.now + evccMessageTimeout(context.protocol, params.name)),
    })),
    /** A response arrived: its time, the vehicle's state, no more response deadline. */
    received: assign(({ context, event }) => {
      const e = event as EvResponseEvent;
      return { now: e.now, vehicle: e.vehicle, deadlines: withoutDeadline(context.deadlines, 'response'), last: { name: e.type.slice(4), code: codeOf(e) || undefined } };
    }),
    /** Wait `loopIntervalMs` before the next request of a loop. */
    later: assign(({ context }) => ({ deadlines: withDeadline(context.deadlines, 'next', context.now + context.plan.loopIntervalMs) })),
    clock: assign(({ event }) => ({ now: (event as { at: number }).at })),
    /** Provided: encode and write `context.request`. */
    send: () => {},
    /** Provided: end the connection. */
    close: () => {},
  },
  guards: {
    ok: ({ event }) => !isFailure(codeOf(event)),
    ongoing: ({ event }) => responseBodyOf(event).EVSEProcessing === 'Ongoing',
    contract: ({ context }) => context.protocol === 'iso2' && context.plan.payment === 'Contract',
    dc: ({ context }) => context.protocol === 'din' || isDcMode(context.plan.energyMode),
  },
});

/**
 * CertificateInstallation or CertificateUpdate: sign the request, wait for the response, check it and
 * store the contract; then PaymentDetails with it. A FAILED_* response ends the session [V2G2-539].
 */
function certificateExchange(service: CertificateService) {
  const message = service === 'Installation' ? 'CertificateInstallation' : 'CertificateUpdate';
  const answered = [{ guard: 'ok', target: 'checking', actions: 'received' }, { target: '#ev.failed', actions: 'received' }] as const;
  return evSetup.createStateConfig({
    initial: 'signing',
    states: {
      signing: {
        invoke: {
          src: 'signCertificateRequest',
          input: ({ context }) => ({ sessionId: context.sessionId, service }),
          onDone: { target: 'waiting', actions: [{ type: 'signedRequest', params: ({ event }) => ({ name: `${message}Req`, part: event.output }) }, 'send'] },
          onError: { target: '#ev.failed', actions: assign({ reason: ({ event }) => `cannot sign ${message}Req: ${(event.error as Error)?.message}` }) },
        },
      },
      waiting: { on: service === 'Installation' ? { 'res.CertificateInstallationRes': answered } : { 'res.CertificateUpdateRes': answered } },
      checking: {
        invoke: {
          src: 'acceptCertificateResponse',
          input: ({ event }) => ({ exi: (event as EvResponseEvent).exi, service }),
          onDone: { target: '#ev.paymentDetails', actions: assign({ emaid: ({ event }) => event.output.emaid }) },
          onError: { target: '#ev.failed', actions: assign({ reason: ({ event }) => `${message}Res rejected: ${(event.error as Error)?.message}` }) },
        },
      },
    },
  });
}

export const evSessionMachine = evSetup.createMachine({
  id: 'ev',
  context: ({ input }) => ({
    plan: input.plan,
    sessionId: input.plan.resumeSessionId ?? NO_SESSION_ID,
    vehicle: input.vehicle,
    now: input.now,
    deadlines: withDeadline({}, 'communicationSetup', input.now + timersOf(undefined).evccCommunicationSetup),
    saScheduleTupleId: 1,
    receiptsSigned: 0,
    loops: 0,
  }),
  initial: 'supportedAppProtocol',
  on: {
    // Any response this state does not wait for: the EV's sequence error ends the session.
    'res.*': { target: '.failed', actions: ['received', assign({ reason: ({ event }) => `unexpected ${event.type.slice(4)} (${codeOf(event)})` })] },
    'deadline.response': { target: '.failed', actions: ['clock', assign({ reason: ({ context }) => `no ${context.request?.name.replace(/Req$/, 'Res')} within the EVCC timeout` })] },
    'deadline.communicationSetup': { target: '.failed', actions: ['clock', assign({ reason: 'V2G_EVCC_CommunicationSetup_Timeout' })] },
    'deadline.ongoing': { target: '.failed', actions: ['clock', assign({ reason: 'V2G_EVCC_Ongoing_Timeout' })] },
    'deadline.cableCheck': { target: '.failed', actions: ['clock', assign({ reason: ({ context }) => `CableCheck took longer than ${timersOf(context.protocol).evccCableCheck / 1000} s` })] },
    'deadline.preCharge': { target: '.failed', actions: ['clock', assign({ reason: ({ context }) => `PreCharge took longer than ${timersOf(context.protocol).evccPreCharge / 1000} s` })] },
    'deadline.readyToCharge': { target: '.failed', actions: ['clock', assign({ reason: 'V2G_EVCC_ReadyToCharge_Timeout: no PowerDeliveryRes(Start) within 150 s of ChargeParameterDiscovery' })] },
    garbage: { target: '.failed', actions: assign({ reason: ({ event }) => event.reason }) },
    'transport.closed': { target: '.failed', actions: assign({ reason: 'the charger closed the connection' }) },
  },
  states: {
    supportedAppProtocol: {
      entry: [{ type: 'request', params: { name: 'supportedAppProtocolReq' } }, 'send'],
      on: {
        'res.supportedAppProtocolRes': [
          {
            guard: ({ context, event }) => String(event.body.supportedAppProtocolRes && (event.body.supportedAppProtocolRes as Body).ResponseCode).startsWith('OK') && protocolOfSchemaId(context.plan, (event.body.supportedAppProtocolRes as Body).SchemaID) !== undefined,
            target: 'sessionSetup',
            actions: ['received', assign({ protocol: ({ context, event }) => protocolOfSchemaId(context.plan, (event.body.supportedAppProtocolRes as Body).SchemaID) })],
          },
          { target: 'failed', actions: ['received', assign({ reason: 'no protocol negotiated' })] },
        ],
      },
    },
    sessionSetup: {
      entry: [{ type: 'request', params: { name: 'SessionSetupReq' } }, 'send'],
      on: {
        'res.SessionSetupRes': [
          {
            guard: 'ok',
            target: 'serviceDiscovery',
            actions: ['received', assign(({ context, event }) => ({
              sessionId: String(event.header.SessionID ?? '').toLowerCase(),
              joinedOldSession: codeOf(event) === 'OK_OldSessionJoined',
              deadlines: withoutDeadline(context.deadlines, 'communicationSetup'),
            }))],
          },
          { target: 'failed', actions: 'received' },
        ],
      },
    },
    serviceDiscovery: {
      entry: [{ type: 'request', params: { name: 'ServiceDiscoveryReq' } }, 'send'],
      on: {
        'res.ServiceDiscoveryRes': [
          {
            // The charger must offer our payment option (DIN: ExternalPayment only).
            guard: ({ context, event }) => {
              const body = responseBodyOf(event);
              const options = ((body.PaymentOptionList ?? body.PaymentOptions) as Body | undefined)?.PaymentOption;
              const wanted = context.protocol === 'din' ? 'ExternalPayment' : context.plan.payment;
              return isFailure(codeOf(event)) || !Array.isArray(options) || !options.includes(wanted);
            },
            target: 'failed',
            actions: ['received', assign({ reason: 'the charger does not offer the payment option' })],
          },
          { guard: ({ context }) => context.protocol === 'iso2' && context.plan.payment === 'Contract' && certificateServiceOf(context.plan) !== undefined, target: 'serviceDetail', actions: 'received' },
          { target: 'paymentServiceSelection', actions: 'received' },
        ],
      },
    },
    serviceDetail: {
      entry: [{ type: 'request', params: { name: 'ServiceDetailReq' } }, 'send'],
      on: { 'res.ServiceDetailRes': [{ guard: 'ok', target: 'paymentServiceSelection', actions: 'received' }, { target: 'failed', actions: 'received' }] },
    },
    paymentServiceSelection: {
      entry: [{ type: 'request', params: { name: 'PaymentServiceSelectionReq' } }, 'send'],
      on: {
        [`res.PaymentServiceSelectionRes`]: [
          { guard: ({ context, event }) => !isFailure(codeOf(event)) && context.protocol === 'iso2' && context.plan.payment === 'Contract' && certificateServiceOf(context.plan) === 'Installation', target: 'certificateInstallation', actions: 'received' },
          { guard: ({ context, event }) => !isFailure(codeOf(event)) && context.protocol === 'iso2' && context.plan.payment === 'Contract' && certificateServiceOf(context.plan) === 'Update', target: 'certificateUpdate', actions: 'received' },
          { guard: ({ context, event }) => !isFailure(codeOf(event)) && context.protocol === 'iso2' && context.plan.payment === 'Contract', target: 'paymentDetails', actions: 'received' },
          { guard: 'ok', target: 'authorization', actions: 'received' },
          { target: 'failed', actions: 'received' },
        ],
      },
    },
    certificateInstallation: certificateExchange('Installation'),
    // A valid contract near its expiry is renewed before PaymentDetails (pki-and-crypto.md §11.2).
    certificateUpdate: certificateExchange('Update'),
    paymentDetails: {
      initial: 'reading',
      states: {
        reading: {
          invoke: {
            src: 'paymentDetails',
            onDone: {
              target: 'waiting',
              actions: [assign(({ context, event }) => ({
                emaid: event.output.emaid,
                request: { schema: 'iso2' as const, name: 'PaymentDetailsReq', sessionId: context.sessionId, body: event.output.body },
                deadlines: withDeadline(context.deadlines, 'response', context.now + evccMessageTimeout(context.protocol, 'PaymentDetailsReq')),
              })), 'send'],
            },
            onError: { target: '#ev.failed', actions: assign({ reason: ({ event }) => `no contract: ${(event.error as Error)?.message}` }) },
          },
        },
        waiting: {
          on: {
            'res.PaymentDetailsRes': [
              { guard: 'ok', target: '#ev.authorization', actions: ['received', assign({ genChallenge: ({ event }) => String(responseBodyOf(event).GenChallenge ?? '') })] },
              { target: '#ev.failed', actions: 'received' },
            ],
          },
        },
      },
    },
    authorization: {
      initial: 'sending',
      exit: assign({ deadlines: ({ context }) => withoutDeadline(context.deadlines, 'ongoing') }),
      states: {
        sending: {
          always: [{ guard: 'contract', target: 'signing' }, { target: 'waiting', actions: [{ type: 'request', params: { name: 'AuthorizationReq' } }, 'send'] }],
        },
        signing: {
          invoke: {
            src: 'signAuthorization',
            input: ({ context }) => ({ genChallenge: context.genChallenge ?? '' }),
            onDone: { target: 'waiting', actions: [{ type: 'signedRequest', params: ({ event }) => ({ name: 'AuthorizationReq', part: event.output }) }, 'send'] },
            onError: { target: '#ev.failed', actions: assign({ reason: ({ event }) => `cannot sign AuthorizationReq: ${(event.error as Error)?.message}` }) },
          },
        },
        waiting: {
          on: {
            'res.AuthorizationRes': [
              { guard: ({ event }) => isFailure(codeOf(event)), target: '#ev.failed', actions: 'received' },
              // Ongoing: ask again; V2G_EVCC_Ongoing_Timeout bounds the wait.
              {
                guard: 'ongoing',
                target: 'pausing',
                actions: ['received', assign({ deadlines: ({ context }) => context.deadlines.ongoing ? context.deadlines : withDeadline(context.deadlines, 'ongoing', context.now + timersOf(context.protocol).evccOngoing) }), 'later'],
              },
              { target: '#ev.chargeParameterDiscovery', actions: 'received' },
            ],
          },
        },
        pausing: { on: { 'deadline.next': { target: 'sending', actions: 'clock' } } },
      },
    },
    chargeParameterDiscovery: {
      entry: [
        // DIN: from the first ChargeParameterDiscoveryReq, PowerDelivery(Start) must be answered within V2G_EVCC_ReadyToCharge_Timeout.
        assign({ deadlines: ({ context }) => {
          const limit = timersOf(context.protocol).evccReadyToCharge;
          return limit === undefined || context.deadlines.readyToCharge !== undefined ? context.deadlines : withDeadline(context.deadlines, 'readyToCharge', context.now + limit);
        } }),
        { type: 'request', params: { name: 'ChargeParameterDiscoveryReq' } }, 'send',
      ],
      on: {
        'res.ChargeParameterDiscoveryRes': [
          { guard: ({ event }) => isFailure(codeOf(event)), target: 'failed', actions: 'received' },
          { guard: 'ongoing', target: 'chargeParameterPause', actions: ['received', 'later'] },
          {
            target: 'chargeParameterSettled',
            actions: ['received', assign({ saScheduleTupleId: ({ event }) => Number((((responseBodyOf(event).SAScheduleList as Body | undefined)?.SAScheduleTuple as Body[] | undefined)?.[0])?.SAScheduleTupleID ?? 1) })],
          },
        ],
      },
    },
    chargeParameterPause: { on: { 'deadline.next': { target: 'chargeParameterDiscovery', actions: 'clock' } } },
    chargeParameterSettled: { always: [{ guard: 'dc', target: 'cableCheck' }, { target: 'powerDeliveryStart' }] },
    cableCheck: {
      entry: assign({ deadlines: ({ context }) => withDeadline(context.deadlines, 'cableCheck', context.now + timersOf(context.protocol).evccCableCheck) }),
      exit: assign({ deadlines: ({ context }) => withoutDeadline(context.deadlines, 'cableCheck') }),
      initial: 'asking',
      states: {
        asking: {
          entry: [{ type: 'request', params: { name: 'CableCheckReq' } }, 'send'],
          on: {
            'res.CableCheckRes': [
              { guard: ({ event }) => isFailure(codeOf(event)), target: '#ev.failed', actions: 'received' },
              { guard: 'ongoing', target: 'waiting', actions: ['received', 'later'] },
              { target: '#ev.preCharge', actions: 'received' },
            ],
          },
        },
        waiting: { on: { 'deadline.next': { target: 'asking', actions: 'clock' } } },
      },
    },
    preCharge: {
      entry: assign({ deadlines: ({ context }) => withDeadline(context.deadlines, 'preCharge', context.now + timersOf(context.protocol).evccPreCharge) }),
      exit: assign({ deadlines: ({ context }) => withoutDeadline(context.deadlines, 'preCharge') }),
      initial: 'asking',
      states: {
        asking: {
          entry: [{ type: 'request', params: { name: 'PreChargeReq' } }, 'send'],
          on: {
            'res.PreChargeRes': [
              { guard: ({ event }) => isFailure(codeOf(event)), target: '#ev.failed', actions: 'received' },
              // Close the contactors once the charger's output is within 20 V of the battery.
              { guard: ({ event }) => Math.abs(valueOf(responseBodyOf(event).EVSEPresentVoltage) - (event as EvResponseEvent).vehicle.batteryVoltage) <= 20, target: '#ev.powerDeliveryStart', actions: 'received' },
              { target: 'waiting', actions: ['received', 'later'] },
            ],
          },
        },
        waiting: { on: { 'deadline.next': { target: 'asking', actions: 'clock' } } },
      },
    },
    powerDeliveryStart: {
      entry: [{ type: 'request', params: { name: 'PowerDeliveryReq', chargeProgress: 'Start' } }, 'send'],
      on: { 'res.PowerDeliveryRes': [{ guard: 'ok', target: 'charging', actions: ['received', assign({ deadlines: ({ context }) => withoutDeadline(context.deadlines, 'readyToCharge') })] }, { target: 'failed', actions: 'received' }] },
    },
    charging: {
      initial: 'asking',
      states: {
        asking: {
          entry: [{ type: 'request', params: ({ context }) => ({ name: context.protocol === 'din' || isDcMode(context.plan.energyMode) ? 'CurrentDemandReq' : 'ChargingStatusReq' }) }, 'send'],
          on: {
            'res.ChargingStatusRes': { target: 'answered', actions: ['received', assign({ loops: ({ context }) => context.loops + 1 })] },
            'res.CurrentDemandRes': { target: 'answered', actions: ['received', assign({ loops: ({ context }) => context.loops + 1 })] },
          },
        },
        answered: {
          always: [
            { guard: ({ context }) => isFailure(context.last?.code ?? ''), target: '#ev.failed' },
            // A PnC EV answers ReceiptRequired with a signed MeteringReceiptReq.
            { guard: ({ context, event }) => context.plan.payment === 'Contract' && context.protocol === 'iso2' && responseBodyOf(event).ReceiptRequired === true && responseBodyOf(event).MeterInfo !== undefined, target: '#ev.meteringReceipt', actions: assign({ meterInfo: ({ event }) => responseBodyOf(event).MeterInfo as Body }) },
            {
              guard: ({ context, event }) => context.vehicle.soc >= context.plan.targetSoc || stopRequested(responseBodyOf(event)) || (context.plan.stopAfterLoops !== undefined && context.loops >= context.plan.stopAfterLoops),
              target: '#ev.powerDeliveryStop',
            },
            { target: 'waiting', actions: 'later' },
          ],
        },
        waiting: { on: { 'deadline.next': { target: 'asking', actions: 'clock' } } },
      },
    },
    meteringReceipt: {
      initial: 'signing',
      states: {
        signing: {
          invoke: {
            src: 'signReceipt',
            input: ({ context }) => ({ sessionId: context.sessionId, saScheduleTupleId: context.saScheduleTupleId, meterInfo: context.meterInfo ?? {} }),
            onDone: { target: 'waiting', actions: [{ type: 'signedRequest', params: ({ event }) => ({ name: 'MeteringReceiptReq', part: event.output }) }, 'send'] },
            onError: { target: '#ev.failed', actions: assign({ reason: ({ event }) => `cannot sign MeteringReceiptReq: ${(event.error as Error)?.message}` }) },
          },
        },
        waiting: {
          on: {
            'res.MeteringReceiptRes': [
              { guard: 'ok', target: '#ev.charging.waiting', actions: ['received', assign({ receiptsSigned: ({ context }) => context.receiptsSigned + 1 }), 'later'] },
              { target: '#ev.failed', actions: 'received' },
            ],
          },
        },
      },
    },
    powerDeliveryStop: {
      entry: [{ type: 'request', params: { name: 'PowerDeliveryReq', chargeProgress: 'Stop' } }, 'send'],
      on: {
        'res.PowerDeliveryRes': [
          { guard: ({ event }) => isFailure(codeOf(event)), target: 'failed', actions: 'received' },
          { guard: ({ context }) => (context.protocol === 'din' || isDcMode(context.plan.energyMode)) && !context.plan.skipWeldingDetection, target: 'weldingDetection', actions: 'received' },
          { target: 'sessionStop', actions: 'received' },
        ],
      },
    },
    weldingDetection: {
      entry: [{ type: 'request', params: { name: 'WeldingDetectionReq' } }, 'send'],
      on: { 'res.WeldingDetectionRes': [{ guard: 'ok', target: 'sessionStop', actions: 'received' }, { target: 'failed', actions: 'received' }] },
    },
    sessionStop: {
      entry: [{ type: 'request', params: { name: 'SessionStopReq' } }, 'send'],
      on: {
        'res.SessionStopRes': [
          { guard: 'ok', target: 'done', actions: ['received', assign({ outcome: ({ context }) => (context.plan.pause && context.protocol === 'iso2' ? 'paused' as const : 'completed' as const) })] },
          { target: 'failed', actions: 'received' },
        ],
      },
    },
    done: { type: 'final', entry: 'close' },
    failed: { type: 'final', entry: ['close', assign({ outcome: 'failed' })] },
  },
  output: ({ context }) => ({
    outcome: context.outcome ?? 'failed',
    protocol: context.protocol,
    sessionId: context.sessionId,
    emaid: context.emaid,
    loops: context.loops,
    receiptsSigned: context.receiptsSigned,
    joinedOldSession: context.joinedOldSession ?? false,
    last: context.last,
    reason: context.reason,
  }),
});

/** The charger asks to stop: EVSENotification StopCharging or EVSE_Shutdown. */
function stopRequested(body: Body): boolean {
  const status = (body.DC_EVSEStatus ?? body.AC_EVSEStatus) as Body | undefined;
  return status?.EVSENotification === 'StopCharging' || status?.EVSEStatusCode === 'EVSE_Shutdown';
}


