/**
 * The charger hardware port: power electronics, contactors, isolation monitor, meter and control
 * pilot behind one interface, with a simulated default. A real charger implements `ChargerPort`;
 * the session machine reads `status()` when a request arrives and gives `command()`s.
 */
import type { ChargerCommand, ChargerStatus, IsolationLevel } from '../../../statecharts/secc/charger.ts';

export interface ChargerPort {
  /** The present state; must not block (the CurrentDemand loop reads it at 4 Hz and more). */
  status(): ChargerStatus;
  /** Applies a command; its effect shows in later status() reads. */
  command(command: ChargerCommand): void;
  /** EIM: the external identification means (RFID, app, free charging) authorized this connector. */
  externalAuthorization(): Promise<boolean>;
}

export interface SimulatedChargerOptions {
  readonly maxVoltage?: number;
  readonly maxCurrent?: number;
  readonly maxPower?: number;
  readonly acMaxCurrent?: number;
  readonly meterId?: string;
  /** Clock for the meter's energy integration, epoch ms. @default Date.now */
  readonly now?: () => number;
  /** CableCheckReqs answered Ongoing before the isolation test passes. @default 1 */
  readonly cableCheckRounds?: number;
  /** What `externalAuthorization()` answers. @default true */
  readonly authorizeExternally?: boolean;
}

/**
 * A charger that does what it is told at once: pre-charge reaches the target voltage, the DC output
 * follows the EV's target within the limits, AC delivers its maximum current on three phases, and
 * the meter integrates the power over the injected clock.
 */
export class SimulatedCharger implements ChargerPort {
  private voltage = 0;
  private current = 0;
  private isolation: IsolationLevel = 'Invalid';
  private contactorsClosed = false;
  private ac = false;
  private cableChecks = 0;
  private energyWh = 0;
  private lastSample: number;
  private ready = true;
  private readonly limits: { maxVoltage: number; maxCurrent: number; maxPower: number; acMaxCurrent: number };
  private readonly now: () => number;

  constructor(private readonly options: SimulatedChargerOptions = {}) {
    this.limits = { maxVoltage: options.maxVoltage ?? 920, maxCurrent: options.maxCurrent ?? 300, maxPower: options.maxPower ?? 150_000, acMaxCurrent: options.acMaxCurrent ?? 32 };
    this.now = options.now ?? Date.now;
    this.lastSample = this.now();
  }

  status(): ChargerStatus {
    this.integrate();
    return {
      presentVoltage: this.voltage,
      presentCurrent: this.current,
      isolation: this.isolation,
      ready: this.ready,
      dcLimits: { maxVoltage: this.limits.maxVoltage, maxCurrent: this.limits.maxCurrent, maxPower: this.limits.maxPower, minVoltage: 150, minCurrent: 0 },
      acLimits: { nominalVoltage: 230, maxCurrent: this.limits.acMaxCurrent },
      meter: { meterId: this.options.meterId ?? 'OPNC-SIM-METER-1', energyWh: this.energyWh, timestamp: Math.floor(this.now() / 1000) },
    };
  }

  command(command: ChargerCommand): void {
    this.integrate();
    switch (command.type) {
      case 'cableCheck':
        if (++this.cableChecks >= (this.options.cableCheckRounds ?? 1)) this.isolation = 'Valid';
        break;
      case 'preCharge':
        this.voltage = Math.min(command.voltage, this.limits.maxVoltage);
        this.current = 0;
        break;
      case 'contactors':
        this.contactorsClosed = command.closed;
        // Closing with no DC pre-charge is an AC session: three phases at the maximum current.
        this.ac = command.closed && this.voltage === 0;
        if (this.ac) { this.voltage = 230; this.current = this.limits.acMaxCurrent; }
        if (!command.closed) { this.current = 0; if (this.ac || !this.contactorsClosed) this.voltage = 0; }
        break;
      case 'target': {
        if (!this.contactorsClosed) break;
        this.voltage = Math.min(command.voltage, this.limits.maxVoltage);
        const byPower = this.voltage > 0 ? this.limits.maxPower / this.voltage : this.limits.maxCurrent;
        this.current = Math.max(0, Math.min(command.current, this.limits.maxCurrent, byPower));
        break;
      }
      case 'stop':
        this.voltage = 0; this.current = 0; this.contactorsClosed = false; this.isolation = 'Invalid'; this.cableChecks = 0;
        break;
    }
  }

  async externalAuthorization(): Promise<boolean> {
    return this.options.authorizeExternally ?? true;
  }

  /** Lets a test or the story ask the EV to stop (EVSE_Shutdown / StopCharging). */
  shutDown(): void {
    this.ready = false;
  }

  private integrate(): void {
    const now = this.now();
    const phases = this.ac ? 3 : 1;
    if (this.contactorsClosed) this.energyWh += (this.voltage * this.current * phases * Math.max(0, now - this.lastSample)) / 3_600_000;
    this.lastSample = now;
  }
}
