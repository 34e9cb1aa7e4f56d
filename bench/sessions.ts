// One SECC-side process serving 1,000 concurrent TLS 1.2 connections on loopback, each EV sending a
// real CurrentDemandReq at 4 Hz (the DC charging loop), from a second process so the EV side does not
// share the SECC's event loop. Prints CurrentDemandRes latency p50/p99 (target p99 ≤ 25 ms, the SECC
// performance time; the EV gives up after 250 ms and that counts as a timeout), memory per connection,
// and connections set up per second (TLS + one request/response) against bare TLS handshakes
// measured in the same run.
//
//   npm run bench:sessions [-- --connections=1000 --seconds=20 --setups=300 --rounds=3]
//
// Until the session actors land, the SECC answers every frame with a real CurrentDemandRes from the
// vectors (`vectorResponder`); to measure the real SECC, replace `seccHandler` with its connection handler.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism, loadavg } from 'node:os';
import { connect as connectTls } from 'node:tls';
import { createTestPki } from '../protocols/pki/index.ts';
import { credentialsOf, evccTlsOptions } from '../actors/transport/tls.ts';
import { connectV2gtp } from '../actors/transport/v2gtp-client.ts';
import { V2gtpServer, type PeerInfo } from '../actors/transport/v2gtp-server.ts';
import { V2gtpConnection } from '../actors/transport/v2gtp-connection.ts';
import type { Duplex } from 'node:stream';
import { loadCorpus } from '../test/helpers/exi-corpus.ts';
import { flag, median, percentile } from './stats.ts';

const CONNECTIONS = flag('connections', 1000);
const SECONDS = flag('seconds', 20);
const SETUPS = flag('setups', 300);
const ROUNDS = flag('rounds', 3);
const HZ = 4;
const EV_CURRENT_DEMAND_TIMEOUT_MS = 250; // charging-session.md §2
const HOST = '::1';

// ISO-2 CurrentDemandReq / CurrentDemandRes from the RISE-V2G DC capture (vectors_all.tsv rows 106 and 145).
const corpus = loadCorpus();
const currentDemandReq = corpus.find((r) => r.id === 106)!.bytes;
const currentDemandRes = corpus.find((r) => r.id === 145)!.bytes;

/** The stand-in SECC: answers each frame with the CurrentDemandRes vector. */
function vectorResponder(socket: Duplex): void {
  const connection = new V2gtpConnection(socket);
  connection.on('frame', () => connection.send(currentDemandRes));
}
/** Where the session SECC drops in: e.g. `(socket) => void station.serve(socket)` with a station from actors/participants/secc. */
const seccHandler: (socket: Duplex, peer: PeerInfo) => void = vectorResponder;

interface EvReport {
  readonly latencies: number[];
  readonly sent: number;
  readonly timeouts: number;
  readonly lost: number;
  /** CPU time of the EV process during the load phase, µs. */
  readonly evCpuUs: number;
  readonly connectMs: number;
  readonly setupRates: { readonly bare: number[]; readonly full: number[] };
}

type ToEv = { kind: 'start'; port: number; roots: string[] } | { kind: 'measure-load' } | { kind: 'measure-setup' };
type ToSecc = { kind: 'connected'; connectMs: number } | { kind: 'report'; report: EvReport } | { kind: 'error'; message: string };

if (process.argv.includes('--ev')) await evSide();
else await seccSide();

async function seccSide(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const pki = await createTestPki();
  const server = await V2gtpServer.start({ host: HOST, security: { kind: 'tls', credentials: await credentialsOf(pki.secc) }, onConnection: seccHandler });
  console.log(`machine: ${availableParallelism()} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`SECC: TLS 1.2 ECDHE-ECDSA-AES128-SHA256/secp256r1 on [${HOST}]:${server.port}; ${CONNECTIONS} EVs at ${HZ} Hz for ${SECONDS} s\n`);
  gc?.();
  const before = process.memoryUsage();
  const ev = fork(new URL(import.meta.url).pathname, ['--ev', ...process.argv.slice(2)], { execArgv: ['--import', 'tsx'] });
  const ask = <K extends ToSecc['kind']>(message: ToEv, kind: K) =>
    new Promise<Extract<ToSecc, { kind: K }>>((resolve, reject) => {
      const onMessage = (m: ToSecc) => {
        ev.off('message', onMessage);
        if (m.kind === 'error') reject(new Error(m.message));
        else if (m.kind === kind) resolve(m as Extract<ToSecc, { kind: K }>);
      };
      ev.on('message', onMessage);
      ev.send(message);
    });
  try {
    const { connectMs } = await ask({ kind: 'start', port: server.port, roots: [pki.trustAnchors.v2g[0].toString('pem')] }, 'connected');
    gc?.();
    const loaded = process.memoryUsage();
    const perConnection = (key: 'rss' | 'heapUsed' | 'external') => ((loaded[key] - before[key]) / 1024 / server.connections).toFixed(1);
    console.log(`connected: ${server.connections} TLS connections in ${(connectMs / 1000).toFixed(1)} s`);
    console.log(`memory per connection (SECC process, after GC): rss ${perConnection('rss')} KiB, heap ${perConnection('heapUsed')} KiB, external ${perConnection('external')} KiB\n`);

    const cpuBefore = process.cpuUsage();
    const { report } = await ask({ kind: 'measure-load' }, 'report');
    const cpu = process.cpuUsage(cpuBefore);
    const cpuPerResponseUs = (cpu.user + cpu.system) / Math.max(1, report.sent);
    const sorted = Float64Array.from(report.latencies).sort();
    const p99 = percentile(sorted, 0.99);
    console.log(`CurrentDemandReq → Res over TLS, ${CONNECTIONS} connections × ${HZ} Hz, ${SECONDS} s:`);
    console.log(`  requests ${report.sent}, answered ${report.latencies.length}, timeouts (> ${EV_CURRENT_DEMAND_TIMEOUT_MS} ms) ${report.timeouts}, connections lost ${report.lost}`);
    console.log(`  latency p50 ${percentile(sorted, 0.5).toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${sorted[sorted.length - 1]?.toFixed(2)} ms (target p99 ≤ 25 ms: ${p99 <= 25 ? 'met' : 'MISSED'})`);
    console.log(`  throughput ${(report.latencies.length / SECONDS).toFixed(0)} responses/s`);
    // CPU time is what the load average does not distort: it says how many responses one core can carry.
    console.log(`  SECC process CPU ${(cpuPerResponseUs).toFixed(0)} µs per CurrentDemandRes (${((cpu.user + cpu.system) / 1e4 / SECONDS).toFixed(0)}% of a core; one core ≈ ${(1e6 / cpuPerResponseUs).toFixed(0)} responses/s = ${(1e6 / cpuPerResponseUs / HZ).toFixed(0)} EVs at ${HZ} Hz)`);
    console.log(`  EV process CPU ${(report.evCpuUs / Math.max(1, report.sent)).toFixed(0)} µs per request (${(report.evCpuUs / 1e4 / SECONDS).toFixed(0)}% of a core); latency above the SECC's own time is the EV side and the machine's load\n`);

    const setup = await ask({ kind: 'measure-setup' }, 'report');
    const { bare, full } = setup.report.setupRates;
    console.log(`connection setup, ${SETUPS} per round, 8 in flight, median of ${ROUNDS} rounds (other ${CONNECTIONS} connections idle):`);
    console.log(`  baseline bare TLS handshakes      ${median(bare).toFixed(0)}/s   (rounds ${bare.map((r) => r.toFixed(0)).join(', ')})`);
    console.log(`  TLS + SECC check + one req/res    ${median(full).toFixed(0)}/s   (rounds ${full.map((r) => r.toFixed(0)).join(', ')}); ${((median(full) / median(bare)) * 100).toFixed(0)}% of baseline`);
    console.log(`\nload average after: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  } finally {
    ev.kill();
    await server.close();
  }
}

async function evSide(): Promise<void> {
  const connections: V2gtpConnection[] = [];
  let port = 0;
  let roots: string[] = [];
  const send = (message: ToSecc) => process.send!(message);
  process.on('message', async (message: ToEv) => {
    try {
      if (message.kind === 'start') {
        ({ port, roots } = message);
        const started = performance.now();
        let next = 0;
        // 32 handshakes in flight while ramping up, as chargers see EVs arrive, not all in one tick.
        await Promise.all(Array.from({ length: 32 }, async () => {
          while (next < CONNECTIONS) {
            next++;
            const { connection } = await connectV2gtp({ host: HOST, port, security: { kind: 'tls', v2gRoots: roots } });
            // The first frame right away, as an EV's setup does: the SECC closes a silent connection after 18 s.
            await connection.request(currentDemandReq, 10_000);
            connections.push(connection);
          }
        }));
        send({ kind: 'connected', connectMs: performance.now() - started });
      } else if (message.kind === 'measure-load') {
        const cpuBefore = process.cpuUsage();
        const loop = await currentDemandLoop(connections);
        const cpu = process.cpuUsage(cpuBefore);
        send({ kind: 'report', report: { ...loop, evCpuUs: cpu.user + cpu.system, connectMs: 0, setupRates: { bare: [], full: [] } } });
      } else {
        const bare: number[] = [];
        const full: number[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          bare.push(await setupRate(() => bareHandshake(port, roots)));
          full.push(await setupRate(() => fullSetup(port, roots)));
        }
        send({ kind: 'report', report: { latencies: [], sent: 0, timeouts: 0, lost: 0, evCpuUs: 0, connectMs: 0, setupRates: { bare, full } } });
      }
    } catch (error) {
      send({ kind: 'error', message: (error as Error).message });
    }
  });
}

/** Every connection sends a CurrentDemandReq each 250 ms (phases spread), waiting for the answer before the next. */
async function currentDemandLoop(connections: V2gtpConnection[]): Promise<Omit<EvReport, 'connectMs' | 'setupRates' | 'evCpuUs'>> {
  const latencies: number[] = [];
  let sent = 0;
  let timeouts = 0;
  let lost = 0;
  const end = performance.now() + SECONDS * 1000;
  const period = 1000 / HZ;
  await Promise.all(connections.map(async (connection, index) => {
    let due = performance.now() + (index / connections.length) * period;
    while (due < end) {
      await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
      const t0 = performance.now();
      sent++;
      try {
        await connection.request(currentDemandReq, EV_CURRENT_DEMAND_TIMEOUT_MS);
        latencies.push(performance.now() - t0);
      } catch (error) {
        if ((error as { code?: string }).code === 'ResponseTimeout') {
          timeouts++;
          await once(connection, 'frame'); // the late answer belongs to this request, not the next
        } else {
          lost++;
          return;
        }
      }
      due += period;
    }
  }));
  return { latencies, sent, timeouts, lost };
}

async function setupRate(setup: () => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next++ < SETUPS) await setup();
  }));
  return (SETUPS * 1000) / (performance.now() - started);
}

async function bareHandshake(port: number, roots: string[]): Promise<void> {
  const socket = connectTls({ host: HOST, port, ...evccTlsOptions(roots) });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  socket.destroy();
}

async function fullSetup(port: number, roots: string[]): Promise<void> {
  const { connection } = await connectV2gtp({ host: HOST, port, security: { kind: 'tls', v2gRoots: roots } });
  await connection.request(currentDemandReq, 10_000);
  connection.socket.destroy();
}
