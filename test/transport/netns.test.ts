// The real thing on one machine: two network namespaces joined by a veth pair with IPv6 link-local
// addresses; `openpnc v2g listen` and `openpnc v2g connect` run in them (SDP over ff02::1 on the
// interface, TLS to fe80::…%if); tcpdump captures, tshark decodes and decrypts with our key log, and
// the decrypted V2GTP payloads decode with our EXI codec.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestPki } from '../../protocols/pki/index.ts';
import { decodeExi } from '../../protocols/exi/index.ts';
import { V2gtpFrameReader } from '../../protocols/v2gtp/index.ts';
import { credentialsOf } from '../../actors/transport/tls.ts';
import { LAB_SAP_REQUEST } from '../../actors/transport/cli.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { captureIn, netnsUnavailable, startIn as start, tshark, vethSuite, type VethEnd } from '../harness/netns.ts';

const tag = String(process.pid % 100_000);
const EV_NS = `tpev${tag}`;
const SE_NS = `tpse${tag}`;
const EV_IF = `tpe${tag}`;
const SE_IF = `tps${tag}`;
const EV_MAC = '02:00:00:00:0e:01';
const SE_MAC = '02:00:00:00:5e:01';
const EV_ADDRESS = 'fe80::ff:fe00:e01';
const SE_ADDRESS = 'fe80::ff:fe00:5e01';
const CLI = new URL('../../bin/openpnc.js', import.meta.url).pathname;
const dir = process.env.TP_NETNS_DIR ?? tempDir('tp-netns');

const EV: VethEnd = { ns: EV_NS, iface: EV_IF, mac: EV_MAC, address: EV_ADDRESS };
const SECC: VethEnd = { ns: SE_NS, iface: SE_IF, mac: SE_MAC, address: SE_ADDRESS };
const unavailable = netnsUnavailable(`tpprobe${tag}`, ['tcpdump', 'tshark']);

if (unavailable) {
  console.log(`SKIPPED: transport netns suite (${unavailable})`);
} else {
  vethSuite(test, EV, SECC);

  test('SDP on ff02::1, TLS 1.2 over fe80::…%if, a real SAP exchange; tshark decodes and decrypts it', async () => {
    const pki = await createTestPki();
    const credentials = await credentialsOf(pki.secc);
    writeFileSync(join(dir, 'secc.key.pem'), credentials.key);
    writeFileSync(join(dir, 'secc.chain.pem'), credentials.chain);
    writeFileSync(join(dir, 'v2g-root.pem'), pki.trustAnchors.v2g[0].toString('pem'));
    const pcap = join(dir, 'link.pcap');
    const seccKeys = join(dir, 'secc.keylog');
    const evKeys = join(dir, 'ev.keylog');

    const capture = await captureIn(SE_NS, SE_IF, pcap, 30_000);
    const secc = start(SE_NS, [process.execPath, CLI, 'v2g', 'listen', '--if', SE_IF, '--pki', dir, '--keylog', seccKeys, '--sessions', '1']);
    await secc.waitFor(/sdp: listening/);
    const ev = start(EV_NS, [process.execPath, CLI, 'v2g', 'connect', '--if', EV_IF, '--pki', dir, '--keylog', evKeys]);
    const evCode = await ev.exited;
    const seccCode = await secc.exited;
    await capture.stop();

    const evOut = ev.output();
    assert.is(evCode, 0, evOut);
    assert.is(seccCode, 0, secc.output());
    assert.match(evOut, new RegExp(`sdp: SECC at \\[${SE_ADDRESS}%${EV_IF}\\]:\\d+ offers tls`));
    assert.match(evOut, 'tls: TLSv1.2 TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 group prime256v1; SECC leaf CN=SECCCert');
    assert.match(evOut, 'v2gtp: received {"supportedAppProtocolRes":{"ResponseCode":"OK_SuccessfulNegotiation","SchemaID":10}}');
    assert.match(secc.output(), new RegExp(`sdp: answered \\[${EV_ADDRESS}%${SE_IF}\\]:\\d+ \\(asked tls\\)`));
    const port = Number(/offers tls/.test(evOut) && /\]:(\d+) offers/.exec(evOut)![1]);
    assert.ok(port >= 49152 && port <= 65535);

    // No malformed packet and no expert error anywhere in the capture, decrypted.
    assert.equal(tshark(pcap, evKeys, '_ws.malformed || _ws.expert.severity == error', []), []);

    // One dissection per key log (none, the EV's, the SECC's); fields: source, destination, UDP port,
    // handshake types / version / suite / named curve, and the (decrypted) payload.
    const fields = ['ipv6.src', 'ipv6.dst', 'udp.dstport', 'tls.handshake.type', 'tls.handshake.version', 'tls.handshake.ciphersuite', 'tls.handshake.server_named_curve', 'data.data'];
    const rows = (keyLog: string | undefined) =>
      tshark(pcap, keyLog, 'udp.port == 15118 || tcp', fields).map(([src, dst, udpPort, types, version, suite, curve, data]) => ({ src, dst, udpPort, types: (types ?? '').split(','), version, suite, curve, data: data ?? '' }));
    const opaque = rows(undefined);

    // SDP: request multicast to ff02::1, response unicast from the SECC's link-local address.
    const sdp = opaque.filter((r) => r.udpPort !== '');
    assert.equal(sdp.map((r) => [r.src, r.dst, r.data]), [
      [EV_ADDRESS, 'ff02::1', '01fe9000000000020000'],
      [SE_ADDRESS, EV_ADDRESS, '01fe900100000014' + 'fe80000000000000000000fffe005e01' + port.toString(16).padStart(4, '0') + '0000'],
    ]);

    // TLS: the pinned suite (0xc023) and group (secp256r1 = 0x0017), TLS 1.2.
    const serverHello = opaque.filter((r) => r.types.includes('2'));
    assert.is(serverHello.length, 1);
    assert.match(serverHello[0].version, '0x0303');
    assert.is(serverHello[0].suite, '0xc023');
    const keyExchange = opaque.filter((r) => r.types.includes('12'));
    assert.is(keyExchange.length, 1);
    assert.is(keyExchange[0].curve, '0x0017');

    // Without the key log the application data stays opaque; with either end's key log it decrypts.
    assert.equal(opaque.filter((r) => r.udpPort === '' && r.data !== ''), []);
    for (const keyLog of [evKeys, seccKeys]) {
      const decrypted = rows(keyLog).filter((r) => r.udpPort === '' && r.data !== '');
      assert.is(decrypted.length, 2, JSON.stringify(decrypted));
      const [request, response] = decrypted.map(({ src, data }) => {
        const frames = new V2gtpFrameReader().push(Buffer.from(data, 'hex'));
        assert.is(frames.length, 1);
        return { src, payload: frames[0].payload };
      });
      assert.is(request.src, EV_ADDRESS);
      assert.equal(Buffer.from(request.payload), LAB_SAP_REQUEST);
      assert.equal(decodeExi('app', request.payload).document, {
        supportedAppProtocolReq: { AppProtocol: [{ ProtocolNamespace: 'urn:iso:15118:2:2013:MsgDef', VersionNumberMajor: 2, VersionNumberMinor: 0, SchemaID: 10, Priority: 1 }] },
      });
      assert.is(response.src, SE_ADDRESS);
      assert.equal(decodeExi('app', response.payload).document, { supportedAppProtocolRes: { ResponseCode: 'OK_SuccessfulNegotiation', SchemaID: 10 } });
    }
  });

  test('EIM over plain TCP: SDP asks for no TLS (0x10), the SECC offers none, a SAP exchange without TLS', async () => {
    const secc = start(SE_NS, [process.execPath, CLI, 'v2g', 'listen', '--if', SE_IF, '--tcp-eim-only', '--sessions', '1']);
    await secc.waitFor(/sdp: listening/);
    const ev = start(EV_NS, [process.execPath, CLI, 'v2g', 'connect', '--if', EV_IF, '--tcp']);
    const [evCode, seccCode] = [await ev.exited, await secc.exited];
    assert.is(evCode, 0, ev.output());
    assert.is(seccCode, 0, secc.output());
    assert.match(ev.output(), new RegExp(`sdp: SECC at \\[${SE_ADDRESS}%${EV_IF}\\]:\\d+ offers none`));
    assert.match(ev.output(), 'tcp: connected (no TLS)');
    assert.match(ev.output(), 'v2gtp: received {"supportedAppProtocolRes":{"ResponseCode":"OK_SuccessfulNegotiation","SchemaID":10}}');
    assert.match(secc.output(), /sdp: answered .* \(asked none\)/);
  });

}

test.run();
