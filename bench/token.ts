// The OAuth token endpoint's timing (issue 8): a wrong secret for a known client id against one for
// an unknown id (both should cost one scrypt, so an attacker cannot tell which ids exist), and a valid
// client whose secret is remembered (no scrypt). Interleaved in the same rounds, with raw scrypt of
// the same parameters as the baseline, so machine noise hits all alike. Medians in milliseconds.
//
//   npm run bench:token [-- --samples=40]
import { scrypt } from 'node:crypto';
import { promisify } from 'node:util';
import { availableParallelism, loadavg } from 'node:os';
import { OAuthService } from '../actors/opcp/auth.ts';
import { openEmbedded } from '../test/pools/helpers.ts';
import { flag, median } from './stats.ts';

const SAMPLES = flag('samples', 40);
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
await env.close();
