// The EV SLAC machine against scripted chargers, on an injected clock: every EV-side timer and
// counter of ISO 15118-3 Table A.1 is driven to expiry at least once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as slac from '../../protocols/slac/index.ts';
import { SLAC_TIMERS as T } from '../../statecharts/slac-common.ts';
import { chooseEvse, evNextDeadline, slacEvMachine } from '../../statecharts/slac-ev.ts';
import { drive } from './drive.ts';

const EV = '020000000e01';
const EVSE_A = '0200000005a1';
const EVSE_B = '0200000005b1';
const EVSE_C = '0200000005c1';
const aag = (db: number) => new Array(58).fill(db);
const setKeyCnf: slac.SlacMessage = { type: 'CM_SET_KEY.CNF', result: 1, myNonce: 1, yourNonce: slac.SET_KEY_NONCE, pid: 4, prn: 0, pmn: 0, ccoCapability: 0 };
const linkCnf = (up: boolean): slac.SlacMessage => ({ type: 'VS_PL_LINK_STATUS.CNF', oui: slac.QUALCOMM_OUI, status: 0, linkStatus: up ? 1 : 0 });

async function plugged(timers = {}) {
  const d = drive(slacEvMachine, { evMac: EV, timers }, evNextDeadline);
  await d.settle();
  await d.receive('00b052000002', setKeyCnf, EV);
  assert.ok(d.hasTag('waiting'));
  await d.pilot('B', false);
  assert.ok(d.hasTag('waiting'), 'no SLAC without 5 % PWM');
  await d.pilot('B', true);
  assert.is(d.last('CM_SLAC_PARM.REQ')!.destination, 'ffffffffffff');
  return d;
}
const runOf = (d: Awaited<ReturnType<typeof plugged>>) => d.last('CM_SLAC_PARM.REQ')!.message.runId;

async function toSounding(d: Awaited<ReturnType<typeof plugged>>, evses = [EVSE_A]) {
  for (const evse of evses) await d.receive(evse, slac.slacParmCnf(EV, runOf(d)), EV);
}

test('happy path: sounding paced by TP_EV_batch_msg_interval, choice at TT_EV_atten_results, SET_KEY with the NID, link up', async () => {
  const d = await plugged();
  const run = runOf(d);
  const start = d.now;
  await toSounding(d);
  await d.advance(T.TT_EV_atten_results - 1);
  const batch = d.sent.filter((s) => s.message.type === 'CM_START_ATTEN_CHAR.IND' || s.message.type === 'CM_MNBC_SOUND.IND');
  assert.equal(batch.map((s) => s.at - start), Array.from({ length: 13 }, (_, i) => i * T.TP_EV_batch_msg_interval));
  assert.equal(batch.slice(3).map((s) => (s.message as { cnt: number }).cnt), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
  await d.receive(EVSE_A, slac.attenCharInd(EV, run, 10, aag(14)), EV);
  assert.is(d.last('CM_ATTEN_CHAR.RSP')!.destination, EVSE_A);
  assert.is(d.last('CM_SLAC_MATCH.REQ'), undefined, 'waits for TT_EV_atten_results');
  await d.advance(1);
  const req = d.last('CM_SLAC_MATCH.REQ')!;
  assert.equal([req.at - start, req.destination, req.message.evseMac], [T.TT_EV_atten_results, EVSE_A, EVSE_A]);
  const nmk = 'ab'.repeat(16);
  await d.receive(EVSE_A, slac.slacMatchCnf(EV, EVSE_A, run, slac.nidFromNmk(nmk), nmk), EV);
  assert.equal(d.last('CM_SET_KEY.REQ')!.message.newKey, nmk);
  assert.is(d.last('CM_SET_KEY.REQ')!.message.nid, slac.nidFromNmk(nmk));
  assert.ok(d.emitted.some((e) => e.type === 'matched'));
  await d.advance(T.TP_link_poll);
  assert.ok(d.last('VS_PL_LINK_STATUS.REQ'));
  await d.receive('00b052000002', linkCnf(true), EV);
  assert.ok(d.hasTag('matched'));
  assert.ok(d.emitted.some((e) => e.type === 'linkUp'));
  d.stop();
});

test('the EV picks the lowest average attenuation under ATTEN_LIMIT_DB and ignores invalid INDs', async () => {
  assert.is(chooseEvse({ a: { attenuation: 25 }, b: { attenuation: 12 }, c: { attenuation: 45 }, d: {} }, 40), 'b');
  assert.is(chooseEvse({ c: { attenuation: 45 } }, 40), undefined);
  const d = await plugged();
  const run = runOf(d);
  await toSounding(d, [EVSE_A, EVSE_B, EVSE_C]);
  await d.receive(EVSE_A, slac.attenCharInd(EV, run, 10, aag(25)), EV);
  await d.receive(EVSE_B, slac.attenCharInd(EV, run, 10, aag(12)), EV);
  await d.receive(EVSE_C, slac.attenCharInd(EV, run, 10, aag(45)), EV);
  // [V2G3-A09-35/36]: NUM_SOUNDS 0, or a foreign RunID, is ignored.
  await d.receive(EVSE_C, slac.attenCharInd(EV, run, 0, aag(1)), EV);
  await d.receive(EVSE_C, slac.attenCharInd(EV, 'ffffffffffffffff', 10, aag(1)), EV);
  await d.advance(T.TT_EV_atten_results);
  assert.is(d.last('CM_SLAC_MATCH.REQ')!.destination, EVSE_B);
  assert.is(d.sent.filter((s) => s.message.type === 'CM_ATTEN_CHAR.RSP').length, 3);
  d.stop();
});

test('PARM.CNF missing: TT_match_response × C_EV_match_retry, then TT_matching_rate and a new RunID, C_conn_max_match attempts, failure', async () => {
  const d = await plugged();
  const firstRun = runOf(d);
  await d.advance(T.TT_match_response * (T.C_EV_match_retry + 1));
  const parms = () => d.sent.filter((s) => s.message.type === 'CM_SLAC_PARM.REQ');
  assert.equal(parms().map((s) => s.at), [0, 200, 400]);
  await d.advance(T.TT_matching_rate);
  assert.is(parms().length, 4);
  assert.is(parms()[3].at, 3 * T.TT_match_response + T.TT_matching_rate);
  assert.is.not(runOf(d), firstRun, 'every attempt has a fresh RunID');
  await d.advance(5000);
  assert.is(parms().length, 3 * T.C_conn_max_match);
  const failed = d.emitted.find((e) => e.type === 'failed');
  assert.is(failed && failed.code, 'SlacMatchFailed');
  assert.ok(d.hasTag('failed'));
  d.stop();
});

test('a lost SLAC_MATCH.CNF: MATCH.REQ is resent after TT_match_response and the answer to the resend is taken', async () => {
  const d = await plugged();
  const run = runOf(d);
  await toSounding(d);
  await d.receive(EVSE_A, slac.attenCharInd(EV, run, 10, aag(10)), EV);
  await d.advance(T.TT_EV_atten_results + T.TT_match_response);
  const reqs = d.sent.filter((s) => s.message.type === 'CM_SLAC_MATCH.REQ').map((s) => s.at);
  assert.equal(reqs, [T.TT_EV_atten_results, T.TT_EV_atten_results + T.TT_match_response]);
  await d.receive(EVSE_A, slac.slacMatchCnf(EV, EVSE_A, run, '01'.repeat(7), '02'.repeat(16)), EV);
  assert.ok(d.emitted.some((e) => e.type === 'matched'));
  d.stop();
});

test('TT_match_join: no link after the key, the attempt fails and matching restarts after TT_matching_rate', async () => {
  const d = await plugged({ TT_matching_repetition: 30_000 });
  const run = runOf(d);
  await toSounding(d);
  await d.receive(EVSE_A, slac.attenCharInd(EV, run, 10, aag(10)), EV);
  await d.advance(T.TT_EV_atten_results);
  await d.receive(EVSE_A, slac.slacMatchCnf(EV, EVSE_A, run, '01'.repeat(7), '02'.repeat(16)), EV);
  const joinedAt = d.now;
  await d.advance(T.TT_match_join - 1);
  assert.is(d.sent.filter((s) => s.message.type === 'VS_PL_LINK_STATUS.REQ').length, Math.floor((T.TT_match_join - 1) / T.TP_link_poll));
  await d.receive('00b052000002', linkCnf(false), EV);
  assert.ok(d.hasTag('matching'), 'a down link while joining is not yet a failure');
  await d.advance(1 + T.TT_matching_rate);
  assert.ok(d.steps().some((s) => s.includes('no link within TT_match_join')));
  assert.is(d.last('CM_SLAC_PARM.REQ')!.at, joinedAt + T.TT_match_join + T.TT_matching_rate);
  d.stop();
});

test('TT_matching_repetition ends the retries even with attempts left', async () => {
  const d = await plugged({ TT_matching_repetition: 700 });
  await d.advance(5000);
  assert.is(d.sent.filter((s) => s.message.type === 'CM_SLAC_PARM.REQ').length, 3 * 2, 'two attempts fit in 700 ms');
  assert.ok(d.hasTag('failed'));
  d.stop();
});

test('unplugged during sounding: reset with a new random key, no more sounds', async () => {
  const d = await plugged();
  const key = d.last('CM_SET_KEY.REQ')!.message.newKey;
  await toSounding(d);
  await d.advance(3 * T.TP_EV_batch_msg_interval);
  const count = d.sent.length;
  await d.pilot('A');
  await d.advance(2000);
  assert.equal([...new Set(d.sent.slice(count).map((s) => s.message.type))], ['CM_SET_KEY.REQ'], 'no sound after the unplug, only the new key');
  assert.is.not(d.last('CM_SET_KEY.REQ')!.message.newKey, key);
  d.stop();
});

test('link lost once matched: reset and, with the pilot still at 5 %, a new matching', async () => {
  const d = await plugged();
  const run = runOf(d);
  await toSounding(d);
  await d.receive(EVSE_A, slac.attenCharInd(EV, run, 10, aag(10)), EV);
  await d.advance(T.TT_EV_atten_results);
  await d.receive(EVSE_A, slac.slacMatchCnf(EV, EVSE_A, run, '01'.repeat(7), '02'.repeat(16)), EV);
  await d.receive('00b052000002', linkCnf(true), EV);
  await d.receive('00b052000002', linkCnf(false), EV);
  assert.ok(d.emitted.some((e) => e.type === 'linkDown'));
  await d.receive('00b052000002', setKeyCnf, EV);
  assert.ok(d.hasTag('matching'));
  assert.is.not(runOf(d), run);
  d.stop();
});

test('a modem that never confirms the key: ModemUnresponsive after C_modem_retry resends', async () => {
  const d = drive(slacEvMachine, { evMac: EV }, evNextDeadline);
  await d.settle();
  await d.advance(10_000);
  assert.is(d.sent.length, 1 + T.C_modem_retry);
  assert.is(d.emitted.find((e) => e.type === 'failed')?.code, 'ModemUnresponsive');
  d.stop();
});

test.run();
