// The EVSE SLAC machine against a scripted EV, on an injected clock: every timer and counter of
// ISO 15118-3 Table A.1 that the charger owns is driven to expiry at least once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as slac from '../../protocols/slac/index.ts';
import { SLAC_TIMERS as T } from '../../statecharts/slac-common.ts';
import { evseNextDeadline, slacEvseMachine } from '../../statecharts/slac-evse.ts';
import { drive } from './drive.ts';

const EVSE = '0200000005e1';
const EV = '020000000e01';
const EV2 = '020000000e02';
const RUN = '1111111111111111';
const RUN2 = '2222222222222222';
const aag = (db: number) => new Array(58).fill(db);
const setKeyCnf = (result = 1): slac.SlacMessage => ({ type: 'CM_SET_KEY.CNF', result, myNonce: 1, yourNonce: slac.SET_KEY_NONCE, pid: 4, prn: 0, pmn: 0, ccoCapability: 0 });
const linkCnf = (up: boolean): slac.SlacMessage => ({ type: 'VS_PL_LINK_STATUS.CNF', oui: slac.QUALCOMM_OUI, status: 0, linkStatus: up ? 1 : 0 });

async function ready(timers = {}) {
  const d = drive(slacEvseMachine, { evseMac: EVSE, timers }, evseNextDeadline);
  await d.settle();
  assert.equal(d.types(), ['CM_SET_KEY.REQ']);
  await d.receive('00b052000001', setKeyCnf(1), EVSE);
  assert.ok(d.hasTag('waiting'));
  await d.pilot('B');
  assert.ok(d.hasTag('matching'));
  return d;
}

async function soundFully(d: Awaited<ReturnType<typeof ready>>, ev = EV, run = RUN, profiles = 10, db = 12) {
  await d.receive(ev, slac.slacParmReq(run));
  await d.receive(ev, slac.startAttenCharInd(ev, run));
  for (let i = 0; i < profiles; i++) {
    await d.receive(ev, slac.mnbcSoundInd(run, 9 - i, '00'.repeat(16)));
    await d.receive('00b052000001', slac.attenProfileInd(ev, aag(db)), EVSE);
  }
}

test('happy path: key (result 1 only logged), PARM, sounding ends early after 10 profiles, RSP, MATCH, link up', async () => {
  const d = await ready();
  assert.ok(d.steps().some((s) => s.includes('result 1 (informational)')));
  await soundFully(d);
  const ind = d.last('CM_ATTEN_CHAR.IND')!;
  assert.is(ind.destination, EV);
  assert.is(ind.message.numSounds, 10);
  assert.equal(ind.message.aag, aag(12));
  assert.is(ind.at, 0, 'no waiting for TT_EVSE_match_MNBC once 10 profiles are in');
  await d.receive(EV, slac.attenCharRsp(EV, RUN), EVSE);
  await d.receive(EV, slac.slacMatchReq(EV, EVSE, RUN), EVSE);
  const cnf = d.last('CM_SLAC_MATCH.CNF')!;
  const key = d.last('CM_SET_KEY.REQ')!.message;
  assert.is(cnf.message.nmk, key.newKey);
  assert.is(cnf.message.nid, slac.nidFromNmk(key.newKey));
  assert.ok(d.hasTag('matched'));
  await d.advance(T.TP_link_poll);
  assert.is(d.last('VS_PL_LINK_STATUS.REQ')!.at, T.TP_link_poll);
  await d.receive('00b052000001', linkCnf(true), EVSE);
  assert.ok(d.emitted.some((e) => e.type === 'linkUp'));
  d.stop();
});

test('TT_EVSE_match_MNBC: with 3 profiles the IND leaves when the sounding window closes', async () => {
  const d = await ready();
  await soundFully(d, EV, RUN, 3, 20);
  assert.is(d.last('CM_ATTEN_CHAR.IND'), undefined);
  await d.advance(T.TT_EVSE_match_MNBC - 1);
  assert.is(d.last('CM_ATTEN_CHAR.IND'), undefined);
  await d.advance(1);
  const ind = d.last('CM_ATTEN_CHAR.IND')!;
  assert.is(ind.at, T.TT_EVSE_match_MNBC);
  assert.is(ind.message.numSounds, 3);
  d.stop();
});

test('TT_match_response × C_EV_match_retry: the IND is resent twice, then the session is dropped', async () => {
  const d = await ready();
  await soundFully(d);
  await d.advance(T.TT_match_response * (T.C_EV_match_retry + 1));
  const inds = d.sent.filter((s) => s.message.type === 'CM_ATTEN_CHAR.IND').map((s) => s.at);
  assert.equal(inds, [0, T.TT_match_response, 2 * T.TT_match_response]);
  assert.equal(d.actor.getSnapshot().context.sessions, {});
  // A late RSP finds no session.
  await d.receive(EV, slac.attenCharRsp(EV, RUN), EVSE);
  await d.receive(EV, slac.slacMatchReq(EV, EVSE, RUN), EVSE);
  assert.is(d.last('CM_SLAC_MATCH.CNF'), undefined);
  d.stop();
});

test('TT_match_sequence: a PARM.REQ without START_ATTEN_CHAR expires; a repeated PARM.REQ restarts the session', async () => {
  const d = await ready();
  await d.receive(EV, slac.slacParmReq(RUN));
  await d.advance(T.TT_match_sequence - 10);
  await d.receive(EV, slac.slacParmReq(RUN));
  assert.is(d.sent.filter((s) => s.message.type === 'CM_SLAC_PARM.CNF').length, 2);
  await d.advance(T.TT_match_sequence - 1);
  assert.is(Object.keys(d.actor.getSnapshot().context.sessions).length, 1, 'the restart re-armed TT_match_sequence');
  await d.advance(1);
  assert.equal(d.actor.getSnapshot().context.sessions, {});
  d.stop();
});

test('TT_EVSE_match_session: RSP but no SLAC_MATCH.REQ within 10 s drops the session', async () => {
  const d = await ready();
  await soundFully(d);
  await d.receive(EV, slac.attenCharRsp(EV, RUN), EVSE);
  await d.advance(T.TT_EVSE_match_session - 1);
  assert.is(Object.keys(d.actor.getSnapshot().context.sessions).length, 1);
  await d.advance(1);
  assert.equal(d.actor.getSnapshot().context.sessions, {});
  d.stop();
});

test('a lost SLAC_MATCH.CNF: the repeated REQ gets the same CNF; VALIDATE gets "not required"', async () => {
  const d = await ready();
  await soundFully(d);
  await d.receive(EV, slac.attenCharRsp(EV, RUN), EVSE);
  await d.receive(EV, { type: 'CM_VALIDATE.REQ', signalType: 0, timer: 0, result: 1 }, EVSE);
  assert.is(d.last('CM_VALIDATE.CNF')!.message.result, 4);
  await d.receive(EV, slac.slacMatchReq(EV, EVSE, RUN), EVSE);
  await d.advance(T.TT_match_response);
  await d.receive(EV, slac.slacMatchReq(EV, EVSE, RUN), EVSE);
  const cnfs = d.sent.filter((s) => s.message.type === 'CM_SLAC_MATCH.CNF');
  assert.is(cnfs.length, 2);
  assert.equal(cnfs[0].message, cnfs[1].message);
  d.stop();
});

test('a second EV appearing mid-sounding gets its own session; only the one that asks is matched', async () => {
  const d = await ready();
  await d.receive(EV, slac.slacParmReq(RUN));
  await d.receive(EV, slac.startAttenCharInd(EV, RUN));
  await d.receive(EV, slac.mnbcSoundInd(RUN, 9, '00'.repeat(16)));
  await d.receive('00b052000001', slac.attenProfileInd(EV, aag(10)), EVSE);
  await d.receive(EV2, slac.slacParmReq(RUN2));
  await d.receive(EV2, slac.startAttenCharInd(EV2, RUN2));
  assert.is(Object.keys(d.actor.getSnapshot().context.sessions).length, 2);
  for (let i = 1; i < 10; i++) {
    await d.receive('00b052000001', slac.attenProfileInd(EV, aag(10)), EVSE);
    await d.receive('00b052000001', slac.attenProfileInd(EV2, aag(30)), EVSE);
  }
  await d.receive(EV, slac.attenCharRsp(EV, RUN), EVSE);
  await d.advance(T.TT_EVSE_match_MNBC);
  const inds = d.sent.filter((s) => s.message.type === 'CM_ATTEN_CHAR.IND');
  const first = (mac: string) => (inds.find((s) => s.destination === mac)!.message as { numSounds: number; aag: number[] });
  assert.equal([first(EV).numSounds, first(EV).aag[0]], [10, 10]);
  assert.equal([first(EV2).numSounds, first(EV2).aag[0]], [9, 30], 'EV2 sounded 9 times, its own profile');
  await d.receive(EV, slac.slacMatchReq(EV, EVSE, RUN), EVSE);
  assert.is(d.last('CM_SLAC_MATCH.CNF')!.destination, EV);
  assert.ok(d.hasTag('matched'));
  d.stop();
});

test('EV unplugged during sounding: CP A resets with a fresh NMK and forgets the sessions', async () => {
  const d = await ready();
  const firstKey = d.last('CM_SET_KEY.REQ')!.message.newKey;
  await soundFully(d, EV, RUN, 4);
  await d.pilot('A');
  const secondKey = d.last('CM_SET_KEY.REQ')!.message.newKey;
  assert.is.not(secondKey, firstKey);
  assert.equal(d.actor.getSnapshot().context.sessions, {});
  assert.ok(d.hasTag('busy'));
  assert.not.ok(d.emitted.some((e) => e.type === 'linkDown'), 'nothing was matched');
  d.stop();
});

test('TT_EVSE_SLAC_init, T_step_EF and C_sequ_retry: E/F toggles when no EV speaks, then failure', async () => {
  const d = await ready();
  const pilotRequests = () => d.emitted.filter((e) => e.type === 'pilotRequest').map((e) => [e.at, (e as { state: string }).state]);
  await d.advance(T.TT_EVSE_SLAC_init);
  assert.equal(pilotRequests(), [[T.TT_EVSE_SLAC_init, 'F']]);
  await d.pilot('F'); // our own toggle, seen on the pilot: no reset
  assert.ok(d.hasTag('matching'));
  await d.advance(T.T_step_EF);
  await d.pilot('B');
  const second = T.TT_EVSE_SLAC_init + T.T_step_EF;
  assert.equal(pilotRequests(), [[T.TT_EVSE_SLAC_init, 'F'], [second, 'B']]);
  await d.advance(T.TT_EVSE_SLAC_init + T.T_step_EF + T.TT_EVSE_SLAC_init);
  const failed = d.emitted.find((e) => e.type === 'failed');
  assert.equal(failed && { code: failed.code, retryable: failed.retryable }, { code: 'SlacMatchFailed', retryable: true });
  assert.is(pilotRequests().filter(([, s]) => s === 'F').length, T.C_sequ_retry);
  assert.ok(d.hasTag('failed'));
  // Unplug and plug again: a fresh start.
  await d.pilot('A');
  await d.receive('00b052000001', setKeyCnf(0), EVSE);
  await d.pilot('B');
  assert.ok(d.hasTag('matching'));
  d.stop();
});

test('a modem that never confirms the key: SET_KEY resent C_modem_retry times, then ModemUnresponsive', async () => {
  const d = drive(slacEvseMachine, { evseMac: EVSE }, evseNextDeadline);
  await d.settle();
  await d.advance(T.TT_modem_confirm * (T.C_modem_retry + 1));
  assert.equal(d.sent.map((s) => [s.at, s.message.type]), [0, 1, 2].map((i) => [i * T.TT_modem_confirm, 'CM_SET_KEY.REQ']));
  const failed = d.emitted.find((e) => e.type === 'failed');
  assert.is(failed && failed.code, 'ModemUnresponsive');
  assert.ok(d.hasTag('failed'));
  d.stop();
});

test('TT_match_join and link loss: both reset with a new key and report the link down', async () => {
  const d = await ready();
  await soundFully(d);
  await d.receive(EV, slac.attenCharRsp(EV, RUN), EVSE);
  await d.receive(EV, slac.slacMatchReq(EV, EVSE, RUN), EVSE);
  const matchedKey = d.last('CM_SLAC_MATCH.CNF')!.message.nmk;
  await d.advance(T.TT_match_join);
  assert.ok(d.emitted.some((e) => e.type === 'linkDown' && e.reason.includes('TT_match_join')));
  assert.is.not(d.last('CM_SET_KEY.REQ')!.message.newKey, matchedKey);
  // Second round: joined, then the modem reports the link gone.
  await d.receive('00b052000001', setKeyCnf(), EVSE);
  assert.ok(d.hasTag('matching'), 'CP still B: straight back to matching');
  await soundFully(d, EV, RUN2);
  await d.receive(EV, slac.attenCharRsp(EV, RUN2), EVSE);
  await d.receive(EV, slac.slacMatchReq(EV, EVSE, RUN2), EVSE);
  await d.receive('00b052000001', linkCnf(true), EVSE);
  await d.receive('00b052000001', linkCnf(false), EVSE);
  assert.ok(d.emitted.some((e) => e.type === 'linkDown' && e.reason.includes('modem reports')));
  assert.ok(d.hasTag('busy'));
  d.stop();
});

test('CP E while matched resets (error state) and a link.lost from the adapter does too', async () => {
  const d = await ready();
  await soundFully(d);
  await d.receive(EV, slac.attenCharRsp(EV, RUN), EVSE);
  await d.receive(EV, slac.slacMatchReq(EV, EVSE, RUN), EVSE);
  await d.pilot('E');
  assert.ok(d.hasTag('busy'));
  assert.is(d.emitted.filter((e) => e.type === 'linkDown').length, 1);
  await d.receive('00b052000001', setKeyCnf(), EVSE);
  await d.pilot('C');
  d.actor.send({ type: 'link.lost', now: d.now });
  await d.settle();
  assert.ok(d.hasTag('busy'));
  d.stop();
});

test.run();
