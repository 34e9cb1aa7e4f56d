// One message of every type the SLAC codec speaks, with the frame length link-layer.md §1.3 gives
// (undefined where the reference names none). Shared by the codec test, the fuzzer and bench:slac.
import * as slac from '../../protocols/slac/index.ts';
import type { SlacMessage } from '../../protocols/slac/index.ts';

export const EV_MAC = 'dc0ea1116708';
export const EVSE_MAC = '9a8ab66d2df6';
export const RUN_ID = 'dc0ea11167080000';
export const NMK = '9ed1f8a5b566e83dc4f1700e4a89afec';
export const NID = 'b468ace9ff5603';
const aag = Array.from({ length: 58 }, (_, i) => 10 + (i % 5));

export const SAMPLES: readonly { message: SlacMessage; length?: number }[] = [
  { message: slac.slacParmReq(RUN_ID), length: 60 },
  { message: slac.slacParmCnf(EV_MAC, RUN_ID), length: 60 },
  { message: slac.startAttenCharInd(EV_MAC, RUN_ID), length: 60 },
  { message: slac.mnbcSoundInd(RUN_ID, 9, '0123456789abcdef0123456789abcdef'), length: 71 },
  { message: slac.attenProfileInd(EV_MAC, aag), length: 85 },
  { message: slac.attenCharInd(EV_MAC, RUN_ID, 10, aag), length: 129 },
  { message: slac.attenCharRsp(EV_MAC, RUN_ID), length: 70 },
  { message: { type: 'CM_VALIDATE.REQ', signalType: 0, timer: 0, result: 1 }, length: 60 },
  { message: slac.validateCnfNotRequired(), length: 60 },
  { message: slac.slacMatchReq(EV_MAC, EVSE_MAC, RUN_ID), length: 85 },
  { message: slac.slacMatchCnf(EV_MAC, EVSE_MAC, RUN_ID, NID, NMK), length: 109 },
  { message: slac.setKeyReq(NID, NMK), length: 60 },
  { message: { type: 'CM_SET_KEY.CNF', result: 1, myNonce: 0xf6bc24f6, yourNonce: slac.SET_KEY_NONCE, pid: 4, prn: 0, pmn: 255, ccoCapability: 0 }, length: 60 },
  { message: { type: 'CM_GET_KEY.REQ', requestType: 0, requestedKeyType: 1, nid: NID, myNonce: 1, pid: 4, prn: 0, pmn: 0 } },
  { message: { type: 'CM_GET_KEY.CNF', result: 0, requestedKeyType: 1, myNonce: 1, yourNonce: 2, nid: NID, eks: 1, pid: 4, prn: 0, pmn: 0, key: NMK } },
  { message: { type: 'CM_AMP_MAP.REQ', amplitudes: Array.from({ length: 1155 }, (_, i) => i % 16) } },
  { message: { type: 'CM_AMP_MAP.CNF', result: 0 } },
  { message: slac.swVerReq(), length: 60 },
  { message: { type: 'VS_SW_VER.CNF', oui: slac.QUALCOMM_OUI, status: 0, deviceId: 0x20, version: 'MAC-QCA7420-1.4.0.20-00-20171027-CS' } },
  { message: slac.linkStatusReq() },
  { message: { type: 'VS_PL_LINK_STATUS.CNF', oui: slac.QUALCOMM_OUI, status: 0, linkStatus: 1 } },
  { message: { type: 'VS_NW_INFO.REQ', oui: slac.QUALCOMM_OUI } },
  {
    message: {
      type: 'VS_NW_INFO.CNF', oui: slac.QUALCOMM_OUI,
      networks: [{ nid: NID, snid: 3, tei: 1, stationRole: 2, ccoMac: EVSE_MAC, access: 0, coordinatingNetworks: 0, stations: [{ mac: EV_MAC, tei: 2, bridgedMac: EV_MAC, avgPhyTxRate: 9, avgPhyRxRate: 9 }] }],
    },
  },
];

/** Each sample as a frame from EV to EVSE. */
export function sampleFrames(): Uint8Array[] {
  return SAMPLES.map(({ message }) => slac.encodeSlacFrame(message, { destination: EVSE_MAC, source: EV_MAC }));
}
