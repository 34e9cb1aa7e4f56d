// The pools under load over a real NATS server, each pool in its own process (`openpnc run`):
//  1. CCP CertificateInstallationReq → Res: throughput and p50/p99 latency with one CCP worker, then
//     with two (a NATS queue group), beside a plain NATS request/reply echo (what the transport alone
//     allows) and a ceiling (bench/ccp-ceiling.ts: the same signed requests answered after only the two
//     signature checks every installation needs), all three measured in turn in each run; then once
//     --first-installs (400) new vehicles' first installations, each request a vehicle the worker has not met.
//  2. PCP bulk ingest: provisioning chains stored per second (default 100,000 certificates), one put per
//     certificate and then pcp.chain.putBatch (256 per request), each with new vehicles.
// Targets (issue 14): one CCP worker ≥ 4,000 installations/s at p99 ≤ 10 ms and ≥ 35 % of the echo; ingest ≥ 5,000/s.
// Beside each figure: µs of CPU per operation of the process doing the work (survives the machine's load),
// and the crypto floor measured in this run: what one core could do on the signature checks alone that
// every request needs (the bus identity's Ed25519 verify and the request's or certificate's P-256 verify).
//
//   npm run bench:pools [-- --runs=3 --ms=3000 --concurrency=8 --vehicles=20 --certificates=100000 --ingest-concurrency=64 --ingest-batch=256 --ingest-batch-concurrency=4]
// OPENPNC_BENCH_PROFILE=DIR writes CPU profiles of the (first) CCP worker and of the PCP into DIR (node --cpu-prof).
import 'reflect-metadata';
import { fork } from 'node:child_process';
import { KeyObject, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectNatsBus } from '../actors/bus/nats.ts';
import { Credential, IdentifiedBus, Roster, identityHeaders } from '../actors/bus/identity.ts';
import { EncodedPayload } from '../actors/bus/wire.ts';
import type { Bus } from '../actors/bus/bus.ts';
import { requestSubjectReply } from '../actors/bus/typed.ts';
import { createLogger } from '../actors/host/log.ts';
import { openEmbeddedStore } from '../actors/store/index.ts';
import { v2gRootParticipant } from '../actors/participants/v2g-root.ts';
import { oemParticipant } from '../actors/participants/oem.ts';
import { moParticipant } from '../actors/participants/mo.ts';
import { cpsParticipant } from '../actors/participants/cps.ts';
import { cpoParticipant } from '../actors/participants/cpo.ts';
import { derOf, loadOrMakeAuthorities, type HeldAuthority } from '../actors/participants/authority.ts';
import { playStory } from '../actors/story/index.ts';
import { buildInstallationRequest, produceVehicle } from '../actors/story/vehicle.ts';
import { ccpInterface } from '../protocols/catalogue/ccp.ts';
import { moInterface } from '../protocols/catalogue/mo.ts';
import { oemInterface } from '../protocols/catalogue/oem.ts';
import { PUT_BATCH_MAX_CERTIFICATES, pcpInterface } from '../protocols/catalogue/pcp.ts';
import { generateKeyPair, issueCertificate } from '../protocols/pki/index.ts';
import { startSecuredNats } from '../test/harness/creds.ts';
import { participantsReady, startParticipantProcess, type ParticipantProcess } from '../test/e2e/processes.ts';
import { childAsker, cpuSeconds, flag, machineLoad, measureLoad, median, printSummary } from './stats.ts';
import type { CeilingSetup, FromCeiling } from './ccp-ceiling.ts';

const RUNS = flag('runs', 3);
const RUN_MS = flag('ms', 3000);
// In flight at once. Little's law: 1,000/s at p99 ≤ 20 ms leaves room for about 8–16 requests in flight.
const CONCURRENCY = flag('concurrency', 8);
// A bulk uploader pipelines its one-chain-per-request puts; the PCP's store commits what arrives
// together as one transaction and fsync, so more in flight means fewer fsyncs per certificate.
const INGEST_CONCURRENCY = flag('ingest-concurrency', 64);
// The bulk path: certificates per pcp.chain.putBatch (at most PUT_BATCH_MAX_CERTIFICATES), and requests in flight.
const INGEST_BATCH = flag('ingest-batch', PUT_BATCH_MAX_CERTIFICATES);
const INGEST_BATCH_CONCURRENCY = flag('ingest-batch-concurrency', 4);
const VEHICLES = flag('vehicles', 20);
// Vehicles installed once each: the CCP meets each one's chain, key and contract for the first time.
const FIRST_INSTALLS = flag('first-installs', 400);
const CERTIFICATES = flag('certificates', 100_000);
/** Rounds of the crypto floor measurement, each timing every operation FLOOR_CALLS times, interleaved. */
const FLOOR_ROUNDS = 5;
const FLOOR_CALLS = 400;

const askCeiling = childAsker<CeilingSetup, FromCeiling>();

interface LoadResult { perSecond: number; p50: number; p99: number; failures: number }

/** Keeps CONCURRENCY requests in flight for RUN_MS (or until `count` calls were made); a call that fails or answers false counts as a failure. */
async function load(call: (i: number) => Promise<boolean>, count?: number): Promise<LoadResult> {
  let failures = 0;
  const sample = await measureLoad((i) => call(i).catch(() => false).then((ok) => void (ok || failures++)), CONCURRENCY, RUN_MS, count);
  return { ...sample, failures };
}

const loadStart = machineLoad();

/**
 * CPU seconds a child process has used (utime + stime from /proc, Linux clock ticks of 10 ms): on a
 * shared machine, installations per CPU-second of the CCP worker say what its code costs.
 */
function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
/** CPU seconds the whole machine has spent busy (every core, every process, the kernel), from /proc/stat. */
function machineCpuSeconds(): number {
  const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + steal) / 100;
}
const spread = (values: number[]) => ({ min: Math.min(...values), max: Math.max(...values) });

function report(label: string, results: LoadResult[], baseline?: number): number {
  const rate = median(results.map((r) => r.perSecond));
  const ratio = baseline ? `  (${((rate / baseline) * 100).toFixed(1)} % of the echo baseline)` : '';
  const failures = results.reduce((sum, r) => sum + r.failures, 0);
  console.log(`${label.padEnd(44)} ${rate.toFixed(0).padStart(7)} /s   p50 ${median(results.map((r) => r.p50)).toFixed(2)} ms   p99 ${median(results.map((r) => r.p99)).toFixed(2)} ms${ratio}${failures ? `   FAILURES ${failures}` : ''}`);
  return rate;
}

// The machine is shared: its load says how far the figures can be trusted.
const load1 = () => loadavg()[0].toFixed(1);
console.log(`machine load (1 min) at start: ${load1()}`);
// The bench's own echo user may use `bench.>` only; everything else holds the catalogue's credentials.
const nats = await startSecuredNats({ extraUsers: { bench: { publish: ['bench.>'], subscribe: ['bench.>', '_INBOX.>'] } } });
const dataRoot = mkdtempSync(join(tmpdir(), 'openpnc-bench-pools-'));
const quiet = createLogger({ write: () => {} });
const processes: ParticipantProcess[] = [];
const buses: Bus[] = [];
const connect = async (name: string) => {
  const bus = await connectNatsBus({ servers: nats.url, name, seed: nats.extraSeeds.bench });
  buses.push(bus);
  return bus;
};

try {
  // The pools run in their own processes; both CCP workers share one data directory (one pool).
  const creds = ['--creds', nats.credsDir];
  const profileDir = process.env.OPENPNC_BENCH_PROFILE;
  const profiled = (name: string) => (profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, name)}`] : []);
  processes.push(startParticipantProcess('rcp', nats.url, dataRoot, creds));
  const pcpProcess = startParticipantProcess('pcp', nats.url, dataRoot, creds, profiled('pcp'));
  processes.push(pcpProcess);
  const ccpWorkers = [startParticipantProcess('ccp', nats.url, join(dataRoot, 'ccp-pool'), creds, profiled('ccp'))];
  processes.push(...ccpWorkers);
  // The partners, which only prepare the data (and play the story once), run here on their own NATS connection.
  const partnerStore = await openEmbeddedStore(join(dataRoot, 'partners'));
  for (const participant of [v2gRootParticipant, oemParticipant, moParticipant, cpsParticipant, cpoParticipant]) {
    await participant.start({ bus: await nats.connect(participant.name), store: partnerStore, log: quiet, dataDir: dataRoot, config: {} });
  }
  const bus = await nats.connect('admin');
  // The load comes from the CPO backend's credential, signing each request as the CPO.
  const cpoBus = await nats.connect('cpo');
  await participantsReady(bus);
  await playStory(() => bus, bus);

  /** A new vehicle whose contract the CCP holds: its installation requests, `sessions` of them (each a fresh SessionID). */
  const contractedVehicle = async (sessions: number): Promise<string[]> => {
    const vehicle = await produceVehicle(bus);
    const contract = await requestSubjectReply(bus, moInterface.requests.conclude, { pcid: vehicle.pcid });
    for (let tries = 0; (await requestSubjectReply(bus, moInterface.requests.get, { emaid: contract.emaid })).status !== 'installed'; tries++) {
      if (tries > 500) throw new Error(`contract ${contract.emaid} not installed`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return Promise.all(Array.from({ length: sessions }, async () => Buffer.from(await buildInstallationRequest(vehicle)).toString('base64')));
  };
  console.log(`setting up ${VEHICLES} vehicles with contracts, and ${FIRST_INSTALLS} more for first installations …`);
  const requests: string[] = [];
  for (let i = 0; i < VEHICLES; i++) requests.push(...(await contractedVehicle(5)));
  const firstRequests: string[] = [];
  while (firstRequests.length < FIRST_INSTALLS) {
    const batch = Math.min(16, FIRST_INSTALLS - firstRequests.length);
    for (const vehicleRequests of await Promise.all(Array.from({ length: batch }, () => contractedVehicle(1)))) firstRequests.push(...vehicleRequests);
  }

  // The load generator skips client-side schema checks (the CCP validates what it receives) so
  // that its own CPU, on the same two cores, stays small; every reply's code is still checked.
  const installRequest = async (certificateInstallationReq: string) => {
    const reply = await cpoBus.request<{ responseCode?: string }>(ccpInterface.requests.installation.subject, { certificateInstallationReq, xsdMsgDefNamespace: 'urn:iso:15118:2:2013:MsgDef' });
    return reply.responseCode === 'OK';
  };
  const install = (i: number) => installRequest(requests[i % requests.length]);
  // Baseline: NATS request/reply of a payload the size of an installation request, answered at once.
  const echoBus = await connect('bench-echo');
  await echoBus.serve('bench.echo', (payload) => payload, { queue: 'bench' });
  const echoPayload = { certificateInstallationReq: requests[0] };
  const echoClient = await connect('bench-echo-client');
  const echo = async () => (await echoClient.request<typeof echoPayload>('bench.echo', echoPayload)).certificateInstallationReq === requests[0];

  // Ceiling: the same requests, signed as the CPO's are, answered in its own process by a responder that
  // does only the two signature checks every installation needs and gives back a reply the CCP gave.
  const ceilingProcess = fork(new URL('./ccp-ceiling.ts', import.meta.url).pathname, [], { execArgv: ['--import', 'tsx'] });
  const sampleReply = await cpoBus.request(ccpInterface.requests.installation.subject, { certificateInstallationReq: requests[0], xsdMsgDefNamespace: 'urn:iso:15118:2:2013:MsgDef' });
  await askCeiling(ceilingProcess, { kind: 'start', natsUrl: nats.url, seed: nats.extraSeeds.bench, reply: sampleReply }, 'ready');
  const ceilingClient = new IdentifiedBus(await connect('bench-ceiling-client'), new Credential(nats.extraSeeds.bench), new Roster());
  const ceiling = async (i: number) => (await ceilingClient.request<{ responseCode?: string }>('bench.ceiling', { certificateInstallationReq: requests[i % requests.length], xsdMsgDefNamespace: 'urn:iso:15118:2:2013:MsgDef' })).responseCode === 'OK';

  await load(install); // warm-up: caches, JIT, connections
  await load(ceiling);
  const floor = cryptoFloor(Buffer.from(JSON.stringify({ certificateInstallationReq: requests[0], xsdMsgDefNamespace: 'urn:iso:15118:2:2013:MsgDef' })));
  console.log(`\ncrypto floor, µs of CPU per call in this process (median of ${FLOOR_ROUNDS} rounds): bus identity Ed25519 sign ${floor.identitySign.toFixed(1)}, verify ${floor.identityVerify.toFixed(1)} (with the payload's SHA-256); P-256 ECDSA verify ${floor.p256Verify.toFixed(1)}`);
  const perRequestFloor = floor.identityVerify + floor.p256Verify;
  console.log(`  a CCP installation or a PCP put needs one of each verify: ${perRequestFloor.toFixed(0)} µs, at most ${(1e6 / perRequestFloor).toFixed(0)}/s on one core on crypto alone`);
  console.log(`\nCCP CertificateInstallationReq → Res over NATS (concurrency ${CONCURRENCY}, median of ${RUNS} runs of ${RUN_MS} ms; each run measures echo, ceiling and CCP in turn)`);
  // Each run measures the three side by side, so a burst of load lands on all of them alike.
  const echoResults: LoadResult[] = [];
  const ceilingResults: LoadResult[] = [];
  const oneResults: LoadResult[] = [];
  // CPU per request: of the responder (CCP worker or ceiling), of this process (the load generator), and of
  // the whole machine (those two, the NATS server and the kernel), summed over the runs.
  const cpu = { ceiling: { calls: 0, responder: 0, generator: 0, machine: 0 }, ccp: { calls: 0, responder: 0, generator: 0, machine: 0 }, first: { calls: 0, responder: 0, generator: 0, machine: 0 } };
  type Measured = keyof typeof cpu;
  const measured = async (which: Measured, pid: () => number | undefined, call: (i: number) => Promise<boolean>, count?: number) => {
    const before = { responder: processCpuSeconds(pid()), generator: cpuSeconds(), machine: machineCpuSeconds() };
    const result = await load((i) => call(i).then((ok) => ((cpu[which].calls += 1), ok)), count);
    cpu[which].responder += processCpuSeconds(pid()) - before.responder;
    cpu[which].generator += cpuSeconds() - before.generator;
    cpu[which].machine += machineCpuSeconds() - before.machine;
    return result;
  };
  for (let run = 0; run < RUNS; run++) {
    echoResults.push(await load(echo));
    ceilingResults.push(await measured('ceiling', () => ceilingProcess.pid, ceiling));
    oneResults.push(await measured('ccp', () => ccpWorkers[0].pid(), install));
  }
  ceilingProcess.kill();
  const baseline = report('NATS request/reply echo (baseline)', echoResults);
  const ceilingRate = report('ceiling: identity + P-256 verify, CCP reply', ceilingResults, baseline);
  const one = report('CCP, 1 worker', oneResults, baseline);
  const perCall = (which: Measured) => {
    const { calls, responder, generator, machine } = cpu[which];
    const us = (seconds: number) => (seconds * 1e6) / calls;
    return { responder: us(responder), generator: us(generator), machine: us(machine), rest: us(machine - responder - generator) };
  };
  const ceilingCpu = perCall('ceiling');
  const ccpCpu = perCall('ccp');
  const installationCpuUs = ccpCpu.responder;
  const ceilingCpuUs = ceilingCpu.responder;
  for (const [label, c] of [['ceiling', ceilingCpu], ['CCP', ccpCpu]] as const) {
    console.log(`${label}: ${c.machine.toFixed(0)} µs of machine CPU per request (2 cores: at most ${(2e6 / c.machine).toFixed(0)}/s): responder ${c.responder.toFixed(0)}, load generator ${c.generator.toFixed(0)}, NATS server, kernel and the rest ${c.rest.toFixed(0)}`);
  }
  console.log(`the CCP reaches ${((one / ceilingRate) * 100).toFixed(0)} % of the ceiling's rate`);
  console.log(`CCP, 1 worker: ${installationCpuUs.toFixed(0)} µs of worker CPU per installation (${(1e6 / installationCpuUs).toFixed(0)} per CPU-second); `
    + `crypto floor ${perRequestFloor.toFixed(0)} µs of it (${((perRequestFloor / installationCpuUs) * 100).toFixed(0)} %)`);
  // The rows above repeat 20 vehicles, so the worker's per-vehicle caches are warm: the chain read from
  // the PCP, the provisioning key's import and its leaf's verification, the contract's response template.
  // In service most installations are a vehicle's first; here each request is one, once.
  const first = await measured('first', () => ccpWorkers[0].pid(), (i) => installRequest(firstRequests[i]), firstRequests.length);
  const firstCpuUs = perCall('first').responder;
  report(`CCP, 1 worker, ${firstRequests.length} first installations`, [first], baseline);
  console.log(`  ${firstCpuUs.toFixed(0)} µs of worker CPU per first installation (repeat installations above: ${installationCpuUs.toFixed(0)} µs)${first.failures ? `; FAILURES ${first.failures}` : ''}`);
  ccpWorkers.push(startParticipantProcess('ccp', nats.url, join(dataRoot, 'ccp-pool'), creds));
  processes.push(ccpWorkers[1]);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  await load(install);
  const two = report('CCP, 2 workers (queue group)', await sequence(install), baseline);
  console.log(`two workers / one worker: ${(two / one).toFixed(2)}×   target: 1 worker ≥ 4000/s at p99 ≤ 10 ms`);
  const loadAfterCcp = machineLoad();
  const echoText = `NATS echo ${baseline.toFixed(0)}/s; ceiling (the two verifies and the reply, nothing else) ${ceilingRate.toFixed(0)}/s at p99 ${median(ceilingResults.map((r) => r.p99)).toFixed(1)} ms, ${ceilingCpuUs.toFixed(0)} µs responder CPU; ${installationCpuUs.toFixed(0)} µs worker CPU per installation, of which crypto floor ${perRequestFloor.toFixed(0)} µs (one core on crypto alone: ${(1e6 / perRequestFloor).toFixed(0)}/s)`;
  printSummary({ path: 'CCP installation over NATS, 1 worker', value: one, unit: '/s', ...spread(oneResults.map((r) => r.perSecond)), target: 4000, baseline: echoText, loadStart, loadEnd: loadAfterCcp });
  printSummary({ path: 'CCP installation over NATS, 1 worker, p99', value: median(oneResults.map((r) => r.p99)), unit: 'ms', ...spread(oneResults.map((r) => r.p99)), target: 10, atMost: true, baseline: echoText, loadStart, loadEnd: loadAfterCcp });
  printSummary({ path: 'CCP installation over NATS, 1 worker / echo', value: one / baseline, unit: '×', ...spread(oneResults.map((r, i) => r.perSecond / echoResults[i].perSecond)), target: 0.35, baseline: echoText, loadStart, loadEnd: loadAfterCcp });
  printSummary({ path: `CCP installation over NATS, 1 worker, each a vehicle's first (${firstRequests.length}, no target)`, value: first.perSecond, unit: '/s', min: first.perSecond, max: first.perSecond, baseline: `p50 ${first.p50.toFixed(1)} ms, p99 ${first.p99.toFixed(1)} ms; ${firstCpuUs.toFixed(0)} µs worker CPU per first installation, ${installationCpuUs.toFixed(0)} µs per repeat one`, loadStart, loadEnd: loadAfterCcp });
  printSummary({ path: 'CCP installation over NATS, 1 worker / its ceiling (no target)', value: one / ceilingRate, unit: '×', ...spread(oneResults.map((r, i) => r.perSecond / ceilingResults[i].perSecond)), baseline: echoText, loadStart, loadEnd: loadAfterCcp });

  // PCP bulk ingest: provisioning chains under one OEM Sub-CA 2 (the OEM participant's own CA), uploaded
  // twice, each time as new vehicles: one `pcp.chain.put` per certificate, then `pcp.chain.putBatch`
  // with INGEST_BATCH certificates per request.
  const { sub1, sub2 } = await loadOrMakeAuthorities({ store: partnerStore }, 'oem', async () => { throw new Error('the OEM made its CAs at start'); });
  const generationStart = performance.now();
  const leaves = await mintProvisioningCertificates(sub2, 2 * CERTIFICATES);
  console.log(`\n(${2 * CERTIFICATES} provisioning certificates minted in ${((performance.now() - generationStart) / 1000).toFixed(1)} s, not counted)`);
  const oemBus = await nats.connect('oem');
  const [sub1Der, sub2Der] = [derOf(sub1.certificate), derOf(sub2.certificate)];
  /** Uploads `certificates`, `perRequest` per request, `inFlight` requests at once: the rate, failures, and CPU per certificate of the PCP, the CCP and this process. */
  const ingest = async (certificates: string[], inFlight: number, perRequest: number, upload: (chunk: string[]) => Promise<number>) => {
    let cursor = 0;
    let failed = 0;
    const before = { pcp: processCpuSeconds(pcpProcess.pid()), ccp: processCpuSeconds(ccpWorkers[0].pid()), bench: cpuSeconds() };
    const start = performance.now();
    await Promise.all(Array.from({ length: inFlight }, async () => {
      while (cursor < certificates.length) {
        const chunk = certificates.slice(cursor, (cursor = Math.min(certificates.length, cursor + perRequest)));
        failed += await upload(chunk).catch(() => chunk.length);
      }
    }));
    const seconds = (performance.now() - start) / 1000;
    const perCertificateUs = (b: number, a: number) => ((a - b) * 1e6) / certificates.length;
    return {
      seconds, failed, rate: failed ? 0 : certificates.length / seconds,
      pcp: perCertificateUs(before.pcp, processCpuSeconds(pcpProcess.pid())),
      ccp: perCertificateUs(before.ccp, processCpuSeconds(ccpWorkers[0].pid())),
      bench: perCertificateUs(before.bench, cpuSeconds()),
    };
  };
  const putOne = async ([leaf]: string[]) => {
    await oemBus.request(pcpInterface.requests.put.subject, { vehicleCertificate: leaf, subCA2Certificate: sub2Der, subCA1Certificate: sub1Der }, { timeoutMs: 30_000 });
    return 0;
  };
  // Every certificate's own answer is checked: a refused one counts as failed.
  const putBatch = async (chunk: string[]) => {
    const { results } = await oemBus.request<{ results: Array<{ error?: unknown }> }>(pcpInterface.requests.putBatch.subject, { vehicleCertificates: chunk, subCA2Certificate: sub2Der, subCA1Certificate: sub1Der }, { timeoutMs: 30_000 });
    return chunk.length - results.filter((r) => !r.error).length;
  };
  const batchFloor = floor.p256Verify + floor.identityVerify / INGEST_BATCH;
  const ingestRows = [
    { path: `PCP ingest, one put per certificate, ${INGEST_CONCURRENCY} in flight`, result: await ingest(leaves.slice(0, CERTIFICATES), INGEST_CONCURRENCY, 1, putOne), floorUs: perRequestFloor, floorText: 'one identity and one P-256 verify' },
    { path: `PCP bulk ingest, putBatch of ${INGEST_BATCH}, ${INGEST_BATCH_CONCURRENCY} in flight`, result: await ingest(leaves.slice(CERTIFICATES), INGEST_BATCH_CONCURRENCY, INGEST_BATCH, putBatch), floorUs: batchFloor, floorText: `one P-256 verify and 1/${INGEST_BATCH} identity verify` },
  ];
  console.log(`\nPCP ingest of ${CERTIFICATES} new provisioning certificates per way (one run each)`);
  for (const { path, result, floorUs, floorText } of ingestRows) {
    console.log(`${path.padEnd(52)} ${result.rate.toFixed(0).padStart(7)} certificates/s   (${result.seconds.toFixed(1)} s${result.failed ? `, FAILURES ${result.failed}` : ''})   target ≥ 5000/s`);
    console.log(`  ${result.pcp.toFixed(0)} µs of PCP CPU per certificate (all its threads), crypto floor ${floorUs.toFixed(0)} µs of it (${floorText}, ${((floorUs / result.pcp) * 100).toFixed(0)} %); `
      + `also ${result.ccp.toFixed(0)} µs at the CCP (stored events) and ${result.bench.toFixed(0)} µs in this process (the uploader); the nats-server shares the two cores too`);
  }
  const loadAfterIngest = machineLoad();
  for (const { path, result, floorUs, floorText } of ingestRows) {
    // One run each: no spread to show but the run itself.
    const text = `${CERTIFICATES} certificates, ${result.failed} failed; ${result.pcp.toFixed(0)} µs PCP CPU per certificate, of which crypto floor ${floorUs.toFixed(0)} µs (${floorText}; one core on it alone: ${(1e6 / floorUs).toFixed(0)}/s); uploader ${result.bench.toFixed(0)} µs, CCP ${result.ccp.toFixed(0)} µs per certificate`;
    printSummary({ path, value: result.rate, unit: 'certificates/s', min: result.rate, max: result.rate, target: 5000, baseline: text, loadStart, loadEnd: loadAfterIngest });
  }
  console.log(`machine load (1 min) at the end: ${load1()}`);
} finally {
  for (const bus of buses) await bus.close().catch(() => {});
  await Promise.all(processes.map((p) => p.stop()));
  await nats.stop();
}

/** DER length octets. */
function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.of(length);
  if (length < 0x100) return Buffer.of(0x81, length);
  return Buffer.of(0x82, length >> 8, length & 0xff);
}

/** Offset and length of the TLV starting at `at`. */
function tlv(der: Buffer, at: number): { header: number; length: number } {
  const first = der[at + 1];
  if (first < 0x80) return { header: 2, length: first };
  const octets = first & 0x7f;
  let length = 0;
  for (let i = 0; i < octets; i++) length = (length << 8) | der[at + 2 + i];
  return { header: 2 + octets, length };
}

/**
 * `count` distinct provisioning certificates (PCIDs OPN00000000000000…) under OEM Sub-CA 2, fast
 * enough for 100,000: one certificate is issued in the provisioning profile, then each copy gets
 * its own PCID and serial (same lengths, so the TBS keeps its layout) and a fresh ECDSA signature
 * by the sub-CA. The PCP checks every one of them like any other upload.
 */
async function mintProvisioningCertificates(issuer: HeldAuthority, count: number): Promise<string[]> {
  const templatePcid = 'OPN' + 'Z'.repeat(14);
  const template = Buffer.from((await issueCertificate({ role: 'provisioning', subject: { commonName: templatePcid, organization: 'Bench OEM' }, issuer, publicKey: (await generateKeyPair()).publicKey })).certificate.rawData);
  const outer = tlv(template, 0);
  const tbsStart = outer.header;
  const tbsTlv = tlv(template, tbsStart);
  const tbs = template.subarray(tbsStart, tbsStart + tbsTlv.header + tbsTlv.length);
  const algStart = tbsStart + tbs.length;
  const algorithm = template.subarray(algStart, algStart + tlv(template, algStart).header + tlv(template, algStart).length);
  // tbs: SEQUENCE { [0] version, INTEGER serial (16 bytes), … }
  const versionAt = tbsTlv.header;
  const serialAt = versionAt + tlv(tbs, versionAt).header + tlv(tbs, versionAt).length;
  const serialValueAt = serialAt + tlv(tbs, serialAt).header;
  const pcidAt = tbs.indexOf(Buffer.from(templatePcid, 'ascii'));
  const key = KeyObject.from(issuer.privateKey);
  const leaves: string[] = [];
  for (let i = 0; i < count; i++) {
    const copy = Buffer.from(tbs);
    copy.write(`OPN${String(i).padStart(14, '0')}`, pcidAt, 'ascii');
    const serial = randomBytes(16);
    serial[0] = 0x40 | (serial[0] & 0x3f);
    serial.copy(copy, serialValueAt);
    const signature = sign('sha256', copy, key);
    const bitString = Buffer.concat([Buffer.of(0x03), derLength(signature.length + 1), Buffer.of(0), signature]);
    const body = Buffer.concat([copy, algorithm, bitString]);
    leaves.push(Buffer.concat([Buffer.of(0x30), derLength(body.length), body]).toString('base64'));
  }
  return leaves;
}

/**
 * µs of CPU per call, in this process now, of the signature work every pool request needs: the bus
 * identity as the code does it (actors/bus/identity.ts: Ed25519 over subject, time and the payload's
 * SHA-256), on `payload` (an installation request's JSON text), and a P-256 ECDSA verify (the
 * request's XML signature, a provisioning certificate's signature).
 */
function cryptoFloor(payload: Buffer): { identitySign: number; identityVerify: number; p256Verify: number } {
  const credential = Credential.create();
  const roster = new Roster({ version: 1, identities: { [credential.publicKey]: { name: 'cpo', caller: { role: 'cpo', prefixes: [] }, delegate: false } } });
  const subject = ccpInterface.requests.installation.subject;
  const encoded = new EncodedPayload(payload.toString());
  const headers = identityHeaders(credential, subject, encoded);
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signedInfo = randomBytes(200);
  const p256Signature = sign('sha256', signedInfo, { key: p256.privateKey, dsaEncoding: 'ieee-p1363' });
  const timed = (call: () => unknown) => {
    const start = cpuSeconds();
    for (let i = 0; i < FLOOR_CALLS; i++) call();
    return ((cpuSeconds() - start) * 1e6) / FLOOR_CALLS;
  };
  const rounds: Array<{ identitySign: number; identityVerify: number; p256Verify: number }> = [];
  for (let round = 0; round < FLOOR_ROUNDS; round++) {
    rounds.push({
      identitySign: timed(() => identityHeaders(credential, subject, encoded)),
      identityVerify: timed(() => roster.callerOf(subject, undefined, headers, payload)),
      p256Verify: timed(() => verify('sha256', signedInfo, { key: p256.publicKey, dsaEncoding: 'ieee-p1363' }, p256Signature)),
    });
  }
  return {
    identitySign: median(rounds.map((r) => r.identitySign)),
    identityVerify: median(rounds.map((r) => r.identityVerify)),
    p256Verify: median(rounds.map((r) => r.p256Verify)),
  };
}

async function sequence(call: (i: number) => Promise<boolean>): Promise<LoadResult[]> {
  const results: LoadResult[] = [];
  for (let run = 0; run < RUNS; run++) results.push(await load(call));
  return results;
}
