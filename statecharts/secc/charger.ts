/**
 * What the SECC machine knows of its charger (pure types): the snapshot the charger hardware port
 * publishes, read by the participant when a request arrives, and the commands the machine gives.
 * A real charger implements the port in actors/participants/secc/charger.ts.
 */
import type { EnergyTransferMode, PaymentOption, SessionProtocol } from './messages.ts';

export type IsolationLevel = 'Invalid' | 'Valid' | 'Warning' | 'Fault' | 'No_IMD';

/** The charger's state at the moment a request arrives (power electronics, IMD, meter, control pilot). */
export interface ChargerStatus {
  /** DC output, V and A (0 on AC chargers). */
  readonly presentVoltage: number;
  readonly presentCurrent: number;
  readonly isolation: IsolationLevel;
  /** EVSE_Ready when true, EVSE_Shutdown when the charger wants the session to end. */
  readonly ready: boolean;
  readonly dcLimits: { readonly maxVoltage: number; readonly maxCurrent: number; readonly maxPower: number; readonly minVoltage: number; readonly minCurrent: number };
  readonly acLimits: { readonly nominalVoltage: number; readonly maxCurrent: number };
  readonly meter: { readonly meterId: string; readonly energyWh: number; /** Seconds since the epoch. */ readonly timestamp: number };
}

/** Commands the machine gives the charger (fire-and-forget; the next status shows their effect). */
export type ChargerCommand =
  | { readonly type: 'cableCheck' }
  | { readonly type: 'preCharge'; readonly voltage: number; readonly current: number }
  | { readonly type: 'contactors'; readonly closed: boolean }
  | { readonly type: 'target'; readonly voltage: number; readonly current: number }
  | { readonly type: 'stop' };

/** An SECC's fixed configuration: what it offers and who it is. */
export interface SeccConfig {
  /** ISO 15118-2 EVSEID (e.g. `DE*ABC*E123456`); DIN sends it as hex bytes. */
  readonly evseId: string;
  readonly paymentOptions: readonly PaymentOption[];
  readonly energyModes: readonly EnergyTransferMode[];
  /** Protocols served, most preferred first (ISO-2 over DIN when the EV offers both, charging-session.md §1). */
  readonly protocols: readonly SessionProtocol[];
  /** Ask for a MeteringReceipt in PnC sessions (ReceiptRequired in ChargingStatusRes / CurrentDemandRes). */
  readonly receiptRequired: boolean;
}

export const DEFAULT_SECC_CONFIG: SeccConfig = {
  evseId: 'DE*OPC*E0000001',
  paymentOptions: ['Contract', 'ExternalPayment'],
  energyModes: ['AC_three_phase_core', 'DC_extended'],
  protocols: ['iso2', 'din'],
  receiptRequired: true,
};
