/**
 * The in-memory power line, the embedded default of the Link port: chargers and EVs on one segment,
 * an attenuation per pair of stations (cross-talk is simply a finite attenuation to a neighbour),
 * frame loss and delay, and a modem model per station that behaves as link-layer.md §1.7 describes:
 * CM_SET_KEY answered locally (result byte as QCA firmware sends it) followed by a restart, one
 * CM_ATTEN_PROFILE.IND per M-Sound heard by a charger's modem, VS_PL_LINK_STATUS, CM_GET_KEY,
 * VS_SW_VER, VS_NW_INFO, and IP between two stations only while both modems hold the same NMK.
 */
import type { Duplex } from 'node:stream';
import { PncError } from '../../protocols/errors.ts';
import {
  AAG_GROUPS, BROADCAST_MAC, QUALCOMM_OUI, SlacCodecError, attenProfileInd, decodeSlacFrame, encodeSlacFrame, linkLocalFromMac, normalizeMac,
} from '../../protocols/slac/index.ts';
import { answerHostMme, attenuationProfile, type ModemOptions, type ModemState } from './modem.ts';
import type { LinkClock } from './clock.ts';
import type { Bound, FramePort, IpPort } from './port.ts';
import { duplexPair } from '../transport/duplex-pair.ts';

export interface PowerLineOptions {
  readonly clock: LinkClock;
  /** Probability that a frame on the line (not host ↔ own modem) is lost. */
  readonly lossRate?: number;
  /** One-way delay on the line, ms. */
  readonly delayMs?: number;
  /** Uniform [0, 1) source for loss and AAG jitter; seed it for reproducible runs. */
  readonly random?: () => number;
  /** Above this attenuation (dB) a modem does not hear another at all. */
  readonly hearingLimitDb?: number;
}

export interface LineStationOptions extends ModemOptions {
  readonly mac: string;
  readonly role: 'ev' | 'evse';
}

const DEFAULT_RESTART_MS = 100;

class Modem implements ModemState {
  readonly mac: string;
  readonly role: 'ev' | 'evse';
  nmk: string;
  nid: string;
  deafUntil = 0;
  constructor(readonly station: LineStation, seed: string) {
    this.role = station.role;
    // A modem's own MAC: Qualcomm OUI + the host's last three bytes.
    this.mac = QUALCOMM_OUI + station.mac.slice(6);
    this.nmk = seed.padEnd(32, '0').slice(0, 32);
    this.nid = `ff${seed.slice(0, 12)}`.slice(0, 14);
  }
}

/** One charger or EV on the line: a host port (give it to a SlacStation) behind a modem. */
export class LineStation {
  readonly mac: string;
  readonly role: 'ev' | 'evse';
  readonly modem: Modem;
  readonly port: FramePort;
  readonly linkLocal: string;
  private readonly handlers = new Set<(frame: Uint8Array) => void>();

  constructor(readonly line: PowerLine, options: LineStationOptions, readonly modemOptions: ModemOptions) {
    this.mac = normalizeMac(options.mac);
    this.role = options.role;
    this.linkLocal = linkLocalFromMac(this.mac);
    this.modem = new Modem(this, this.mac + this.mac);
    const station = this;
    this.port = {
      mac: this.mac,
      send: (frame) => line.fromHost(station, frame),
      onFrame: (handler) => {
        station.handlers.add(handler);
        return () => station.handlers.delete(handler);
      },
      close: async () => { station.handlers.clear(); },
    };
  }

  /** Hands a frame to the host. */
  deliver(frame: Uint8Array): void {
    for (const h of [...this.handlers]) h(frame);
  }
}

interface Listener { onConnection(socket: Duplex, remote: { address: string; port: number }): void }
interface UdpBinding { onMessage(data: Uint8Array, remote: { address: string; port: number }): void }

export class PowerLine {
  readonly clock: LinkClock;
  private readonly lossRate: number;
  private readonly delayMs: number;
  private readonly random: () => number;
  private readonly hearingLimitDb: number;
  private readonly stations = new Map<string, LineStation>();
  private readonly byAddress = new Map<string, LineStation>();
  private readonly neighbours = new Map<string, Map<string, number>>();
  private readonly listeners = new Map<string, Listener>();
  private readonly udp = new Map<string, UdpBinding>();
  private readonly streams = new Set<{ a: LineStation; b: LineStation; sockets: Duplex[] }>();
  /** Frames carried, lost, and refused by the modems (bad bytes from a host). */
  readonly stats = { carried: 0, lost: 0, refused: 0 };

  constructor(options: PowerLineOptions) {
    this.clock = options.clock;
    this.lossRate = options.lossRate ?? 0;
    this.delayMs = options.delayMs ?? 1;
    this.random = options.random ?? Math.random;
    this.hearingLimitDb = options.hearingLimitDb ?? 60;
  }

  addStation(options: LineStationOptions): LineStation {
    const station = new LineStation(this, options, options);
    if (this.stations.has(station.mac)) throw new PncError('InvalidPayload', `station ${station.mac} is already on the line`);
    this.stations.set(station.mac, station);
    this.byAddress.set(station.linkLocal, station);
    this.neighbours.set(station.mac, new Map());
    return station;
  }

  station(mac: string): LineStation | undefined {
    return this.stations.get(normalizeMac(mac));
  }

  /** Sets the attenuation between two stations, both ways (dB); Infinity = not connected. */
  setAttenuation(a: string, b: string, db: number): void {
    const [x, y] = [normalizeMac(a), normalizeMac(b)];
    if (!this.stations.has(x) || !this.stations.has(y)) throw new PncError('InvalidPayload', 'both stations must be on the line');
    if (db === Infinity) {
      this.neighbours.get(x)!.delete(y);
      this.neighbours.get(y)!.delete(x);
    } else {
      this.neighbours.get(x)!.set(y, db);
      this.neighbours.get(y)!.set(x, db);
    }
    this.checkStreams();
  }

  attenuation(a: string, b: string): number {
    return this.neighbours.get(a)?.get(b) ?? Infinity;
  }

  /** A host frame reaches its own modem: management messages are answered there, the rest goes on the line. */
  fromHost(station: LineStation, bytes: Uint8Array): void {
    const modem = station.modem;
    if (this.clock.now() < modem.deafUntil) return;
    let frame;
    try {
      frame = decodeSlacFrame(bytes);
    } catch (error) {
      if (!(error instanceof SlacCodecError)) throw error;
      this.stats.refused++;
      return;
    }
    const outcome = answerHostMme(modem, frame.message, this.peersInNetwork(station).map((p) => ({ modemMac: p.modem.mac, hostMac: p.mac })), station.modemOptions);
    if (!outcome.local) {
      this.broadcastOnLine(station, bytes, frame.message.type === 'CM_MNBC_SOUND.IND');
      return;
    }
    const { reply } = outcome;
    if (reply) this.later(0, () => station.deliver(encodeSlacFrame(reply, { destination: station.mac, source: modem.mac })));
    if (outcome.keyChanged) {
      // The modem restarts with the new key: deaf for a while, its AVLN membership changes.
      modem.deafUntil = this.clock.now() + (station.modemOptions.restartMs ?? DEFAULT_RESTART_MS);
      this.checkStreams();
    }
  }

  private broadcastOnLine(from: LineStation, bytes: Uint8Array, isSound: boolean): void {
    const destination = Buffer.from(bytes.subarray(0, 6)).toString('hex');
    for (const [mac, db] of this.neighbours.get(from.mac)!) {
      if (db > this.hearingLimitDb) continue;
      const to = this.stations.get(mac)!;
      if (this.random() < this.lossRate) { this.stats.lost++; continue; }
      this.stats.carried++;
      this.later(this.delayMs, () => {
        if (this.clock.now() < to.modem.deafUntil) return;
        // The charger's modem measures each M-Sound and reports it to its host ([V2G3-A09-28]; link-layer.md §1.7).
        if (isSound && to.role === 'evse') to.deliver(encodeSlacFrame(attenProfileInd(from.mac, attenuationProfile(db, AAG_GROUPS, this.random)), { destination: to.mac, source: to.modem.mac }));
        if (destination === BROADCAST_MAC || destination === to.mac) to.deliver(bytes);
      });
    }
  }

  private later(ms: number, fn: () => void): void {
    this.clock.at(this.clock.now() + ms, fn);
  }

  /** Stations whose modems share this one's NMK and hear it: the AVLN. */
  peersInNetwork(station: LineStation): LineStation[] {
    const out: LineStation[] = [];
    for (const [mac, db] of this.neighbours.get(station.mac)!) {
      const other = this.stations.get(mac)!;
      if (db <= this.hearingLimitDb && other.modem.nmk === station.modem.nmk && other.modem.nid === station.modem.nid) out.push(other);
    }
    return out;
  }

  /** True if IP can flow between the two stations now. */
  connected(a: LineStation, b: LineStation): boolean {
    return a !== b && this.peersInNetwork(a).includes(b);
  }

  // ── IP between matched stations (SDP datagrams, the V2GTP byte stream) ──

  /** Accepts in-memory TCP-like connections to `port` on the station's link-local address. */
  listen(station: LineStation, port: number, onConnection: Listener['onConnection']): () => void {
    const key = `${station.linkLocal}/${port}`;
    if (this.listeners.has(key)) throw new PncError('AddressInUse', `${key} is already listening`);
    this.listeners.set(key, { onConnection });
    return () => this.listeners.delete(key);
  }

  /**
   * Opens a byte stream from `station` to `[address]:port`, as net.connect would; fails with
   * LinkDown unless both modems hold the same NMK. The stream is destroyed when that stops holding.
   */
  connect(station: LineStation, address: string, port: number): Duplex {
    const peer = this.byAddress.get(address.split('%')[0]);
    if (!peer || !this.connected(station, peer)) throw new PncError('LinkDown', `no link from ${station.linkLocal} to ${address}`, { retryable: true });
    const listener = this.listeners.get(`${peer.linkLocal}/${port}`);
    if (!listener) throw new PncError('ConnectionRefused', `nothing listens on [${peer.linkLocal}]:${port}`, { retryable: true });
    const [client, server] = duplexPair();
    const entry = { a: station, b: peer, sockets: [client, server] };
    this.streams.add(entry);
    client.once('close', () => this.streams.delete(entry));
    queueMicrotask(() => listener.onConnection(server, { address: station.linkLocal, port: 49152 + this.streams.size }));
    return client;
  }

  /** Binds a UDP port on the station; datagrams to its link-local address or to ff02::1 arrive here. */
  bindUdp(station: LineStation, port: number, onMessage: UdpBinding['onMessage']): () => void {
    const key = `${station.linkLocal}/${port}`;
    if (this.udp.has(key)) throw new PncError('AddressInUse', `${key} is already bound`);
    this.udp.set(key, { onMessage });
    return () => this.udp.delete(key);
  }

  /** Sends a datagram; to ff02::1 it reaches every station of the sender's AVLN. Returns how many received it. */
  sendUdp(station: LineStation, address: string, port: number, data: Uint8Array, sourcePort: number): number {
    const target = address.split('%')[0];
    const peers = target === 'ff02::1' ? this.peersInNetwork(station) : [this.byAddress.get(target)].filter((p): p is LineStation => !!p && this.connected(station, p));
    let delivered = 0;
    for (const peer of peers) {
      const binding = this.udp.get(`${peer.linkLocal}/${port}`);
      if (!binding) continue;
      delivered++;
      const copy = Uint8Array.from(data);
      queueMicrotask(() => binding.onMessage(copy, { address: station.linkLocal, port: sourcePort }));
    }
    return delivered;
  }

  /** The station's IP as an IpPort (what the SDP/V2GTP side is given once the link is up). */
  ipPort(station: LineStation): IpPort {
    const bound = (port: number, close: () => void): Bound => ({ port, close });
    return {
      address: station.linkLocal,
      connect: async (address, port) => this.connect(station, address, port),
      listen: async (port, onConnection) => {
        const chosen = port || this.freePort(station, this.listeners);
        return bound(chosen, this.listen(station, chosen, onConnection));
      },
      bindUdp: async (port, onMessage) => {
        const chosen = port || this.freePort(station, this.udp);
        return bound(chosen, this.bindUdp(station, chosen, onMessage));
      },
      sendUdp: (address, port, data, sourcePort) => this.sendUdp(station, address, port, data, sourcePort),
    };
  }

  /** A port in 49152–65535 not yet taken on the station (what an OS gives for port 0). */
  private freePort(station: LineStation, taken: Map<string, unknown>): number {
    for (let port = 49152; port <= 65535; port++) if (!taken.has(`${station.linkLocal}/${port}`)) return port;
    throw new PncError('AddressInUse', `no free port left on ${station.linkLocal}`);
  }

  /** Tears down the streams whose two ends no longer share a network. */
  private checkStreams(): void {
    for (const entry of this.streams) {
      if (this.connected(entry.a, entry.b)) continue;
      this.streams.delete(entry);
      for (const s of entry.sockets) s.destroy(new PncError('LinkDown', 'the power-line link between the two stations is gone', { retryable: true }));
    }
  }
}
