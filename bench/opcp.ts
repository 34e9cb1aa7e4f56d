// The OPCP gateway's cost: the CCP answering CertificateInstallationReq over REST (POST
// /v1/ccp/signedContractData with a bearer token, keep-alive HTTP on loopback) against the same request
// on the in-process bus, measured in the same rounds so machine noise hits both alike. Embedded
// defaults (memory bus, embedded store), 20 vehicles with one contract each. Medians over the rounds.
// Targets (issue 14): REST keeps ≥ 0.5× the bus throughput, with p99 ≤ 25 ms at 16 in flight.
//
// What is counted: an OPCP client is another party's system on another host, so every HTTP client here
// runs in a forked child process (node:http with a keep-alive agent, what CPO backends' HTTP clients
// use; `--client=fetch` for WHATWG fetch). The server process (gateway, bus, pools) is charged only its
// own CPU: process.cpuUsage over each round, per request. The bus path's caller stays in the server
// process (that is what "in-process bus" means), so its caller's CPU counts. The client process's CPU per
// request is printed beside, not hidden; latency (p50, p99) is measured by the client. Paths, in the
// same interleaved rounds: the bus; REST; the floor, a bare node:http server answering the same request
// with a recorded installation response (server CPU only); and the composite floor, the same bare server
// doing one bus installation before it answers (what the REST server does minus the gateway's own code),
// so REST − composite is the gateway's own cost. The client runs at equal priority and shares the two
// cores with the server, which shows in latency, not in the server's CPU.
//
//   npm run bench:opcp [-- --rounds=3 --ms=2000 --concurrency=16 --client=http|fetch]
import 'reflect-metadata';
import { fork } from 'node:child_process';
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
import { childAsker, cpuSeconds, machineLoad, measureLoad, median, printSummary, type LoadSample } from './stats.ts';

// `--client` is taken (http|fetch), so the child is marked `--client-process`.
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, ms: { type: 'string', default: '2000' }, concurrency: { type: 'string', default: '16' }, client: { type: 'string', default: 'http' }, 'client-process': { type: 'boolean', default: false } } });
const ROUNDS = Number(values.rounds);
const RUN_MS = Number(values.ms);
const CONCURRENCY = Number(values.concurrency);
if (!(ROUNDS > 0 && RUN_MS > 0 && CONCURRENCY > 0)) throw new Error('--rounds, --ms and --concurrency must be positive numbers');
if (values.client !== 'http' && values.client !== 'fetch') throw new Error('--client is http or fetch');
const VEHICLES = 20;

type ToClient = { kind: 'start'; headers: Record<string, string>; requests: string[]; urls: string[] } | { kind: 'run'; url: string } | { kind: 'stop' };
/** One round of one path, as the client saw it: its latency sample, completed calls and its own CPU. */
type Run = { sample: LoadSample; calls: number; clientCpu: number };
type FromClient = { kind: 'ready' } | ({ kind: 'ran' } & Run) | { kind: 'error'; message: string };

const ask = childAsker<ToClient, FromClient>();
if (values['client-process']) await clientSide();
else await serverSide();

// --- the client (child process): the same agent, concurrency, requests and timing as before ---

async function clientSide(): Promise<void> {
  const send = (message: FromClient) => process.send!(message);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let headers: Record<string, string> = {};
  let requests: string[] = [];
  const body = (n: number) => JSON.stringify({ certificateInstallationReq: requests[n % requests.length], xsdMsgDefNamespace: 'urn:iso:15118:2:2013:MsgDef' });
  /** POSTs one installation; resolves with the status once the whole response body has arrived. */
  const post = (to: string, text: string) => new Promise<number>((resolve, reject) => {
    const request = httpRequest(to, { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(text) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => { Buffer.concat(chunks); resolve(response.statusCode ?? 0); });
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(text);
  });
  const call = async (to: string, n: number) => {
    let status: number;
    if (values.client === 'fetch') {
      const response = await fetch(to, { method: 'POST', headers, body: body(n) });
      await response.arrayBuffer();
      status = response.status;
    } else {
      status = await post(to, body(n));
    }
    if (status !== 200) throw new Error(`${to}: ${status}`);
  };
  process.on('message', async (message: ToClient) => {
    try {
      if (message.kind === 'start') {
        ({ headers, requests } = message);
        for (const url of message.urls) await call(url, 0); // warm: connections and first calls, outside the rounds
        send({ kind: 'ready' });
      } else if (message.kind === 'run') {
        let calls = 0;
        const cpu = cpuSeconds();
        const sample = await measureLoad((n) => call(message.url, n).then(() => void (calls += 1)), CONCURRENCY, RUN_MS);
        send({ kind: 'ran', sample, calls, clientCpu: cpuSeconds() - cpu });
      } else {
        agent.destroy();
        process.exit(0);
      }
    } catch (error) {
      send({ kind: 'error', message: String(error) });
    }
  });
}

// --- the server process: gateway, bus and pools (and the bus path's caller) ---

async function serverSide(): Promise<void> {
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
  const headers = { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' };
  const restBody = (n: number) => JSON.stringify({ certificateInstallationReq: requests[n % requests.length], xsdMsgDefNamespace: 'urn:iso:15118:2:2013:MsgDef' });

  const viaBus = async (n: number) => {
    const reply = await requestSubjectReply(env.as(cpo), ccpInterface.requests.installation, { certificateInstallationReq: requests[n % requests.length] });
    if (reply.responseCode !== 'OK') throw new Error(`bus: ${reply.responseCode}`);
  };
  await viaBus(0);

  // The floor: node:http alone, keep-alive, the same bytes each way (a real installation response,
  // recorded once here at set-up); on /composite it first does one bus installation, as the gateway would.
  const recordedResponse = await fetch(url, { method: 'POST', headers, body: restBody(0) });
  const recorded = Buffer.from(await recordedResponse.arrayBuffer());
  if (recordedResponse.status !== 200) throw new Error(`REST: ${recordedResponse.status}`);
  let compositeCalls = 0;
  const bareServer = createServer({ keepAliveTimeout: 65_000 }, (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      Buffer.concat(chunks);
      if (request.url === '/composite') await viaBus(compositeCalls++);
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': recorded.length });
      response.end(recorded);
    });
  });
  await new Promise<void>((resolve) => bareServer.listen(0, '127.0.0.1', resolve));
  const bareUrl = `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}/v1/ccp/signedContractData`;
  const compositeUrl = `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}/composite`;

  const child = fork(new URL(import.meta.url).pathname, ['--client-process', ...process.argv.slice(2)], { execArgv: ['--import', 'tsx'] });
  await ask(child, { kind: 'start', headers, requests, urls: [url, bareUrl, compositeUrl] }, 'ready');

  const loadStart = machineLoad();
  type Path = { samples: LoadSample[]; serverPerCpu: number[]; clientUs: number[] };
  const path = (): Path => ({ samples: [], serverPerCpu: [], clientUs: [] });
  const bus = path();
  const rest = path();
  const bare = path();
  const composite = path();
  // Installations per CPU-second of the server process: what each path costs the server, whatever share
  // of the two cores other processes leave it.
  const onBus = async (into: Path) => {
    let calls = 0;
    const cpu = cpuSeconds();
    into.samples.push(await measureLoad((n) => viaBus(n).then(() => void (calls += 1)), CONCURRENCY, RUN_MS));
    into.serverPerCpu.push(calls / (cpuSeconds() - cpu));
  };
  // The server's CPU over the client's round (its IPC messages to the client included, two per round).
  const fromClient = async (to: string, into: Path) => {
    const cpu = cpuSeconds();
    const { sample, calls, clientCpu } = await ask(child, { kind: 'run', url: to }, 'ran');
    into.serverPerCpu.push(calls / (cpuSeconds() - cpu));
    into.samples.push(sample);
    into.clientUs.push((clientCpu * 1e6) / calls);
  };
  const round = async (into: { bus: Path; rest: Path; bare: Path; composite: Path }) => {
    await onBus(into.bus);
    await fromClient(url, into.rest);
    await fromClient(bareUrl, into.bare);
    await fromClient(compositeUrl, into.composite);
  };
  // One round of every path first, not counted: TurboFan was still compiling the REST path in the first
  // rounds (REST p99 per round without it: 35.4, 22.3, 21.5 ms and 49.4, 34.5, 28.1 ms).
  await round({ bus: path(), rest: path(), bare: path(), composite: path() });
  for (let r = 0; r < ROUNDS; r++) await round({ bus, rest, bare, composite });
  const row = (name: string, p: Path) => {
    const perSecond = median(p.samples.map((s) => s.perSecond));
    const client = p.clientUs.length ? `   client ${median(p.clientUs).toFixed(0)} µs CPU/req` : '';
    console.log(`${name.padEnd(44)} ${perSecond.toFixed(0).padStart(6)} /s   p50 ${median(p.samples.map((s) => s.p50)).toFixed(2)} ms   p99 ${median(p.samples.map((s) => s.p99)).toFixed(2)} ms   server ${median(p.serverPerCpu.map((r) => 1e6 / r)).toFixed(0)} µs CPU/req${client}`);
    return perSecond;
  };
  console.log(`\nCCP CertificateInstallationReq → Res, embedded defaults (concurrency ${CONCURRENCY}, median of ${ROUNDS} rounds of ${RUN_MS} ms, REST client ${values.client} in a child process)`);
  console.log('server = the gateway/bus/pools process (for the bus, its in-process caller too); client = the HTTP client process; latency as the client saw it');
  const busWall = row('in-process bus (baseline)', bus);
  const restWall = row('OPCP REST, POST /v1/ccp/signedContractData', rest);
  row('bare node:http server (floor)', bare);
  row('bare node:http server, one bus installation', composite);
  // µs of server CPU per request, per round (each round's paths ran back to back), then medians.
  const micros = (p: Path) => p.serverPerCpu.map((r) => 1e6 / r);
  const perRound = (values: number[], digits = 0) => values.map((v) => v.toFixed(digits)).join(', ');
  const [busUs, restUs, bareUs, compositeUs] = [bus, rest, bare, composite].map((p) => median(micros(p)));
  const gatewayOwn = micros(rest).map((us, r) => us - micros(composite)[r]);
  const ratios = rest.serverPerCpu.map((r, round) => r / bus.serverPerCpu[round]);
  console.log(`server µs CPU per request: bus ${busUs.toFixed(0)}, REST ${restUs.toFixed(0)}, bare server ${bareUs.toFixed(0)}, bare server + bus ${compositeUs.toFixed(0)} (request ${Buffer.byteLength(restBody(0))} B, response ${recorded.length} B)`);
  console.log(`client µs CPU per request (not the server's cost): REST ${median(rest.clientUs).toFixed(0)}, bare ${median(bare.clientUs).toFixed(0)}, bare + bus ${median(composite.clientUs).toFixed(0)}`);
  console.log(`REST − bus ${(restUs - busUs).toFixed(0)} µs of server CPU; the gateway's own (REST − bare server + bus, median of rounds) ${median(gatewayOwn).toFixed(0)} µs, per round ${perRound(gatewayOwn)}`);
  console.log(`REST / bus per server CPU-second, per round: ${perRound(ratios, 2)}; ceiling if the gateway cost nothing (bus / bare server + bus) ${median(micros(bus).map((us, r) => us / micros(composite)[r])).toFixed(2)}×`);
  console.log(`p99 per round, ms: bus ${perRound(bus.samples.map((s) => s.p99), 1)}; REST ${perRound(rest.samples.map((s) => s.p99), 1)}; bare server + bus ${perRound(composite.samples.map((s) => s.p99), 1)}`);
  console.log(`REST / bus: ${((restWall / busWall) * 100).toFixed(1)} % by wall time (client and server share the cores), ${((median(rest.serverPerCpu) / median(bus.serverPerCpu)) * 100).toFixed(1)} % per server CPU-second   target ≥ 50 %`);
  const loadEnd = machineLoad();
  printSummary({ path: 'OPCP REST installation / in-process bus, per server CPU-second', value: median(rest.serverPerCpu) / median(bus.serverPerCpu), unit: '×', min: Math.min(...ratios), max: Math.max(...ratios), target: 0.5, baseline: `server µs CPU per request: bus ${busUs.toFixed(0)}, REST ${restUs.toFixed(0)}, bare node:http ${bareUs.toFixed(0)}, bare + bus ${compositeUs.toFixed(0)}; REST client process ${median(rest.clientUs).toFixed(0)} µs (not counted); wall: ${busWall.toFixed(0)}/s, ${restWall.toFixed(0)}/s`, loadStart, loadEnd });
  const restP99 = rest.samples.map((r) => r.p99);
  printSummary({ path: `OPCP REST installation p99 at the client, ${CONCURRENCY} in flight`, value: median(restP99), unit: 'ms', min: Math.min(...restP99), max: Math.max(...restP99), target: 25, atMost: true, baseline: `bus p99 ${median(bus.samples.map((b) => b.p99)).toFixed(1)} ms`, loadStart, loadEnd });

  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.send({ kind: 'stop' } satisfies ToClient);
  await exited;
  bareServer.closeAllConnections();
  await new Promise((resolve) => bareServer.close(resolve));
  await gateway.close();
  for (const pool of pools.reverse()) await pool.stop();
  await env.close();
}
