// The OPCP gateway's cost: the CCP answering CertificateInstallationReq over REST (POST
// /v1/ccp/signedContractData with a bearer token, keep-alive HTTP on loopback) against the same request
// on the in-process bus, measured in the same rounds so machine noise hits both alike. Embedded
// defaults (memory bus, embedded store), 20 vehicles with one contract each. Medians over the rounds.
// Targets (issue 14): REST keeps ≥ 0.5× the bus throughput, with p99 ≤ 25 ms at 16 in flight.
//
// The REST client is node:http with a keep-alive agent (what CPO backends' HTTP clients use); it runs in
// this process, so its CPU counts against REST. The floor, measured in the same rounds: a bare node:http
// keep-alive round trip of the same request and response bytes (a server that reads the body and answers
// a recorded installation response), same client, same concurrency. Each path is also printed as µs of
// CPU per request (this process: client, gateway, pools). The sum bus + floor understates what REST
// cannot avoid: each path alone runs 16 of the same operation back to back, while REST alternates a bus
// call and an HTTP round trip in one process. So a fourth path, measured in the same rounds, does
// exactly that without the gateway: a bus installation, then the bare round trip (the composite
// floor); REST − composite is what the gateway itself adds. `--client=fetch` uses WHATWG fetch (undici) instead,
// whose web streams and abort machinery cost about 1 ms of CPU more per request (same run, loaded machine).
//
//   npm run bench:opcp [-- --rounds=3 --ms=2000 --concurrency=16 --client=http|fetch]
import 'reflect-metadata';
import { Agent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { createTestPki } from '../protocols/pki/index.ts';
import { rcpInterface } from '../protocols/catalogue/rcp.ts';
import { pcpInterface } from '../protocols/catalogue/pcp.ts';
import { ccpInterface } from '../protocols/catalogue/ccp.ts';
import type { Caller } from '../protocols/catalogue/caller.ts';
import { requestSubjectReply } from '../actors/bus/typed.ts';
import { startRcp } from '../actors/participants/rcp.ts';
import { startPcp } from '../actors/participants/pcp.ts';
import { startCcp } from '../actors/participants/ccp.ts';
import { startOpcpGateway } from '../actors/opcp/gateway.ts';
import { bytesToBase64 } from '../actors/pools/common.ts';
import { openEmbedded } from '../test/pools/helpers.ts';
import { installationRequest, signContract } from '../test/pools/fixtures.ts';
import { cpuSeconds, machineLoad, measureLoad, median, printSummary, type LoadSample } from './stats.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, ms: { type: 'string', default: '2000' }, concurrency: { type: 'string', default: '16' }, client: { type: 'string', default: 'http' } } });
const ROUNDS = Number(values.rounds);
const RUN_MS = Number(values.ms);
const CONCURRENCY = Number(values.concurrency);
if (!(ROUNDS > 0 && RUN_MS > 0 && CONCURRENCY > 0)) throw new Error('--rounds, --ms and --concurrency must be positive numbers');
if (values.client !== 'http' && values.client !== 'fetch') throw new Error('--client is http or fetch');
const VEHICLES = 20;

const admin: Caller = { role: 'admin', prefixes: [] };
const cpo: Caller = { role: 'cpo', prefixes: [] };
const b64 = (c: { rawData: ArrayBuffer }) => bytesToBase64(c.rawData);

console.log(`setting up ${VEHICLES} vehicles with contracts …`);
const pki = await createTestPki({ vehicles: VEHICLES, contracts: 1 });
const env = await openEmbedded();
const pools = [await startRcp(env.bus, env.store, env.log), await startPcp(env.bus, env.store, env.log), await startCcp(env.bus, env.store, env.log)];
const gateway = await startOpcpGateway({ bus: env.gatewayBus, store: env.store, log: env.log, port: 0 });
for (const [root, rootType] of [[pki.trustAnchors.v2g[0], 'V2G'], [pki.trustAnchors.oem[0], 'OEM'], [pki.trustAnchors.mo[0], 'MO']] as const) {
  await requestSubjectReply(env.as(admin), rcpInterface.requests.put, { caCertificate: b64(root), rootType });
}
const requests: string[] = [];
for (const vehicle of pki.provisioning) {
  const [leaf, sub2, sub1] = vehicle.chain;
  await requestSubjectReply(env.as({ role: 'oem', prefixes: ['OPN'] }), pcpInterface.requests.put, { vehicleCertificate: b64(leaf), subCA2Certificate: b64(sub2), subCA1Certificate: b64(sub1) });
  const signed = await signContract(pki, pki.contracts[0], vehicle);
  await requestSubjectReply(env.as({ role: 'cps', prefixes: [] }), ccpInterface.requests.put, { contractId: `c-${vehicle.identifier}`, pcid: vehicle.identifier!, emaid: pki.contracts[0].identifier!, ...signed });
  requests.push(bytesToBase64(installationRequest(vehicle, { roots: pki.trustAnchors.v2g }).exi));
}
const client = await gateway.oauth.addClient('cpo', []);
const { access_token } = await gateway.oauth.issueToken({ ...client, grant_type: 'client_credentials' });
const url = `${gateway.url}/v1/ccp/signedContractData`;

const viaBus = async (n: number) => {
  const reply = await requestSubjectReply(env.as(cpo), ccpInterface.requests.installation, { certificateInstallationReq: requests[n % requests.length] });
  if (reply.responseCode !== 'OK') throw new Error(`bus: ${reply.responseCode}`);
};
const restHeaders = { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' };
const restBody = (n: number) => JSON.stringify({ certificateInstallationReq: requests[n % requests.length], xsdMsgDefNamespace: 'urn:iso:15118:2:2013:MsgDef' });
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
/** POSTs one installation; resolves with the status and the whole response body. */
const post = (to: string, body: string) => new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
  const request = httpRequest(to, { method: 'POST', agent, headers: { ...restHeaders, 'content-length': Buffer.byteLength(body) } }, (response) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
    response.on('error', reject);
  });
  request.on('error', reject);
  request.end(body);
});
const viaRest = async (n: number) => {
  let status: number;
  if (values.client === 'fetch') {
    const response = await fetch(url, { method: 'POST', headers: restHeaders, body: restBody(n) });
    await response.arrayBuffer();
    status = response.status;
  } else {
    status = (await post(url, restBody(n))).status;
  }
  if (status !== 200) throw new Error(`REST: ${status}`);
};
await viaBus(0);
await viaRest(0);

// The floor: node:http alone, keep-alive, the same bytes each way (a real installation response, recorded).
const recorded = await post(url, restBody(0));
const bareServer = createServer({ keepAliveTimeout: 65_000 }, (request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    Buffer.concat(chunks);
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': recorded.body.length });
    response.end(recorded.body);
  });
});
await new Promise<void>((resolve) => bareServer.listen(0, '127.0.0.1', resolve));
const bareUrl = `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}/v1/ccp/signedContractData`;
const viaBareHttp = async (n: number) => {
  const { status } = await post(bareUrl, restBody(n));
  if (status !== 200) throw new Error(`bare HTTP: ${status}`);
};
await viaBareHttp(0);
// The composite floor: what REST does minus the gateway (a bus installation, then the bare round trip).
const viaBusThenBareHttp = async (n: number) => {
  await viaBus(n);
  await viaBareHttp(n);
};
await viaBusThenBareHttp(0);

const loadStart = machineLoad();
const bus: LoadSample[] = [];
const rest: LoadSample[] = [];
// Installations per CPU-second of this process (client, gateway and pools all run in it): what each path
// costs, whatever share of the two cores other processes leave it.
const busPerCpu: number[] = [];
const restPerCpu: number[] = [];
const bare: LoadSample[] = [];
const barePerCpu: number[] = [];
const composite: LoadSample[] = [];
const compositePerCpu: number[] = [];
const perCpuSecond = async (call: (n: number) => Promise<void>, samples: LoadSample[], rates: number[]) => {
  let calls = 0;
  const cpu = cpuSeconds();
  samples.push(await measureLoad((n) => call(n).then(() => void (calls += 1)), CONCURRENCY, RUN_MS));
  rates.push(calls / (cpuSeconds() - cpu));
};
for (let round = 0; round < ROUNDS; round++) {
  await perCpuSecond(viaBus, bus, busPerCpu);
  await perCpuSecond(viaRest, rest, restPerCpu);
  await perCpuSecond(viaBareHttp, bare, barePerCpu);
  await perCpuSecond(viaBusThenBareHttp, composite, compositePerCpu);
}
const row = (name: string, samples: LoadSample[]) => {
  const perSecond = median(samples.map((s) => s.perSecond));
  console.log(`${name.padEnd(44)} ${perSecond.toFixed(0).padStart(6)} /s   p50 ${median(samples.map((s) => s.p50)).toFixed(2)} ms   p99 ${median(samples.map((s) => s.p99)).toFixed(2)} ms`);
  return perSecond;
};
console.log(`\nCCP CertificateInstallationReq → Res, embedded defaults (concurrency ${CONCURRENCY}, median of ${ROUNDS} rounds of ${RUN_MS} ms, REST client ${values.client})`);
const onBus = row('in-process bus (baseline)', bus);
const overRest = row('OPCP REST, POST /v1/ccp/signedContractData', rest);
row('bare node:http keep-alive round trip (floor)', bare);
row('bus installation, then bare round trip', composite);
console.log(`per CPU-second: bus ${median(busPerCpu).toFixed(0)}, REST ${median(restPerCpu).toFixed(0)}, bare node:http ${median(barePerCpu).toFixed(0)}, bus then bare ${median(compositePerCpu).toFixed(0)}`);
// µs of CPU per request, per round (each round's three paths ran back to back), then medians.
const micros = (rates: number[], round: number) => 1e6 / rates[round];
const gatewayOwn = restPerCpu.map((_, round) => micros(restPerCpu, round) - micros(compositePerCpu, round));
const interleaving = restPerCpu.map((_, round) => micros(compositePerCpu, round) - micros(busPerCpu, round) - micros(barePerCpu, round));
const busUs = median(busPerCpu.map((_, r) => micros(busPerCpu, r)));
const restUs = median(restPerCpu.map((_, r) => micros(restPerCpu, r)));
const bareUs = median(barePerCpu.map((_, r) => micros(barePerCpu, r)));
const compositeUs = median(compositePerCpu.map((_, r) => micros(compositePerCpu, r)));
// Per round, as the composite is the noisiest of the four paths (two kinds of work, half the calls).
const ceilings = busPerCpu.map((_, round) => micros(busPerCpu, round) / micros(compositePerCpu, round));
const perRound = (values: number[], digits = 0) => values.map((v) => v.toFixed(digits)).join(', ');
console.log(`µs CPU per request: bus ${busUs.toFixed(0)}, REST ${restUs.toFixed(0)}, bare node:http round trip ${bareUs.toFixed(0)}, bus then bare ${compositeUs.toFixed(0)} (request ${Buffer.byteLength(restBody(0))} B, response ${recorded.body.length} B)`);
console.log(`REST − bus ${(restUs - busUs).toFixed(0)} µs: the node:http floor ${bareUs.toFixed(0)} µs, alternating bus and HTTP in one process (bus then bare − bus − floor, median of rounds) ${median(interleaving).toFixed(0)} µs, the gateway's own (REST − bus then bare, median of rounds) ${median(gatewayOwn).toFixed(0)} µs`);
console.log(`per round: alternating ${perRound(interleaving)} µs; the gateway's own ${perRound(gatewayOwn)} µs; bus / bus then bare ${perRound(ceilings, 2)}×`);
console.log(`ceiling: bus µs / bus-then-bare µs = ${median(ceilings).toFixed(2)}×, median of rounds (REST per CPU-second / bus if the gateway cost nothing; bus / (bus + floor) alone would say ${(busUs / (busUs + bareUs)).toFixed(2)}×)`);
console.log(`REST / bus: ${((overRest / onBus) * 100).toFixed(1)} % by wall time, ${((median(restPerCpu) / median(busPerCpu)) * 100).toFixed(1)} % per CPU-second   target ≥ 50 %`);
const loadEnd = machineLoad();
// Per round: REST over the bus measured just before it, per CPU-second (the machine is shared).
const ratios = restPerCpu.map((r, round) => r / busPerCpu[round]);
printSummary({ path: 'OPCP REST installation / in-process bus, per CPU-second', value: median(restPerCpu) / median(busPerCpu), unit: '×', min: Math.min(...ratios), max: Math.max(...ratios), target: 0.5, baseline: `bus ${busUs.toFixed(0)}, REST ${restUs.toFixed(0)}, bare node:http round trip ${bareUs.toFixed(0)}, bus then bare ${compositeUs.toFixed(0)} µs CPU per request (ceiling ${median(ceilings).toFixed(2)}×; wall: ${onBus.toFixed(0)}/s, ${overRest.toFixed(0)}/s)`, loadStart, loadEnd });
const restP99 = rest.map((r) => r.p99);
printSummary({ path: `OPCP REST installation p99, ${CONCURRENCY} in flight`, value: median(restP99), unit: 'ms', min: Math.min(...restP99), max: Math.max(...restP99), target: 25, atMost: true, baseline: `bus p99 ${median(bus.map((b) => b.p99)).toFixed(1)} ms`, loadStart, loadEnd });

agent.destroy();
bareServer.closeAllConnections();
await new Promise((resolve) => bareServer.close(resolve));
await gateway.close();
for (const pool of pools.reverse()) await pool.stop();
await env.close();
