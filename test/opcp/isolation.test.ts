// Isolation over REST, and the OPCP client against our own gateway: MO A cannot read or delete MO B's
// contracts, an OEM cannot write or delete another WMI's vehicles, only admins write roots.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestPki, issueCertificate, type TestCertificate, type TestPki } from '../../protocols/pki/index.ts';
import { ccpInterface } from '../../protocols/catalogue/ccp.ts';
import { requestSubjectReply } from '../../actors/bus/typed.ts';
import { OpcpClient } from '../../actors/opcp/client.ts';
import { startOpcpGateway } from '../../actors/opcp/gateway.ts';
import { createMemoryBus } from '../../actors/bus/index.ts';
import { bytesToBase64 } from '../../actors/pools/common.ts';
import { signContract } from '../pools/fixtures.ts';
import { startStack, type ClientName, type Stack } from './helpers.ts';

const b64 = (c: { rawData: ArrayBuffer }) => bytesToBase64(c.rawData);
let stack: Stack;
let pki: TestPki;
let contractB: TestCertificate;

function client(name: ClientName): OpcpClient {
  return new OpcpClient({ baseUrl: stack.gateway.url, clientId: stack.credentials[name].client_id, clientSecret: stack.credentials[name].client_secret });
}

test.before(async () => {
  pki = await createTestPki({ vehicles: 1, contracts: 1 });
  const issued = await issueCertificate({ role: 'contract', subject: { commonName: 'DEXYZC00000001' }, issuer: pki.authorities['mo-sub-ca-2'] });
  contractB = { ...pki.contracts[0], certificate: issued.certificate, keys: issued.keys!, chain: [issued.certificate, ...pki.contracts[0].chain.slice(1)], identifier: 'DEXYZC00000001' };
  stack = await startStack();
  const admin = client('admin');
  await admin.putRootCertificate(b64(pki.trustAnchors.v2g[0]), 'V2G');
  await admin.putRootCertificate(b64(pki.trustAnchors.oem[0]), 'OEM');
  await admin.putRootCertificate(b64(pki.trustAnchors.mo[0]), 'MO');
  const [leaf, sub2, sub1] = pki.provisioning[0].chain;
  await client('oem').putProvisioningCertificate({ vehicleCertificate: b64(leaf), subCA2Certificate: b64(sub2), subCA1Certificate: b64(sub1) });
  for (const [contract, contractId] of [[pki.contracts[0], 'a'], [contractB, 'b']] as const) {
    const signed = await signContract(pki, contract, pki.provisioning[0]);
    await requestSubjectReply(stack.env.as({ role: 'cps', prefixes: [] }), ccpInterface.requests.put, { contractId, pcid: pki.provisioning[0].identifier!, emaid: contract.identifier!, ...signed, cpsV2GRootFingerprint: Buffer.from(await crypto.subtle.digest('SHA-256', pki.trustAnchors.v2g[0].rawData)).toString('hex'), signedAt: new Date().toISOString() });
  }
});
test.after(async () => stack.stop());

test('MO A cannot read or delete MO B contracts over REST', async () => {
  const emaidA = pki.contracts[0].identifier!;
  const emaidB = contractB.identifier!;
  assert.is((await stack.call('moA', 'GET', `/v1/ccp/lookupContract/${emaidA}`)).status, 200);
  assert.is((await stack.call('moA', 'GET', `/v1/ccp/lookupContract/${emaidB}`)).status, 403);
  assert.is((await stack.call('moA', 'DELETE', `/v1/ccp/signedContractData/${emaidB}`)).status, 403);
  assert.is((await stack.call('moB', 'GET', `/v1/ccp/lookupContract/${emaidB}`)).body.XMLContracts.length, 1, "B's contract is still there");
  // The OEM of the vehicle sees both; the other OEM sees none.
  assert.is((await stack.call('oem', 'GET', `/v1/ccp/signedContractData/${pki.provisioning[0].identifier}`)).body.XMLContracts.length, 2);
  assert.is((await stack.call('otherOem', 'GET', `/v1/ccp/signedContractData/${pki.provisioning[0].identifier}`)).status, 403);
  // Through the OPCP client: typed errors carry the status.
  const moA = client('moA');
  assert.is((await moA.lookupContract(emaidA)).length, 1);
  const refused = await moA.deleteContract(emaidB).then(() => undefined, (error) => error);
  assert.is(refused?.code, 'Forbidden');
  assert.is(refused?.data?.status, 403);
  await client('moB').deleteContract(emaidB);
  assert.is((await stack.call('moB', 'GET', `/v1/ccp/lookupContract/${emaidB}`)).status, 404);
});

test('an OEM cannot write, delete or read another WMI', async () => {
  const pcid = pki.provisioning[0].identifier!;
  const [leaf, sub2, sub1] = pki.provisioning[0].chain;
  const chain = { vehicleCertificate: b64(leaf), subCA2Certificate: b64(sub2), subCA1Certificate: b64(sub1) };
  assert.is((await stack.call('otherOem', 'PUT', '/v1/oem/provCerts', { body: chain })).status, 403);
  assert.is((await stack.call('otherOem', 'DELETE', `/v1/oem/provCerts/${pcid}`)).status, 403);
  assert.is((await stack.call('otherOem', 'GET', `/v1/oem/provCerts/${pcid}`)).status, 403);
  assert.is((await stack.call('otherOem', 'POST', `/v1/ccp/signedContractData/${pcid}/${pki.contracts[0].identifier}/default`)).status, 403);
  assert.is((await stack.call('otherOem', 'GET', `/v1/ccp/provideSignedContractData/${pki.contracts[0].identifier}/${pcid}`)).status, 403);
  assert.ok(await client('moA').lookupVehicle(pcid), 'the vehicle is untouched');
});

test('only admins write roots; every role reads them', async () => {
  const extra = await createTestPki();
  for (const who of ['oem', 'moA', 'cpo', 'cps'] as const) {
    assert.is((await stack.call(who, 'PUT', '/v1/root/rootCerts', { body: { caCertificate: b64(extra.trustAnchors.v2g[0]), rootType: 'V2G' } })).status, 403, who);
    const roots = await client(who).rootCertificates();
    assert.is(roots.length, 3, `${who} reads the roots`);
    assert.is((await stack.call(who, 'DELETE', `/v1/root/rootCerts/${roots[0].rootCertificateId}`)).status, 403, who);
  }
  assert.is((await client('cpo').rootCertificates('oem')).length, 1);
});

test('bad requests get typed answers: malformed JSON 400, no pool behind the gateway 503, each with the error body', async () => {
  const malformed = await fetch(`${stack.gateway.url}/v1/oem/provCerts`, { method: 'PUT', headers: { authorization: `Bearer ${stack.tokens.oem}`, 'content-type': 'application/json' }, body: '{"vehicleCertificate":' });
  assert.is(malformed.status, 400);
  const malformedBody = (await malformed.json()) as { errorMessages: string[]; traceId: string };
  assert.match(malformedBody.errorMessages[0], /not valid JSON/);
  assert.match(malformedBody.traceId, /^[0-9a-f-]{36}$/);
  // A second gateway on the same store (same OAuth clients and key) but a bus nobody serves.
  const lonelyBus = createMemoryBus({ store: stack.env.store, log: stack.env.log });
  const lonely = await startOpcpGateway({ bus: lonelyBus, store: stack.env.store, log: stack.env.log, port: 0 });
  try {
    const answer = await fetch(`${lonely.url}/v1/root/rootCerts`, { headers: { authorization: `Bearer ${stack.tokens.cpo}` } });
    assert.is(answer.status, 503);
    assert.ok(((await answer.json()) as { errorMessages: string[] }).errorMessages.length === 1);
  } finally {
    await lonely.close();
    await lonelyBus.close();
  }
});

test.run();
