// Bus request/reply throughput and latency for a trivial echo handler, sequential and with 64 requests
// in flight: the in-process bus, our NATS adapter, and raw nats.js against the same nats-server
// (started here, loopback) in the same run as the baseline. Each round measures every case in turn so
// machine noise hits them alike; the table shows medians over the rounds.
// Payloads are JSON in every case (raw nats.js encodes and parses too), so the ratios show what the
// adapter itself costs. Targets: NATS adapter ≥ 80 % of raw throughput, p99 ≤ 1.5 × raw p99;
// in-process ≥ 200,000 req/s.
//
//   npm run bench:bus [-- --rounds=5 --ms=1000]
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect, type NatsConnection } from 'nats';
import { connectNatsBus, createMemoryBus, type Bus } from '../actors/bus/index.ts';
import { openEmbeddedStore } from '../actors/store/index.ts';
import { startNatsServer } from '../test/harness/nats.ts';
import { measureLoad, median, type LoadSample } from './stats.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, ms: { type: 'string', default: '1000' } } });
const ROUNDS = Number(values.rounds);
const RUN_MS = Number(values.ms);
if (!(ROUNDS > 0 && RUN_MS > 0)) throw new Error('--rounds and --ms must be positive numbers');
const IN_FLIGHT = 64;
const SUBJECT = 'bench.echo';

type Call = (n: number) => Promise<unknown>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function rawNats(url: string): Promise<{ call: Call; close(): Promise<void> }> {
  // The adapter's connection options that change the per-request cost (no async stack traces), so the
  // ratio is what the adapter's own code costs.
  const server: NatsConnection = await connect({ servers: url, name: 'bench-raw-server', noAsyncTraces: true });
  const client: NatsConnection = await connect({ servers: url, name: 'bench-raw-client', noAsyncTraces: true });
  server.subscribe(`raw.${SUBJECT}`, { callback: (_error, msg) => msg.respond(encoder.encode(JSON.stringify(JSON.parse(decoder.decode(msg.data))))) });
  await server.flush();
  return {
    call: async (n) => JSON.parse(decoder.decode((await client.request(`raw.${SUBJECT}`, encoder.encode(JSON.stringify({ n })), { timeout: 5000 })).data)),
    close: async () => {
      await client.close();
      await server.close();
    },
  };
}

async function echoOver(server: Bus, client: Bus): Promise<Call> {
  await server.serve(SUBJECT, (request: unknown) => request);
  return (n) => client.request(SUBJECT, { n });
}

const nats = await startNatsServer();
const dataDir = mkdtempSync(join(tmpdir(), 'pnc-bench-bus-'));
const store = await openEmbeddedStore(dataDir);
const memory = createMemoryBus({ store });
const natsServerBus = await connectNatsBus({ servers: nats.url, name: 'bench-server' });
const natsClientBus = await connectNatsBus({ servers: nats.url, name: 'bench-client' });
const raw = await rawNats(nats.url);

const natsBus = await echoOver(natsServerBus, natsClientBus);
const inProcess = await echoOver(memory, memory);
const cases = [
  { key: 'raw-seq', label: 'raw nats.js, sequential', call: raw.call, concurrency: 1 },
  { key: 'nats-seq', label: 'NATS bus, sequential', call: natsBus, concurrency: 1, baseline: 'raw-seq' },
  { key: 'raw-64', label: `raw nats.js, ${IN_FLIGHT} in flight`, call: raw.call, concurrency: IN_FLIGHT },
  { key: 'nats-64', label: `NATS bus, ${IN_FLIGHT} in flight`, call: natsBus, concurrency: IN_FLIGHT, baseline: 'raw-64' },
  { key: 'mem-seq', label: 'in-process bus, sequential', call: inProcess, concurrency: 1 },
  { key: 'mem-64', label: `in-process bus, ${IN_FLIGHT} in flight`, call: inProcess, concurrency: IN_FLIGHT },
] as const;

const samples = new Map<string, LoadSample[]>(cases.map((c) => [c.key, []]));
for (const c of cases) await measureLoad(c.call, c.concurrency, RUN_MS); // warm-up: JIT, connections, subscriptions
for (let round = 1; round <= ROUNDS; round++) {
  for (const c of cases) samples.get(c.key)!.push(await measureLoad(c.call, c.concurrency, RUN_MS));
  process.stderr.write(`round ${round}/${ROUNDS} done\n`);
}

const summary = new Map(cases.map((c) => {
  const list = samples.get(c.key)!;
  return [c.key, { perSecond: median(list.map((s) => s.perSecond)), p50: median(list.map((s) => s.p50)), p99: median(list.map((s) => s.p99)) }];
}));

const rows = cases.map((c) => {
  const s = summary.get(c.key)!;
  const base = 'baseline' in c ? summary.get(c.baseline)! : undefined;
  return [
    c.label,
    Math.round(s.perSecond).toLocaleString('en-US'),
    s.p50.toFixed(3),
    s.p99.toFixed(3),
    base ? `${((s.perSecond / base.perSecond) * 100).toFixed(0)} %` : '',
    base ? `${(s.p99 / base.p99).toFixed(2)} ×` : '',
  ];
});
const header = ['case', 'req/s', 'p50 ms', 'p99 ms', 'throughput vs raw', 'p99 vs raw'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells: string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
console.log(`\nBus request/reply, echo handler, medians of ${ROUNDS} rounds of ${RUN_MS} ms (nats-server on loopback, started by this run)`);
console.log(`machine: ${availableParallelism()} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const row of rows) console.log(line(row));

const verdicts: string[] = [];
for (const key of ['nats-seq', 'nats-64'] as const) {
  const c = cases.find((x) => x.key === key)!;
  const s = summary.get(key)!;
  const base = summary.get(key === 'nats-seq' ? 'raw-seq' : 'raw-64')!;
  verdicts.push(`${c.label}: throughput ${s.perSecond >= 0.8 * base.perSecond ? 'meets' : 'MISSES'} ≥ 80 % of raw; p99 ${s.p99 <= 1.5 * base.p99 ? 'meets' : 'MISSES'} ≤ 1.5 × raw`);
}
const inProcessBest = Math.max(summary.get('mem-seq')!.perSecond, summary.get('mem-64')!.perSecond);
verdicts.push(`in-process: ${inProcessBest >= 200_000 ? 'meets' : 'MISSES'} ≥ 200,000 req/s`);
console.log(`\n${verdicts.join('\n')}`);

await raw.close();
await natsClientBus.close();
await natsServerBus.close();
await memory.close();
await store.close();
await nats.stop();
rmSync(dataDir, { recursive: true, force: true });
