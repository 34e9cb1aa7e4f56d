// CCP: contracts stored idempotently, MO and OEM isolation, and CertificateInstallationReq answered in
// EXI: a request built and signed like an EV's gets a CertificateInstallationRes that decodes, carries
// the request's SessionID and whose CPS signature verifies; failures carry the ISO ResponseCode.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestPki, issueCertificate, type TestCertificate, type TestPki } from '../../protocols/pki/index.ts';
import { decryptContractKey } from '../../protocols/pki/contract-key.ts';
import { decodeExi } from '../../protocols/exi/index.ts';
import { verifyMessageSignature } from '../../protocols/xmldsig/index.ts';
import { ccpInterface } from '../../protocols/catalogue/ccp.ts';
import { pcpInterface } from '../../protocols/catalogue/pcp.ts';
import { rcpInterface } from '../../protocols/catalogue/rcp.ts';
import type { Caller } from '../../protocols/catalogue/caller.ts';
import { requestSubjectReply } from '../../actors/bus/typed.ts';
import { startRcp } from '../../actors/participants/rcp.ts';
import { startPcp } from '../../actors/participants/pcp.ts';
import { startCcp } from '../../actors/participants/ccp.ts';
import { bytesToBase64 } from '../../actors/pools/common.ts';
import { collectEvents, openEmbedded, rejectsWith, type Embedded } from './helpers.ts';
import { installationRequest, signContract } from './fixtures.ts';

const admin: Caller = { role: 'admin', prefixes: [] };
const oem: Caller = { role: 'oem', prefixes: ['OPN'] };
const otherOem: Caller = { role: 'oem', prefixes: ['XYZ'] };
const moA: Caller = { role: 'mo', prefixes: ['DEOPN'] };
const moB: Caller = { role: 'mo', prefixes: ['DEXYZ'] };
const cps: Caller = { role: 'cps', prefixes: [] };
const cpo: Caller = { role: 'cpo', prefixes: [] };
const { requests: ccp } = ccpInterface;
const b64 = (c: { rawData: ArrayBuffer }) => bytesToBase64(c.rawData);

let pki: TestPki;
let contractB: TestCertificate;

async function pools(): Promise<Embedded & { stop(): Promise<void> }> {
  const env = await openEmbedded();
  const rcp = await startRcp(env.bus, env.store, env.log);
  const pcp = await startPcp(env.bus, env.store, env.log);
  const ccpPool = await startCcp(env.bus, env.store, env.log);
  await addRootsAndVehicle(env);
  return Object.assign(env, { stop: async () => (await ccpPool.stop(), await pcp.stop(), await rcp.stop(), await env.close()) });
}

/** The three roots in the RCP and the first vehicle's provisioning chain in the PCP. */
async function addRootsAndVehicle(env: Embedded): Promise<void> {
  for (const [root, rootType] of [[pki.trustAnchors.v2g[0], 'V2G'], [pki.trustAnchors.oem[0], 'OEM'], [pki.trustAnchors.mo[0], 'MO']] as const) {
    await requestSubjectReply(env.as(admin), rcpInterface.requests.put, { caCertificate: b64(root), rootType });
  }
  const [leaf, sub2, sub1] = pki.provisioning[0].chain;
  await requestSubjectReply(env.as(oem), pcpInterface.requests.put, { vehicleCertificate: b64(leaf), subCA2Certificate: b64(sub2), subCA1Certificate: b64(sub1) });
}

async function store(env: Embedded, contract: TestCertificate, contractId: string, vehicle = pki.provisioning[0]) {
  const signed = await signContract(pki, contract, vehicle);
  return requestSubjectReply(env.as(cps), ccp.put, {
    contractId,
    pcid: vehicle.identifier!,
    emaid: contract.identifier!,
    ...signed,
    cpsV2GRootFingerprint: Buffer.from(await crypto.subtle.digest('SHA-256', pki.trustAnchors.v2g[0].rawData)).toString('hex'),
    signedAt: new Date().toISOString(),
  });
}

async function install(env: Embedded, request: { exi: Uint8Array }) {
  const answer = await requestSubjectReply(env.as(cpo), ccp.installation, { certificateInstallationReq: bytesToBase64(request.exi) });
  const { document } = decodeExi('iso2', Buffer.from(answer.certificateInstallationRes, 'base64'));
  const message = (document as any).V2G_Message;
  return { answer, message, document, body: message.Body.CertificateInstallationRes };
}

test.before(async () => {
  pki = await createTestPki({ vehicles: 2, contracts: 2 });
  const contract = pki.contracts[0];
  const issued = await issueCertificate({ role: 'contract', subject: { commonName: 'DEXYZC00000001' }, issuer: pki.authorities['mo-sub-ca-2'] });
  contractB = { ...contract, name: 'contract-b', certificate: issued.certificate, keys: issued.keys!, chain: [issued.certificate, ...contract.chain.slice(1)], identifier: 'DEXYZC00000001' };
});

test('the CPS stores contracts idempotently by contract id; only the CPS writes; tampered data is refused', async () => {
  const env = await pools();
  const stored = await collectEvents<{ replaced: boolean }>(env.bus, 'ccp.contract.stored');
  const first = await store(env, pki.contracts[0], 'contract-a1');
  assert.ok(first.created);
  assert.ok(first.contract.defaultContract, 'the first contract of a vehicle is its default');
  const again = await store(env, pki.contracts[0], 'contract-a1');
  assert.not.ok(again.created, 'a redelivered put changes nothing');
  const listed = await requestSubjectReply(env.as(moA), ccp.list, { emaid: pki.contracts[0].identifier! });
  assert.is(listed.contracts.length, 1);
  assert.is(stored.events.length, 1, 'one stored event for two deliveries');

  const signed = await signContract(pki, pki.contracts[1], pki.provisioning[0]);
  const base = { contractId: 'x', pcid: pki.provisioning[0].identifier!, emaid: pki.contracts[1].identifier!, cpsV2GRootFingerprint: 'ab'.repeat(32), signedAt: new Date().toISOString() };
  await rejectsWith(requestSubjectReply(env.as(moA), ccp.put, { ...base, ...signed }), 'Forbidden');
  await rejectsWith(requestSubjectReply(env.as(cps), ccp.put, { ...base, emaid: pki.contracts[0].identifier!, ...signed }), 'ContractInvalid');
  const tampered = structuredClone(signed);
  (tampered.body.DHpublickey as { CONTENT: string }).CONTENT = '04' + 'ab'.repeat(64);
  await rejectsWith(requestSubjectReply(env.as(cps), ccp.put, { ...base, ...tampered }), 'ContractInvalid');
  await rejectsWith(requestSubjectReply(env.as(cps), ccp.put, { ...base, ...signed, cpsV2GRootFingerprint: 'not-a-fingerprint' }), 'ContractInvalid');
  const foreign = await createTestPki();
  const untrusted = await signContract(pki, pki.contracts[1], pki.provisioning[0], { chain: foreign.cps.chain, privateKey: foreign.cps.keys.privateKey });
  const refused = await rejectsWith(requestSubjectReply(env.as(cps), ccp.put, { ...base, ...untrusted, cpsV2GRootFingerprint: Buffer.from(await crypto.subtle.digest('SHA-256', foreign.trustAnchors.v2g[0].rawData)).toString('hex') }), 'ContractInvalid');
  assert.match(refused.message, /CPS chain/);
  assert.is((await requestSubjectReply(env.as(oem), ccp.list, { pcid: pki.provisioning[0].identifier! })).contracts.length, 1);
  await env.stop();
});

test('isolation on the bus: MO A cannot read or delete MO B contracts; an OEM sees only its WMI', async () => {
  const env = await pools();
  const pcid = pki.provisioning[0].identifier!;
  await store(env, pki.contracts[0], 'a');
  await store(env, contractB, 'b');
  await rejectsWith(requestSubjectReply(env.as(moA), ccp.list, { emaid: contractB.identifier! }), 'Forbidden');
  await rejectsWith(requestSubjectReply(env.as(moA), ccp.delete, { emaid: contractB.identifier! }), 'Forbidden');
  const seenByA = await requestSubjectReply(env.as(moA), ccp.list, { pcid });
  assert.equal(seenByA.contracts.map((c) => c.emaid), [pki.contracts[0].identifier!.slice(0, 14)]);
  const seenByB = await requestSubjectReply(env.as(moB), ccp.list, { pcid });
  assert.equal(seenByB.contracts.map((c) => c.emaid), ['DEXYZC00000001']);
  assert.is((await requestSubjectReply(env.as(oem), ccp.list, { pcid })).contracts.length, 2);
  await rejectsWith(requestSubjectReply(env.as(otherOem), ccp.list, { pcid }), 'Forbidden');
  await rejectsWith(requestSubjectReply(env.as(otherOem), ccp.setDefault, { pcid, emaid: contractB.identifier! }), 'Forbidden');
  await rejectsWith(requestSubjectReply(env.as(oem), ccp.delete, { emaid: contractB.identifier! }), 'Forbidden');
  const deleted = await requestSubjectReply(env.as(moB), ccp.delete, { emaid: contractB.identifier! });
  assert.is(deleted.deleted, 1);
  await rejectsWith(requestSubjectReply(env.as(moB), ccp.delete, { emaid: contractB.identifier! }), 'ContractNotFound');
  assert.is((await requestSubjectReply(env.as(moA), ccp.list, { pcid })).contracts.length, 1, "MO A's contract is untouched");
  await env.stop();
});

test('an EV request gets the signed default contract under its SessionID; the signature verifies and the key decrypts', async () => {
  const env = await pools();
  await store(env, pki.contracts[0], 'first');
  await store(env, pki.contracts[1], 'second');
  const vehicle = pki.provisioning[0];
  const request = installationRequest(vehicle, { roots: pki.trustAnchors.v2g });
  const { answer, message, body } = await install(env, request);
  assert.is(answer.responseCode, 'OK');
  assert.is(message.Header.SessionID, request.sessionId);
  assert.is(body.ResponseCode, 'OK');
  assert.is(body.eMAID.CONTENT, pki.contracts[0].identifier, 'the first stored contract is the default');
  const cpsLeaf = Buffer.from(body.SAProvisioningCertificateChain.Certificate, 'hex');
  assert.is(cpsLeaf.toString('hex'), Buffer.from(pki.cps.certificate.rawData).toString('hex'));
  verifyMessageSignature(message, pki.cps.certificate);
  const key = await decryptContractKey(
    { encryptedPrivateKey: Buffer.from(body.ContractSignatureEncryptedPrivateKey.CONTENT, 'hex'), dhPublicKey: Buffer.from(body.DHpublickey.CONTENT, 'hex') },
    vehicle.keys.privateKey,
    pki.contracts[0].certificate,
  );
  assert.is(key.scalar.length, 32);

  await requestSubjectReply(env.as(oem), ccp.setDefault, { pcid: vehicle.identifier!, emaid: pki.contracts[1].identifier! });
  const second = await install(env, installationRequest(vehicle, { roots: pki.trustAnchors.v2g }));
  assert.is(second.body.eMAID.CONTENT, pki.contracts[1].identifier, 'the default the OEM set');
  verifyMessageSignature(second.message, pki.cps.certificate);
  await env.stop();
});

test('failures are EXI responses with the ISO code: bad signature, unknown PCID, broken chain, no contract', async () => {
  const env = await pools();
  await store(env, pki.contracts[0], 'only');
  const vehicle = pki.provisioning[0];

  const badSignature = installationRequest(vehicle, { roots: pki.trustAnchors.v2g, signingKey: pki.provisioning[1].keys.privateKey });
  const signed = await install(env, badSignature);
  assert.is(signed.body.ResponseCode, 'FAILED_SignatureError');
  assert.is(signed.answer.responseCode, 'FAILED_SignatureError');
  assert.is(signed.message.Header.SessionID, badSignature.sessionId);
  assert.is(signed.message.Header.Signature, undefined);

  const unknown = await install(env, installationRequest(pki.provisioning[1], { roots: pki.trustAnchors.v2g }));
  assert.is(unknown.body.ResponseCode, 'FAILED_NoCertificateAvailable');

  // Same PCID, but issued under a foreign OEM hierarchy: the signature verifies, the chain does not.
  const foreign = await createTestPki();
  const impostor = await issueCertificate({ role: 'provisioning', subject: { commonName: vehicle.identifier! }, issuer: foreign.authorities['oem-sub-ca-2'] });
  const broken = await install(env, installationRequest(vehicle, { roots: pki.trustAnchors.v2g, provisioningCertificate: impostor.certificate, signingKey: impostor.keys!.privateKey }));
  assert.is(broken.body.ResponseCode, 'FAILED_CertChainError');

  // A vehicle with a valid chain but no contract.
  const [leaf, sub2, sub1] = pki.provisioning[1].chain;
  await requestSubjectReply(env.as(oem), pcpInterface.requests.put, { vehicleCertificate: b64(leaf), subCA2Certificate: b64(sub2), subCA1Certificate: b64(sub1) });
  const none = await install(env, installationRequest(pki.provisioning[1], { roots: pki.trustAnchors.v2g }));
  assert.is(none.body.ResponseCode, 'FAILED_NoCertificateAvailable');

  // The OEM root leaves the RCP: the provisioning chain no longer validates.
  const { roots } = await requestSubjectReply(env.as(admin), rcpInterface.requests.list, { rootType: 'OEM' });
  await requestSubjectReply(env.as(admin), rcpInterface.requests.delete, { rootCertificateId: roots[0].rootCertificateId });
  const rootless = await install(env, installationRequest(vehicle, { roots: pki.trustAnchors.v2g }));
  assert.is(rootless.body.ResponseCode, 'FAILED_CertChainError');

  await rejectsWith(requestSubjectReply(env.as(cpo), ccp.installation, { certificateInstallationReq: bytesToBase64(Uint8Array.of(0x80, 0x98, 0x02)) }), 'ExiInvalid');
  await rejectsWith(requestSubjectReply(env.as(moA), ccp.installation, { certificateInstallationReq: bytesToBase64(badSignature.exi) }), 'Forbidden');
  await env.stop();
});

test("deleting a vehicle in the PCP removes its contracts from the CCP", async () => {
  const env = await pools();
  const deleted = await collectEvents<{ reason: string; emaid: string }>(env.bus, 'ccp.contract.deleted');
  await store(env, pki.contracts[0], 'a');
  await store(env, contractB, 'b');
  await requestSubjectReply(env.as(oem), pcpInterface.requests.delete, { pcid: pki.provisioning[0].identifier! });
  await deleted.next((e) => e.emaid === 'DEXYZC00000001');
  await deleted.next((e) => e.emaid === pki.contracts[0].identifier!.slice(0, 14));
  assert.ok(deleted.events.every((e) => e.reason === 'vehicle'));
  assert.is((await requestSubjectReply(env.as(oem), ccp.list, { pcid: pki.provisioning[0].identifier! })).contracts.length, 0);
  await env.stop();
});

test('an expired contract is installed until its notAfter and leaves the pool then', async () => {
  // The CCP's clock is the test's: it moves to the notAfter instead of racing a short-lived certificate.
  let now = Date.now();
  const env = await openEmbedded();
  const rcp = await startRcp(env.bus, env.store, env.log);
  const pcp = await startPcp(env.bus, env.store, env.log);
  const ccpPool = await startCcp(env.bus, env.store, env.log, () => now);
  try {
    await addRootsAndVehicle(env);
    const deleted = await collectEvents<{ reason: string; emaid: string }>(env.bus, 'ccp.contract.deleted');
    const issued = await issueCertificate({ role: 'contract', subject: { commonName: 'DEOPNS00000001' }, issuer: pki.authorities['mo-sub-ca-2'], notBefore: new Date(now - 60_000), validityDays: 3_660_000 / 86_400_000 });
    const expiring = { ...pki.contracts[0], certificate: issued.certificate, keys: issued.keys!, chain: [issued.certificate, ...pki.contracts[0].chain.slice(1)], identifier: 'DEOPNS00000001' };
    await store(env, expiring, 'short');
    now = issued.certificate.notAfter.getTime() - 1;
    await ccpPool.purgeNow();
    assert.is((await install(env, installationRequest(pki.provisioning[0], { roots: pki.trustAnchors.v2g }))).body.ResponseCode, 'OK', 'installed before its notAfter');
    now = issued.certificate.notAfter.getTime();
    await ccpPool.purgeNow();
    assert.is((await deleted.next((e) => e.emaid === 'DEOPNS00000001')).reason, 'expired');
    assert.is((await install(env, installationRequest(pki.provisioning[0], { roots: pki.trustAnchors.v2g }))).body.ResponseCode, 'FAILED_NoCertificateAvailable');
  } finally {
    await ccpPool.stop(), await pcp.stop(), await rcp.stop(), await env.close();
  }
});

test('two CCP processes on one pool: one drives the purge, the other hands over its expiries and takes over when it stops', async () => {
  const env = await pools();
  const second = await startCcp(env.bus, env.store, env.log.child({ process: 2 }));
  assert.ok(env.log.lines.some((l) => l.event === 'ccp.purge.standby' && l.fields?.process === 2), 'the second process stands by');
  const deleted = await collectEvents<{ reason: string; emaid: string }>(env.bus, 'ccp.contract.deleted');
  // Several short-lived contracts: the queue group spreads the puts over both processes.
  for (let i = 1; i <= 4; i++) {
    const emaid = `DEOPNQ0000000${i}`;
    const issued = await issueCertificate({ role: 'contract', subject: { commonName: emaid }, issuer: pki.authorities['mo-sub-ca-2'], notBefore: new Date(Date.now() - 60_000), validityDays: 62_000 / 86_400_000 });
    await store(env, { ...pki.contracts[0], certificate: issued.certificate, keys: issued.keys!, chain: [issued.certificate, ...pki.contracts[0].chain.slice(1)], identifier: emaid }, `q${i}`);
  }
  for (let i = 1; i <= 4; i++) assert.is((await deleted.next((e) => e.emaid === `DEOPNQ0000000${i}`)).reason, 'expired');
  await second.stop();
  await env.stop();
});

test.run();
