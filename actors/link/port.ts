import type { PilotState } from '../../statecharts/slac-common.ts';

/**
 * The Link port: what the SLAC runtime needs of layer 2, whichever adapter is behind it (the
 * in-memory power line, a raw Ethernet interface through libpcap). Frames are whole Ethernet II
 * frames without FCS; an adapter delivers only ethertype 0x88E1.
 */
export interface FramePort {
  /** The host's MAC address, 12 hex digits. */
  readonly mac: string;
  send(frame: Uint8Array): void;
  /** Subscribes to received frames; returns the unsubscribe function. */
  onFrame(handler: (frame: Uint8Array) => void): () => void;
  close(): Promise<void>;
}

export interface PilotReading {
  readonly state: PilotState;
  /** 5 % duty cycle: the charger asks for high-level communication (IEC 61851-1 / ISO 15118-3). */
  readonly pwm5: boolean;
}

/** The control pilot as an input port: a real CP board or the simulation below. */
export interface ControlPilot {
  read(): PilotReading;
  onChange(handler: (reading: PilotReading) => void): () => void;
  /** The charger drives the pilot (E/F toggle of [V2G3-M06-07], back to 5 % PWM). */
  request?(state: 'F' | 'B'): void;
}

/** A control pilot set by hand or by a simulation (`openpnc slac`, tests, the in-memory line). */
export class SimulatedPilot implements ControlPilot {
  private reading: PilotReading;
  private readonly handlers = new Set<(reading: PilotReading) => void>();

  constructor(initial: PilotReading = { state: 'A', pwm5: false }) {
    this.reading = initial;
  }

  read(): PilotReading {
    return this.reading;
  }

  set(state: PilotState, pwm5 = this.reading.pwm5): void {
    this.reading = { state, pwm5 };
    for (const h of [...this.handlers]) h(this.reading);
  }

  onChange(handler: (reading: PilotReading) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  request(state: 'F' | 'B'): void {
    this.set(state === 'F' ? 'F' : 'B', state === 'B');
  }
}
