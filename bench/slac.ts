// SLAC throughput: matchings per second on the in-memory power line with 1,000 chargers and 1,000
// EVs matching in parallel (cross-talk on, no loss; wall time to run the simulation), and decode /
// encode rates of real-sized frames against a same-run baseline: a raw Buffer copy of the same frame.
//
//   npm run bench:slac [-- --runs=5 --ms=300 --sessions=1000]
import { availableParallelism, loadavg } from 'node:os';
import { chargerRow } from '../actors/link/row.ts';
import { decodeSlacFrame, encodeSlacFrame, type SlacMessage } from '../protocols/slac/index.ts';
import { SAMPLES, EVSE_MAC, EV_MAC } from '../test/slac/samples.ts';
import { flag, median } from './stats.ts';

const RUNS = flag('runs', 5);
const RUN_MS = flag('ms', 300);
const SESSIONS = flag('sessions', 1000);

function rate(fn: () => void): number {
  let n = 0;
  const started = performance.now();
  const until = started + RUN_MS;
  while (performance.now() < until) {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
  }
  return (n * 1000) / (performance.now() - started);
}

const fmt = (perSecond: number) => `${(perSecond / 1000).toFixed(0).padStart(6)} k/s`;

console.log(`machine: ${availableParallelism()} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);

console.log(`matchings on the in-memory line, ${SESSIONS} parallel sessions (median of ${RUNS} runs):`);
const matchRates: number[] = [];
const cpuRates: number[] = [];
const simulated: number[] = [];
for (let run = 0; run < RUNS; run++) {
  const row = chargerRow({ size: SESSIONS, seed: 1000 + run, plugWindowMs: 1000 });
  const started = performance.now();
  const cpu = process.cpuUsage();
  row.settle(600_000);
  const wallMs = performance.now() - started;
  const { user, system } = process.cpuUsage(cpu);
  const matched = row.plugs.filter((p) => p.matchedEvse === p.evse.mac && p.upAt !== undefined).length;
  if (matched !== SESSIONS) throw new Error(`run ${run}: only ${matched} of ${SESSIONS} matched their own charger`);
  matchRates.push((matched * 1000) / wallMs);
  cpuRates.push((matched * 1e6) / (user + system));
  simulated.push(row.clock.now());
  row.stop();
}
// On a shared machine the wall rate follows the load; the rate per CPU second is what this process did.
console.log(`  ${median(matchRates).toFixed(0)} matchings/s wall, ${median(cpuRates).toFixed(0)} per CPU second of this process (all ${SESSIONS} correct each run; ${(median(simulated) / 1000).toFixed(1)} s of simulated time per run)\n`);

console.log(`codec, median of ${RUNS} runs of ${RUN_MS} ms:`);
console.log('  frame                     bytes    decode     encode   baseline (Buffer copy)  decode/copy');
const pick = (type: SlacMessage['type']) => SAMPLES.find((s) => s.message.type === type)!.message;
for (const type of ['CM_SLAC_PARM.REQ', 'CM_MNBC_SOUND.IND', 'CM_ATTEN_CHAR.IND', 'CM_SLAC_MATCH.CNF'] as const) {
  const message = pick(type);
  const frame = encodeSlacFrame(message, { destination: EVSE_MAC, source: EV_MAC });
  const decode: number[] = [];
  const encode: number[] = [];
  const copy: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    copy.push(rate(() => Buffer.from(frame)));
    decode.push(rate(() => decodeSlacFrame(frame)));
    encode.push(rate(() => encodeSlacFrame(message, { destination: EVSE_MAC, source: EV_MAC })));
  }
  console.log(`  ${type.padEnd(24)} ${String(frame.length).padStart(5)} ${fmt(median(decode))} ${fmt(median(encode))} ${fmt(median(copy)).padStart(24)}  ${(median(decode) / median(copy)).toFixed(2).padStart(10)}`);
}
console.log(`\nload average after: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
