// Faults: `openpnc ocpp serve` killed with SIGKILL in the middle of 100 transactions from four
// stations (our station library); restarted on the same port and data directory, it gets every
// TransactionEvent exactly once, each transaction's events in seqNo order without gaps or repeats.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnOpenpnc } from '../helpers/cli.ts';
import { StationCredentials } from '../../actors/ocpp/credentials.ts';
import { ChargingStation } from '../../actors/ocpp/station.ts';
import { openEmbeddedStore } from '../../actors/store/index.ts';
import type { Store } from '../../actors/store/store.ts';
import { until } from './helpers.ts';

const STATIONS = 4;
const TRANSACTIONS = 100;
const dataDir = mkdtempSync(join(tmpdir(), 'openpnc-ocpp-faults-'));
const children = new Set<ReturnType<typeof spawnOpenpnc>>();
process.on('exit', () => { for (const child of children) child.kill('SIGKILL'); });

/** Starts `openpnc ocpp serve` and resolves with its port once it listens. */
async function serve(port: number): Promise<{ child: ReturnType<typeof spawnOpenpnc>; port: number }> {
  const child = spawnOpenpnc(['ocpp', 'serve', '--port', String(port), '--data', dataDir]);
  children.add(child);
  child.once('exit', () => children.delete(child));
  let stderr = '';
  const listening = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ocpp serve did not start:\n${stderr.slice(-2000)}`)), 45_000);
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      const match = /OCPP CSMS at wss:\/\/127\.0\.0\.1:(\d+)\/ocpp/.exec(stderr);
      if (match) { clearTimeout(timer); resolve(Number(match[1])); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`ocpp serve exited with ${code}:\n${stderr.slice(-2000)}`)); });
  });
  child.stderr.removeAllListeners('data');
  child.stderr.resume();
  return { child, port: listening };
}

test('CSMS killed with -9 during 100 transactions: stations reconnect, every TransactionEvent arrives exactly once, in order', async () => {
  // Registered in the CSMS's store before it starts (what `openpnc ocpp station add --data` does; test/cli/ocpp.test.ts runs that).
  const passwords: string[] = [];
  const csmsStore = await openEmbeddedStore(dataDir);
  for (let i = 0; i < STATIONS; i++) passwords.push((await new StationCredentials(csmsStore).add(`CS-FAULT-${i}`)).password);
  await csmsStore.close();
  let csms = await serve(0);
  const ca = readFileSync(join(dataDir, 'csms-root.pem'), 'utf8');
  const stores: Store[] = [];
  const stations: ChargingStation[] = [];
  try {
    for (let i = 0; i < STATIONS; i++) {
      const store = await openEmbeddedStore(mkdtempSync(join(tmpdir(), `openpnc-station-${i}-`)));
      stores.push(store);
      const station = new ChargingStation({ url: `wss://127.0.0.1:${csms.port}/ocpp`, stationId: `CS-FAULT-${i}`, password: passwords[i], tls: { ca }, store, backoff: { initialDelayMs: 100, maxDelayMs: 500 }, callTimeoutMs: 5_000 });
      stations.push(station);
      await station.start();
    }
    const transactionIds: string[] = [];
    let restarted: Promise<Awaited<ReturnType<typeof serve>>> | undefined;
    for (let n = 0; n < TRANSACTIONS; n++) {
      const station = stations[n % STATIONS];
      const tx = await station.startTransaction({ evseId: 1, idToken: { idToken: `TOKEN${n}`, type: 'Central' }, meterWh: 0 });
      await station.updateTransaction(tx, { meterWh: 500 });
      await station.endTransaction(tx, { meterWh: 1000 });
      transactionIds.push(tx);
      if (n === 40) {
        // Some events are answered, some in flight, the rest queued: kill the CSMS process mid-stream,
        // and start it again while the stations go on charging (their events queue meanwhile).
        const exited = new Promise((resolve) => csms.child.once('exit', resolve));
        csms.child.kill('SIGKILL');
        await exited;
        restarted = serve(csms.port);
      }
    }
    csms = await restarted!;
    for (const station of stations) await until(async () => (await station.pendingCount()) === 0, 60_000, 'every queue drained');
    csms.child.kill('SIGINT');
    await new Promise((resolve) => csms.child.once('exit', resolve));
  } finally {
    for (const station of stations) await station.stop();
    for (const store of stores) await store.close();
    for (const child of children) child.kill('SIGKILL');
  }
  // Read what the CPO kept, from its own store.
  const store = await openEmbeddedStore(dataDir);
  try {
    const events = await store.collection<{ _id: string; stationId: string; transactionId: string; seqNo: number; eventType: string; receivedAt: string }>('cpo.transaction_events').find();
    assert.is(events.length, TRANSACTIONS * 3, `${events.length} events kept`);
    const byTransaction = new Map<string, typeof events>();
    for (const event of events) byTransaction.set(event.transactionId, [...(byTransaction.get(event.transactionId) ?? []), event]);
    assert.is(byTransaction.size, TRANSACTIONS);
    for (const [transactionId, kept] of byTransaction) {
      const arrival = [...kept].sort((a, b) => a.receivedAt.localeCompare(b.receivedAt) || a.seqNo - b.seqNo);
      assert.equal(arrival.map((e) => e.seqNo), [0, 1, 2], `transaction ${transactionId} arrived in seqNo order`);
      assert.equal(arrival.map((e) => e.eventType), ['Started', 'Updated', 'Ended']);
    }
  } finally {
    await store.close();
  }
});

test.run();
