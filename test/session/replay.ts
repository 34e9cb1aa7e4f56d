// Replays a captured request stream against our SECC (charging-session.md §5). The corpus keeps
// each distinct payload once, so a capture's stream lacks the requests an earlier capture already
// had (and the repeats of an Ongoing step): the driver fills such gaps with the request the car
// sends at that step (the EV's own request builder) and repeats a request answered Ongoing, then
// sends the captured one with the SessionID rewritten to the one our SECC issued.
import type { Duplex } from 'node:stream';
import { decodeExi, encodeExi, type ExiJson } from '../../protocols/exi/index.ts';
import { V2gtpConnection } from '../../actors/transport/v2gtp-connection.ts';
import { requestBody, type EvPlan, type VehicleStatus } from '../../statecharts/ev/requests.ts';
import { machineName, wireName, type SessionProtocol } from '../../statecharts/secc/messages.ts';
import type { CorpusRow } from '../helpers/exi-corpus.ts';

type Obj = Record<string, unknown>;

/** The steps of an EIM session in the order an SECC accepts them. */
const STEPS = ['supportedAppProtocolReq', 'SessionSetupReq', 'ServiceDiscoveryReq', 'PaymentServiceSelectionReq', 'AuthorizationReq', 'ChargeParameterDiscoveryReq', 'CableCheckReq', 'PreChargeReq', 'PowerDeliveryReq:Start', 'CurrentDemandReq', 'PowerDeliveryReq:Stop', 'WeldingDetectionReq', 'SessionStopReq'];
const AC_STEPS = ['supportedAppProtocolReq', 'SessionSetupReq', 'ServiceDiscoveryReq', 'PaymentServiceSelectionReq', 'AuthorizationReq', 'ChargeParameterDiscoveryReq', 'PowerDeliveryReq:Start', 'ChargingStatusReq', 'PowerDeliveryReq:Stop', 'SessionStopReq'];

const VEHICLE: VehicleStatus = { soc: 50, capacityWh: 60_000, maxVoltage: 450, maxCurrent: 125, maxPower: 50_000, batteryVoltage: 380, targetCurrent: 50 };

export interface Exchange {
  readonly request: string;
  readonly response: string;
  readonly code: string;
  /** The request came from the capture (not filled in). */
  readonly captured: boolean;
}

function stepOf(protocol: SessionProtocol, wire: string, content: Obj): string {
  const name = machineName(protocol, wire);
  if (name !== 'PowerDeliveryReq') return name;
  const start = protocol === 'din' ? content.ReadyToChargeState === true : content.ChargeProgress !== 'Stop';
  return `PowerDeliveryReq:${start ? 'Start' : 'Stop'}`;
}

/** Sends the capture's requests (and fills) over `stream`; returns every exchange in order. */
export async function replayRequests(stream: Duplex, requests: readonly CorpusRow[]): Promise<Exchange[]> {
  const protocol = (requests.find((r) => r.schema !== 'app')?.schema ?? 'din') as SessionProtocol;
  const ac = requests.some((r) => r.message === 'ChargingStatusReq');
  const steps = ac ? AC_STEPS : STEPS;
  const plan: EvPlan = { protocols: [protocol], payment: 'ExternalPayment', energyMode: ac ? 'AC_three_phase_core' : 'DC_extended', evccId: '0a0b0c0d0e0f', targetSoc: 80, pause: false, installContract: false, loopIntervalMs: 0 };
  const connection = new V2gtpConnection(stream);
  const frames: Uint8Array[] = [];
  let waiting: ((frame: Uint8Array | undefined) => void) | undefined;
  connection.on('frame', (frame) => (waiting ? waiting(frame.payload) : frames.push(frame.payload)));
  connection.on('close', () => waiting?.(undefined));
  const next = () => new Promise<Uint8Array | undefined>((resolve) => {
    const frame = frames.shift();
    if (frame || connection.isClosed) resolve(frame);
    else waiting = (f) => { waiting = undefined; resolve(f); };
  });
  const exchanges: Exchange[] = [];
  let sessionId = '00';
  let at = -1;
  /** The current step was answered Ongoing: the car repeated it (the corpus kept one copy). */
  let ongoing = false;

  const exchange = async (step: string, document: ExiJson, schema: 'app' | SessionProtocol, captured: boolean): Promise<Obj | undefined> => {
    if (!connection.send(encodeExi(schema, document))) return undefined;
    const answer = await next();
    if (!answer) { exchanges.push({ request: step, response: '(closed)', code: '', captured }); return undefined; }
    const decoded = decodeExi(schema, answer).document as Obj;
    const root = schema === 'app' ? 'supportedAppProtocolRes' : Object.keys(((decoded.V2G_Message as Obj).Body as Obj))[0];
    const content = (schema === 'app' ? decoded.supportedAppProtocolRes : ((decoded.V2G_Message as Obj).Body as Obj)[root]) as Obj;
    if (step === 'SessionSetupReq') sessionId = String(((decoded.V2G_Message as Obj).Header as Obj).SessionID);
    exchanges.push({ request: schema === 'app' ? step : wireName(protocol, step.replace(/:.*/, '')), response: root, code: String(content.ResponseCode ?? ''), captured });
    return content;
  };
  const filled = async (step: string): Promise<Obj | undefined> => {
    if (step === 'supportedAppProtocolReq') {
      return exchange(step, { supportedAppProtocolReq: { AppProtocol: [{ ProtocolNamespace: protocol === 'din' ? 'urn:din:70121:2012:MsgDef' : 'urn:iso:15118:2:2013:MsgDef', VersionNumberMajor: 2, VersionNumberMinor: 0, SchemaID: 1, Priority: 1 }] } }, 'app', false);
    }
    const [name, progress] = step.split(':');
    const body = requestBody(name, { protocol, plan, vehicle: VEHICLE, saScheduleTupleId: 1, chargeProgress: progress as 'Start' | 'Stop' | undefined });
    return exchange(step, { V2G_Message: { Header: { SessionID: sessionId }, Body: { [wireName(protocol, name)]: body } } }, protocol, false);
  };
  /** Steps up to `target`, filling the ones the capture lacks; repeats a step answered Ongoing. */
  const reach = async (target: number) => {
    while (at + 1 < target) {
      at++;
      let answer = await filled(steps[at]);
      while (answer?.EVSEProcessing === 'Ongoing') answer = await filled(steps[at]);
      if (!answer) return false;
    }
    return true;
  };

  try {
    for (const row of requests) {
      if (row.schema === 'app') {
        if (!(await reach(0))) break;
        at = 0;
        if (!(await exchange('supportedAppProtocolReq', decodeExi('app', row.bytes).document, 'app', true))) break;
        continue;
      }
      const document = decodeExi(protocol, row.bytes).document as Obj;
      const message = document.V2G_Message as Obj;
      const [wire] = Object.keys(message.Body as Obj);
      const step = stepOf(protocol, wire, (message.Body as Obj)[wire] as Obj);
      const index = steps.indexOf(step);
      if (index < 0) throw new Error(`${wire} is not a step of an EIM session`);
      if (index > at && ongoing) {
        let answer: Obj | undefined;
        do answer = await filled(steps[at]); while (answer?.EVSEProcessing === 'Ongoing');
        if (!answer) break;
      }
      if (index > at && !(await reach(index))) break;
      at = Math.max(at, index);
      const header = { ...(message.Header as Obj), ...(step === 'SessionSetupReq' ? {} : { SessionID: sessionId }) };
      const answer = await exchange(step, { V2G_Message: { ...message, Header: header } }, protocol, true);
      if (!answer) break;
      ongoing = answer.EVSEProcessing === 'Ongoing';
    }
  } finally {
    connection.end();
  }
  return exchanges;
}

export interface ChargerReplay {
  /** Capture responses sent, in capture order. */
  readonly consumed: number;
  /** Capture responses of a repeated loop step our EV did not need (it moved on earlier). */
  readonly skipped: number;
  /** Answers not in the capture: the handshake, and repeats of the last answer of a step. */
  readonly filled: number;
  /** Requests the capture had no answer for (the EV left the capture's sequence). */
  readonly unmatched: readonly string[];
  readonly requests: readonly string[];
}

/**
 * Plays a commercial charger from its captured answers: each request of our EV gets the capture's
 * next answer when that is of the request's type (sent byte for byte); answers of a loop step the
 * EV no longer needs are skipped; a repeated request whose answer the corpus kept only once gets
 * that answer again. The handshake answer (never in the corpus: identical in every capture) is made.
 * When the capture is used up the connection closes: that is the capture's end.
 */
export function answerFromCapture(stream: Duplex, responses: readonly CorpusRow[]): Promise<ChargerReplay> {
  const connection = new V2gtpConnection(stream);
  const requests: string[] = [];
  const unmatched: string[] = [];
  const lastOfType = new Map<string, Uint8Array>();
  let at = 0;
  let skipped = 0;
  let filled = 0;
  let protocol: SessionProtocol | undefined;
  connection.on('frame', ({ payload }) => {
    if (!protocol) {
      const offered = ((decodeExi('app', payload).document as Obj).supportedAppProtocolReq as Obj).AppProtocol as Obj[];
      const din = offered.find((p) => String(p.ProtocolNamespace).startsWith('urn:din'));
      protocol = 'din';
      filled++;
      requests.push('supportedAppProtocolReq');
      connection.send(encodeExi('app', { supportedAppProtocolRes: din ? { ResponseCode: 'OK_SuccessfulNegotiation', SchemaID: din.SchemaID } : { ResponseCode: 'Failed_NoNegotiation' } }));
      return;
    }
    const message = (decodeExi(protocol, payload).document as Obj).V2G_Message as Obj;
    const [request] = Object.keys(message.Body as Obj);
    requests.push(request);
    const wanted = request.replace(/Req$/, 'Res');
    // Skip the rest of a loop step the EV has left (e.g. PreChargeRes after it reached its voltage).
    while (at < responses.length && responses[at].message !== wanted && at > 0 && responses[at].message === responses[at - 1].message) { at++; skipped++; }
    if (at >= responses.length) { connection.end(); return; }
    if (responses[at]?.message === wanted) {
      lastOfType.set(wanted, responses[at].bytes);
      connection.send(responses[at++].bytes);
      if (at >= responses.length) setImmediate(() => connection.end());
      return;
    }
    const repeat = lastOfType.get(wanted);
    if (repeat) { filled++; connection.send(repeat); return; }
    unmatched.push(request);
    connection.end();
  });
  return new Promise((resolve) => connection.on('close', () => resolve({ consumed: at, skipped, filled, unmatched, requests })));
}
