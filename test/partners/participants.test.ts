// The partner participants on the embedded defaults, after the story has set the ecosystem up:
// contract termination with OCSP, vehicle deletion cascade, the CPO backend's duties, CPS checks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import 'reflect-metadata';
import { X509Certificate } from '@peculiar/x509';
import { runStory, type StoryResult } from '../../actors/story/index.ts';
import { enqueueWork, requestSubjectReply } from '../../actors/bus/typed.ts';
import { makeCsr, certificateOf, ocspUrlOf } from '../../actors/participants/authority.ts';
import { buildOcspRequest, certificateHashDataOf, verifyOcspResponse } from '../../protocols/pki/ocsp.ts';
import { ocspSubject } from '../../protocols/catalogue/fields.ts';
import { pcidCheckCharacter } from '../../actors/participants/oem.ts';
import { buildInstallationRequest, produceVehicle } from '../../actors/story/vehicle.ts';
import { ccpInterface } from '../../protocols/catalogue/ccp.ts';
import { cpoInterface } from '../../protocols/catalogue/cpo.ts';
import { cpsInterface } from '../../protocols/catalogue/cps.ts';
import { moInterface } from '../../protocols/catalogue/mo.ts';
import { oemInterface } from '../../protocols/catalogue/oem.ts';
import { pcpInterface } from '../../protocols/catalogue/pcp.ts';
import { v2gRootInterface } from '../../protocols/catalogue/v2g-root.ts';
import { PncError } from '../../protocols/errors.ts';
import { validateChain } from '../../protocols/pki/index.ts';
import { verifyMessageSignature } from '../../protocols/xmldsig/index.ts';
import { storyParticipants } from './helpers.ts';

let story: StoryResult;
const MO = { role: 'mo' as const, prefixes: ['DEOPN'] };
const OEM = { role: 'oem' as const, prefixes: ['OPN'] };
const OPERATOR = { role: "admin" as const, prefixes: [] };
// What the host gave each story actor: handles that sign as an identity of the story's roster.
const as = (caller: { role: "admin" | "mo" | "oem" | "cpo" | "cps"; prefixes: string[] }) => story.identities.handle(story.bus, caller.role === "admin" ? "admin" : `${caller.role}-${caller.prefixes.join("-").toLowerCase()}`, caller);

const pem = (der: string) => certificateOf(der).toString('pem');

async function rejects(promise: Promise<unknown>, code: string): Promise<PncError> {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, PncError);
    assert.is((error as PncError).code, code);
    return error as PncError;
  }
  throw new assert.Assertion({ message: `expected ${code}`, operator: 'rejects', expects: code, actual: 'resolved' });
}

async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > until) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

test.before(async () => {
  story = await runStory({ participants: storyParticipants(), print: () => {} });
});
test.after(async () => story.stop());

test('CPO C07 accepts the contract chain, and after termination OCSP at the MO reports it revoked; the CCP no longer installs it', async () => {
  const { contract } = story;
  const bus = as(OPERATOR);
  const { certificates: moCa } = await requestSubjectReply(bus, moInterface.requests.ca, {});
  const chainPem = [contract.contractCertificate!, moCa[0], moCa[1]].map(pem).join('');
  const before = await requestSubjectReply(bus, cpoInterface.requests.validateContract, { certificate: chainPem });
  assert.is(before.certificateStatus, 'Accepted');
  assert.is(before.emaid, contract.emaid);

  // M06: the station's OCSP hash data, answered by the MO's responder through the CPO backend.
  const ocspRequestData = { ...certificateHashDataOf(certificateOf(contract.contractCertificate!), certificateOf(moCa[0]), 'SHA256'), hashAlgorithm: 'SHA256' as const, responderURL: ocspUrlOf('mo') };
  const ocspStatus = async () => {
    const answer = await requestSubjectReply(bus, cpoInterface.requests.certificateStatus, { ocspRequestData });
    assert.is(answer.status, 'Accepted');
    return verifyOcspResponse(new Uint8Array(Buffer.from(answer.ocspResult!, 'base64')), { certificate: certificateOf(contract.contractCertificate!), issuer: certificateOf(moCa[0]) }).status;
  };
  assert.is(await ocspStatus(), 'good');
  const unreachable = await requestSubjectReply(bus, cpoInterface.requests.certificateStatus, { ocspRequestData: { ...ocspRequestData, responderURL: 'http://ocsp.openpnc.test/nobody' } });
  assert.is(unreachable.status, 'Failed');
  // OCPP reason codes from the table, the PncError code whole in additionalInfo (issue 8: no codes cut to 20 characters).
  assert.is(unreachable.statusInfo?.reasonCode, 'InternalError');
  assert.ok(unreachable.statusInfo?.additionalInfo?.startsWith('NoResponders: '), unreachable.statusInfo?.additionalInfo);

  const terminated = await requestSubjectReply(bus, moInterface.requests.terminate, { emaid: contract.emaid! });
  assert.is(terminated.status, 'terminated');
  const after = await requestSubjectReply(bus, cpoInterface.requests.validateContract, { certificate: chainPem });
  assert.is(after.certificateStatus, 'CertificateRevoked');
  assert.is(await ocspStatus(), 'revoked');
  const listed = await requestSubjectReply(as(MO), ccpInterface.requests.list, { emaid: contract.emaid });
  assert.is(listed.contracts.length, 0);

  // The vehicle asks with its own key; the OEM's record of it carries none.
  const record = await requestSubjectReply(bus, oemInterface.requests.getVehicle, { pcid: contract.pcid });
  assert.not.ok('provisioningKey' in record);
  const { vehicle } = story;
  const answer = await requestSubjectReply(bus, cpoInterface.requests.installContract, { exiRequest: Buffer.from(await buildInstallationRequest(vehicle)).toString('base64') });
  assert.is(answer.status, 'Failed');
  assert.is(answer.exiResponse, '');
  assert.ok(answer.statusInfo?.reasonCode);
  const garbage = await requestSubjectReply(bus, cpoInterface.requests.installContract, { exiRequest: Buffer.from('not EXI at all').toString('base64') });
  assert.equal([garbage.status, garbage.exiResponse], ['Failed', '']);
  assert.is(garbage.statusInfo?.reasonCode, 'InvalidValue');
  assert.match(garbage.statusInfo?.additionalInfo ?? '', /^Exi(DecodeError|Invalid): /);
  const update = await requestSubjectReply(bus, cpoInterface.requests.installContract, { action: 'Update', exiRequest: Buffer.from(await buildInstallationRequest(vehicle)).toString('base64') });
  // M02: an Update goes to the CCP, which reads only a CertificateUpdateReq.
  assert.equal([update.status, update.statusInfo?.reasonCode, update.statusInfo?.additionalInfo], ['Failed', 'InvalidValue', 'ExiInvalid: the EXI message is not a CertificateUpdateReq']);
  // Terminating twice is refused by the statechart, not silently repeated.
  await rejects(requestSubjectReply(bus, moInterface.requests.terminate, { emaid: contract.emaid! }), 'EventNotAccepted');
});

test('OEM vehicle deletion cascades through the PCP to the CCP and revokes the provisioning certificate', async () => {
  const bus = as(OPERATOR);
  const vehicle = await produceVehicle(bus, 'DELETEME000001');
  assert.is(vehicle.pcid, `OPNDELETEME000001${pcidCheckCharacter('OPNDELETEME000001')}`);
  await rejects(produceVehicle(bus, 'DELETEME000001'), 'VehicleExists');
  const changes: Array<{ emaid: string; status: string }> = [];
  const watching = await bus.subscribe(moInterface.events.contractChanged.subject, ({ payload }) => { changes.push(payload as { emaid: string; status: string }); });
  const contract = await requestSubjectReply(bus, moInterface.requests.conclude, { pcid: vehicle.pcid });
  await eventually(() => requestSubjectReply(bus, moInterface.requests.get, { emaid: contract.emaid }), (c) => c.status === 'installed');
  assert.is((await requestSubjectReply(as(OEM), ccpInterface.requests.list, { pcid: vehicle.pcid })).contracts.length, 1);

  const deleted = await requestSubjectReply(bus, oemInterface.requests.deleteVehicle, { pcid: vehicle.pcid });
  assert.equal(deleted, { pcid: vehicle.pcid, deleted: true });
  assert.is((await requestSubjectReply(as(OEM), pcpInterface.requests.lookup, { pcid: vehicle.pcid })).exists, false);
  const contracts = await eventually(() => requestSubjectReply(as(OEM), ccpInterface.requests.list, { pcid: vehicle.pcid }), (r) => r.contracts.length === 0);
  assert.is(contracts.contracts.length, 0);
  await rejects(requestSubjectReply(bus, oemInterface.requests.getVehicle, { pcid: vehicle.pcid }), 'UnknownVehicle');
  // The MO hears of the cascade and revokes the contract certificate.
  const ended = await eventually(() => requestSubjectReply(bus, moInterface.requests.get, { emaid: contract.emaid }), (c) => c.status === 'terminated');
  assert.is(ended.status, 'terminated');
  const { certificates: moCa } = await requestSubjectReply(bus, moInterface.requests.ca, {});
  const verdict = await requestSubjectReply(bus, cpoInterface.requests.validateContract, { certificate: [ended.contractCertificate!, moCa[0], moCa[1]].map(pem).join('') });
  assert.is(verdict.certificateStatus, 'CertificateRevoked');
  // The announcement follows the persisted snapshot; a read may see the live state a moment sooner.
  await eventually(async () => changes, (all) => all.some((c) => c.emaid === contract.emaid && c.status === 'terminated'));
  await watching.unsubscribe();
  // 'submitted' and 'installed' may cross on the bus: the CPS can be that quick.
  assert.equal(changes.filter((c) => c.emaid === contract.emaid).map((c) => c.status).sort(), ['installed', 'submitted', 'terminated']);
  // A new contract for the deleted vehicle fails at the PCP.
  await rejects(requestSubjectReply(bus, moInterface.requests.conclude, { pcid: vehicle.pcid }), 'UnknownVehicle');
});

test('oem.vehicle.produce refuses junk: an unknown key is InvalidPayload, 900 KB is PayloadTooLarge; no vehicle is made', async () => {
  const bus = as(OPERATOR);
  const pcid = `OPNJUNKJUNK000001${pcidCheckCharacter('OPNJUNKJUNK000001')}`;
  await rejects(bus.request(oemInterface.requests.produceVehicle.subject, { vehicleId: 'JUNKJUNK000001', junk: 'x' }), 'InvalidPayload');
  await rejects(bus.request(oemInterface.requests.produceVehicle.subject, { vehicleId: 'JUNKJUNK000001', junk: 'x'.repeat(900_000) }), 'PayloadTooLarge');
  await rejects(requestSubjectReply(bus, oemInterface.requests.getVehicle, { pcid }), 'UnknownVehicle');
  assert.is((await produceVehicle(bus, 'JUNKJUNK000001')).pcid, pcid, 'the same request without junk is served');
});

test('a mixed-case PCID, as real OEMs issue them, is found by the OEM, the PCP and the MO', async () => {
  const bus = as(OPERATOR);
  const vehicle = await produceVehicle(bus, 'MixedCase00042');
  assert.match(vehicle.pcid, /^OPNMixedCase00042/);
  assert.is((await requestSubjectReply(bus, oemInterface.requests.getVehicle, { pcid: vehicle.pcid })).pcid, vehicle.pcid);
  assert.ok((await requestSubjectReply(as(OEM), pcpInterface.requests.lookup, { pcid: vehicle.pcid })).exists);
  const contract = await requestSubjectReply(bus, moInterface.requests.conclude, { pcid: vehicle.pcid });
  assert.is(contract.pcid, vehicle.pcid);
  await eventually(() => requestSubjectReply(bus, moInterface.requests.get, { emaid: contract.emaid }), (c) => c.status === 'installed');
  assert.is((await requestSubjectReply(as(OEM), ccpInterface.requests.list, { pcid: vehicle.pcid })).contracts.length, 1);
  await rejects(requestSubjectReply(bus, oemInterface.requests.getVehicle, { pcid: vehicle.pcid.toUpperCase() }), 'UnknownVehicle');
});

test('CPO A02/A03 signs a SECC CSR with CPO Sub-CA 2 into a chain that validates to the V2G root; garbage is refused', async () => {
  const bus = as(OPERATOR);
  const { csr } = await makeCsr({ commonName: 'DE*OPN*E0001', organization: 'Open Plug&Charge CPO', domainComponent: 'CPO' });
  const signed = await requestSubjectReply(bus, cpoInterface.requests.signSeccCsr, { csr: Buffer.from(csr).toString('base64') });
  const chain = [signed.chain.certificate, ...signed.chain.subCertificates].map(certificateOf);
  assert.is(chain[0].subjectName.getField('CN')[0], 'DE*OPN*E0001');
  assert.is((signed.certificateChain.match(/BEGIN CERTIFICATE/g) ?? []).length, 3);
  const { certificates: [v2gRoot] } = await requestSubjectReply(bus, v2gRootInterface.requests.ca, {});
  const verdict = await validateChain(chain, { purpose: 'secc', roots: [certificateOf(v2gRoot)] });
  assert.ok(verdict.valid, verdict.reason);
  await rejects(requestSubjectReply(bus, cpoInterface.requests.signSeccCsr, { csr: Buffer.from('not a certificate request').toString('base64') }), 'CsrInvalid');
});

test('V2G root CA issues a Sub-CA 1 from a CSR, revokes only what it issued, and OCSP reports it', async () => {
  const bus = as(OPERATOR);
  const { csr } = await makeCsr({ commonName: 'Second CPO Sub-CA 1', organization: 'Other CPO' });
  // [S1] a Sub-CA 1 of a domain only for that domain's own participant: not the operator, not the other domain.
  for (const who of [OPERATOR, { role: 'cps' as const, prefixes: [] }]) {
    await rejects(requestSubjectReply(as(who), v2gRootInterface.requests.issueSubCa, { domain: 'cpo', csr: Buffer.from(csr).toString('base64') }), 'Forbidden');
  }
  const { certificate } = await requestSubjectReply(as({ role: 'cpo', prefixes: [] }), v2gRootInterface.requests.issueSubCa, { domain: 'cpo', csr: Buffer.from(csr).toString('base64') });
  const subCa = certificateOf(certificate);
  const { certificates: [rootDer] } = await requestSubjectReply(bus, v2gRootInterface.requests.ca, {});
  const root = certificateOf(rootDer);
  assert.is(subCa.issuer, root.subject);
  const ocsp = async () => {
    const { ocspResponse } = await requestSubjectReply(bus, ocspSubject('v2g-root'), { ocspRequest: Buffer.from(buildOcspRequest({ certificate: subCa, issuer: root }).der).toString('base64') });
    return verifyOcspResponse(new Uint8Array(Buffer.from(ocspResponse, 'base64')), { certificate: subCa, issuer: root }).status;
  };
  assert.is(await ocsp(), 'good');
  await requestSubjectReply(bus, v2gRootInterface.requests.revoke, { serialNumber: subCa.serialNumber.toLowerCase() });
  assert.is(await ocsp(), 'revoked');
  await rejects(requestSubjectReply(bus, v2gRootInterface.requests.revoke, { serialNumber: '0badc0ffee' }), 'UnknownCertificate');
  await rejects(requestSubjectReply(as({ role: 'cps', prefixes: [] }), v2gRootInterface.requests.issueSubCa, { domain: 'cps', csr: Buffer.from('garbage garbage').toString('base64') }), 'CsrInvalid');
  const tampered = Buffer.from(csr);
  tampered[tampered.length - 5] ^= 0xff;
  await rejects(requestSubjectReply(as({ role: 'cps', prefixes: [] }), v2gRootInterface.requests.issueSubCa, { domain: 'cps', csr: tampered.toString('base64') }), 'CsrInvalid');
});

test('CPO M05 serves the V2G and MO roots from the RCP', async () => {
  const { roots } = await requestSubjectReply(as(OPERATOR), cpoInterface.requests.roots, {});
  assert.equal(roots.map((r) => r.certificateType).sort(), ['MORootCertificate', 'V2GRootCertificate']);
  const onlyMo = await requestSubjectReply(as(OPERATOR), cpoInterface.requests.roots, { type: 'MORootCertificate' });
  assert.is(onlyMo.roots.length, 1);
  assert.ok(new X509Certificate(onlyMo.roots[0].certificate).subject.includes('MO Root CA'));
});

test('CPS signs contract data into four signed references and refuses a mismatching EMAID', async () => {
  const bus = as(OPERATOR);
  const vehicle = await produceVehicle(bus);
  const contract = await requestSubjectReply(bus, moInterface.requests.conclude, { pcid: vehicle.pcid });
  const { certificates: moCa } = await requestSubjectReply(bus, moInterface.requests.ca, {});
  const ccpBefore = await requestSubjectReply(as(OEM), ccpInterface.requests.list, { pcid: vehicle.pcid });
  const stored = await eventually(() => requestSubjectReply(bus, moInterface.requests.get, { emaid: contract.emaid }), (c) => c.status === 'installed');
  assert.is(stored.status, 'installed');
  const signer = await requestSubjectReply(bus, cpsInterface.requests.ca, {});
  // Re-sign the same (real) contract data without storing: the CCP is untouched.
  const request = {
    contractId: 'resign-check',
    pcid: vehicle.pcid,
    store: false,
    contractData: {
      emaid: contract.emaid!,
      contractSignatureCertChain: { certificate: contract.contractCertificate!, subCertificates: [moCa[0], moCa[1]] },
      dhPublicKey: Buffer.alloc(65, 4).toString('base64'),
      contractSignatureEncryptedPrivateKey: Buffer.alloc(48, 1).toString('base64'),
    },
  };
  // Only an MO signs up contracts, under its own EMAID prefix: not the operator, not another MO.
  await rejects(requestSubjectReply(bus, cpsInterface.requests.sign, request), 'Forbidden');
  await rejects(requestSubjectReply(as({ role: 'mo', prefixes: ['NLXYZ'] }), cpsInterface.requests.sign, request), 'Forbidden');
  const signed = await requestSubjectReply(as(MO), cpsInterface.requests.sign, request);
  assert.is(signed.stored, false);
  const references = (signed.signature as { SignedInfo: { Reference: Array<{ URI: string }> } }).SignedInfo.Reference.map((r) => r.URI);
  assert.equal(references, ['#id1', '#id2', '#id3', '#id4']);
  verifyMessageSignature({ V2G_Message: { Header: { SessionID: '00', Signature: signed.signature }, Body: { CertificateInstallationRes: { ResponseCode: 'OK', ...signed.body } } } }, certificateOf(signer.chain.certificate));
  assert.is((await requestSubjectReply(as(OEM), ccpInterface.requests.list, { pcid: vehicle.pcid })).contracts.length, Math.max(1, ccpBefore.contracts.length));
  await rejects(requestSubjectReply(as(MO), cpsInterface.requests.sign, { ...request, contractData: { ...request.contractData, emaid: 'DEOPN1234567890' } }), 'EmaidMismatch');
  await rejects(requestSubjectReply(as(MO), cpsInterface.requests.sign, { ...request, moId: 'NLXYZ' }), 'EmaidMismatch');
  await rejects(requestSubjectReply(as(MO), cpsInterface.requests.sign, { ...request, contractData: { ...request.contractData, dhPublicKey: Buffer.alloc(65, 2).toString('base64') } }), 'ContractKeyInvalid');

  // The same bad data as durable work: rejected with an event, dead-lettered, never stored.
  const rejected = new Promise<{ code: string; contractId: string }>((resolve) => {
    void bus.subscribe(cpsInterface.events.rejected.subject, ({ payload }) => resolve(payload as { code: string; contractId: string }));
  });
  const { store: _store, ...work } = { ...request, contractId: 'bad-work-1', contractData: { ...request.contractData, emaid: 'DEOPN1234567890' } };
  await enqueueWork(as(MO), cpsInterface.work.signing, work, { id: work.contractId });
  const event = await rejected;
  assert.equal(event.code, 'EmaidMismatch');
  assert.is(event.contractId, 'bad-work-1');
});

test.run();
