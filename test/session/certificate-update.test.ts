// ISO 15118-2 CertificateUpdate end to end through the back office: the MO renews a contract (new
// certificate for the same EMAID, key encrypted for the current contract certificate), the CPS signs,
// the CCP holds it; an EV whose contract nears expiry sends CertificateUpdateReq at the SECC, gets the
// renewed contract and charges with it. Bad requests get their ISO ResponseCode and the SECC serves on.
import 'reflect-metadata';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { randomBytes, webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from '@peculiar/x509';
import { duplexPair } from '../../actors/transport/duplex-pair.ts';
import type { StoryResult } from '../../actors/story/index.ts';
import type { SeccStation } from '../../actors/participants/secc/index.ts';
import type { Ev } from '../../actors/participants/ev/index.ts';
import type { TraceEntry } from '../../actors/participants/v2g/runner.ts';
import { requestSubjectReply } from '../../actors/bus/typed.ts';
import { updateRequestParts } from '../../actors/story/vehicle.ts';
import { backOffice, nearExpiry } from './helpers.ts';
import { moInterface } from '../../protocols/catalogue/mo.ts';
import { cpoInterface } from '../../protocols/catalogue/cpo.ts';
import { decodeExi, encodeExi } from '../../protocols/exi/index.ts';
import { createTestPki } from '../../protocols/pki/test-pki.ts';
import { emaidCheckDigit } from '../../protocols/identifiers/index.ts';
import type { CryptoKey } from '../../protocols/pki/keys.ts';

const DAY_MS = 86_400_000;
let story: StoryResult;
let secc: SeccStation;
let ev: Ev;
let admin: ReturnType<StoryResult['identities']['handle']>;
const trace: TraceEntry[] = [];
const dir = mkdtempSync(join(tmpdir(), 'openpnc-update-'));

test.before(async () => {
  story = await backOffice();
  // The vehicle's clock stands ten days before its contract expires.
  ({ admin, secc, ev } = await nearExpiry(story, 10, { trace: (entry) => trace.push(entry) }));
});
test.after(async () => {
  await story?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function session(plan: Parameters<Ev['charge']>[1] = {}) {
  trace.length = 0;
  const [charger, car] = duplexPair();
  const [seccOutput, evOutput] = await Promise.all([secc.serve(charger), ev.charge(car, { loopIntervalMs: 0, energyMode: 'AC_three_phase_core', targetSoc: ev.battery.soc + 0.2, ...plan })]);
  return { seccOutput, evOutput, received: trace.filter((e) => e.side === 'secc' && e.direction === 'in').map((e) => e.name) };
}

/** Sends a CertificateUpdateReq as the SECC forwards it (M02, action Update) and reads the ResponseCode of the EXI answer. */
async function updateCode(parts: { body: Record<string, unknown>; signature: Record<string, unknown> }): Promise<string> {
  const exi = encodeExi('iso2', { V2G_Message: { Header: { SessionID: randomBytes(8).toString('hex'), Signature: parts.signature }, Body: { CertificateUpdateReq: parts.body } } });
  const answer = await requestSubjectReply(admin, cpoInterface.requests.installContract, { action: 'Update', exiRequest: Buffer.from(exi).toString('base64') });
  assert.is(answer.status, 'Accepted', answer.statusInfo?.additionalInfo);
  const { document } = decodeExi('iso2', Buffer.from(answer.exiResponse, 'base64'));
  return String((document as { V2G_Message: { Body: { CertificateUpdateRes: { ResponseCode: string } } } }).V2G_Message.Body.CertificateUpdateRes.ResponseCode);
}

const pemOf = (base64: string) => `-----BEGIN CERTIFICATE-----\n${base64.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
const openssl = (...args: string[]) => spawnSync('openssl', args, { encoding: 'utf8' });

test('no renewal in the CCP yet: FAILED_NoCertificateAvailable at the EV, the session ends, the next one charges with the current contract', async () => {
  assert.ok(await ev.contracts.renewalDue(30 * DAY_MS), 'ten days left: within the renewal window');
  const before = await ev.contracts.valid();
  const refused = await session();
  assert.is(refused.evOutput.outcome, 'failed');
  assert.equal(refused.evOutput.last, { name: 'CertificateUpdateRes', code: 'FAILED_NoCertificateAvailable' });
  assert.ok(refused.received.includes('CertificateUpdateReq'));
  assert.not.ok(refused.received.includes('PaymentDetailsReq'));
  // The refusal is remembered: the SECC serves the next session, which charges without an update.
  assert.not.ok(await ev.contracts.renewalDue(30 * DAY_MS));
  const charged = await session();
  assert.is(charged.evOutput.outcome, 'completed', charged.evOutput.reason);
  assert.not.ok(charged.received.includes('CertificateUpdateReq'));
  assert.is((await ev.contracts.valid())?.certificate, before?.certificate);
});

test('the MO renews, the EV near expiry gets the renewed contract by CertificateUpdate and charges with it', async () => {
  const old = (await ev.contracts.valid())!;
  const renewed = await requestSubjectReply(admin, moInterface.requests.renew, { emaid: story.contract.emaid! });
  assert.is(renewed.status, 'installed');
  assert.ok(renewed.renewedCertificate, 'the CCP holds the renewal');
  const { evOutput, seccOutput, received } = await session({ updateContract: true });
  assert.is(evOutput.outcome, 'completed', evOutput.reason);
  assert.is(seccOutput.outcome, 'terminated');
  assert.is(evOutput.emaid, story.contract.emaid);
  assert.ok(received.indexOf('CertificateUpdateReq') >= 0 && received.indexOf('CertificateUpdateReq') < received.indexOf('PaymentDetailsReq'));
  assert.not.ok(received.includes('CertificateInstallationReq'));
  assert.ok(received.includes('AuthorizationReq') && received.includes('MeteringReceiptReq'), 'authorized and receipted with the new contract key');
  const now = (await ev.contracts.valid())!;
  assert.is.not(now.certificate, old.certificate);
  assert.is(Buffer.from(now.certificate, 'hex').toString('base64'), renewed.renewedCertificate);
  assert.is(now.emaid, old.emaid);
  const notAfter = (hex: string) => new X509Certificate(Buffer.from(hex, 'hex')).notAfter.getTime();
  assert.ok(notAfter(now.certificate) > notAfter(old.certificate), 'the renewed certificate lasts longer');

  // OpenSSL: the new certificate chains to the MO root, and its CN is the same EMAID.
  const { certificates: [sub2, sub1, root] } = await requestSubjectReply(admin, moInterface.requests.ca, {});
  writeFileSync(join(dir, 'mo-root.pem'), pemOf(root));
  writeFileSync(join(dir, 'mo-subs.pem'), pemOf(sub2) + pemOf(sub1));
  writeFileSync(join(dir, 'renewed.pem'), pemOf(renewed.renewedCertificate!));
  const verified = openssl('verify', '-x509_strict', '-CAfile', join(dir, 'mo-root.pem'), '-untrusted', join(dir, 'mo-subs.pem'), join(dir, 'renewed.pem'));
  assert.is(verified.status, 0, verified.stderr + verified.stdout);
  const subject = openssl('x509', '-in', join(dir, 'renewed.pem'), '-noout', '-subject', '-nameopt', 'RFC2253');
  assert.match(subject.stdout, new RegExp(`CN=${story.contract.emaid}`));
});

test('a renewal is served once per certificate: the renewed contract has none, FAILED_NoCertificateAvailable', async () => {
  const { evOutput } = await session({ updateContract: true });
  assert.equal(evOutput.last, { name: 'CertificateUpdateRes', code: 'FAILED_NoCertificateAvailable' });
});

test('bad CertificateUpdateReqs: wrong key, chain outside the MO roots, eMAID mismatch; the SECC keeps serving', async () => {
  await requestSubjectReply(admin, moInterface.requests.renew, { emaid: story.contract.emaid! });
  const contract = (await ev.contracts.valid())!;
  const key = await ev.contracts.signingKey();
  assert.is(await updateCode(await updateRequestParts(story.vehicle, contract, key)), 'OK', 'the well-formed request is answered OK');

  const stranger = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']) as { privateKey: CryptoKey };
  assert.is(await updateCode(await updateRequestParts(story.vehicle, contract, stranger.privateKey)), 'FAILED_SignatureError');

  const foreign = (await createTestPki()).contracts[0];
  const foreignChain = { emaid: foreign.certificate.subjectName.getField('CN')[0], certificate: Buffer.from(foreign.certificate.rawData).toString('hex'), subCertificates: foreign.chain.slice(1).map((c) => Buffer.from(c.rawData).toString('hex')) };
  assert.is(await updateCode(await updateRequestParts(story.vehicle, foreignChain, foreign.keys.privateKey)), 'FAILED_CertChainError');

  const other14 = `${contract.emaid.slice(0, 5)}${contract.emaid[5] === 'X' ? 'Y' : 'X'}${contract.emaid.slice(6, 14)}`;
  assert.is(await updateCode(await updateRequestParts(story.vehicle, { ...contract, emaid: `${other14}${emaidCheckDigit(other14)}` }, key)), 'FAILED_CertChainError');

  // The SECC relays the backend's answers and serves the next EV: this one takes its renewal.
  const { evOutput } = await session({ updateContract: true });
  assert.is(evOutput.outcome, 'completed', evOutput.reason);
});

test('a terminated contract: FAILED_ContractCanceled', async () => {
  const contract = (await ev.contracts.valid())!;
  const key = await ev.contracts.signingKey();
  await requestSubjectReply(admin, moInterface.requests.terminate, { emaid: story.contract.emaid! });
  assert.is(await updateCode(await updateRequestParts(story.vehicle, contract, key)), 'FAILED_ContractCanceled');
  const { evOutput, seccOutput } = await session({ updateContract: true });
  assert.equal(evOutput.last, { name: 'CertificateUpdateRes', code: 'FAILED_ContractCanceled' });
  assert.is(seccOutput.outcome, 'failed');
});

test.run();
