// The modem stand-in on in-memory ports (the same code `openpnc modem sim` runs on veths): local
// answers with the QCA result byte, one ATTEN_PROFILE per M-Sound toward the charger, IP gated by
// the key, hostile bytes relayed or refused without a crash; and the CLI's malformed-input corpus.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ModemSim } from '../../actors/link/modem-sim.ts';
import type { FramePort } from '../../actors/link/port.ts';
import * as slac from '../../protocols/slac/index.ts';
import { openpnc } from '../helpers/cli.ts';

const EV = '020000000e01';
const EVSE = '020000005e01';

/** One side of the bridge: what the sim sends toward the host is kept; `host` injects host frames. */
function side(mac: string) {
  const toHost: slac.SlacFrame[] = [];
  const raw: Uint8Array[] = [];
  let handler: ((f: Uint8Array) => void) | undefined;
  const port: FramePort = {
    mac: 'aa0000000000',
    send: (frame) => { raw.push(frame); try { toHost.push(slac.decodeSlacFrame(frame)); } catch { /* IP */ } },
    onFrame: (h) => { handler = h; return () => { handler = undefined; }; },
    close: async () => {},
  };
  const host = (message: slac.SlacMessage, destination = slac.BROADCAST_MAC) => handler!(slac.encodeSlacFrame(message, { destination, source: mac }));
  return { port, toHost, raw, host, inject: (bytes: Uint8Array) => handler!(bytes) };
}

const ipv6 = (source: string) => Uint8Array.from(Buffer.from(`333300000001${source}86dd` + '60'.padEnd(100, '0'), 'hex'));

test('SET_KEY answered locally with result 1; sounds cross with one ATTEN_PROFILE each; IP gated until both keys match', () => {
  const ev = side(EV);
  const evse = side(EVSE);
  const sim = new ModemSim({ ev: ev.port, evse: evse.port, attenuationDb: 20, gate: true }).start();
  evse.host(slac.setKeyReq('01'.repeat(7), '02'.repeat(16)));
  const cnf = evse.toHost.at(-1)!;
  assert.equal([cnf.message.type, (cnf.message as { result: number }).result, cnf.destination], ['CM_SET_KEY.CNF', 1, EVSE]);
  assert.is(ev.toHost.length, 0, 'SET_KEY never reaches the other side');
  const before = evse.raw.length;
  ev.inject(ipv6(EV));
  assert.is(evse.raw.length, before, 'IP is gated while the keys differ');
  for (let i = 9; i >= 0; i--) ev.host(slac.mnbcSoundInd('11'.repeat(8), i, '00'.repeat(16)));
  const profiles = evse.toHost.filter((f) => f.message.type === 'CM_ATTEN_PROFILE.IND');
  assert.is(profiles.length, 10);
  const aag = (profiles[0].message as { aag: number[] }).aag;
  assert.is(aag.length, 58);
  assert.ok(Math.abs(slac.averageAttenuation(aag) - 20) < 2);
  assert.is(evse.toHost.filter((f) => f.message.type === 'CM_MNBC_SOUND.IND').length, 10);
  ev.host({ type: 'VS_PL_LINK_STATUS.REQ', oui: slac.QUALCOMM_OUI });
  assert.is((ev.toHost.at(-1)!.message as { linkStatus: number }).linkStatus, 0);
  ev.host(slac.setKeyReq('01'.repeat(7), '02'.repeat(16)));
  assert.ok(sim.joined);
  ev.host({ type: 'VS_PL_LINK_STATUS.REQ', oui: slac.QUALCOMM_OUI });
  assert.is((ev.toHost.at(-1)!.message as { linkStatus: number }).linkStatus, 1);
  ev.host({ type: 'CM_GET_KEY.REQ', requestType: 0, requestedKeyType: 1, nid: '00'.repeat(7), myNonce: 5, pid: 4, prn: 0, pmn: 0 });
  assert.is((ev.toHost.at(-1)!.message as { key: string }).key, '02'.repeat(16));
  ev.inject(ipv6(EV));
  assert.is(evse.raw.length - evse.toHost.length, 1, 'IP passes once both hold the key');
  assert.equal(sim.stats.gated, 1);
});

test('hostile bytes: undecodable HomePlug frames are relayed as a line would, nothing throws', () => {
  const ev = side(EV);
  const evse = side(EVSE);
  const sim = new ModemSim({ ev: ev.port, evse: evse.port }).start();
  const corpus = [
    Uint8Array.from(Buffer.from(`ffffffffffff${EV}88e1`, 'hex')),
    Uint8Array.from(Buffer.from(`ffffffffffff${EV}88e103646000`, 'hex')),
    Uint8Array.from(Buffer.from(`ffffffffffff${EV}88e1010860`, 'hex')),
    new Uint8Array(14),
    Uint8Array.of(1),
  ];
  for (const bytes of corpus) ev.inject(bytes);
  assert.is(sim.stats.undecodable, 3);
  assert.is(evse.raw.length, corpus.length, 'without --gate everything else crosses');
});

test('CLI: malformed invocations are one-line errors, no stack trace', async () => {
  const cases: [string[], RegExp][] = [
    [['slac'], /expected one of ev, evse, sim/],
    [['slac', 'ev'], /--if IF is required/],
    [['slac', 'ev', '--if', 'no such if'], /LinkAdapterFailed: 'no such if' is not an interface name/],
    [['slac', 'evse', '--if', 'slnope0'], /LinkAdapterFailed: interface slnope0 not found/],
    [['slac', 'ev', '--if', 'lo', '--timeout', '0'], /--timeout must be a number/],
    [['slac', 'pev'], /unknown side 'pev'/],
    [['slac', 'sim', '--loss', '2'], /--loss must be a number from 0 to 0.5/],
    [['modem'], /expected: openpnc modem sim/],
    [['modem', 'sim', '--ev-if', 'x'], /--ev-if IF and --evse-if IF are required/],
    [['modem', 'sim', '--ev-if', 'slnope0', '--evse-if', 'slnope1'], /LinkAdapterFailed/],
    [['modem', 'sim', '--bogus'], /Unknown option '--bogus'/],
  ];
  const results = await Promise.all(cases.map(([args]) => openpnc(args)));
  results.forEach((r, i) => {
    assert.is(r.code, 2, `${cases[i][0].join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, cases[i][1]);
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
  });
  const sim = await openpnc(['slac', 'sim', '--chargers', '6', '--loss', '0.02']);
  assert.is(sim.code, 0, sim.stderr);
  assert.match(sim.stdout, /6 matched, 0 wrong/);
});

test.run();
