// DIN 70121 with EIM between two network namespaces over plain TCP, as DIN chargers run it: `openpnc
// secc --if --tcp-eim-only` (no SECC leaf, no CPO backend: EIM sessions do not call it) and `openpnc
// ev --if --tcp --protocol din`. SDP asks for and answers no TLS (0x10); tcpdump captures, tshark
// finds no malformed packet, and our codec decodes the TCP payloads to the DIN message sequence.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { writeVehicleDir } from '../../actors/participants/ev/vehicle-file.ts';
import { makeCsr } from '../../actors/participants/authority.ts';
import { createTestPki } from '../../protocols/pki/test-pki.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { captureIn, netnsUnavailable, startIn, tshark, vethSuite, evSeccEnds } from '../harness/netns.ts';
import { collapsed, messageNames, payloadsFrom } from '../harness/v2g-capture.ts';

const { prefix, tag, ev: EV, secc: SECC } = evSeccEnds('din', '06');
const CLI = new URL('../../bin/openpnc.js', import.meta.url).pathname;
const dir = tempDir('charge-din-netns');

const unavailable = netnsUnavailable(`${prefix}probe${tag}`, ['tcpdump', 'tshark']);

if (unavailable) {
  console.log(`SKIPPED: DIN charging-session netns suite (${unavailable}; needs root, iproute2, tcpdump, tshark)`);
} else {
  vethSuite(test, EV, SECC);

  test('openpnc secc --tcp-eim-only and openpnc ev --tcp --protocol din: SDP without TLS, a DIN 70121 EIM DC session over TCP that tshark and our codec read', async () => {
    // An EIM vehicle needs no contract and shows no key; it still is a vehicle directory.
    const pki = await createTestPki();
    const vehicle = join(dir, 'vehicle');
    await writeVehicleDir(vehicle, {
      pcid: pki.provisioning[0].identifier!,
      provisioningChain: { certificate: Buffer.from(pki.provisioning[0].certificate.rawData).toString('base64'), subCertificates: [] },
      v2gRoots: [Buffer.from(pki.trustAnchors.v2g[0].rawData).toString('base64')],
      producedAt: new Date().toISOString(),
      provisioningKey: (await makeCsr({ commonName: 'vehicle', organization: 'test' })).keys.privateKey,
    });
    const pcap = join(dir, 'din.pcap');
    const capture = await captureIn(SECC.ns, SECC.iface, pcap);
    const secc = startIn(SECC.ns, [process.execPath, CLI, 'secc', '--if', SECC.iface, '--no-slac', '--tcp-eim-only', '--sessions', '1'], 60_000);
    await secc.waitFor(/ready: SDP on UDP 15118 .* V2GTP TCP on/);
    const ev = startIn(EV.ns, [process.execPath, CLI, 'ev', '--if', EV.iface, '--no-slac', '--vehicle', vehicle, '--tcp', '--protocol', 'din'], 60_000);
    const [evCode, seccCode] = [await ev.exited, await secc.exited];
    await capture.stop();
    const evOut = ev.output();
    assert.is(evCode, 0, evOut);
    assert.is(seccCode, 0, secc.output());
    assert.match(evOut, 'ev v2gtp: plain TCP (EIM only)');
    assert.match(evOut, /ev session: completed, \d+\.\d\d kWh/);
    assert.match(secc.output(), /secc session: terminated/);
    const port = Number(new RegExp(`SECC at \\[${SECC.address}%${EV.iface}\\]:(\\d+) none`).exec(evOut)![1]);

    assert.equal(tshark(pcap, undefined, '_ws.malformed || _ws.expert.severity == error', []), []);
    // SDP: security 0x10 (no TLS) asked and answered [link-layer.md §SDP].
    assert.equal(tshark(pcap, undefined, 'udp.port == 15118', ['ipv6.src', 'ipv6.dst', 'data.data']), [
      [EV.address, 'ff02::1', '01fe9000000000021000'],
      [SECC.address, EV.address, '01fe900100000014' + 'fe80000000000000000000fffe005e06' + port.toString(16).padStart(4, '0') + '1000'],
    ]);
    assert.equal(tshark(pcap, undefined, 'tls', []), [], 'no TLS at all');
    const rows = tshark(pcap, undefined, 'tcp.len > 0', ['ipv6.src', 'ipv6.dst', 'tcp.payload']);
    const traced = [...evOut.matchAll(/ ev v2g (sent|received) (\w+) ([0-9a-f]+)/g)];
    const requests = payloadsFrom(rows, EV.address);
    const responses = payloadsFrom(rows, SECC.address);
    assert.equal(requests.map((p) => Buffer.from(p).toString('hex')), traced.filter((m) => m[1] === 'sent').map((m) => m[3]));
    assert.equal(responses.map((p) => Buffer.from(p).toString('hex')), traced.filter((m) => m[1] === 'received').map((m) => m[3]));
    const sent = collapsed(messageNames(requests, 'din'));
    assert.equal(sent.slice(0, 6), ['supportedAppProtocolReq', 'SessionSetupReq', 'ServiceDiscoveryReq', 'ServicePaymentSelectionReq', 'ContractAuthenticationReq', 'ChargeParameterDiscoveryReq']);
    assert.ok(sent.includes('CurrentDemandReq'), sent.join(' '));
    assert.equal(sent.slice(-3), ['PowerDeliveryReq', 'WeldingDetectionReq', 'SessionStopReq']);
    assert.is(collapsed(messageNames(responses, 'din')).at(-1), 'SessionStopRes');
  });
}

test.run();
