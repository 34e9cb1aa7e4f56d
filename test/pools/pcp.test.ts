// PCP: chains are validated against the RCP's OEM roots, an OEM writes only its own WMI, MOs read,
// deletion and expiry cascade to the CCP through the durable work queue.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestPki, issueCertificate, type TestPki } from '../../protocols/pki/index.ts';
import { pcpInterface, vehicleDeletedWork } from '../../protocols/catalogue/pcp.ts';
import { rcpInterface } from '../../protocols/catalogue/rcp.ts';
import type { Caller } from '../../protocols/catalogue/caller.ts';
import { consumeWork, requestSubjectReply } from '../../actors/bus/typed.ts';
import { startRcp } from '../../actors/participants/rcp.ts';
import { startPcp } from '../../actors/participants/pcp.ts';
import { bytesToBase64 } from '../../actors/pools/common.ts';
import type { RunningPool } from '../../actors/pools/common.ts';
import { eventually } from '../bus/contract.ts';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { EMBEDDED_STORE_FILE } from '../../actors/store/embedded.ts';
import { collectEvents, openEmbedded, rejectsWith, type Embedded } from './helpers.ts';

const admin: Caller = { role: 'admin', prefixes: [] };
const oem: Caller = { role: 'oem', prefixes: ['OPN'] };
const otherOem: Caller = { role: 'oem', prefixes: ['XYZ'] };
const mo: Caller = { role: 'mo', prefixes: ['DEOPN'] };
const { put, putBatch, get, lookup, delete: remove } = pcpInterface.requests;
const b64 = (c: { rawData: ArrayBuffer }) => bytesToBase64(c.rawData);

let pki: TestPki;

async function pools(clock?: () => number): Promise<Embedded & { stop(): Promise<void>; pcp: RunningPool }> {
  const env = await openEmbedded();
  const rcp = await startRcp(env.bus, env.store, env.log);
  const pcp = await startPcp(env.bus, env.store, env.log, clock);
  await requestSubjectReply(env.as(admin), rcpInterface.requests.put, { caCertificate: b64(pki.trustAnchors.oem[0]), rootType: 'OEM' });
  return Object.assign(env, { pcp, stop: async () => (await pcp.stop(), await rcp.stop(), await env.close()) });
}

function upload(chain: readonly { rawData: ArrayBuffer }[]) {
  const [leaf, sub2, sub1] = chain;
  return { vehicleCertificate: b64(leaf), subCA2Certificate: b64(sub2), subCA1Certificate: b64(sub1) };
}

test.before(async () => {
  pki = await createTestPki({ vehicles: 2 });
});

test('an OEM stores a valid chain for its WMI; MOs and the owner read it', async () => {
  const env = await pools();
  const vehicle = pki.provisioning[0];
  const stored = await requestSubjectReply(env.as(oem), put, { ...upload(vehicle.chain) });
  assert.ok(stored.created);
  assert.is(stored.chain.pcid, vehicle.identifier);
  assert.is(stored.chain.rootIssuerSerialNumber, pki.trustAnchors.oem[0].serialNumber.toLowerCase());
  assert.is(stored.chain.rootIssuerDistinguishedName, pki.trustAnchors.oem[0].subject);
  const again = await requestSubjectReply(env.as(oem), put, { pcid: vehicle.identifier, ...upload(vehicle.chain) });
  assert.not.ok(again.created, 'a second upload replaces');
  for (const who of [mo, oem]) assert.is((await requestSubjectReply(env.as(who), get, { pcid: vehicle.identifier! })).chain.vehicleCertificate, b64(vehicle.certificate));
  assert.ok((await requestSubjectReply(env.as(mo), lookup, { pcid: vehicle.identifier! })).exists);
  assert.not.ok((await requestSubjectReply(env.as(mo), lookup, { pcid: pki.provisioning[1].identifier! })).exists);
  await rejectsWith(requestSubjectReply(env.as(mo), get, { pcid: pki.provisioning[1].identifier! }), 'VehicleNotFound');
  await env.stop();
});

test('puts that complete together share one stored event naming each PCID (one signature for a bulk upload\'s commit)', async () => {
  const env = await pools();
  const stored = await collectEvents<{ pcids: string[] }>(env.bus, pcpInterface.events.stored.subject);
  const [first, second] = pki.provisioning;
  await Promise.all([first, second].map((vehicle) => requestSubjectReply(env.as(oem), put, { ...upload(vehicle.chain) })));
  await stored.next((event) => event.pcids.length === 2);
  assert.equal(stored.events, [{ pcids: [first.identifier, second.identifier] }]);
  await requestSubjectReply(env.as(oem), put, { ...upload(first.chain) });
  await stored.next((event) => event.pcids.length === 1);
  assert.equal(stored.events.map((event) => event.pcids), [[first.identifier, second.identifier], [first.identifier]]);
  await stored.stop();
  await env.stop();
});

test('isolation: another WMI, an MO or a CPO cannot write; another OEM cannot read or delete', async () => {
  const env = await pools();
  const vehicle = pki.provisioning[0];
  await rejectsWith(requestSubjectReply(env.as(otherOem), put, { ...upload(vehicle.chain) }), 'Forbidden');
  await rejectsWith(requestSubjectReply(env.as(mo), put, { ...upload(vehicle.chain) }), 'Forbidden');
  await rejectsWith(requestSubjectReply(env.as({ role: 'cpo', prefixes: [] }), put, { ...upload(vehicle.chain) }), 'Forbidden');
  await requestSubjectReply(env.as(oem), put, { ...upload(vehicle.chain) });
  await rejectsWith(requestSubjectReply(env.as(otherOem), get, { pcid: vehicle.identifier! }), 'Forbidden');
  await rejectsWith(requestSubjectReply(env.as({ role: 'cpo', prefixes: [] }), get, { pcid: vehicle.identifier! }), 'Forbidden');
  await rejectsWith(requestSubjectReply(env.as(otherOem), remove, { pcid: vehicle.identifier! }), 'Forbidden');
  await rejectsWith(requestSubjectReply(env.as(mo), remove, { pcid: vehicle.identifier! }), 'Forbidden');
  assert.ok((await requestSubjectReply(env.as(mo), lookup, { pcid: vehicle.identifier! })).exists);
  await env.stop();
});

test('ingest validates the chain: foreign root, wrong order, missing sub-CA, PCID mismatch', async () => {
  const env = await pools();
  const foreign = await createTestPki();
  const foreignVehicle = foreign.provisioning[0];
  const rejected = await rejectsWith(requestSubjectReply(env.as(oem), put, { ...upload(foreignVehicle.chain) }), 'ChainInvalid');
  assert.match(rejected.message, /provisioning chain rejected/);
  const [leaf, sub2, sub1] = pki.provisioning[0].chain;
  await rejectsWith(requestSubjectReply(env.as(oem), put, { vehicleCertificate: b64(leaf), subCA2Certificate: b64(sub1), subCA1Certificate: b64(sub2) }), 'ChainInvalid');
  await rejectsWith(requestSubjectReply(env.as(oem), put, { vehicleCertificate: b64(leaf), subCA1Certificate: b64(sub1) }), 'ChainInvalid');
  await rejectsWith(requestSubjectReply(env.as(oem), put, { pcid: pki.provisioning[1].identifier, ...upload(pki.provisioning[0].chain) }), 'PcidMismatch');
  await rejectsWith(requestSubjectReply(env.as(oem), put, { vehicleCertificate: 'AAAA', subCA1Certificate: b64(sub1) }), 'InvalidCertificate');
  assert.not.ok((await requestSubjectReply(env.as(mo), lookup, { pcid: pki.provisioning[0].identifier! })).exists, 'nothing half-written');
  await env.stop();
});

test('a batch answers each certificate: stored, duplicate, malformed, another WMI, foreign chain; the others are stored in one stored event', async () => {
  const env = await pools();
  const stored = await collectEvents<{ pcids: string[] }>(env.bus, pcpInterface.events.stored.subject);
  const [first, second] = pki.provisioning;
  const [, sub2, sub1] = first.chain;
  const issuer = pki.authorities['oem-sub-ca-2'];
  const foreignWmi = await issueCertificate({ role: 'provisioning', subject: { commonName: 'XYZ00000000000001' }, issuer });
  // Signed by another PKI's Sub-CA 2 of the same name: the signature does not verify under ours.
  const foreign = await issueCertificate({ role: 'provisioning', subject: { commonName: 'OPNFOREIGN0000001' }, issuer: (await createTestPki()).authorities['oem-sub-ca-2'] });
  await requestSubjectReply(env.as(oem), put, { ...upload(second.chain) });
  const { results } = await requestSubjectReply(env.as(oem), putBatch, {
    subCA2Certificate: b64(sub2),
    subCA1Certificate: b64(sub1),
    vehicleCertificates: [b64(first.certificate), b64(second.certificate), b64(first.certificate), 'AAAA', b64(foreignWmi.certificate), b64(foreign.certificate)],
  });
  const codes = results.map((r) => ('error' in r ? r.error.code : r.created ? 'created' : 'replaced'));
  assert.equal(codes, ['created', 'replaced', 'DuplicatePcid', 'InvalidCertificate', 'Forbidden', 'ChainInvalid']);
  assert.equal(results.map((r) => r.pcid), [first.identifier, second.identifier, first.identifier, undefined, 'XYZ00000000000001', 'OPNFOREIGN0000001']);
  assert.is('created' in results[0] && results[0].fingerprint, (await requestSubjectReply(env.as(mo), get, { pcid: first.identifier! })).chain.fingerprint);
  // What a put would have stored, sub-CAs included.
  assert.equal((await requestSubjectReply(env.as(mo), get, { pcid: second.identifier! })).chain.subCA2Certificate, b64(sub2));
  await stored.next((event) => event.pcids.length === 2);
  assert.equal(stored.events.at(-1), { pcids: [first.identifier, second.identifier] });
  for (const pcid of ['XYZ00000000000001', 'OPNFOREIGN0000001']) assert.not.ok((await requestSubjectReply(env.as(mo), lookup, { pcid })).exists, `${pcid} not written`);
  // The role, and the shared sub-CAs, are the request's.
  await rejectsWith(requestSubjectReply(env.as(mo), putBatch, { subCA1Certificate: b64(sub1), vehicleCertificates: [b64(first.certificate)] }), 'Forbidden');
  await rejectsWith(requestSubjectReply(env.as(oem), putBatch, { subCA1Certificate: 'AAAA', vehicleCertificates: [b64(first.certificate)] }), 'InvalidCertificate');
  await stored.stop();
  await env.stop();
});

test('a store write that fails fails only its certificate in a batch', async () => {
  const env = await pools();
  const [first, second] = pki.provisioning;
  const [, sub2, sub1] = first.chain;
  // The second chain's write is refused inside the commit (a SQLite trigger, set on a connection of its
  // own), as a constraint or a broken row would be.
  const failing = second.identifier!;
  const db = new Database(join(env.dir, EMBEDDED_STORE_FILE));
  db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON "c_pcp.chains" WHEN NEW.id = '${failing}' BEGIN SELECT RAISE(ABORT, 'refused'); END`);
  db.close();
  const { results } = await requestSubjectReply(env.as(oem), putBatch, { subCA2Certificate: b64(sub2), subCA1Certificate: b64(sub1), vehicleCertificates: [b64(first.certificate), b64(second.certificate)] });
  assert.ok('created' in results[0], JSON.stringify(results[0]));
  assert.ok('error' in results[1], JSON.stringify(results[1]));
  assert.ok((await requestSubjectReply(env.as(mo), lookup, { pcid: first.identifier! })).exists);
  assert.not.ok((await requestSubjectReply(env.as(mo), lookup, { pcid: failing })).exists, 'nothing half-written');
  await env.stop();
});

test('deleting a vehicle hands its contracts to the CCP through the durable queue, once', async () => {
  const env = await pools();
  const cascaded: string[] = [];
  await consumeWork(env.bus, vehicleDeletedWork, async (work) => void cascaded.push(work.pcid), { durable: 'test-ccp' });
  const purged = await collectEvents<{ pcid: string; reason: string }>(env.bus, 'pcp.chain.purged');
  const vehicle = pki.provisioning[0];
  await requestSubjectReply(env.as(oem), put, { ...upload(vehicle.chain) });
  await requestSubjectReply(env.as(oem), remove, { pcid: vehicle.identifier! });
  assert.is((await purged.next((e) => e.pcid === vehicle.identifier)).reason, 'deleted');
  await rejectsWith(requestSubjectReply(env.as(oem), remove, { pcid: vehicle.identifier! }), 'VehicleNotFound');
  await eventually('the cascade to the CCP queue', () => cascaded.length > 0);
  assert.equal(cascaded, [vehicle.identifier]);
  await env.stop();
});

test('an expiring provisioning chain is served until its notAfter, then purged, and cascades', async () => {
  // The PCP's clock is the test's: it moves to the notAfter instead of racing a short-lived certificate.
  let now = Date.now();
  const env = await pools(() => now);
  try {
    const cascaded: string[] = [];
    await consumeWork(env.bus, vehicleDeletedWork, async (work) => void cascaded.push(work.pcid), { durable: 'test-ccp' });
    const purged = await collectEvents<{ pcid: string; reason: string }>(env.bus, 'pcp.chain.purged');
    const [, sub2, sub1] = pki.provisioning[0].chain;
    const pcid = 'OPNSHORTLIVED0001';
    const expiring = await issueCertificate({ role: 'provisioning', subject: { commonName: pcid }, issuer: pki.authorities['oem-sub-ca-2'], notBefore: new Date(now - 60_000), validityDays: 3_660_000 / 86_400_000 });
    await requestSubjectReply(env.as(oem), put, { ...upload([expiring.certificate, sub2, sub1]) });
    now = expiring.certificate.notAfter.getTime() - 1;
    await env.pcp.purgeNow();
    assert.ok((await requestSubjectReply(env.as(mo), lookup, { pcid })).exists, 'served before its notAfter');
    now = expiring.certificate.notAfter.getTime();
    await env.pcp.purgeNow();
    assert.is((await purged.next((e) => e.pcid === pcid)).reason, 'expired');
    assert.not.ok((await requestSubjectReply(env.as(mo), lookup, { pcid })).exists);
    await eventually('the cascade to the CCP queue', () => cascaded.length > 0);
    assert.equal(cascaded, [pcid]);
  } finally {
    await env.stop();
  }
});

test.run();
