/**
 * The modem stand-in (`openpnc modem sim`): bridges an EV host interface and a charger host interface
 * the way two QCA modems and the power line between them would (link-layer.md §1.7,
 * charging-session.md §4). Each side's modem answers its host's CM_SET_KEY (result 1, as QCA
 * firmware does), CM_GET_KEY, VS_SW_VER, VS_PL_LINK_STATUS and VS_NW_INFO itself; every M-Sound from
 * the EV also yields a CM_ATTEN_PROFILE.IND toward the charger host; other HomePlug frames cross the
 * line; other ethertypes (IPv6) cross only while both modems hold the same NMK, when gated.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import {
  AAG_GROUPS, BROADCAST_MAC, HOMEPLUG_ETHERTYPE, QUALCOMM_OUI, SlacCodecError, attenProfileInd, decodeSlacFrame, encodeSlacFrame, formatMac,
} from '../../protocols/slac/index.ts';
import { answerHostMme, attenuationProfile, type ModemState } from './modem.ts';
import type { FramePort } from './port.ts';

export interface ModemSimOptions {
  readonly ev: FramePort;
  readonly evse: FramePort;
  /** Attenuation of the simulated line, dB. */
  readonly attenuationDb?: number;
  /** Pass IP only once both hosts hold the same key. */
  readonly gate?: boolean;
}

interface Side {
  readonly name: 'ev' | 'evse';
  readonly port: FramePort;
  readonly modem: ModemState;
  other?: Side;
  /** The host behind this side, learnt from the frames it sends. */
  hostMac?: string;
}

export class ModemSim extends EventEmitter<{ step: [text: string] }> {
  readonly stats = { management: 0, forwarded: 0, gated: 0, profiles: 0, undecodable: 0 };
  private readonly sides: Side[];
  private readonly unsubscribe: (() => void)[] = [];

  constructor(private readonly options: ModemSimOptions) {
    super();
    const modem = (role: 'ev' | 'evse', suffix: string): ModemState => ({ mac: QUALCOMM_OUI + suffix, role, nmk: randomBytes(16).toString('hex'), nid: randomBytes(7).toString('hex') });
    const ev: Side = { name: 'ev', port: options.ev, modem: modem('ev', 'ee0001') };
    const evse: Side = { name: 'evse', port: options.evse, modem: modem('evse', '5e0001') };
    ev.other = evse;
    evse.other = ev;
    this.sides = [ev, evse];
  }

  start(): this {
    for (const side of this.sides) this.unsubscribe.push(side.port.onFrame((frame) => this.fromHost(side, frame)));
    this.emit('step', `bridging the EV side (interface ${formatMac(this.options.ev.mac)}) and the charger side (interface ${formatMac(this.options.evse.mac)}) at ${this.attenuation} dB${this.options.gate ? ', IP gated by the key' : ''}`);
    return this;
  }

  get joined(): boolean {
    const [a, b] = this.sides;
    return a.modem.nmk === b.modem.nmk && a.modem.nid === b.modem.nid;
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribe) u();
  }

  private get attenuation(): number {
    return this.options.attenuationDb ?? 12;
  }

  private fromHost(side: Side, bytes: Uint8Array): void {
    const other = side.other!;
    side.hostMac = Buffer.from(bytes.subarray(6, 12)).toString('hex');
    const ethertype = (bytes[12] << 8) | bytes[13];
    if (ethertype !== HOMEPLUG_ETHERTYPE) {
      if (this.options.gate && !this.joined) { this.stats.gated++; return; }
      this.stats.forwarded++;
      other.port.send(bytes);
      return;
    }
    let frame;
    try {
      frame = decodeSlacFrame(bytes);
    } catch (error) {
      if (!(error instanceof SlacCodecError)) throw error;
      // The line carries what it cannot read.
      this.stats.undecodable++;
      other.port.send(bytes);
      return;
    }
        const peers = this.joined ? [{ modemMac: other.modem.mac, hostMac: other.hostMac ?? BROADCAST_MAC }] : [];
    const outcome = answerHostMme(side.modem, frame.message, peers, {});
    if (outcome.local) {
      this.stats.management++;
      if (outcome.reply) side.port.send(encodeSlacFrame(outcome.reply, { destination: frame.source, source: side.modem.mac }));
      if (frame.message.type === 'CM_SET_KEY.REQ') this.emit('step', `${side.name} host set NID ${side.modem.nid}; ${this.joined ? 'both modems in one AVLN' : 'not joined'}`);
      return;
    }
    this.stats.forwarded++;
    other.port.send(bytes);
    if (frame.message.type === 'CM_MNBC_SOUND.IND' && side.name === 'ev') {
      // The charger's modem measures the M-Sound and tells its host (broadcast from the modem MAC, as in the Ioniq capture).
      this.stats.profiles++;
      other.port.send(encodeSlacFrame(attenProfileInd(frame.source, attenuationProfile(this.attenuation, AAG_GROUPS, Math.random)), { destination: BROADCAST_MAC, source: other.modem.mac }));
    }
  }
}
