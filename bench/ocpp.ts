// bench:ocpp — 1,000 stations connected to one CSMS process (security profile 2: TLS + Basic auth,
// strict ocpp-rpc on both ends); under steady load, C07 Authorize with iso15118CertificateHashData
// (OCSP at the MO over the bus) and M01 Get15118EVCertificate (EXI through the CPO to the CCP), with
// a same-run baseline: a bare TLS WebSocket echo between the same two processes.
// Flags: --stations=1000 --seconds=5 --rounds=3 --concurrency=8 (requests in flight, spread over the stations),
// --profile=DIR writes the CSMS process's V8 CPU profile there (open in Chrome DevTools).
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { RPCClient } from 'ocpp-rpc';
import WebSocket from 'ws';
import { flag, measureLoad, median, type LoadSample } from './stats.ts';

const stations = flag('stations', 1000);
const seconds = flag('seconds', 5);
const rounds = flag('rounds', 3);
const concurrency = flag('concurrency', 8);

const profileDir = process.argv.find((a) => a.startsWith('--profile='))?.slice('--profile='.length);
const child = spawn(process.execPath, [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), '--import', 'tsx', new URL('./ocpp-csms.ts', import.meta.url).pathname, `--stations=${stations}`], { stdio: ['ignore', 'pipe', 'inherit'] });
process.on('exit', () => child.kill('SIGKILL'));
const setup = JSON.parse(await new Promise<string>((resolve, reject) => {
  createInterface({ input: child.stdout }).once('line', resolve);
  child.once('exit', (code) => reject(new Error(`CSMS process exited with ${code}`)));
}));

console.log(`bench:ocpp — ${stations} stations on one CSMS process; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on this machine`);
const t0 = performance.now();
const clients: RPCClient[] = [];
for (let i = 0; i < stations; i += 100) {
  const batch = Array.from({ length: Math.min(100, stations - i) }, (_, k) => new RPCClient({
    endpoint: setup.url, identity: `BENCH-${i + k}`, password: setup.passwords[i + k], protocols: ['ocpp2.0.1'], strictMode: true,
    reconnect: false, callTimeoutMs: 30_000, pingIntervalMs: 0, wsOpts: { ca: setup.ca },
  } as ConstructorParameters<typeof RPCClient>[0]));
  await Promise.all(batch.map(async (client) => {
    await client.connect();
    await client.call('BootNotification', { reason: 'PowerUp', chargingStation: { model: 'Bench', vendorName: 'OpenPnC' } });
  }));
  clients.push(...batch);
}
console.log(`connected and booted ${clients.length} stations in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const station = (n: number) => clients[(n * 7919) % clients.length];
const echoes = await Promise.all(Array.from({ length: concurrency }, () => new Promise<WebSocket>((resolve, reject) => {
  const socket = new WebSocket(setup.echoUrl, [], { rejectUnauthorized: false });
  socket.once('open', () => resolve(socket));
  socket.once('error', reject);
})));
const echoOnce = (n: number) => new Promise<void>((resolve) => {
  const socket = echoes[n % echoes.length];
  const listener = () => { socket.off('message', listener); resolve(); };
  socket.on('message', listener);
  socket.send(JSON.stringify([2, String(n), 'Heartbeat', {}]));
});

const cases: Array<[string, (n: number) => Promise<unknown>, number]> = [
  ['bare TLS WebSocket echo (baseline)', echoOnce, concurrency],
  ['Authorize with iso15118CertificateHashData', (n) => station(n).call('Authorize', { idToken: setup.idToken, iso15118CertificateHashData: setup.hashData }), concurrency],
  ['Get15118EVCertificate', (n) => station(n).call('Get15118EVCertificate', { iso15118SchemaVersion: 'urn:iso:15118:2:2013:MsgDef', action: 'Install', exiRequest: setup.exiRequest }), concurrency],
];
for (const [name, call, inFlight] of cases) {
  const samples: LoadSample[] = [];
  for (let r = 0; r < rounds; r++) samples.push(await measureLoad(call, inFlight, seconds * 1000));
  const p99 = median(samples.map((s) => s.p99));
  console.log(`${name.padEnd(45)} ${String(inFlight).padStart(3)} in flight  median of ${rounds}: ${median(samples.map((s) => s.perSecond)).toFixed(0).padStart(6)}/s  p50 ${median(samples.map((s) => s.p50)).toFixed(1).padStart(7)} ms  p99 ${p99.toFixed(1).padStart(7)} ms${name.startsWith('bare') ? '' : `  (target p99 ≤ 500 ms: ${p99 <= 500 ? 'met' : 'missed'})`}`);
}
console.log(`load average after: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
for (const socket of echoes) socket.terminate();
await Promise.all(clients.map((client) => client.close({ force: true })));
// Waits for the CSMS process to close down (and write its profile) before the exit hook's SIGKILL.
const exited = new Promise((resolve) => child.once('exit', resolve));
child.kill('SIGTERM');
await exited;
