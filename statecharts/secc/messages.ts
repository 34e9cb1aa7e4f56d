/**
 * The vocabulary both session machines share (pure): protocols, message names, response codes,
 * physical values and the timers of charging-session.md §2. DIN 70121 names two requests
 * differently; the machines speak the ISO 15118-2 names and translate at the edge of the protocol.
 */

export type SessionProtocol = 'iso2' | 'din';

/** supportedAppProtocol namespaces (ISO 15118-2 §8.2, DIN 70121 §8.2). */
export const PROTOCOL_NAMESPACES: Readonly<Record<SessionProtocol, string>> = {
  iso2: 'urn:iso:15118:2:2013:MsgDef',
  din: 'urn:din:70121:2012:MsgDef',
};

/** The major version each namespace is spoken at. */
export const PROTOCOL_MAJOR_VERSION: Readonly<Record<SessionProtocol, number>> = { iso2: 2, din: 2 };

/** DIN 70121 name → the ISO 15118-2 name the machines use. */
const DIN_TO_ISO: Readonly<Record<string, string>> = {
  ServicePaymentSelectionReq: 'PaymentServiceSelectionReq',
  ServicePaymentSelectionRes: 'PaymentServiceSelectionRes',
  ContractAuthenticationReq: 'AuthorizationReq',
  ContractAuthenticationRes: 'AuthorizationRes',
};
const ISO_TO_DIN: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(DIN_TO_ISO).map(([din, iso]) => [iso, din]));

/** The machine's name for a body element received in `protocol`. */
export function machineName(protocol: SessionProtocol, wireName: string): string {
  return protocol === 'din' ? (DIN_TO_ISO[wireName] ?? wireName) : wireName;
}

/** The body element name to put on the wire in `protocol` for a machine name. */
export function wireName(protocol: SessionProtocol, name: string): string {
  return protocol === 'din' ? (ISO_TO_DIN[name] ?? name) : name;
}

/** `FooReq` → `FooRes`. */
export function responseNameOf(requestName: string): string {
  return requestName.replace(/Req$/, 'Res');
}

/** Every request an SECC answers, by ISO 15118-2 name (DIN's translated). */
export const REQUEST_NAMES = [
  'SessionSetupReq', 'ServiceDiscoveryReq', 'ServiceDetailReq', 'PaymentServiceSelectionReq',
  'CertificateInstallationReq', 'CertificateUpdateReq', 'PaymentDetailsReq', 'AuthorizationReq',
  'ChargeParameterDiscoveryReq', 'PowerDeliveryReq', 'ChargingStatusReq', 'MeteringReceiptReq',
  'CableCheckReq', 'PreChargeReq', 'CurrentDemandReq', 'WeldingDetectionReq', 'SessionStopReq',
] as const;
export type RequestName = (typeof REQUEST_NAMES)[number];

/** responseCodeType of ISO 15118-2 (schema order); DIN 70121 has the same names up to FAILED_ChargingProfileInvalid. */
export type ResponseCode =
  | 'OK' | 'OK_NewSessionEstablished' | 'OK_OldSessionJoined' | 'OK_CertificateExpiresSoon'
  | 'FAILED' | 'FAILED_SequenceError' | 'FAILED_ServiceIDInvalid' | 'FAILED_UnknownSession'
  | 'FAILED_ServiceSelectionInvalid' | 'FAILED_PaymentSelectionInvalid' | 'FAILED_CertificateExpired'
  | 'FAILED_SignatureError' | 'FAILED_NoCertificateAvailable' | 'FAILED_CertChainError' | 'FAILED_ChallengeInvalid'
  | 'FAILED_ContractCanceled' | 'FAILED_WrongChargeParameter' | 'FAILED_PowerDeliveryNotApplied'
  | 'FAILED_TariffSelectionInvalid' | 'FAILED_ChargingProfileInvalid' | 'FAILED_MeteringSignatureNotValid'
  | 'FAILED_NoChargeServiceSelected' | 'FAILED_WrongEnergyTransferMode' | 'FAILED_ContactorError'
  | 'FAILED_CertificateNotAllowedAtThisEVSE' | 'FAILED_CertificateRevoked';

export const isFailure = (code: string): boolean => code.startsWith('FAILED');

/** The all-zero SessionID an EV sends in SessionSetupReq when it starts a new session. */
export const NO_SESSION_ID = '0000000000000000';

/** True when `id` (hex) names no session: 00 or all zeros, of any length. */
export const isNoSession = (id: string | undefined): boolean => !id || /^0+$/.test(id);

/**
 * A protocol's timers (charging-session.md §2), milliseconds. The SECC's and EVCC's timers are
 * absolute deadlines in machine context; the participant turns the earliest into one timer.
 * Until supportedAppProtocol has picked a protocol the ISO-2 values apply (the handshake's are equal).
 */
export interface SessionTimers {
  /** V2G_SECC_Sequence_Timeout [V2G2-443]: no next request within it ends the session. */
  readonly seccSequence: number;
  /** The SECC waits this long for CertificateInstallationRes/UpdateRes from the backend, then answers FAILED [V2G2-917/918]. */
  readonly seccCertificateInstallation: number;
  /** The SECC answers Ongoing when the authorization takes longer than this (its message performance time; the EV waits 2 s). */
  readonly seccAuthorizationAnswer: number;
  /** V2G_SECC_CableCheck_Performance_Time: isolation not confirmed by then is answered FAILED (DIN only; ISO-2 leaves it to the EV's 40 s). */
  readonly seccCableCheck?: number;
  /** The SECC's performance time for CurrentDemandRes (the benchmark's target; the EV waits 250 ms). */
  readonly seccCurrentDemand: number;
  /** V2G_EVCC_Ongoing_Timeout. */
  readonly evccOngoing: number;
  /** V2G_EVCC_CommunicationSetup_Timeout: SAP → SessionSetupRes. */
  readonly evccCommunicationSetup: number;
  /** Overall CableCheck / PreCharge (EVCC). */
  readonly evccCableCheck: number;
  readonly evccPreCharge: number;
  /** V2G_EVCC_ReadyToCharge_Timeout: first ChargeParameterDiscoveryReq → PowerDeliveryRes(Start) (DIN only). */
  readonly evccReadyToCharge?: number;
}

const ISO2_TIMERS: SessionTimers = {
  seccSequence: 60_000,
  seccCertificateInstallation: 4_500,
  seccAuthorizationAnswer: 1_500,
  seccCurrentDemand: 25,
  evccOngoing: 60_000,
  evccCommunicationSetup: 20_000,
  evccCableCheck: 40_000,
  evccPreCharge: 7_000,
};

/** DIN SPEC 70121 §9.6 (Tables 75–77): its own performance times and the ReadyToCharge bound; no certificate services. */
const DIN_TIMERS: SessionTimers = {
  seccSequence: 60_000,
  seccCertificateInstallation: 4_500,
  // V2G_SECC_Msg_Performance_Time of ContractAuthenticationRes.
  seccAuthorizationAnswer: 1_500,
  seccCableCheck: 38_000,
  seccCurrentDemand: 25,
  evccOngoing: 60_000,
  evccCommunicationSetup: 20_000,
  evccCableCheck: 40_000,
  evccPreCharge: 7_000,
  evccReadyToCharge: 150_000,
};

/** The timers of a session's protocol (ISO-2's before one is agreed). */
export function timersOf(protocol: SessionProtocol | undefined): SessionTimers {
  return protocol === 'din' ? DIN_TIMERS : ISO2_TIMERS;
}

/**
 * EVCC message timeouts per request (charging-session.md §2): ISO-2 gives the slow requests 5 s,
 * DIN 70121 waits 2 s for every response (PowerDelivery and ContractAuthentication too); both 250 ms for CurrentDemand.
 */
export function evccMessageTimeout(protocol: SessionProtocol | undefined, requestName: string): number {
  if (requestName === 'CurrentDemandReq') return 250;
  if (protocol === 'din') return 2_000;
  switch (requestName) {
    case 'ServiceDetailReq': case 'PaymentDetailsReq': case 'PowerDeliveryReq':
    case 'CertificateInstallationReq': case 'CertificateUpdateReq': return 5_000;
    default: return 2_000;
  }
}

/** A PhysicalValue as both schemas write it: Value × 10^Multiplier in Unit. */
export interface PhysicalValue {
  readonly Multiplier: number;
  readonly Unit: string;
  readonly Value: number;
}

/** Encodes `value` with the finest multiplier (−3…3) whose Value fits a short. */
export function physical(value: number, unit: string): PhysicalValue {
  for (let multiplier = -3; multiplier <= 3; multiplier++) {
    const scaled = Math.round(value / 10 ** multiplier);
    if (Math.abs(scaled) <= 32767) return { Multiplier: multiplier, Unit: unit, Value: scaled };
  }
  return { Multiplier: 3, Unit: unit, Value: Math.sign(value) * 32767 };
}

/** The number a PhysicalValue stands for (0 when absent or malformed). */
export function valueOf(pv: unknown): number {
  if (typeof pv !== 'object' || pv === null) return 0;
  const { Multiplier, Value } = pv as Partial<PhysicalValue>;
  return typeof Value === 'number' && typeof Multiplier === 'number' ? Value * 10 ** Multiplier : 0;
}

export type EnergyTransferMode = 'AC_single_phase_core' | 'AC_three_phase_core' | 'DC_core' | 'DC_extended' | 'DC_combo_core' | 'DC_unique';
export const isDcMode = (mode: string | undefined): boolean => typeof mode === 'string' && mode.startsWith('DC');

export type PaymentOption = 'Contract' | 'ExternalPayment';

/** A message body as the EXI JSON shape carries it (exi.md). */
export type Body = Record<string, unknown>;
