import type { Duplex } from 'node:stream';
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

export interface Remote {
  readonly address: string;
  readonly port: number;
}

/**
 * IPv6 over the matched link, as the SDP and V2GTP side uses it: datagrams (SDP to ff02::1 and the
 * unicast answer) and byte streams (V2GTP/TLS). The in-memory line implements it (PowerLine.ipPort);
 * on a real interface the same calls map to node:dgram and node:net with `%ifname` scopes.
 */
export interface IpPort {
  /** Our IPv6 link-local address (EUI-64 of the host MAC). */
  readonly address: string;
  connect(address: string, port: number): Duplex;
  listen(port: number, onConnection: (socket: Duplex, remote: Remote) => void): () => void;
  bindUdp(port: number, onMessage: (data: Uint8Array, remote: Remote) => void): () => void;
  /** Returns how many stations received it (0 while the link is down). */
  sendUdp(address: string, port: number, data: Uint8Array, sourcePort: number): number;
}
