/**
 * The EV's request bodies (pure), ISO 15118-2 and DIN 70121, from its plan and the vehicle's
 * present state (battery model in actors/participants/ev/battery.ts).
 */
import { isDcMode, physical, type Body, type EnergyTransferMode, type PaymentOption, type SessionProtocol } from '../secc/messages.ts';

/** What the vehicle reports when it builds a request. */
export interface VehicleStatus {
  /** State of charge, percent. */
  readonly soc: number;
  readonly capacityWh: number;
  readonly maxVoltage: number;
  readonly maxCurrent: number;
  readonly maxPower: number;
  /** DC: the battery voltage the charger must match before the contactors close. */
  readonly batteryVoltage: number;
  /** The current the battery asks for now. */
  readonly targetCurrent: number;
}

/** How this vehicle charges this time. */
export interface EvPlan {
  /** Protocols offered in supportedAppProtocolReq, most preferred first. */
  readonly protocols: readonly SessionProtocol[];
  readonly payment: PaymentOption;
  readonly energyMode: EnergyTransferMode;
  /** EVCCID: the MAC of the EV's PLC modem, hex. */
  readonly evccId: string;
  /** Charging ends at this state of charge (percent). */
  readonly targetSoc: number;
  /** End with SessionStop(Pause) instead of Terminate. */
  readonly pause: boolean;
  /** Resume this paused session (SessionSetupReq carries its SessionID). */
  readonly resumeSessionId?: string;
  /** No valid contract in the contract store: install one first (PnC). */
  readonly installContract: boolean;
  /** The valid contract is within its renewal window: CertificateUpdate first (PnC); installContract wins when both are set. */
  readonly updateContract?: boolean;
  /** DC: go from PowerDelivery(Stop) straight to SessionStop (WeldingDetection is the EV's option). */
  readonly skipWeldingDetection?: boolean;
  /** End charging after this many ChargingStatus/CurrentDemand answers, whatever the state of charge. */
  readonly stopAfterLoops?: number;
  /** Pause between two requests of a loop (ChargingStatus, CurrentDemand, Ongoing repeats), ms. */
  readonly loopIntervalMs: number;
}

/** The Certificate service's two uses (ISO 15118-2 ServiceID 2). */
export type CertificateService = 'Installation' | 'Update';

/** The certificate service the EV asks for this session, if any. */
export function certificateServiceOf(plan: EvPlan): CertificateService | undefined {
  if (plan.installContract) return 'Installation';
  return plan.updateContract ? 'Update' : undefined;
}

/** ISO 15118-2 Certificate service (ServiceID 2) parameter sets: 1 Installation, 2 Update. */
const CERTIFICATE_PARAMETER_SET = { Installation: 1, Update: 2 } as const;

export const APP_PROTOCOLS: Readonly<Record<SessionProtocol, { ProtocolNamespace: string; VersionNumberMajor: number; VersionNumberMinor: number }>> = {
  iso2: { ProtocolNamespace: 'urn:iso:15118:2:2013:MsgDef', VersionNumberMajor: 2, VersionNumberMinor: 0 },
  din: { ProtocolNamespace: 'urn:din:70121:2012:MsgDef', VersionNumberMajor: 2, VersionNumberMinor: 0 },
};

/** supportedAppProtocolReq: SchemaID = position + 1, Priority = position + 1. */
export function appProtocolRequest(plan: EvPlan): Body {
  return { AppProtocol: plan.protocols.map((protocol, index) => ({ ...APP_PROTOCOLS[protocol], SchemaID: index + 1, Priority: index + 1 })) };
}

export function protocolOfSchemaId(plan: EvPlan, schemaId: unknown): SessionProtocol | undefined {
  return typeof schemaId === 'number' ? plan.protocols[schemaId - 1] : undefined;
}

function dcStatus(vehicle: VehicleStatus): Body {
  return { EVReady: true, EVErrorCode: 'NO_ERROR', EVRESSSOC: Math.max(0, Math.min(100, Math.round(vehicle.soc))) };
}

export interface RequestInputs {
  readonly protocol: SessionProtocol;
  readonly plan: EvPlan;
  readonly vehicle: VehicleStatus;
  readonly saScheduleTupleId: number;
  readonly chargeProgress?: 'Start' | 'Stop' | 'Renegotiate';
}

type Builder = (i: RequestInputs) => Body;

const remainingWh = (v: VehicleStatus, plan: EvPlan): number => Math.max(0, ((plan.targetSoc - v.soc) / 100) * v.capacityWh);

const BUILDERS: Readonly<Record<string, Builder>> = {
  SessionSetupReq: (i) => ({ EVCCID: i.plan.evccId }),
  ServiceDiscoveryReq: () => ({}),
  ServiceDetailReq: () => ({ ServiceID: 2 }),
  PaymentServiceSelectionReq: (i) => ({
    SelectedPaymentOption: i.protocol === 'din' ? 'ExternalPayment' : i.plan.payment,
    SelectedServiceList: { SelectedService: [{ ServiceID: 1 }, ...(i.protocol === 'iso2' && certificateServiceOf(i.plan) ? [{ ServiceID: 2, ParameterSetID: CERTIFICATE_PARAMETER_SET[certificateServiceOf(i.plan)!] }] : [])] },
  }),
  AuthorizationReq: () => ({}),
  ChargeParameterDiscoveryReq: (i) => {
    const v = i.vehicle;
    const mode = i.protocol === 'din' ? { EVRequestedEnergyTransferType: 'DC_extended' } : { RequestedEnergyTransferMode: i.plan.energyMode };
    if (i.protocol === 'din' || isDcMode(i.plan.energyMode)) {
      return {
        ...mode,
        DC_EVChargeParameter: {
          DC_EVStatus: dcStatus(v),
          EVMaximumCurrentLimit: physical(v.maxCurrent, 'A'),
          EVMaximumPowerLimit: physical(v.maxPower, 'W'),
          EVMaximumVoltageLimit: physical(v.maxVoltage, 'V'),
          EVEnergyCapacity: physical(v.capacityWh, 'Wh'),
          EVEnergyRequest: physical(remainingWh(v, i.plan), 'Wh'),
          FullSOC: 100,
        },
      };
    }
    return {
      ...mode,
      AC_EVChargeParameter: {
        EAmount: physical(remainingWh(v, i.plan), 'Wh'),
        EVMaxVoltage: physical(v.maxVoltage, 'V'),
        EVMaxCurrent: physical(v.maxCurrent, 'A'),
        EVMinCurrent: physical(0, 'A'),
      },
    };
  },
  CableCheckReq: (i) => ({ DC_EVStatus: dcStatus(i.vehicle) }),
  PreChargeReq: (i) => ({ DC_EVStatus: dcStatus(i.vehicle), EVTargetVoltage: physical(i.vehicle.batteryVoltage, 'V'), EVTargetCurrent: physical(0, 'A') }),
  PowerDeliveryReq: (i) => {
    const progress = i.chargeProgress ?? 'Start';
    if (i.protocol === 'din') {
      return { ReadyToChargeState: progress === 'Start', DC_EVPowerDeliveryParameter: { DC_EVStatus: dcStatus(i.vehicle), BulkChargingComplete: false, ChargingComplete: progress === 'Stop' } };
    }
    const dc = isDcMode(i.plan.energyMode) ? { DC_EVPowerDeliveryParameter: { DC_EVStatus: dcStatus(i.vehicle), ChargingComplete: progress === 'Stop' } } : {};
    return { ChargeProgress: progress, SAScheduleTupleID: i.saScheduleTupleId, ...dc };
  },
  ChargingStatusReq: () => ({}),
  CurrentDemandReq: (i) => {
    const v = i.vehicle;
    const full = v.soc >= i.plan.targetSoc;
    return {
      DC_EVStatus: dcStatus(v),
      EVTargetCurrent: physical(full ? 0 : v.targetCurrent, 'A'),
      EVMaximumVoltageLimit: physical(v.maxVoltage, 'V'),
      EVMaximumCurrentLimit: physical(v.maxCurrent, 'A'),
      EVMaximumPowerLimit: physical(v.maxPower, 'W'),
      ...(i.protocol === 'din' ? { BulkChargingComplete: false } : {}),
      ChargingComplete: full,
      EVTargetVoltage: physical(v.batteryVoltage, 'V'),
    };
  },
  WeldingDetectionReq: (i) => ({ DC_EVStatus: dcStatus(i.vehicle) }),
  SessionStopReq: (i) => (i.protocol === 'din' ? {} : { ChargingSession: i.plan.pause ? 'Pause' : 'Terminate' }),
};

/** The body of an unsigned request (ISO 15118-2 name). */
export function requestBody(name: string, inputs: RequestInputs): Body {
  const builder = BUILDERS[name];
  if (!builder) throw new Error(`the EV builds no ${name}`);
  return builder(inputs);
}
