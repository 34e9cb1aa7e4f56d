// A whole Plug&Charge DC session between two network namespaces joined by a veth pair: `openpnc secc
// --if --nats` in one, reaching the back office (`openpnc run …` on an authenticated nats-server in
// this namespace) as credential `secc`, `openpnc ev --if` in the other with a vehicle that made its own
// key (`openpnc vehicle produce`) and whose contract the MO concluded (`openpnc vehicle contract`);
// both with --no-slac since the veth already is the IP link. A tap on `>` finds no private key [S4]. SDP on ff02::1, TLS 1.2 to fe80::…%if with key logs; tcpdump captures,
// tshark decodes IPv6/UDP SDP and TLS and decrypts the application data with either key log, and our
// codec decodes the V2GTP payloads to the session's message sequence, contract installation included.
// Then the same vehicle charges with EIM (ExternalPayment) over the same TLS: no contract crosses.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { collapsed, messageNames, payloadsFrom } from '../harness/v2g-capture.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { captureIn, netnsUnavailable, startIn, tshark, vethSuite, evSeccEnds } from '../harness/netns.ts';
import { labVehicle, startBackOffice, type BackOffice } from '../harness/backoffice.ts';
import { natsServerAvailable } from '../harness/nats.ts';
import { assertNoPrivateKeys, tapEverything } from '../harness/tap.ts';
import { PROVISIONING_KEY_FILE } from '../../actors/participants/ev/vehicle-file.ts';

const { prefix, tag, ev: EV, secc: SECC } = evSeccEnds('chg', '02');
const CLI = new URL('../../bin/openpnc.js', import.meta.url).pathname;
const dir = tempDir('charge-netns');

const unavailable = netnsUnavailable(`${prefix}probe${tag}`, ['tcpdump', 'tshark']) ?? (natsServerAvailable('charging-session netns suite') ? undefined : 'nats-server missing');

if (unavailable) {
  console.log(`SKIPPED: charging-session netns suite (${unavailable}; needs root, iproute2, tcpdump, tshark)`);
} else {
  vethSuite(test, EV, SECC);
  let office: BackOffice | undefined;
  test.after(() => office?.stop());

  test('openpnc secc --if --nats and openpnc ev --if: SDP, TLS 1.2, a PnC DC session with contract installation through the remote CPO; tshark decrypts it, our codec decodes it; no private key on the bus', async () => {
    const pcap = join(dir, 'session.pcap');
    const seccKeys = join(dir, 'secc.keylog');
    const evKeys = join(dir, 'ev.keylog');
    const vehicle = join(dir, 'vehicle');

    office = await startBackOffice(dir);
    const { credsDir } = office.nats;
    const tap = await tapEverything(office.nats);
    const capture = await captureIn(SECC.ns, SECC.iface, pcap);
    const secc = startIn(SECC.ns, [process.execPath, CLI, 'secc', '--if', SECC.iface, '--no-slac', '--nats', await office.urlIn(SECC.ns), '--creds', credsDir, '--keylog', seccKeys, '--sessions', '1', '--data', join(dir, 'secc-data')], 110_000);
    // The factory: the vehicle makes its key and has the OEM sign its CSR; the customer concludes its contract.
    const emaid = await labVehicle(office, vehicle);
    await secc.waitFor(/ready: SDP on UDP 15118/);
    const ev = startIn(EV.ns, [process.execPath, CLI, 'ev', '--if', EV.iface, '--no-slac', '--vehicle', vehicle, '--keylog', evKeys], 60_000);
    const [evCode, seccCode] = [await ev.exited, await secc.exited];
    await capture.stop();
    await tap.close();

    const evOut = ev.output();
    assert.is(evCode, 0, evOut);
    assert.is(seccCode, 0, secc.output());
    assert.match(evOut, 'ev slac: skipped');
    assert.match(evOut, new RegExp(`ev sdp: SECC at \\[${SECC.address}%${EV.iface}\\]:\\d+ tls`));
    assert.match(evOut, /ev tls: TLSv1\.2 TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 prime256v1; SECC leaf CN=SECC-LAB-1.*DC=CPO accepted \(DC=CPO\); OCSP good \(stapled\)/);
    assert.match(secc.output(), /secc tls: OCSP cache: \d+ response\(s\) from the CPO backend; stapling the leaf's \(good\)/);
    assert.match(evOut, `ev session: completed, EMAID ${emaid}`);
    assert.match(secc.output(), /secc leaf renewed through the CPO backend \(bus on nats:/);
    assert.match(secc.output(), /secc session: terminated/);

    // [S4] The SECC's installation and authorization crossed the bus; no private key did, the vehicle's least of all.
    const wire = tap.wire.join('\n');
    for (const subject of ['oem.vehicle.produce', 'mo.contract.conclude', 'cpo.certificate.install', 'cpo.secc.sign']) assert.ok(wire.includes(subject), `the tap saw ${subject}`);
    const key = /-----BEGIN PRIVATE KEY-----([^-]+)-----END PRIVATE KEY-----/.exec(readFileSync(join(vehicle, PROVISIONING_KEY_FILE), 'utf8'))![1];
    assertNoPrivateKeys(wire, [['the vehicle\'s provisioning key', Buffer.from(key.replace(/\s/g, ''), 'base64')]], credsDir);
    const port = Number(new RegExp(`SECC at \\[${SECC.address}%${EV.iface}\\]:(\\d+)`).exec(evOut)![1]);
    assert.ok(port >= 49152 && port <= 65535);

    assert.equal(tshark(pcap, evKeys, '_ws.malformed || _ws.expert.severity == error', []), []);

    // SDP: the request multicast to ff02::1, the answer unicast from the SECC with its address and port.
    const sdp = tshark(pcap, undefined, 'udp.port == 15118', ['ipv6.src', 'ipv6.dst', 'data.data']);
    assert.equal(sdp, [
      [EV.address, 'ff02::1', '01fe9000000000020000'],
      [SECC.address, EV.address, '01fe900100000014' + 'fe80000000000000000000fffe005e02' + port.toString(16).padStart(4, '0') + '0000'],
    ]);

    // TLS 1.2 with the pinned suite 0xc023 over secp256r1 (0x0017).
    const hello = tshark(pcap, undefined, 'tls.handshake.type == 2 || tls.handshake.type == 12', ['tls.handshake.version', 'tls.handshake.ciphersuite', 'tls.handshake.server_named_curve']);
    assert.equal(hello.map((r) => r.filter(Boolean)), [['0x0303', '0xc023', '0x0017']]);

    // OCSP stapling: the EV's ClientHello asks (status_request, type 1 = ocsp); the SECC's CertificateStatus
    // carries its cached response for the leaf: successful (0), good (0).
    assert.equal(tshark(pcap, undefined, 'tls.handshake.type == 1', ['tls.handshake.extensions_status_request_type']), [['1']]);
    assert.equal(tshark(pcap, undefined, 'tls.handshake.type == 22', ['ocsp.responseStatus', 'ocsp.certStatus']), [['0', '0']]);

    // Opaque without a key log; with either end's key log the same V2GTP payloads the EV traced.
    const appData = (keyLog: string | undefined) => tshark(pcap, keyLog, 'tcp && data.data', ['ipv6.src', 'ipv6.dst', 'data.data']);
    assert.equal(appData(undefined), []);
    const traced = [...evOut.matchAll(/ ev v2g (sent|received) (\w+) ([0-9a-f]+)/g)];
    for (const keyLog of [evKeys, seccKeys]) {
      const rows = appData(keyLog);
      const requests = payloadsFrom(rows, EV.address);
      const responses = payloadsFrom(rows, SECC.address);
      assert.equal(requests.map((p) => Buffer.from(p).toString('hex')), traced.filter((m) => m[1] === 'sent').map((m) => m[3]));
      assert.equal(responses.map((p) => Buffer.from(p).toString('hex')), traced.filter((m) => m[1] === 'received').map((m) => m[3]));
      const sent = collapsed(messageNames(requests));
      assert.equal(sent.slice(0, 9), [
        'supportedAppProtocolReq', 'SessionSetupReq', 'ServiceDiscoveryReq', 'ServiceDetailReq', 'PaymentServiceSelectionReq',
        'CertificateInstallationReq', 'PaymentDetailsReq', 'AuthorizationReq', 'ChargeParameterDiscoveryReq',
      ]);
      assert.equal(sent.slice(9, 12), ['CableCheckReq', 'PreChargeReq', 'PowerDeliveryReq']);
      assert.ok(sent.includes('CurrentDemandReq') && sent.includes('MeteringReceiptReq'), sent.join(' '));
      assert.equal(sent.slice(-3), ['PowerDeliveryReq', 'WeldingDetectionReq', 'SessionStopReq']);
      const answered = collapsed(messageNames(responses));
      assert.equal(answered.slice(0, 7), ['supportedAppProtocolRes', 'SessionSetupRes', 'ServiceDiscoveryRes', 'ServiceDetailRes', 'PaymentServiceSelectionRes', 'CertificateInstallationRes', 'PaymentDetailsRes']);
      assert.is(answered[answered.length - 1], 'SessionStopRes');
    }
  });

  test('openpnc ev --if --eim: an ISO 15118-2 EIM (ExternalPayment) DC session over the same TLS 1.2: no contract, no installation, no PaymentDetails', async () => {
    assert.ok(office, 'the back office of the PnC test');
    const pcap = join(dir, 'eim.pcap');
    const evKeys = join(dir, 'ev-eim.keylog');
    const capture = await captureIn(SECC.ns, SECC.iface, pcap);
    const secc = startIn(SECC.ns, [process.execPath, CLI, 'secc', '--if', SECC.iface, '--no-slac', '--nats', await office.urlIn(SECC.ns), '--creds', office.nats.credsDir, '--sessions', '1', '--data', join(dir, 'secc-data')], 110_000);
    await secc.waitFor(/ready: SDP on UDP 15118/);
    const ev = startIn(EV.ns, [process.execPath, CLI, 'ev', '--if', EV.iface, '--no-slac', '--vehicle', join(dir, 'vehicle'), '--eim', '--keylog', evKeys], 60_000);
    const [evCode, seccCode] = [await ev.exited, await secc.exited];
    await capture.stop();

    const evOut = ev.output();
    assert.is(evCode, 0, evOut);
    assert.is(seccCode, 0, secc.output());
    assert.match(evOut, /ev tls: TLSv1\.2 TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 prime256v1; SECC leaf CN=SECC-LAB-1.*DC=CPO accepted/);
    assert.match(evOut, /ev session: completed, \d+\.\d\d kWh/);
    assert.not.match(evOut, /EMAID/, 'EIM authorizes no contract');
    assert.equal(tshark(pcap, evKeys, '_ws.malformed || _ws.expert.severity == error', []), []);
    const rows = tshark(pcap, evKeys, 'tcp && data.data', ['ipv6.src', 'ipv6.dst', 'data.data']);
    const sent = collapsed(messageNames(payloadsFrom(rows, EV.address)));
    assert.equal(sent.slice(0, 6), ['supportedAppProtocolReq', 'SessionSetupReq', 'ServiceDiscoveryReq', 'PaymentServiceSelectionReq', 'AuthorizationReq', 'ChargeParameterDiscoveryReq']);
    assert.ok(!sent.includes('CertificateInstallationReq') && !sent.includes('PaymentDetailsReq') && !sent.includes('MeteringReceiptReq'), sent.join(' '));
    assert.ok(sent.includes('CurrentDemandReq'), sent.join(' '));
    assert.equal(sent.slice(-3), ['PowerDeliveryReq', 'WeldingDetectionReq', 'SessionStopReq']);
    assert.is(collapsed(messageNames(payloadsFrom(rows, SECC.address))).at(-1), 'SessionStopRes');
  });

}

test.run();
