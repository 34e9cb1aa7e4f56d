// OPCP conformance: every implemented endpoint is called over HTTP and each request and response is
// validated against Hubject's OPCP 1.0 OpenAPI files; the whole Plug&Charge path runs through it
// (roots, provisioning chain, CPS signing, CPO installation request, MO delete), and the auth answers
// are checked: 401 without or with an expired token, 403 for a wrong role, 404 for unknown ids.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestPki, type TestPki } from '../../protocols/pki/index.ts';
import { encryptContractKey } from '../../protocols/pki/contract-key.ts';
import { decodeExi } from '../../protocols/exi/index.ts';
import { verifyMessageSignature } from '../../protocols/xmldsig/index.ts';
import { v2gRootInterface } from '../../protocols/catalogue/v2g-root.ts';
import { requestSubjectReply } from '../../actors/bus/typed.ts';
import { OPCP_ROUTES } from '../../actors/opcp/routes.ts';
import { loadOpcpApis } from '../../actors/opcp/spec.ts';
import { bytesToBase64 } from '../../actors/pools/common.ts';
import { installationRequest } from '../pools/fixtures.ts';
import { startStack, type Stack } from './helpers.ts';
import * as x509 from '@peculiar/x509';

const b64 = (c: { rawData: ArrayBuffer }) => bytesToBase64(c.rawData);
let stack: Stack;
let pki: TestPki;
let v2gRoot: x509.X509Certificate;
/** A second, unrelated PKI: its roots and chains are not in the pools. */
let foreign: TestPki;
const ids: Record<string, string> = {};

test.before(async () => {
  [pki, foreign] = await Promise.all([createTestPki({ vehicles: 2, contracts: 1 }), createTestPki()]);
  stack = await startStack({ withCps: true });
  const { certificates } = await requestSubjectReply(stack.env.bus, v2gRootInterface.requests.ca, {});
  v2gRoot = new x509.X509Certificate(Buffer.from(certificates[0], 'base64'));
});
test.after(async () => stack.stop());

test('POST /oauth/token: JSON and form-encoded client credentials; bad ones get the OAuth2 error body', async () => {
  const { accessToken } = await loadOpcpApis();
  const operation = accessToken.getOperation('issue-token')!;
  const { client_id, client_secret } = stack.credentials.cpo;
  const json = await fetch(`${stack.gateway.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id, client_secret, audience: stack.gateway.url, grant_type: 'client_credentials' }) });
  const issued = (await json.json()) as any;
  assert.is(json.status, 200);
  assert.ok(accessToken.validator.validateResponse(issued, operation, 200).valid);
  assert.is(issued.expires_in, 86_400);
  assert.is(issued.token_type, 'Bearer');
  const form = await fetch(`${stack.gateway.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'client_credentials', client_id, client_secret }).toString() });
  assert.is(form.status, 200, 'CitrineOS sends the form encoding, without audience');
  const roots = await stack.call({ token: ((await form.json()) as any).access_token }, 'GET', '/v1/root/rootCerts');
  assert.is(roots.status, 200);
  for (const [body, status, error] of [
    [{ client_id, client_secret: 'wrong', grant_type: 'client_credentials' }, 401, 'invalid_client'],
    [{ client_id: 'nobody', client_secret: 'x', grant_type: 'client_credentials' }, 401, 'invalid_client'],
    [{ client_id, client_secret, grant_type: 'password' }, 400, 'unsupported_grant_type'],
    [{ client_id, client_secret }, 400, 'invalid_request'],
  ] as const) {
    const response = await fetch(`${stack.gateway.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const answer = (await response.json()) as any;
    assert.is(response.status, status);
    assert.is(answer.error, error);
    assert.ok(accessToken.validator.validateResponse(answer, operation, status).valid);
  }
});

test('RCP: admins put roots, every role reads them; unknown ids are 404', async () => {
  for (const [root, rootType] of [[v2gRoot, 'V2G'], [pki.trustAnchors.oem[0], 'OEM'], [pki.trustAnchors.mo[0], 'MO']] as const) {
    const put = await stack.call('admin', 'PUT', '/v1/root/rootCerts', { body: { caCertificate: b64(root), rootType } });
    assert.is(put.status, 200);
    ids[rootType] = put.body.RootResponse.rootCertificateId;
  }
  const all = await stack.call('cpo', 'GET', '/v1/root/rootCerts');
  assert.is(all.body.RootCertificateCollection.rootCertificates.length, 3);
  const oems = await stack.call('moA', 'GET', '/v1/root/rootCerts?rootType=oem');
  assert.equal(oems.body.RootCertificateCollection.rootCertificates.map((r: { rootType: string }) => r.rootType), ['OEM']);
  const one = await stack.call('oem', 'GET', `/v1/root/rootCerts/${ids.V2G}`);
  assert.is(one.body.RootResponse.caCertificate, b64(v2gRoot));
  assert.is((await stack.call('cpo', 'GET', '/v1/root/rootCerts/00000000-0000-0000-0000-000000000000')).status, 404);
  assert.is((await stack.call('cpo', 'GET', '/v1/root/ctl')).status, 404);
  assert.is((await stack.call('admin', 'PUT', '/v1/root/rootCerts', { body: { caCertificate: b64(v2gRoot), rootType: 'XX' } })).status, 400);
  // A root put and deleted again: 200 then 404.
  const put = await stack.call('admin', 'PUT', '/v1/root/rootCerts', { body: { caCertificate: b64(foreign.trustAnchors.mo[0]), rootType: 'MO' } });
  assert.is((await stack.call('admin', 'DELETE', `/v1/root/rootCerts/${put.body.RootResponse.rootCertificateId}`)).status, 200);
  assert.is((await stack.call('admin', 'DELETE', `/v1/root/rootCerts/${put.body.RootResponse.rootCertificateId}`)).status, 404);
});

test('PCP: an OEM uploads a provisioning chain, MOs read it, unknown PCIDs are 404', async () => {
  const [leaf, sub2, sub1] = pki.provisioning[0].chain;
  const pcid = pki.provisioning[0].identifier!;
  const put = await stack.call('oem', 'PUT', '/v1/oem/provCerts', { body: { vehicleCertificate: b64(leaf), subCA2Certificate: b64(sub2), subCA1Certificate: b64(sub1), xsdMsgDefNamespace: 'urn:iso:15118:2:2013:MsgDef' } });
  assert.is(put.status, 200);
  assert.is(put.body.rootIssuerSerialNumber, pki.trustAnchors.oem[0].serialNumber.toLowerCase());
  const get = await stack.call('moA', 'GET', `/v1/oem/provCerts/${pcid}`);
  assert.is(get.body.OEMMessage.vehicleCertificate, b64(leaf));
  assert.is((await stack.call('moB', 'GET', `/v1/oem/provCerts/lookupVehicle/${pcid}`)).status, 200);
  assert.is((await stack.call('moA', 'GET', `/v1/oem/provCerts/lookupVehicle/${pki.provisioning[1].identifier}`)).status, 404);
  assert.is((await stack.call('moA', 'GET', `/v1/oem/provCerts/${pki.provisioning[1].identifier}`)).status, 404);
  assert.is((await stack.call('oem', 'PUT', '/v1/oem/provCerts', { body: { subCA1Certificate: b64(sub1) } })).status, 400);
  const [fLeaf, fSub2, fSub1] = foreign.provisioning[0].chain;
  const rejected = await stack.call('oem', 'PUT', '/v1/oem/provCerts', { body: { vehicleCertificate: b64(fLeaf), subCA2Certificate: b64(fSub2), subCA1Certificate: b64(fSub1) } });
  assert.is(rejected.status, 400);
  assert.match(rejected.body.errorMessages[0], /provisioning chain rejected/);
});

test('CPS + CCP: the MO signs through the CPS, the CPO gets a CertificateInstallationRes whose signature verifies', async () => {
  const vehicle = pki.provisioning[0];
  const contract = pki.contracts[0];
  const encrypted = await encryptContractKey(contract.keys.privateKey, vehicle.certificate);
  const [leaf, sub2, sub1] = contract.chain;
  const contractData = {
    contractCertificate: b64(leaf),
    contractSubCa2Certificate: b64(sub2),
    contractSubCa1Certificate: b64(sub1),
    contractSignatureEncryptedPrivateKey: bytesToBase64(encrypted.encryptedPrivateKey),
    dHpublickey: bytesToBase64(encrypted.dhPublicKey),
  };
  const forbidden = await stack.call('moB', 'PUT', '/v1/cps/contractData/signed', { body: { contractData, pcid: vehicle.identifier, xsdMsgDefNamespace: 'urn:iso:15118:2:2013:MsgDef' } });
  assert.is(forbidden.status, 403, "MO B cannot sign MO A's contract");
  const signed = await stack.call('moA', 'PUT', '/v1/cps/contractData/signed', { body: { contractData, pcid: vehicle.identifier, xsdMsgDefNamespace: 'urn:iso:15118:2:2013:MsgDef' } });
  assert.is(signed.status, 201);
  assert.match(Buffer.from(signed.body.signedData, 'base64').toString('utf8'), /<body:CertificateInstallationRes>/);
  // The signed XML, put back by a CPS client (an external CPS's path), replaces the stored contract.
  const xmlPut = await stack.call('cps', 'PUT', '/v1/ccp/signedContractData', { body: { xsdMsgDefNamespace: 'urn:iso:15118:2:2013:MsgDef', emaid: signed.body.emaid, pcid: vehicle.identifier, signedContractDataXML: signed.body.signedData } });
  assert.is(xmlPut.status, 201);
  const notXml = await stack.call('cps', 'PUT', '/v1/ccp/signedContractData', { body: { xsdMsgDefNamespace: 'urn:iso:15118:2:2013:MsgDef', emaid: signed.body.emaid, pcid: vehicle.identifier, signedContractDataXML: Buffer.from('<a><b></a>').toString('base64') } });
  assert.is(notXml.status, 400);
  const signers = await stack.call('cpo', 'GET', '/cps/signer');
  assert.is(signers.body.cpsCertificates.length, 1);

  const request = installationRequest(vehicle, { roots: [v2gRoot] });
  const answer = await stack.call('cpo', 'POST', '/v1/ccp/signedContractData', { body: { certificateInstallationReq: bytesToBase64(request.exi), xsdMsgDefNamespace: 'urn:iso:15118:2:2013:MsgDef' } });
  assert.is(answer.status, 200);
  const [entry] = answer.body.CCPResponse.emaidContent;
  assert.is(entry.messageDef.emaid, contract.identifier!.slice(0, 14));
  const { document } = decodeExi('iso2', Buffer.from(entry.messageDef.certificateInstallationRes, 'base64'));
  const message = (document as any).V2G_Message;
  assert.is(message.Header.SessionID, request.sessionId);
  assert.is(message.Body.CertificateInstallationRes.ResponseCode, 'OK');
  const cpsLeaf = new x509.X509Certificate(Buffer.from(signers.body.cpsCertificates[0].cpsCertificate, 'base64'));
  verifyMessageSignature(message, cpsLeaf);

  assert.is((await stack.call('moA', 'GET', `/v1/ccp/lookupContract/${contract.identifier}`)).body.XMLContracts.length, 1);
  const listed = await stack.call('oem', 'GET', `/v1/ccp/signedContractData/${vehicle.identifier}`);
  assert.ok(listed.body.XMLContracts[0].defaultContract);
  assert.is((await stack.call('oem', 'POST', `/v1/ccp/signedContractData/${vehicle.identifier}/${contract.identifier}/default`)).status, 200);
  const provided = await stack.call('oem', 'GET', `/v1/ccp/provideSignedContractData/${contract.identifier}/${vehicle.identifier}?sessionID=0A0B0C0D0E0F1011`);
  assert.is(provided.status, 200);
  const providedMessage = (decodeExi('iso2', Buffer.from(provided.body.certificateInstallationRes, 'base64')).document as any).V2G_Message;
  assert.is(providedMessage.Header.SessionID, '0a0b0c0d0e0f1011');
  verifyMessageSignature(providedMessage, cpsLeaf);
});

test('CCP failures: 404 with the EXI error response (alwaysReturnEXI), an empty one without it, 400 for bad EXI', async () => {
  const unknownVehicle = installationRequest(pki.provisioning[1], { roots: [v2gRoot] });
  const body = { certificateInstallationReq: bytesToBase64(unknownVehicle.exi), xsdMsgDefNamespace: 'urn:iso:15118:2:2013:MsgDef' };
  const withExi = await stack.call('cpo', 'POST', '/v1/ccp/signedContractData', { body });
  assert.is(withExi.status, 404);
  const exi = withExi.body.CCPResponse.emaidContent[0].messageDef.certificateInstallationRes;
  const failed = (decodeExi('iso2', Buffer.from(exi, 'base64')).document as any).V2G_Message;
  assert.is(failed.Body.CertificateInstallationRes.ResponseCode, 'FAILED_NoCertificateAvailable');
  assert.is(failed.Header.SessionID, unknownVehicle.sessionId);
  const withoutExi = await stack.call('cpo', 'POST', '/v1/ccp/signedContractData', { body, headers: { alwaysReturnEXI: 'false' } });
  assert.is(withoutExi.status, 404);
  assert.is(withoutExi.body.CCPResponse.emaidContent[0].messageDef.certificateInstallationRes, '');
  assert.match(withoutExi.body.errorMessages[0], /FAILED_NoCertificateAvailable/);
  const garbage = await stack.call('cpo', 'POST', '/v1/ccp/signedContractData', { body: { certificateInstallationReq: 'gJgC', xsdMsgDefNamespace: 'urn:iso:15118:2:2013:MsgDef' } });
  assert.is(garbage.status, 400);
  assert.equal(garbage.body.errorMessages, ['EXI format is invalid!']);
  assert.is((await stack.call('moA', 'GET', '/v1/ccp/lookupContract/DEOPNC99999999')).status, 404);
  assert.is((await stack.call('moA', 'DELETE', '/v1/ccp/signedContractData/DEOPNC99999999')).status, 404);
});

test('clients written for Hubject work unchanged: MaEVe (x-api-key + Bearer, first entry) and CitrineOS (form token, last entry)', async () => {
  const request = bytesToBase64(installationRequest(pki.provisioning[0], { roots: [v2gRoot] }).exi);
  // MaEVe manager/services/contract_certificate_provider.go: fixed namespace, the token in two headers, needs messageDef.emaid.
  const maeve = await fetch(`${stack.gateway.url}/v1/ccp/signedContractData`, {
    method: 'POST',
    headers: { 'x-api-key': stack.tokens.cpo, authorization: `Bearer ${stack.tokens.cpo}`, 'content-type': 'application/json' },
    body: JSON.stringify({ certificateInstallationReq: request, xsdMsgDefNamespace: 'urn:iso:15118:2:2013:MsgDef' }),
  });
  assert.is(maeve.status, 200);
  const maeveBody = (await maeve.json()) as any;
  assert.ok(maeveBody.CCPResponse.emaidContent[0].messageDef.emaid.length > 0);
  assert.ok(maeveBody.CCPResponse.emaidContent[0].messageDef.certificateInstallationRes.length > 0);
  // CitrineOS 02_Util/src/certificate/client/hubject.ts: form-encoded token with audience = base URL, keeps the last entry.
  const { client_id, client_secret } = stack.credentials.cpo;
  const token = await fetch(`${stack.gateway.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'client_credentials', client_id, client_secret, audience: stack.gateway.url }).toString() });
  const { access_token } = (await token.json()) as any;
  const citrine = await fetch(`${stack.gateway.url}/v1/ccp/signedContractData`, { method: 'POST', headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' }, body: JSON.stringify({ certificateInstallationReq: request, xsdMsgDefNamespace: 'urn:iso:15118:2:2013:MsgDef' }) });
  const entries = ((await citrine.json()) as any).CCPResponse.emaidContent;
  assert.is(entries.length, 1, 'one entry for ISO 15118-2, so first and last agree');
  const roots = await fetch(`${stack.gateway.url}/v1/root/rootCerts`, { headers: { authorization: `Bearer ${access_token}` } });
  assert.ok((((await roots.json()) as any).RootCertificateCollection.rootCertificates as { caCertificate: string }[]).every((r) => r.caCertificate.length > 0));
});

test('auth: 401 without, with a garbage or with an expired token; 403 for a role the operation does not allow', async () => {
  const noToken = await stack.call(null, 'GET', '/v1/root/rootCerts');
  assert.is(noToken.status, 401);
  assert.ok(noToken.body.errorMessages.length === 1 && noToken.body.traceId);
  assert.is((await stack.call({ token: 'not.a.jwt' }, 'GET', '/v1/root/rootCerts')).status, 401);
  const stale = await stack.gateway.oauth.issueToken({ ...stack.credentials.cpo, grant_type: 'client_credentials' }, new Date(Date.now() - 2 * 86_400_000));
  const expired = await stack.call({ token: stale.access_token }, 'GET', '/v1/root/rootCerts');
  assert.is(expired.status, 401);
  assert.match(expired.body.errorMessages[0], /expired/);
  for (const [who, method, path] of [
    ['cpo', 'PUT', '/v1/oem/provCerts'],
    ['moA', 'POST', '/v1/ccp/signedContractData'],
    ['oem', 'DELETE', '/v1/ccp/signedContractData/DEOPNC00000001'],
    ['cpo', 'PUT', '/v1/root/rootCerts'],
    ['cps', 'DELETE', `/v1/root/rootCerts/${ids.V2G}`],
  ] as const) {
    const answer = await stack.call(who, method, path, { body: method === 'DELETE' ? undefined : {} });
    assert.is(answer.status, 403, `${who} ${method} ${path}`);
  }
  assert.is((await stack.call('cpo', 'GET', '/v1/nothing/here')).status, 404);
});

test('MO delete ends the flow; every implemented operation was exercised and validated', async () => {
  const emaid = pki.contracts[0].identifier!;
  assert.is((await stack.call('moA', 'DELETE', `/v1/ccp/signedContractData/${emaid}`)).status, 200);
  assert.is((await stack.call('oem', 'GET', `/v1/ccp/signedContractData/${pki.provisioning[0].identifier}`)).body.XMLContracts.length, 0);
  assert.is((await stack.call('oem', 'DELETE', `/v1/oem/provCerts/${pki.provisioning[0].identifier}`)).status, 200);
  const expected = Object.keys(OPCP_ROUTES).filter((id) => id !== 'get-v1-root-ctl');
  const missing = expected.filter((id) => !stack.covered.has(id));
  assert.equal(missing, [], `operations without a validated success response: ${missing.join(', ')}`);
});

test.run();
