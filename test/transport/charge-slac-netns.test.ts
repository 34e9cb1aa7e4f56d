// The same session with SLAC: `openpnc secc --if` and `openpnc ev --if` match over raw Ethernet
// (ethertype 0x88E1) through `openpnc modem sim --gate` in a middle namespace, which stands in for the
// two QCA modems and the line and passes IP only once both hosts hold the same key; then SDP, TLS and
// the PnC DC session cross the same stand-in; the SECC reaches the back office over NATS (harness/backoffice.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { tempDir } from '../harness/temp-dir.ts';
import { must, netnsUnavailable, removedOnExit, startIn, evSeccEnds } from '../harness/netns.ts';
import { labVehicle, startBackOffice, type BackOffice } from '../harness/backoffice.ts';
import { natsServerAvailable } from '../harness/nats.ts';

const { prefix, tag, ev: EV, secc: SECC } = evSeccEnds('chs', '04');
const MODEM_NS = `${prefix}md${tag}`;
const CLI = new URL('../../bin/openpnc.js', import.meta.url).pathname;
const dir = tempDir('charge-slac-netns');
const cleanup = removedOnExit([EV.ns, SECC.ns, MODEM_NS]);
const unavailable = netnsUnavailable(`${prefix}probe${tag}`, ['ethtool']) ?? (natsServerAvailable('charging-session SLAC netns suite') ? undefined : 'nats-server missing');

/** Each host's interface joined by a veth to its modem's interface in the middle namespace; no DAD, checksums filled in (a stand-in copies frames). */
function rig(): void {
  for (const ns of [EV.ns, SECC.ns, MODEM_NS]) {
    must('ip', 'netns', 'add', ns);
    must('ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0');
  }
  for (const end of [EV, SECC]) {
    const modemSide = `${end.iface}m`;
    must('ip', 'link', 'add', end.iface, 'type', 'veth', 'peer', 'name', modemSide);
    must('ip', 'link', 'set', end.iface, 'netns', end.ns);
    must('ip', 'link', 'set', modemSide, 'netns', MODEM_NS);
    must('ip', '-n', end.ns, 'link', 'set', end.iface, 'address', end.mac);
    for (const [ns, iface] of [[end.ns, end.iface], [MODEM_NS, modemSide]]) {
      must('ip', '-n', ns, 'link', 'set', iface, 'up');
      must('ip', 'netns', 'exec', ns, 'ethtool', '-K', iface, 'tx', 'off');
    }
  }
}

if (unavailable) {
  console.log(`SKIPPED: charging-session SLAC netns suite (${unavailable}; needs root, iproute2, ethtool)`);
} else {
  test.before(() => {
    cleanup();
    rig();
  });

  let office: BackOffice | undefined;
  test.after(() => office?.stop());

  test('SLAC over raw Ethernet through the modem stand-in, then SDP, TLS 1.2 and a PnC DC session', async () => {
    const vehicle = join(dir, 'vehicle');
    office = await startBackOffice(dir);
    const modem = startIn(MODEM_NS, [process.execPath, CLI, 'modem', 'sim', '--ev-if', `${EV.iface}m`, '--evse-if', `${SECC.iface}m`, '--gate'], 110_000);
    const secc = startIn(SECC.ns, [process.execPath, CLI, 'secc', '--if', SECC.iface, '--nats', await office.urlIn(SECC.ns), '--creds', office.nats.credsDir, '--sessions', '1', '--data', join(dir, 'secc-data')], 110_000);
    const emaid = await labVehicle(office, vehicle);
    // SLAC comes before the SDP server is ready: the EV starts once the station holds its leaf.
    await secc.waitFor(/secc leaf \w+ through the CPO backend/);
    const ev = startIn(EV.ns, [process.execPath, CLI, 'ev', '--if', EV.iface, '--vehicle', vehicle], 80_000);
    const [evCode, seccCode] = [await ev.exited, await secc.exited];
    modem.child.kill('SIGINT');
    await modem.exited;
    const [evOut, seccOut] = [ev.output(), secc.output()];
    assert.is(evCode, 0, evOut);
    assert.is(seccCode, 0, seccOut);
    assert.match(evOut, /ev slac: CM_SLAC_MATCH\.CNF: NID [0-9a-f]{14}/);
    assert.match(evOut, /ev slac: link up/);
    assert.match(seccOut, /secc slac: SLAC_MATCH\.REQ from 020000000e04 → SLAC_MATCH\.CNF .*matched/);
    assert.match(evOut, new RegExp(`ev sdp: SECC at \\[${SECC.address}%${EV.iface}\\]:\\d+ tls`));
    assert.match(evOut, /ev tls: TLSv1\.2 TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 prime256v1; SECC leaf .*DC=CPO accepted/);
    assert.match(evOut, / ev v2g received CertificateInstallationRes /);
    assert.match(evOut, `ev session: completed, EMAID ${emaid}`);
    assert.match(seccOut, /secc session: terminated/);
    // SLAC came first on both sides, the session only after it.
    assert.ok(evOut.indexOf('ev slac: link up') < evOut.indexOf('ev sdp: request 1'));
    assert.ok(seccOut.indexOf('secc slac: link up') < seccOut.indexOf('secc sdp: serving'));
  });

  test.after(cleanup);
}

test.run();
