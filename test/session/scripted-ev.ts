// A scripted, misbehaving EV for the negative tests: sends whatever request, header or bytes a
// case needs and reads the SECC's answer.
import type { Duplex } from 'node:stream';
import { decodeExi, encodeExi, type ExiJson } from '../../protocols/exi/index.ts';
import { V2gtpConnection } from '../../actors/transport/v2gtp-connection.ts';
import { requestBody, type EvPlan, type VehicleStatus } from '../../statecharts/ev/requests.ts';
import { wireName, type SessionProtocol } from '../../statecharts/secc/messages.ts';

type Obj = Record<string, unknown>;

export interface Answer {
  readonly name: string;
  readonly code: string;
  readonly content: Obj;
  readonly header: Obj;
}

const VEHICLE: VehicleStatus = { soc: 50, capacityWh: 60_000, maxVoltage: 450, maxCurrent: 125, maxPower: 50_000, batteryVoltage: 380, targetCurrent: 50 };

export class ScriptedEv {
  readonly connection: V2gtpConnection;
  protocol: SessionProtocol = 'iso2';
  sessionId = '0000000000000000';
  readonly plan: EvPlan;
  private readonly frames: Uint8Array[] = [];
  private waiting: ((frame: Uint8Array | undefined) => void) | undefined;
  readonly closed: Promise<void>;

  constructor(readonly stream: Duplex, plan: Partial<EvPlan> = {}) {
    this.plan = { protocols: ['iso2'], payment: 'ExternalPayment', energyMode: 'DC_extended', evccId: '0a0b0c0d0e0f', targetSoc: 80, pause: false, installContract: false, loopIntervalMs: 0, ...plan };
    this.connection = new V2gtpConnection(stream);
    this.connection.on('frame', (frame) => (this.waiting ? this.waiting(frame.payload) : this.frames.push(frame.payload)));
    this.closed = new Promise((resolve) => this.connection.on('close', () => { this.waiting?.(undefined); resolve(); }));
  }

  private next(): Promise<Uint8Array | undefined> {
    return new Promise((resolve) => {
      const frame = this.frames.shift();
      if (frame || this.connection.isClosed) return resolve(frame);
      this.waiting = (f) => { this.waiting = undefined; resolve(f); };
    });
  }

  /** Writes bytes as they are (garbage, broken frames). */
  raw(bytes: Uint8Array): void {
    this.stream.write(bytes);
  }

  /** Sends one EXI payload and waits for the answer; undefined when the SECC closed instead. */
  async exchange(exi: Uint8Array, schema: 'app' | SessionProtocol = this.protocol): Promise<Answer | undefined> {
    if (!this.connection.send(exi)) return undefined;
    const frame = await this.next();
    if (!frame) return undefined;
    const document = decodeExi(schema, frame).document as Obj;
    if (schema === 'app') {
      const content = document.supportedAppProtocolRes as Obj;
      return { name: 'supportedAppProtocolRes', code: String(content.ResponseCode), content, header: {} };
    }
    const message = document.V2G_Message as Obj;
    const [name] = Object.keys(message.Body as Obj);
    const content = (message.Body as Obj)[name] as Obj;
    return { name, code: String(content.ResponseCode ?? ''), content, header: message.Header as Obj };
  }

  async sap(appProtocols?: Obj[]): Promise<Answer | undefined> {
    const protocols = appProtocols ?? this.plan.protocols.map((p, i) => ({ ProtocolNamespace: p === 'din' ? 'urn:din:70121:2012:MsgDef' : 'urn:iso:15118:2:2013:MsgDef', VersionNumberMajor: 2, VersionNumberMinor: 0, SchemaID: i + 1, Priority: i + 1 }));
    const answer = await this.exchange(encodeExi('app', { supportedAppProtocolReq: { AppProtocol: protocols } }), 'app');
    if (answer?.code.startsWith('OK')) this.protocol = this.plan.protocols[Number(answer.content.SchemaID) - 1];
    return answer;
  }

  /** The body the EV builder makes for `name` (ISO 15118-2 name), with overrides. */
  body(name: string, overrides: Obj = {}, chargeProgress?: 'Start' | 'Stop' | 'Renegotiate'): Obj {
    return { ...requestBody(name, { protocol: this.protocol, plan: this.plan, vehicle: VEHICLE, saScheduleTupleId: 1, chargeProgress }), ...overrides };
  }

  /** Sends a request (ISO 15118-2 name) with the session's SessionID unless told otherwise. */
  async send(name: string, body: Obj = this.body(name), header: Obj = {}): Promise<Answer | undefined> {
    const document = { V2G_Message: { Header: { SessionID: this.sessionId, ...header }, Body: { [wireName(this.protocol, name)]: body } } };
    const answer = await this.exchange(encodeExi(this.protocol, document as ExiJson));
    if (answer && name === 'SessionSetupReq' && answer.code.startsWith('OK')) this.sessionId = String(answer.header.SessionID);
    return answer;
  }

  /** SAP and SessionSetup. */
  async setUp(): Promise<void> {
    await this.sap();
    await this.send('SessionSetupReq');
  }

  /** Every EIM step up to and including `last`, each expected to be answered OK. */
  async eimThrough(last: 'ServiceDiscoveryReq' | 'PaymentServiceSelectionReq' | 'AuthorizationReq' | 'ChargeParameterDiscoveryReq' | 'CableCheckReq' | 'PreChargeReq' | 'PowerDeliveryReq' | 'CurrentDemandReq' | 'ChargingStatusReq'): Promise<Answer> {
    const dc = this.plan.energyMode.startsWith('DC');
    const steps = dc
      ? ['ServiceDiscoveryReq', 'PaymentServiceSelectionReq', 'AuthorizationReq', 'ChargeParameterDiscoveryReq', 'CableCheckReq', 'PreChargeReq', 'PowerDeliveryReq', 'CurrentDemandReq']
      : ['ServiceDiscoveryReq', 'PaymentServiceSelectionReq', 'AuthorizationReq', 'ChargeParameterDiscoveryReq', 'PowerDeliveryReq', 'ChargingStatusReq'];
    await this.setUp();
    let answer: Answer | undefined;
    for (const step of steps.slice(0, steps.indexOf(last) + 1)) {
      do answer = await this.send(step, this.body(step, {}, step === 'PowerDeliveryReq' ? 'Start' : undefined)); while (answer?.content.EVSEProcessing === 'Ongoing');
      if (!answer || answer.code.startsWith('FAILED')) throw new Error(`${step} answered ${answer?.code ?? '(closed)'}`);
    }
    return answer!;
  }

  end(): void {
    this.connection.end();
  }
}
