// The in-memory power line: 50 chargers side by side with cross-talk and 2 % frame loss, 50 EVs
// plugging in within one simulated second; every EV must match its own charger. Then the IP path
// (datagrams and a Duplex byte stream) is gated by the modems' keys.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { percentile } from '../../bench/stats.ts';
import { chargerRow } from '../../actors/link/row.ts';
import { encodeSlacFrame, slacParmReq } from '../../protocols/slac/index.ts';

test('50 chargers, cross-talk, 2 % loss, 50 EVs plugged within a second: every EV matches its own charger', () => {
  const row = chargerRow({ size: 50, lossRate: 0.02, delayMs: 2, plugWindowMs: 1000, seed: 50 });
  try {
    const done = row.settle(120_000);
    const matches = row.plugs.filter((p) => p.matchedEvse !== undefined);
    const wrong = matches.filter((p) => p.matchedEvse !== p.evse.mac);
    const toMatch = Float64Array.from(matches.map((p) => p.matchedAt! - p.pluggedAt)).sort();
    const toLink = Float64Array.from(row.plugs.filter((p) => p.upAt !== undefined).map((p) => p.upAt! - p.pluggedAt)).sort();
    console.log(`slac row: ${matches.length}/50 matched, ${wrong.length} wrong; plug-in → MATCH.CNF median ${percentile(toMatch, 0.5)} ms, p99 ${percentile(toMatch, 0.99)} ms; ` +
      `plug-in → link up median ${percentile(toLink, 0.5)} ms, p99 ${percentile(toLink, 0.99)} ms (simulated); line: ${JSON.stringify(row.line.stats)}`);
    assert.ok(done, 'every EV reached link up');
    assert.is(matches.length, 50);
    assert.is(wrong.length, 0);
    assert.ok(row.line.stats.lost > 0, 'frames were lost on the way');
    // Cross-talk was real: neighbours heard the EVs and answered them.
    const heardByNeighbours = row.plugs.some((p) => Object.keys((p.ev as unknown as { actor: { getSnapshot(): { context: { evses: object } } } }).actor.getSnapshot().context.evses).length > 1);
    assert.ok(heardByNeighbours || row.line.stats.carried > 50 * 13, 'broadcasts reached more than one charger');
    for (const p of row.plugs) assert.ok(p.evse.hasTag('matched'), `charger ${p.evse.mac} matched`);
  } finally {
    row.stop();
  }
});

test('IP only between matched ends: datagrams to ff02::1, a Duplex stream, LinkDown for a neighbour and after unplug', async () => {
  const row = chargerRow({ size: 3, seed: 7 });
  try {
    assert.ok(row.settle(60_000));
    const [ev0, ev1] = row.evs;
    const [evse0, evse1] = row.chargers;
    const link = row.plugs[0].ev.link!;
    assert.is(link.peerLinkLocal, evse0.linkLocal);
    assert.is(link.linkLocal, ev0.linkLocal);
    assert.match(link.linkLocal, /^fe80::/);

    // SDP-style multicast reaches only the own charger.
    const heard: string[] = [];
    const unbind = row.chargers.map((c) => row.line.bindUdp(c, 15118, (data, remote) => heard.push(`${c.mac}<-${remote.address}:${Buffer.from(data).toString('hex')}`)));
    assert.is(row.line.sendUdp(ev0, 'ff02::1%sim', 15118, Uint8Array.of(0x01, 0xfe), 50000), 1);
    await new Promise((r) => setImmediate(r));
    assert.equal(heard, [`${evse0.mac}<-${ev0.linkLocal}:01fe`]);

    // A byte stream to the own charger works both ways.
    const evseIp = row.line.ipPort(evse0);
    const stop = await evseIp.listen(64109, (socket) => socket.on('error', () => {}).on('data', (chunk: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), chunk]))));
    const client = await row.line.ipPort(ev0).connect(`${link.peerLinkLocal}%sim`, 64109);
    const echoed = new Promise<string>((resolve) => client.once('data', (d: Buffer) => resolve(d.toString())));
    client.write('hello');
    assert.is(await echoed, 'echo:hello');

    // A neighbour's charger is heard but not in our AVLN.
    let refused: unknown;
    try { row.line.connect(ev0, evse1.linkLocal, 64109); } catch (error) { refused = error; }
    assert.is((refused as { code?: string }).code, 'LinkDown');
    assert.is(row.line.sendUdp(ev1, evse0.linkLocal, 15118, Uint8Array.of(1), 50000), 0);

    // Unplug: the charger resets with a new NMK, the EV drops out of the AVLN, the stream is destroyed.
    const closed = new Promise<string>((resolve) => client.once('error', (e: { code: string }) => resolve(e.code)));
    const down = new Promise<string>((resolve) => row.plugs[0].evse.once('down', resolve));
    const evsePilot = (row.plugs[0].evse as unknown as { options: { pilot: { set(s: string, p: boolean): void } } }).options.pilot;
    evsePilot.set('A', false);
    row.clock.runUntil(row.clock.now() + 1000);
    assert.is(await closed, 'LinkDown');
    assert.match(await down, /control pilot/);
    stop.close();
    unbind.forEach((u) => u());
  } finally {
    row.stop();
  }
});

test('hostile bytes from a host are refused by the modem model and skipped by the stations', () => {
  const row = chargerRow({ size: 2, seed: 9 });
  try {
    row.clock.runUntil(200); // past the modems' restart after the first key
    const before = row.line.stats.refused;
    row.evs[0].port.send(Uint8Array.of(1, 2, 3));
    row.evs[0].port.send(new Uint8Array(80).fill(0xff));
    assert.is(row.line.stats.refused, before + 2);
    // A station given garbage directly counts it and keeps serving.
    row.chargers[0].deliver(Uint8Array.of(0xff, 0xff));
    row.chargers[0].deliver(encodeSlacFrame(slacParmReq('00'.repeat(8)), { destination: 'ffffffffffff', source: row.evs[1].mac }).subarray(0, 20));
    assert.is(row.plugs[0].evse.badFrames, 2);
    assert.ok(row.settle(60_000));
  } finally {
    row.stop();
  }
});

test.run();
