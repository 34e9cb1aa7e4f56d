/**
 * What a QCA Green PHY modem answers to its own host without touching the line (link-layer.md §1.7),
 * shared by the in-memory power line and the `openpnc modem sim` stand-in.
 */
import { QUALCOMM_OUI, type SlacMessage } from '../../protocols/slac/index.ts';

export interface ModemOptions {
  /** Result byte of CM_SET_KEY.CNF: real QCA firmware sends 1 for success, and Debian's pev/evse expect it. */
  readonly setKeyResult?: number;
  /** False: a modem that never answers CM_SET_KEY. */
  readonly confirmsKey?: boolean;
  /** How long the modem is deaf after a new key (QCA restarts; several seconds on real hardware). */
  readonly restartMs?: number;
}

export interface ModemState {
  /** The modem's own MAC (it answers from it). */
  readonly mac: string;
  readonly role: 'ev' | 'evse';
  nmk: string;
  nid: string;
}

export interface AvlnPeer {
  readonly modemMac: string;
  readonly hostMac: string;
}

export type HostMmeOutcome =
  /** The modem answers (or, for CM_SET_KEY without confirmation, swallows) the message itself. */
  | { readonly local: true; readonly reply?: SlacMessage; readonly keyChanged: boolean }
  /** Not for the modem: it goes on the line. */
  | { readonly local: false };

/** Answers a host's management message; `peers` are the stations of the modem's current AVLN. */
export function answerHostMme(modem: ModemState, message: SlacMessage | { type: 'Unknown' }, peers: readonly AvlnPeer[], options: ModemOptions): HostMmeOutcome {
  const m = message;
  switch (m.type) {
    case 'CM_SET_KEY.REQ': {
      if (options.confirmsKey === false) return { local: true, keyChanged: false };
      modem.nmk = m.newKey;
      modem.nid = m.nid;
      return {
        local: true, keyChanged: true,
        reply: { type: 'CM_SET_KEY.CNF', result: options.setKeyResult ?? 1, myNonce: 0x12345678, yourNonce: m.myNonce, pid: m.pid, prn: m.prn, pmn: 0xff, ccoCapability: 0 },
      };
    }
    case 'CM_GET_KEY.REQ':
      return {
        local: true, keyChanged: false,
        reply: { type: 'CM_GET_KEY.CNF', result: 0, requestedKeyType: m.requestedKeyType, myNonce: m.myNonce, yourNonce: 0x12345678, nid: modem.nid, eks: 1, pid: m.pid, prn: m.prn, pmn: m.pmn, key: modem.nmk },
      };
    case 'VS_SW_VER.REQ':
      return { local: true, keyChanged: false, reply: { type: 'VS_SW_VER.CNF', oui: QUALCOMM_OUI, status: 0, deviceId: 0x20, version: 'OPENPNC-SIM-QCA7000' } };
    case 'VS_PL_LINK_STATUS.REQ':
      return { local: true, keyChanged: false, reply: { type: 'VS_PL_LINK_STATUS.CNF', oui: QUALCOMM_OUI, status: 0, linkStatus: peers.length > 0 ? 1 : 0 } };
    case 'VS_NW_INFO.REQ':
      return {
        local: true, keyChanged: false,
        reply: {
          type: 'VS_NW_INFO.CNF', oui: QUALCOMM_OUI,
          networks: peers.length === 0 ? [] : [{
            nid: modem.nid, snid: 1, tei: 1, stationRole: modem.role === 'evse' ? 2 : 0, ccoMac: modem.mac, access: 0, coordinatingNetworks: 0,
            stations: peers.map((p, i) => ({ mac: p.modemMac, tei: i + 2, bridgedMac: p.hostMac, avgPhyTxRate: 9, avgPhyRxRate: 9 })),
          }],
        },
      };
    default:
      return { local: false };
  }
}

/** Per-group spread of a synthesised attenuation profile, dB. */
const AAG_JITTER_DB = 3;

/** The 58 AAG values a charger's modem reports for an M-Sound heard at `db` (jittered by `random`). */
export function attenuationProfile(db: number, groups: number, random: () => number): number[] {
  return Array.from({ length: groups }, () => Math.max(0, Math.min(255, Math.round(db + (random() * 2 - 1) * AAG_JITTER_DB))));
}
