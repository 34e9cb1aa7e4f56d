import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { expectError } from '../helpers/expect-error.ts';
import { SlacCodecError, SLAC_SPECS, decodeSlacFrame, encodeSlacFrame, nidFromNmk, type SlacMessageType } from '../../protocols/slac/index.ts';
import { EVSE_MAC, EV_MAC, NID, NMK, SAMPLES } from './samples.ts';

const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const pad60 = (text: string) => text.padEnd(120, '0');
const thrown = (fn: () => unknown) => expectError(SlacCodecError, fn);

// link-layer.md §1.3: the Alpitronic capture's CM_SLAC_PARM.REQ, zero-padded to 60 bytes.
const REAL_PARM_REQ = pad60('ffffffffffffdc0ea111670888e101646000000000' + 'dc0ea11167080000');

test('the real CM_SLAC_PARM.REQ decodes to the documented fields and re-encodes byte for byte', () => {
  const frame = decodeSlacFrame(bytes(REAL_PARM_REQ));
  assert.equal(frame, {
    destination: 'ffffffffffff', source: 'dc0ea1116708', mmv: 1, fmi: 0,
    message: { type: 'CM_SLAC_PARM.REQ', applicationType: 0, securityType: 0, runId: 'dc0ea11167080000' },
  });
  assert.is(hex(encodeSlacFrame(frame.message as never, frame)), REAL_PARM_REQ);
});

test('NID from NMK: the Alpitronic vector (five SHA-256 rounds, security level 00)', () => {
  // NMK and NID as the charger sent them in CM_SLAC_MATCH.CNF (link-layer.md §1.3).
  assert.is(nidFromNmk(NMK), NID);
  assert.is(parseInt(nidFromNmk('00'.repeat(16)).slice(12), 16) >> 4, 0);
  assert.is(thrown(() => nidFromNmk('abc')).reason, 'InvalidField');
});

test('every message type round-trips, at the reference frame lengths, padded to 60', () => {
  const covered = new Set<string>();
  for (const { message, length } of SAMPLES) {
    const frame = encodeSlacFrame(message, { destination: EVSE_MAC, source: EV_MAC });
    assert.ok(frame.length >= 60, message.type);
    if (length !== undefined) assert.is(frame.length, length, `${message.type} length`);
    const decoded = decodeSlacFrame(frame);
    assert.equal(decoded.message, message, message.type);
    assert.is(decoded.mmv, SLAC_SPECS[message.type].mmv);
    assert.is(hex(encodeSlacFrame(decoded.message as never, decoded)), hex(frame), `${message.type} re-encodes`);
    covered.add(message.type);
  }
  assert.equal([...covered].sort(), (Object.keys(SLAC_SPECS) as SlacMessageType[]).sort());
});

test('MMTYPE is little-endian; MMV 1 and 2 carry FMI, MMV 0 does not', () => {
  const parm = encodeSlacFrame(SAMPLES[0].message, { destination: 'ffffffffffff', source: EV_MAC, fmi: 0x0102 });
  assert.is(hex(parm.subarray(12, 19)), '88e10164600201');
  assert.is(decodeSlacFrame(parm).fmi, 0x0102);
  const swVer = encodeSlacFrame({ type: 'VS_SW_VER.REQ', oui: '00b052' }, { destination: 'ffffffffffff', source: EV_MAC });
  assert.is(hex(swVer.subarray(12, 20)), '88e10000a000b052');
  // A SLAC message sent with MMV 0 (no FMI) decodes from offset 17.
  const noFmi = encodeSlacFrame(SAMPLES[0].message, { destination: 'ffffffffffff', source: EV_MAC, mmv: 0 });
  assert.is(hex(noFmi.subarray(14, 19)), '0064600000');
  assert.equal(decodeSlacFrame(noFmi).message, SAMPLES[0].message);
  const ampMap = encodeSlacFrame({ type: 'CM_AMP_MAP.REQ', amplitudes: [1, 2, 3] }, { destination: EVSE_MAC, source: EV_MAC });
  assert.is(hex(ampMap.subarray(14, 23)), '021c6000000300' + '2103');
});

test('unknown MMTYPEs and foreign vendor MMEs decode as Unknown so callers skip them', () => {
  // The TP-Link modem's undocumented 0xA14E IND next to each ATTEN_PROFILE (Ioniq capture).
  assert.equal(decodeSlacFrame(bytes(pad60('ffffffffffff' + EVSE_MAC + '88e1004ea1' + '00b052'))).message, { type: 'Unknown', mmtype: 0xa14e });
  assert.equal(decodeSlacFrame(bytes(pad60('ffffffffffff' + EVSE_MAC + '88e10000a0' + '001122'))).message, { type: 'Unknown', mmtype: 0xa000 });
  assert.equal(decodeSlacFrame(bytes(pad60('ffffffffffff' + EVSE_MAC + '88e1019960' + '0000'))).message, { type: 'Unknown', mmtype: 0x6099 });
});

test('a 64-byte CM_MNBC_SOUND.IND (as Debian pev sends it) is accepted, missing RND bytes read as zero', () => {
  const full = encodeSlacFrame(SAMPLES[3].message, { destination: 'ffffffffffff', source: EV_MAC });
  const short = decodeSlacFrame(full.subarray(0, 64));
  assert.is(short.message.type, 'CM_MNBC_SOUND.IND');
  assert.is((short.message as { rnd: string }).rnd, '0123456789abcdef01' + '00'.repeat(7));
});

test('malformed frames are typed errors with a reason', () => {
  assert.is(thrown(() => decodeSlacFrame(new Uint8Array(5))).reason, 'Truncated');
  assert.is(thrown(() => decodeSlacFrame(bytes(pad60('ffffffffffff' + EV_MAC + '86dd01')))).reason, 'NotHomePlug');
  assert.is(thrown(() => decodeSlacFrame(bytes(pad60('ffffffffffff' + EV_MAC + '88e1036460')))).reason, 'UnsupportedMmv');
  assert.is(thrown(() => decodeSlacFrame(bytes('ffffffffffff' + EV_MAC + '88e10164'))).reason, 'Truncated');
  // ATTEN_CHAR.IND that announces 200 groups in a 129-byte frame.
  const atten = encodeSlacFrame(SAMPLES[5].message, { destination: EV_MAC, source: EVSE_MAC });
  atten[70] = 200;
  const error = thrown(() => decodeSlacFrame(atten));
  assert.is(error.reason, 'Truncated');
  assert.is(error.code, 'SlacCodecError');
  assert.is(thrown(() => decodeSlacFrame('not bytes' as never)).reason, 'InvalidField');
});

test('encoding refuses bad fields with typed errors', () => {
  assert.is(thrown(() => encodeSlacFrame({ type: 'CM_SLAC_PARM.REQ', applicationType: 0, securityType: 0, runId: 'xyz' }, { destination: EVSE_MAC, source: EV_MAC })).reason, 'InvalidField');
  assert.is(thrown(() => encodeSlacFrame({ type: 'CM_SLAC_PARM.REQ', applicationType: 256, securityType: 0, runId: '00'.repeat(8) }, { destination: EVSE_MAC, source: EV_MAC })).reason, 'InvalidField');
  assert.is(thrown(() => encodeSlacFrame({ type: 'Nope' } as never, { destination: EVSE_MAC, source: EV_MAC })).reason, 'InvalidField');
  assert.is(thrown(() => encodeSlacFrame(SAMPLES[0].message, { destination: 'zz', source: EV_MAC })).reason, 'InvalidField');
  assert.is(thrown(() => encodeSlacFrame({ type: 'CM_AMP_MAP.REQ', amplitudes: [16] }, { destination: EVSE_MAC, source: EV_MAC })).reason, 'InvalidField');
});

test.run();
