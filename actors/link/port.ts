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

/** A bound UDP port or a listening stream port; `port` is the one chosen when 0 was asked. */
export interface Bound {
  readonly port: number;
  close(): void;
}

/**
 * IPv6 over the link, as SDP and V2GTP use it: datagrams (SDP to ff02::1 and the unicast answer)
 * and byte streams (V2GTP, TLS wraps the Duplex). One port, two adapters: the in-memory line
 * (`PowerLine.ipPort`) and a host interface (`actors/transport/ip-interface.ts`, node:dgram and
 * node:net with `%ifname` scopes); everything above it is the same code.
 */
export interface IpPort {
  /** Our IPv6 address (link-local: EUI-64 of the host MAC), without scope. */
  readonly address: string;
  /** The scope link-local peers need (`fe80::…%if`); absent on the in-memory line. */
  readonly interfaceName?: string;
  /** Resolves once the stream is open; PncError/TransportError when the peer is unreachable or refuses. */
  connect(address: string, port: number): Promise<Duplex>;
  /** Port 0: any free one. */
  listen(port: number, onConnection: (socket: Duplex, remote: Remote) => void): Promise<Bound>;
  /** Port 0: any free one. Datagrams to our address or to ff02::1 arrive here. */
  bindUdp(port: number, onMessage: (data: Uint8Array, remote: Remote) => void): Promise<Bound>;
  /** Sends from our bound `sourcePort`; returns how many stations it reached (0 while the link is down; 1 on a host interface). */
  sendUdp(address: string, port: number, data: Uint8Array, sourcePort: number): number;
}
