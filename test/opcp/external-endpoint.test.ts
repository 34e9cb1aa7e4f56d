// Issue 5: our own partners pointed at an external OPCP endpoint instead of the pools' bus subjects.
// The pools and the OPCP gateway run on the embedded defaults; the gateway is the "external
// endpoint", reached over real HTTP with OAuth client credentials. The OEM, MO, CPS and CPO backend
// get `opcp.url`; the whole story (roots, vehicle, contract, signing, installation) then runs and the
// vehicle verifies the installation answer. The gateway's request log shows the REST calls, and with
// the gateway closed the CPO fails although the CCP still answers on the bus.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import 'reflect-metadata';
import { createLogger } from '../../actors/host/log.ts';
import type { RunningParticipant } from '../../actors/host/participant.ts';
import { requestSubjectReply } from '../../actors/bus/typed.ts';
import { startOpcpGateway, type OpcpGateway } from '../../actors/opcp/gateway.ts';
import { poolAccessOf, opcpClientOf, type PoolAccess } from '../../actors/participants/pool-access.ts';
import { v2gRootParticipant } from '../../actors/participants/v2g-root.ts';
import { rcpParticipant } from '../../actors/participants/rcp.ts';
import { pcpParticipant } from '../../actors/participants/pcp.ts';
import { ccpParticipant } from '../../actors/participants/ccp.ts';
import { oemParticipant } from '../../actors/participants/oem.ts';
import { cpsParticipant } from '../../actors/participants/cps.ts';
import { moParticipant } from '../../actors/participants/mo.ts';
import { cpoParticipant } from '../../actors/participants/cpo.ts';
import { playStory, type PlayedStory } from '../../actors/story/index.ts';
import { buildInstallationRequest, produceVehicle } from '../../actors/story/vehicle.ts';
import { cpoInterface } from '../../protocols/catalogue/cpo.ts';
import { moInterface } from '../../protocols/catalogue/mo.ts';
import { oemInterface } from '../../protocols/catalogue/oem.ts';
import { PncError } from '../../protocols/errors.ts';
import { openEmbedded, type Embedded } from '../pools/helpers.ts';

interface GatewayRequest { method: string; path: string; status: number }

let env: Embedded;
let gateway: OpcpGateway;
let story: PlayedStory;
const running: RunningParticipant[] = [];
const seen: GatewayRequest[] = [];
const opcpConfig: Record<string, Record<string, string>> = {};
const MO = { role: 'mo' as const, prefixes: ['DEOPN'] };
const CPO = { role: 'cpo' as const, prefixes: [] };
const OPERATOR = { role: 'admin' as const, prefixes: [] };

async function failure(promise: Promise<unknown>): Promise<PncError> {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, PncError);
    return error as PncError;
  }
  throw new assert.Assertion({ message: 'expected a PncError', operator: 'rejects', expects: 'PncError', actual: 'resolved' });
}

test.before(async () => {
  env = await openEmbedded();
  const quiet = createLogger({ write: () => {} });
  const start = async (definition: typeof v2gRootParticipant, config: Record<string, string> = {}) => {
    running.push(await definition.start({ bus: env.participant(definition.name), store: env.store, log: quiet.child({ participant: definition.name }), dataDir: env.dir, config }));
  };
  await start(v2gRootParticipant);
  for (const pool of [rcpParticipant, pcpParticipant, ccpParticipant]) await start(pool);
  const gatewayLog = createLogger({
    write: (line) => {
      const entry = JSON.parse(line);
      if (entry.event === 'opcp.request') seen.push({ method: entry.method, path: entry.path, status: entry.status });
    },
  });
  gateway = await startOpcpGateway({ bus: env.gatewayBus, store: env.store, log: gatewayLog, port: 0 });
  for (const [name, role, prefixes] of [['oem', 'oem', ['OPN']], ['mo', 'mo', ['DEOPN']], ['cps', 'cps', []], ['cpo', 'cpo', []]] as const) {
    const { client_id, client_secret } = await gateway.oauth.addClient(role, prefixes);
    opcpConfig[name] = { 'opcp.url': gateway.url, 'opcp.clientId': client_id, 'opcp.clientSecret': client_secret };
  }
  await start(oemParticipant, opcpConfig.oem);
  await start(moParticipant, opcpConfig.mo);
  await start(cpsParticipant, opcpConfig.cps);
  await start(cpoParticipant, opcpConfig.cpo);
  story = await playStory(() => env.as(OPERATOR), env.as(OPERATOR)).catch((error) => { console.error(error, JSON.stringify(seen)); throw error; });
});

test.after(async () => {
  await gateway.close().catch(() => {});
  for (const participant of running.reverse()) await participant.stop();
  await env.close();
});

test('the OEM uploads, the MO reads the provisioning chain, the CPS stores, the CPO installs, all read roots over OPCP REST; the vehicle verifies the answer', () => {
  const { vehicle, contract, check } = story;
  assert.is(check.emaid, contract.emaid);
  assert.is(contract.status, 'installed');
  assert.ok(seen.some((r) => r.method === 'PUT' && r.path === '/v1/oem/provCerts' && r.status < 300), JSON.stringify(seen));
  assert.ok(seen.some((r) => r.method === 'GET' && r.path === '/v1/root/rootCerts' && r.status === 200), JSON.stringify(seen));
  assert.ok(seen.some((r) => r.method === 'GET' && r.path === `/v1/oem/provCerts/${vehicle.pcid}` && r.status === 200), JSON.stringify(seen));
  assert.ok(seen.some((r) => r.method === 'POST' && r.path === '/v1/ccp/signedContractData' && r.status === 200), JSON.stringify(seen));
  // The CCP behind OPCP names the contract itself; the MO still found it installed by PCID + EMAID.
  assert.ok(seen.some((r) => r.method === 'PUT' && r.path === '/v1/ccp/signedContractData' && r.status === 201), JSON.stringify(seen));
  // The tokens came from the endpoint's OAuth service, once per partner.
  assert.is(seen.filter((r) => r.path === '/oauth/token').length, 4);
});

test('REST failures carry the codes the bus path raises', async () => {
  const overBus = poolAccessOf(env.as(CPO), {});
  const overRest = poolAccessOf(env.as(CPO), opcpConfig.cpo);
  assert.equal([overBus.transport, overRest.transport], ['bus', 'opcp']);
  // A vehicle without a contract: ISO FAILED_NoCertificateAvailable with the EXI error response for the EV.
  const bare = await produceVehicle(env.as(OPERATOR), 'NOCONTRACT0001');
  const request = { certificateInstallationReq: Buffer.from(await buildInstallationRequest(bare)).toString('base64'), xsdMsgDefNamespace: 'urn:iso:15118:2:2013:MsgDef' };
  const [busFailure, restFailure] = [await failure(overBus.contractInstallation.install(request)), await failure(overRest.contractInstallation.install(request))];
  assert.is(busFailure.code, 'FAILED_NoCertificateAvailable');
  assert.is(restFailure.code, busFailure.code);
  assert.ok((restFailure.data as { exiResponse: string }).exiResponse.length > 0);
  const garbage = { ...request, certificateInstallationReq: Buffer.from('not EXI at all').toString('base64') };
  assert.is((await failure(overRest.contractInstallation.install(garbage))).code, (await failure(overBus.contractInstallation.install(garbage))).code);

  const moBus = poolAccessOf(env.as(MO), {});
  const moRest = poolAccessOf(env.as(MO), opcpConfig.mo);
  assert.equal(await moRest.provisioningChain.fetch(bare.pcid), await moBus.provisioningChain.fetch(bare.pcid));
  const unknownPcid = 'OPNUNKNOWN0000012';
  assert.is((await failure(moBus.provisioningChain.fetch(unknownPcid))).code, 'VehicleNotFound');
  assert.is((await failure(moRest.provisioningChain.fetch(unknownPcid))).code, 'VehicleNotFound');
  assert.is((await failure(moBus.contractDeletion.delete('DEOPN0000000001'))).code, 'ContractNotFound');
  assert.is((await failure(moRest.contractDeletion.delete('DEOPN0000000001'))).code, 'ContractNotFound');
  // Another MO's prefix: the REST side's 403 is the bus side's Forbidden.
  assert.is((await failure(moRest.contractDeletion.delete('DEXYZ0000000001'))).code, 'Forbidden');
  assert.is((await failure(moBus.contractDeletion.delete('DEXYZ0000000001'))).code, 'Forbidden');
});

test('the MO terminates over REST: DELETE /v1/ccp/signedContractData/{emaid}', async () => {
  const terminated = await requestSubjectReply(env.as(OPERATOR), moInterface.requests.terminate, { emaid: story.contract.emaid! });
  assert.is(terminated.status, 'terminated');
  assert.ok(seen.some((r) => r.method === 'DELETE' && r.path === `/v1/ccp/signedContractData/${story.contract.emaid}` && r.status === 200), JSON.stringify(seen));
});

test('incomplete opcp settings are a typed configuration error', () => {
  try {
    opcpClientOf({ 'opcp.url': 'http://127.0.0.1:1' });
    assert.unreachable('accepted opcp.url without credentials');
  } catch (error) {
    assert.is((error as PncError).code, 'ConfigInvalid');
  }
  assert.is(opcpClientOf({}), undefined);
});

test('the OEM deletes a vehicle over REST: DELETE /v1/oem/provCerts/{pcid}', async () => {
  const vehicle = await produceVehicle(env.as(OPERATOR), 'DELETEME000002');
  assert.equal(await requestSubjectReply(env.as(OPERATOR), oemInterface.requests.deleteVehicle, { pcid: vehicle.pcid }), { pcid: vehicle.pcid, deleted: true });
  assert.ok(seen.some((r) => r.method === 'DELETE' && r.path === `/v1/oem/provCerts/${vehicle.pcid}` && r.status === 200), JSON.stringify(seen));
  const oemBus = poolAccessOf(env.as({ role: 'oem', prefixes: ['OPN'] }), {});
  const oemRest = poolAccessOf(env.as({ role: 'oem', prefixes: ['OPN'] }), opcpConfig.oem);
  assert.is((await failure(oemBus.provisioningUpload.delete(vehicle.pcid))).code, 'VehicleNotFound');
  assert.is((await failure(oemRest.provisioningUpload.delete(vehicle.pcid))).code, 'VehicleNotFound');
  // Another OEM uploading this OEM's vehicle chain: Forbidden on both sides.
  const other = await gateway.oauth.addClient('oem', ['XYZ']);
  const otherBus = poolAccessOf(env.as({ role: 'oem', prefixes: ['XYZ'] }), {});
  const otherRest = poolAccessOf(env.as({ role: 'oem', prefixes: ['XYZ'] }), { ...opcpConfig.oem, 'opcp.clientId': other.client_id, 'opcp.clientSecret': other.client_secret });
  const upload = { pcid: story.vehicle.pcid, chain: story.vehicle.provisioningChain };
  assert.is((await failure(otherBus.provisioningUpload.upload(upload))).code, 'Forbidden');
  assert.is((await failure(otherRest.provisioningUpload.upload(upload))).code, 'Forbidden');
  assert.equal((await oemRest.roots.list()).map((r) => r.caCertificate).sort(), (await oemBus.roots.list()).map((r) => r.caCertificate).sort());
});

// Last: closes the gateway.
test('with the endpoint gone the CPO fails retryably (NoResponders), although the CCP still answers on the bus', async () => {
  await gateway.close();
  const request = { certificateInstallationReq: Buffer.from(await buildInstallationRequest(story.vehicle)).toString('base64'), xsdMsgDefNamespace: 'urn:iso:15118:2:2013:MsgDef' };
  const overBus: PoolAccess = poolAccessOf(env.as(CPO), {});
  const stillThere = await failure(overBus.contractInstallation.install(request));
  assert.is(stillThere.code, 'FAILED_NoCertificateAvailable'); // terminated above, but the CCP answers
  const answer = await requestSubjectReply(env.as(OPERATOR), cpoInterface.requests.installContract, { exiRequest: request.certificateInstallationReq });
  assert.is(answer.status, 'Failed');
  // An OCPP reason code by table; the PncError code whole in additionalInfo (issue 8: nothing cut to 20 characters).
  assert.is(answer.statusInfo?.reasonCode, 'InternalError');
  assert.match(answer.statusInfo?.additionalInfo ?? '', /^NoResponders: /);
});

test.run();
