/**
 * The SECC's response bodies, OK and failed alike (pure). Every request type has one builder here,
 * so a failure answers with the response type that pairs with the request and carries every element
 * the XSD requires, filled with the charger's present values [V2G2-538]; that is the failed-response
 * table of the session.
 */
import type { ChargerStatus, SeccConfig } from './charger.ts';
import { isDcMode, physical, type Body, type ResponseCode, type SessionProtocol } from './messages.ts';

export interface ResponseInputs {
  readonly protocol: SessionProtocol;
  readonly code: ResponseCode;
  readonly config: SeccConfig;
  readonly charger: ChargerStatus;
  readonly now: number;
  readonly energyMode?: string;
  readonly evseProcessing?: 'Finished' | 'Ongoing';
  readonly genChallenge?: string;
  readonly serviceId?: number;
  readonly saScheduleTupleId?: number;
  /** Ask the EV for a MeteringReceiptReq with this response. */
  readonly receiptRequired?: boolean;
}

/** The certificate service offered next to charging (ISO 15118-2 Table 105: ServiceID 2). */
export const CERTIFICATE_SERVICE_ID = 2;
const CHARGE_SERVICE_ID = 1;
export const SA_SCHEDULE_TUPLE_ID = 1;

const hexOfAscii = (text: string): string => Array.from(text, (c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('');

function dcStatus(i: ResponseInputs): Body {
  const statusCode = i.charger.ready ? 'EVSE_Ready' : 'EVSE_Shutdown';
  const isolation = i.protocol === 'din' && i.charger.isolation === 'No_IMD' ? 'Invalid' : i.charger.isolation;
  return { EVSEIsolationStatus: isolation, EVSEStatusCode: statusCode, NotificationMaxDelay: 0, EVSENotification: i.charger.ready ? 'None' : 'StopCharging' };
}

function acStatus(i: ResponseInputs): Body {
  return { NotificationMaxDelay: 0, EVSENotification: i.charger.ready ? 'None' : 'StopCharging', RCD: false };
}

const isDc = (i: ResponseInputs): boolean => i.protocol === 'din' || isDcMode(i.energyMode ?? i.config.energyModes[0]);

function evseStatus(i: ResponseInputs): Body {
  return isDc(i) ? { DC_EVSEStatus: dcStatus(i) } : { AC_EVSEStatus: acStatus(i) };
}

function meterInfo(i: ResponseInputs): Body {
  return { MeterID: i.charger.meter.meterId, MeterReading: Math.round(i.charger.meter.energyWh), TMeter: i.charger.meter.timestamp };
}

function saScheduleList(i: ResponseInputs): Body {
  const maxPower = isDc(i) ? i.charger.dcLimits.maxPower : i.charger.acLimits.nominalVoltage * i.charger.acLimits.maxCurrent * 3;
  // DIN's PMax is a plain short in W (×10 would overflow), ISO-2's a PhysicalValue.
  const pMax = i.protocol === 'din' ? Math.min(32767, Math.round(maxPower / 10)) : physical(maxPower, 'W');
  const schedule = i.protocol === 'din' ? { PMaxScheduleID: 1 } : {};
  return {
    SAScheduleTuple: [{
      SAScheduleTupleID: SA_SCHEDULE_TUPLE_ID,
      PMaxSchedule: { ...schedule, PMaxScheduleEntry: [{ RelativeTimeInterval: { start: 0, duration: 86400 }, PMax: pMax }] },
    }],
  };
}

function evseChargeParameter(i: ResponseInputs): Body {
  const { dcLimits, acLimits } = i.charger;
  if (isDc(i)) {
    return {
      DC_EVSEChargeParameter: {
        DC_EVSEStatus: dcStatus(i),
        EVSEMaximumCurrentLimit: physical(dcLimits.maxCurrent, 'A'),
        EVSEMaximumPowerLimit: physical(dcLimits.maxPower, 'W'),
        EVSEMaximumVoltageLimit: physical(dcLimits.maxVoltage, 'V'),
        EVSEMinimumCurrentLimit: physical(dcLimits.minCurrent, 'A'),
        EVSEMinimumVoltageLimit: physical(dcLimits.minVoltage, 'V'),
        EVSEPeakCurrentRipple: physical(1, 'A'),
      },
    };
  }
  return { AC_EVSEChargeParameter: { AC_EVSEStatus: acStatus(i), EVSENominalVoltage: physical(acLimits.nominalVoltage, 'V'), EVSEMaxCurrent: physical(acLimits.maxCurrent, 'A') } };
}

/** Placeholders for the elements the XSD requires even in a failed CertificateInstallationRes/UpdateRes. */
export const FAILED_CERTIFICATE_CONTENT: Body = {
  SAProvisioningCertificateChain: { Certificate: '00' },
  ContractSignatureCertChain: { Id: 'id1', Certificate: '00' },
  ContractSignatureEncryptedPrivateKey: { Id: 'id2', CONTENT: '00'.repeat(48) },
  DHpublickey: { Id: 'id3', CONTENT: '04' + '00'.repeat(64) },
  eMAID: { Id: 'id4', CONTENT: '00000000000000' },
};

/** A response body with its ResponseCode first. */
type Builder = (i: ResponseInputs) => Body;

/** CurrentDemandRes content both protocols share: present output and limits (one object: it is built 4 times a second per session). */
function currentDemand(i: ResponseInputs): Body {
  return {
    ResponseCode: i.code,
    DC_EVSEStatus: dcStatus(i),
    EVSEPresentVoltage: physical(i.charger.presentVoltage, 'V'),
    EVSEPresentCurrent: physical(i.charger.presentCurrent, 'A'),
    EVSECurrentLimitAchieved: false, EVSEVoltageLimitAchieved: false, EVSEPowerLimitAchieved: false,
    EVSEMaximumVoltageLimit: physical(i.charger.dcLimits.maxVoltage, 'V'),
    EVSEMaximumCurrentLimit: physical(i.charger.dcLimits.maxCurrent, 'A'),
    EVSEMaximumPowerLimit: physical(i.charger.dcLimits.maxPower, 'W'),
  };
}

const ISO2: Readonly<Record<string, Builder>> = {
  SessionSetupReq: (i) => ({ ResponseCode: i.code, EVSEID: i.config.evseId, EVSETimeStamp: Math.floor(i.now / 1000) }),
  ServiceDiscoveryReq: (i) => ({
    ResponseCode: i.code,
    PaymentOptionList: { PaymentOption: [...i.config.paymentOptions] },
    ChargeService: { ServiceID: CHARGE_SERVICE_ID, ServiceCategory: 'EVCharging', FreeService: false, SupportedEnergyTransferMode: { EnergyTransferMode: [...i.config.energyModes] } },
    ...(i.config.paymentOptions.includes('Contract')
      ? { ServiceList: { Service: [{ ServiceID: CERTIFICATE_SERVICE_ID, ServiceName: 'Certificate', ServiceCategory: 'ContractCertificate', FreeService: true }] } }
      : {}),
  }),
  ServiceDetailReq: (i) => ({
    ResponseCode: i.code,
    ServiceID: i.serviceId ?? CERTIFICATE_SERVICE_ID,
    ...(i.code === 'OK' && i.serviceId === CERTIFICATE_SERVICE_ID
      ? { ServiceParameterList: { ParameterSet: [
          { ParameterSetID: 1, Parameter: [{ Name: 'Service', stringValue: 'Installation' }] },
          { ParameterSetID: 2, Parameter: [{ Name: 'Service', stringValue: 'Update' }] },
        ] } }
      : {}),
  }),
  PaymentServiceSelectionReq: (i) => ({ ResponseCode: i.code }),
  CertificateInstallationReq: (i) => ({ ResponseCode: i.code, ...FAILED_CERTIFICATE_CONTENT }),
  CertificateUpdateReq: (i) => ({ ResponseCode: i.code, ...FAILED_CERTIFICATE_CONTENT }),
  PaymentDetailsReq: (i) => ({ ResponseCode: i.code, GenChallenge: i.genChallenge ?? '00'.repeat(16), EVSETimeStamp: Math.floor(i.now / 1000) }),
  AuthorizationReq: (i) => ({ ResponseCode: i.code, EVSEProcessing: i.evseProcessing ?? 'Finished' }),
  ChargeParameterDiscoveryReq: (i) => ({ ResponseCode: i.code, EVSEProcessing: i.evseProcessing ?? 'Finished', ...(i.code === 'OK' ? { SAScheduleList: saScheduleList(i) } : {}), ...evseChargeParameter(i) }),
  PowerDeliveryReq: (i) => ({ ResponseCode: i.code, ...evseStatus(i) }),
  ChargingStatusReq: (i) => ({
    ResponseCode: i.code,
    EVSEID: i.config.evseId, SAScheduleTupleID: i.saScheduleTupleId ?? SA_SCHEDULE_TUPLE_ID,
    EVSEMaxCurrent: physical(i.charger.acLimits.maxCurrent, 'A'), MeterInfo: meterInfo(i),
    ...(i.receiptRequired ? { ReceiptRequired: true } : {}), AC_EVSEStatus: acStatus(i),
  }),
  MeteringReceiptReq: (i) => ({ ResponseCode: i.code, ...evseStatus(i) }),
  CableCheckReq: (i) => ({ ResponseCode: i.code, DC_EVSEStatus: dcStatus(i), EVSEProcessing: i.evseProcessing ?? 'Finished' }),
  PreChargeReq: (i) => ({ ResponseCode: i.code, DC_EVSEStatus: dcStatus(i), EVSEPresentVoltage: physical(i.charger.presentVoltage, 'V') }),
  CurrentDemandReq: (i) => {
    const body = currentDemand(i);
    body.EVSEID = i.config.evseId;
    body.SAScheduleTupleID = i.saScheduleTupleId ?? SA_SCHEDULE_TUPLE_ID;
    body.MeterInfo = meterInfo(i);
    if (i.receiptRequired) body.ReceiptRequired = true;
    return body;
  },
  WeldingDetectionReq: (i) => ({ ResponseCode: i.code, DC_EVSEStatus: dcStatus(i), EVSEPresentVoltage: physical(i.charger.presentVoltage, 'V') }),
  SessionStopReq: (i) => ({ ResponseCode: i.code }),
};

const DIN: Readonly<Record<string, Builder>> = {
  SessionSetupReq: (i) => ({ ResponseCode: i.code, EVSEID: hexOfAscii(i.config.evseId).slice(0, 64) || '00', DateTimeNow: Math.floor(i.now / 1000) }),
  ServiceDiscoveryReq: (i) => ({
    ResponseCode: i.code,
    PaymentOptions: { PaymentOption: ['ExternalPayment'] },
    ChargeService: { ServiceTag: { ServiceID: CHARGE_SERVICE_ID, ServiceCategory: 'EVCharging' }, FreeService: false, EnergyTransferType: 'DC_extended' },
  }),
  PaymentServiceSelectionReq: (i) => ({ ResponseCode: i.code }),
  AuthorizationReq: (i) => ({ ResponseCode: i.code, EVSEProcessing: i.evseProcessing ?? 'Finished' }),
  ChargeParameterDiscoveryReq: (i) => ({ ResponseCode: i.code, EVSEProcessing: i.evseProcessing ?? 'Finished', ...(i.code === 'OK' ? { SAScheduleList: saScheduleList(i) } : {}), ...evseChargeParameter(i) }),
  PowerDeliveryReq: (i) => ({ ResponseCode: i.code, DC_EVSEStatus: dcStatus(i) }),
  CableCheckReq: (i) => ({ ResponseCode: i.code, DC_EVSEStatus: dcStatus(i), EVSEProcessing: i.evseProcessing ?? 'Finished' }),
  PreChargeReq: (i) => ({ ResponseCode: i.code, DC_EVSEStatus: dcStatus(i), EVSEPresentVoltage: physical(i.charger.presentVoltage, 'V') }),
  CurrentDemandReq: currentDemand,
  WeldingDetectionReq: (i) => ({ ResponseCode: i.code, DC_EVSEStatus: dcStatus(i), EVSEPresentVoltage: physical(i.charger.presentVoltage, 'V') }),
  SessionStopReq: (i) => ({ ResponseCode: i.code }),
};

/** True when the SECC has a response for this request (ISO 15118-2 name) in `protocol`. */
export function answers(protocol: SessionProtocol, requestName: string): boolean {
  return Object.hasOwn(protocol === 'din' ? DIN : ISO2, requestName);
}

/**
 * The response body to `requestName` (ISO 15118-2 name) with `inputs.code`; ResponseCode first.
 * Undefined when the protocol has no such request (the session then closes without an answer).
 */
export function responseBody(requestName: string, inputs: ResponseInputs): Body | undefined {
  const builder = (inputs.protocol === 'din' ? DIN : ISO2)[requestName];
  return builder?.(inputs);
}
