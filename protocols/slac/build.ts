/** Builders for the messages SLAC peers send, with the ISO 15118-3 values of link-layer.md §1.3. */
import { BROADCAST_MAC, QUALCOMM_OUI } from './frame.ts';
import type { SlacMessageOf } from './messages.ts';

export const APPLICATION_TYPE_PEV_EVSE = 0x00;
export const SECURITY_TYPE_NONE = 0x00;
/** C_EV_match_MNBC: M-Sounds per matching. */
export const NUM_SOUNDS = 10;
/** TT_EVSE_match_MNBC in units of 100 ms, announced in PARM.CNF and START_ATTEN_CHAR. */
export const SOUNDING_TIME_OUT = 6;
/** RESP_TYPE 1 = "other Green PHY station". */
export const RESP_TYPE_OTHER_GP_STATION = 0x01;
/** HomePlug GP carrier groups in an attenuation profile ([V2G3-A09-35/36]). */
export const AAG_GROUPS = 58;
export const MVF_LENGTH_MATCH_REQ = 0x3e;
export const MVF_LENGTH_MATCH_CNF = 0x56;
export const KEY_TYPE_NMK = 0x01;
export const PID_HLE = 0x04;
/** The nonce libslac, pyslac and pyPLC put into CM_SET_KEY.REQ. */
export const SET_KEY_NONCE = 0xaaaaaaaa;
const NO_ID = '00'.repeat(17);

const ids = { applicationType: APPLICATION_TYPE_PEV_EVSE, securityType: SECURITY_TYPE_NONE };

export function slacParmReq(runId: string): SlacMessageOf<'CM_SLAC_PARM.REQ'> {
  return { type: 'CM_SLAC_PARM.REQ', ...ids, runId };
}

export function slacParmCnf(evMac: string, runId: string): SlacMessageOf<'CM_SLAC_PARM.CNF'> {
  return { type: 'CM_SLAC_PARM.CNF', mSoundTarget: BROADCAST_MAC, numSounds: NUM_SOUNDS, timeOut: SOUNDING_TIME_OUT, respType: RESP_TYPE_OTHER_GP_STATION, forwardingSta: evMac, ...ids, runId };
}

export function startAttenCharInd(evMac: string, runId: string): SlacMessageOf<'CM_START_ATTEN_CHAR.IND'> {
  return { type: 'CM_START_ATTEN_CHAR.IND', ...ids, numSounds: NUM_SOUNDS, timeOut: SOUNDING_TIME_OUT, respType: RESP_TYPE_OTHER_GP_STATION, forwardingSta: evMac, runId };
}

/** `remaining` counts down 9 … 0; `rnd` is 16 random bytes as hex. */
export function mnbcSoundInd(runId: string, remaining: number, rnd: string): SlacMessageOf<'CM_MNBC_SOUND.IND'> {
  return { type: 'CM_MNBC_SOUND.IND', ...ids, senderId: NO_ID, cnt: remaining, runId, rnd };
}

export function attenProfileInd(pevMac: string, aag: number[]): SlacMessageOf<'CM_ATTEN_PROFILE.IND'> {
  return { type: 'CM_ATTEN_PROFILE.IND', pevMac, aag };
}

export function attenCharInd(evMac: string, runId: string, numSounds: number, aag: number[]): SlacMessageOf<'CM_ATTEN_CHAR.IND'> {
  return { type: 'CM_ATTEN_CHAR.IND', ...ids, sourceAddress: evMac, runId, sourceId: NO_ID, respId: NO_ID, numSounds, aag };
}

export function attenCharRsp(evMac: string, runId: string): SlacMessageOf<'CM_ATTEN_CHAR.RSP'> {
  return { type: 'CM_ATTEN_CHAR.RSP', ...ids, sourceAddress: evMac, runId, sourceId: NO_ID, respId: NO_ID, result: 0 };
}

export function slacMatchReq(evMac: string, evseMac: string, runId: string): SlacMessageOf<'CM_SLAC_MATCH.REQ'> {
  return { type: 'CM_SLAC_MATCH.REQ', ...ids, mvfLength: MVF_LENGTH_MATCH_REQ, pevId: NO_ID, pevMac: evMac, evseId: NO_ID, evseMac, runId };
}

export function slacMatchCnf(evMac: string, evseMac: string, runId: string, nid: string, nmk: string): SlacMessageOf<'CM_SLAC_MATCH.CNF'> {
  return { type: 'CM_SLAC_MATCH.CNF', ...ids, mvfLength: MVF_LENGTH_MATCH_CNF, pevId: NO_ID, pevMac: evMac, evseId: NO_ID, evseMac, runId, nid, nmk };
}

/** CM_VALIDATE.CNF result 4: BCB-toggle validation not required (EVerest answers 3, failure; both end VALIDATE). */
export function validateCnfNotRequired(): SlacMessageOf<'CM_VALIDATE.CNF'> {
  return { type: 'CM_VALIDATE.CNF', signalType: 0, toggleNum: 0, result: 4 };
}

export function setKeyReq(nid: string, nmk: string): SlacMessageOf<'CM_SET_KEY.REQ'> {
  return { type: 'CM_SET_KEY.REQ', keyType: KEY_TYPE_NMK, myNonce: SET_KEY_NONCE, yourNonce: 0, pid: PID_HLE, prn: 0, pmn: 0, ccoCapability: 0, nid, newEks: 0x01, newKey: nmk };
}

export function linkStatusReq(): SlacMessageOf<'VS_PL_LINK_STATUS.REQ'> {
  return { type: 'VS_PL_LINK_STATUS.REQ', oui: QUALCOMM_OUI };
}

export function swVerReq(): SlacMessageOf<'VS_SW_VER.REQ'> {
  return { type: 'VS_SW_VER.REQ', oui: QUALCOMM_OUI };
}

/** Average attenuation (dB) over the groups of a profile; Infinity for an empty one. */
export function averageAttenuation(aag: readonly number[]): number {
  if (aag.length === 0) return Infinity;
  let sum = 0;
  for (const g of aag) sum += g;
  return sum / aag.length;
}
