// The OAuth token endpoint's timing (issue 8): a wrong secret for a known client id against one for
// an unknown id (both should cost one scrypt, so an attacker cannot tell which ids exist), and a valid
// client whose secret is remembered (no scrypt). Interleaved in the same rounds, with raw scrypt of
// the same parameters as the baseline, so machine noise hits all alike. Medians in milliseconds.
// Then throughput: valid clients' tokens per second alone, and while a wrong-secret flood (unknown ids,
// limits off so every attempt reaches scrypt) runs beside them. Targets (issue 14): ≥ 200/s and ≥ 100/s.
//
//   npm run bench:token [-- --samples=40 --rounds=3 --ms=2000 --flood=32]
import { scrypt } from 'node:crypto';
import { promisify } from 'node:util';
import { availableParallelism, loadavg } from 'node:os';
import { OAuthService } from '../actors/opcp/auth.ts';
import { openEmbedded } from '../test/pools/helpers.ts';
import { flag, machineLoad, measureLoad, median, printSummary } from './stats.ts';

const SAMPLES = flag('samples', 40);
const ROUNDS = flag('rounds', 3);
const RUN_MS = flag('ms', 2000);
const FLOOD = flag('flood', 32);
const loadStart = machineLoad();
const env = await openEmbedded();
// Limits far above the sample count: this measures the check, not the limiter.
const oauth = new OAuthService(env.store, { attemptLimits: { perClient: 1e9, perSource: 1e9 } });
const client = await oauth.addClient('cpo', []);
await oauth.issueToken(client); // remembered from here on
const rawScrypt = promisify(scrypt) as (secret: string, salt: Buffer, keylen: number, options: object) => Promise<Buffer>;
const salt = Buffer.alloc(16, 1);

const timed = async (run: () => Promise<unknown>) => {
  const t0 = performance.now();
  await run().catch(() => undefined);
  return performance.now() - t0;
};
const cases: Record<string, () => Promise<unknown>> = {
  'raw scrypt N=16384 r=8 p=1 (baseline)': () => rawScrypt('secret', salt, 32, { N: 16384, r: 8, p: 1 }),
  'known client id, wrong secret': () => oauth.issueToken({ client_id: client.client_id, client_secret: 'wrong' }),
  'unknown client id, wrong secret': () => oauth.issueToken({ client_id: 'cpo-0000000000000000', client_secret: 'wrong' }),
  'valid client, remembered secret': () => oauth.issueToken(client),
};
const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
for (let i = 0; i < SAMPLES; i++) for (const [name, run] of Object.entries(cases)) times[name].push(await timed(run));

console.log(`machine: ${availableParallelism()} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; ${SAMPLES} samples each, interleaved\n`);
for (const [name, samples] of Object.entries(times)) console.log(`${name.padEnd(40)} median ${median(samples).toFixed(2).padStart(8)} ms`);
const known = median(times['known client id, wrong secret']);
const unknown = median(times['unknown client id, wrong secret']);
console.log(`\nunknown / known: ${(unknown / known).toFixed(2)} (1.00 = indistinguishable by the median)`);

// Throughput, each round alone then under the flood. Four valid clients ask at once, like gateway workers would.
const validToken = () => oauth.issueToken(client);
const alone: number[] = [];
const flooded: number[] = [];
let floodAttempts = 0;
for (let round = 0; round < ROUNDS; round++) {
  alone.push((await measureLoad(validToken, 4, RUN_MS)).perSecond);
  let flooding = true;
  const flood = Promise.all(Array.from({ length: FLOOD }, async (_, f) => {
    for (let i = 0; flooding; i++, floodAttempts++) await oauth.issueToken({ client_id: `cpo-flood-${f}-${i}`, client_secret: 'wrong' }).catch(() => undefined);
  }));
  flooded.push((await measureLoad(validToken, 4, RUN_MS)).perSecond);
  flooding = false;
  await flood;
}
console.log(`\nvalid tokens/s alone ${median(alone).toFixed(0)}, during a flood of ${FLOOD} wrong-secret requesters ${median(flooded).toFixed(0)} (${floodAttempts} flood attempts answered)`);
const loadEnd = machineLoad();
const rawMs = median(times['raw scrypt N=16384 r=8 p=1 (baseline)']);
for (const [path, values, target] of [['OAuth token, valid client (remembered secret)', alone, 200], [`OAuth token, valid client, during a ${FLOOD}-requester wrong-secret flood`, flooded, 100]] as const) {
  printSummary({ path, value: median(values), unit: 'tokens/s', min: Math.min(...values), max: Math.max(...values), target, baseline: `raw scrypt ${rawMs.toFixed(1)} ms (${(1000 / rawMs).toFixed(1)}/s on one thread)`, loadStart, loadEnd });
}
await env.close();
