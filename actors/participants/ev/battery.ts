/**
 * The vehicle's battery model: capacity, state of charge, limits, and how much current it asks
 * for (constant current up to 80 %, then tapering). Charging advances it by simulated time, so a
 * session of "a few seconds of simulated energy" does not depend on the machine's speed.
 */
import type { VehicleStatus } from '../../../statecharts/ev/requests.ts';

export interface BatteryOptions {
  readonly capacityWh?: number;
  readonly soc?: number;
  readonly maxVoltage?: number;
  readonly maxCurrent?: number;
  readonly maxPower?: number;
  /** A pack held at one voltage (a replayed capture's), instead of the state-of-charge curve. */
  readonly fixedVoltage?: number;
  /** Simulated seconds one charging-loop answer stands for. @default 5 */
  readonly secondsPerLoop?: number;
}

export class Battery {
  readonly capacityWh: number;
  private socPercent: number;
  private readonly maxVoltage: number;
  private readonly maxCurrent: number;
  private readonly maxPower: number;
  readonly secondsPerLoop: number;
  private readonly fixedVoltage: number | undefined;
  /** Energy taken in this life, Wh. */
  chargedWh = 0;

  constructor(options: BatteryOptions = {}) {
    this.capacityWh = options.capacityWh ?? 60_000;
    this.socPercent = options.soc ?? 40;
    this.maxVoltage = options.maxVoltage ?? 450;
    this.maxCurrent = options.maxCurrent ?? 200;
    this.maxPower = options.maxPower ?? 90_000;
    this.secondsPerLoop = options.secondsPerLoop ?? 5;
    this.fixedVoltage = options.fixedVoltage;
  }

  get soc(): number {
    return this.socPercent;
  }

  /** Open-circuit voltage rises with the state of charge (a 96s NMC pack). */
  get voltage(): number {
    return this.fixedVoltage ?? Math.round(330 + 0.9 * this.socPercent);
  }

  status(): VehicleStatus {
    const taper = this.socPercent < 80 ? 1 : Math.max(0.1, (100 - this.socPercent) / 20);
    return {
      soc: this.socPercent,
      capacityWh: this.capacityWh,
      maxVoltage: this.maxVoltage,
      maxCurrent: this.maxCurrent,
      maxPower: this.maxPower,
      batteryVoltage: this.voltage,
      targetCurrent: Math.min(this.maxCurrent, this.maxPower / this.voltage) * taper,
    };
  }

  /** Takes `powerW` for one loop's simulated seconds. */
  charge(powerW: number): void {
    const wh = (Math.max(0, powerW) * this.secondsPerLoop) / 3600;
    this.chargedWh += wh;
    this.socPercent = Math.min(100, this.socPercent + (wh / this.capacityWh) * 100);
  }
}
