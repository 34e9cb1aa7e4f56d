// RCP: admins write, everyone reads, non-roots are refused, and roots leave the pool at their
// deadline (expiry or revocation) with an event each, also across a restart.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { issueCertificate, type RoleName } from '../../protocols/pki/index.ts';
import { rcpInterface } from '../../protocols/catalogue/rcp.ts';
import type { Caller } from '../../protocols/catalogue/caller.ts';
import { requestSubjectReply } from '../../actors/bus/typed.ts';
import { startRcp } from '../../actors/participants/rcp.ts';
import { bytesToBase64 } from '../../actors/pools/common.ts';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectEvents, openEmbedded, rejectsWith } from './helpers.ts';
import { withCleanup } from '../harness/cleanup.ts';
import { ManualClock } from '../harness/manual-clock.ts';

const admin: Caller = { role: 'admin', prefixes: [] };
const cpo: Caller = { role: 'cpo', prefixes: [] };
const oem: Caller = { role: 'oem', prefixes: ['WMI'] };
const { put, list, get, revoke, delete: remove } = rcpInterface.requests;
const DAY = 86_400_000;

async function root(role: RoleName, commonName: string, lifetimeMs = 365 * DAY, from = Date.now()) {
  const notBefore = new Date(from - DAY);
  const issued = await issueCertificate({ role, subject: { commonName, organization: 'OpenPnC Test' }, notBefore, validityDays: (DAY + lifetimeMs) / DAY });
  return { ...issued, der: bytesToBase64(issued.certificate.rawData) };
}

test('admins add roots, every role reads them, a repeated put keeps the id', async () => {
  const env = await openEmbedded();
  const rcp = await startRcp(env.bus, env.store, env.log);
  const added = await collectEvents<{ root: { rootCertificateId: string } }>(env.bus, 'rcp.root.added');
  const v2g = await root('v2gRoot', 'V2G Root CA');
  const mo = await root('moRoot', 'MO Root CA');
  const oemRoot = await root('oemRoot', 'OEM Root CA');
  const first = await requestSubjectReply(env.as(admin), put, { caCertificate: v2g.der, rootType: 'V2G' });
  assert.ok(first.created);
  assert.match(first.root.rootCertificateId, /^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$/);
  assert.is(first.root.rootIssuerSerialNumber, v2g.certificate.serialNumber.toLowerCase());
  assert.is(first.root.commonName, 'V2G Root CA');
  await requestSubjectReply(env.as(admin), put, { caCertificate: mo.der, rootType: 'MO' });
  await requestSubjectReply(env.as(admin), put, { caCertificate: oemRoot.der, rootType: 'OEM' });
  const again = await requestSubjectReply(env.as(admin), put, { caCertificate: v2g.der, rootType: 'V2G' });
  assert.not.ok(again.created);
  assert.is(again.root.rootCertificateId, first.root.rootCertificateId);
  assert.is((await added.next((e) => e.root.rootCertificateId === first.root.rootCertificateId)).root.rootCertificateId, first.root.rootCertificateId);

  for (const who of [cpo, oem, admin]) assert.is((await requestSubjectReply(env.as(who), list, {})).roots.length, 3);
  const oems = await requestSubjectReply(env.as(cpo), list, { rootType: 'OEM' });
  assert.equal(oems.roots.map((r) => r.commonName), ['OEM Root CA']);
  assert.is((await requestSubjectReply(env.as(cpo), get, { rootCertificateId: first.root.rootCertificateId })).root.caCertificate, v2g.der);
  await rejectsWith(requestSubjectReply(env.as(cpo), get, { rootCertificateId: '00000000-0000-0000-0000-000000000000' }), 'RootNotFound');
  await rcp.stop();
  await env.close();
});

/** A self-signed CA made by the OpenSSL CLI with the given key options, as base64 DER. */
function opensslRoot(commonName: string, keyOptions: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'ru-rcp-root-'));
  try {
    execFileSync('openssl', ['req', '-x509', ...keyOptions, '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.der'), '-outform', 'DER',
      '-subj', `/CN=${commonName}/O=OpenPnC Test`, '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], { stdio: 'pipe' });
    return readFileSync(join(dir, 'cert.der')).toString('base64');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('signatureAlgorithm is read from the root\'s key, not assumed', async () => {
  const env = await openEmbedded();
  const rcp = await startRcp(env.bus, env.store, env.log);
  try {
    const p256 = await root('v2gRoot', 'P-256 Root');
    const cases = [
      { der: p256.der, expected: 'secp256r1' },
      { der: opensslRoot('P-521 Root', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-521']), expected: 'secp521r1' },
      { der: opensslRoot('Ed448 Root', ['-newkey', 'ed448']), expected: 'ed448' },
      { der: opensslRoot('P-384 Root', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384']), expected: undefined },
      // A serial whose hex has an odd number of digits (0x0abc shows as abc) is a valid root too.
      { der: opensslRoot('Odd Serial Root', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-set_serial', '0x0abc']), expected: 'secp256r1', serial: 'abc' },
    ];
    for (const { der, expected, serial } of cases as { der: string; expected?: string; serial?: string }[]) {
      const { root: stored } = await requestSubjectReply(env.as(admin), put, { caCertificate: der, rootType: 'V2G' });
      assert.is(stored.signatureAlgorithm, expected, stored.commonName);
      if (serial) assert.is(stored.rootIssuerSerialNumber, serial);
      assert.is((await requestSubjectReply(env.as(cpo), get, { rootCertificateId: stored.rootCertificateId })).root.signatureAlgorithm, expected);
    }
  } finally {
    await rcp.stop();
    await env.close();
  }
});

test('only admins write; sub-CAs and garbage are refused', async () => {
  const env = await openEmbedded();
  const rcp = await startRcp(env.bus, env.store, env.log);
  const v2g = await root('v2gRoot', 'V2G Root CA');
  for (const who of [cpo, oem, { role: 'mo', prefixes: ['DEABC'] } as Caller, { role: 'cps', prefixes: [] } as Caller]) {
    await rejectsWith(requestSubjectReply(env.as(who), put, { caCertificate: v2g.der, rootType: 'V2G' }), 'Forbidden');
  }
  const { root: stored } = await requestSubjectReply(env.as(admin), put, { caCertificate: v2g.der, rootType: 'V2G' });
  await rejectsWith(requestSubjectReply(env.as(oem), remove, { rootCertificateId: stored.rootCertificateId }), 'Forbidden');
  await rejectsWith(requestSubjectReply(env.as(cpo), revoke, { rootCertificateId: stored.rootCertificateId }), 'Forbidden');
  const sub = await issueCertificate({
    role: 'cpoSubCa1',
    subject: { commonName: 'CPO Sub1 CA' },
    issuer: { role: 'v2gRoot', certificate: v2g.certificate, privateKey: v2g.keys!.privateKey },
  });
  await rejectsWith(requestSubjectReply(env.as(admin), put, { caCertificate: bytesToBase64(sub.certificate.rawData), rootType: 'V2G' }), 'NotARoot');
  await rejectsWith(requestSubjectReply(env.as(admin), put, { caCertificate: 'AAAAAAAA', rootType: 'V2G' }), 'InvalidCertificate');
  // A `caller` in the payload is not an identity: the CPO stays a CPO [S2].
  // A claimed identity in the payload is no field of the request at all; without it the CPO is still no admin.
  await rejectsWith(requestSubjectReply(env.as(cpo), put, { caller: admin, caCertificate: v2g.der, rootType: 'V2G' } as never), 'InvalidPayload');
  await rejectsWith(requestSubjectReply(env.as(cpo), put, { caCertificate: v2g.der, rootType: 'V2G' }), 'Forbidden');
  assert.is((await requestSubjectReply(env.as(cpo), list, {})).roots.length, 1);
  await rcp.stop();
  await env.close();
});

test('an expiring root is served until its notAfter and purged then; a revoked one at once, a deleted one at the call', withCleanup(async (defer) => {
  // The pool's clock is the test's: it moves past the notAfter without waiting, so no step depends on the machine's speed.
  let now = Date.now();
  const env = await openEmbedded();
  defer(() => env.close());
  const rcp = await startRcp(env.bus, env.store, env.log, () => now);
  defer(() => rcp.stop());
  const purged = await collectEvents<{ rootCertificateId: string; reason: string; purgedAt: string }>(env.bus, 'rcp.root.purged');
  defer(() => purged.stop());
  const shortLived = await root('moRoot', 'Short MO Root', 3_600_000); // the host's real timer stays an hour away
  const revoked = await root('v2gRoot', 'Revoked V2G Root');
  const deleted = await root('oemRoot', 'Deleted OEM Root');
  const { root: expiring } = await requestSubjectReply(env.as(admin), put, { caCertificate: shortLived.der, rootType: 'MO' });
  const { root: toRevoke } = await requestSubjectReply(env.as(admin), put, { caCertificate: revoked.der, rootType: 'V2G' });
  const { root: toDelete } = await requestSubjectReply(env.as(admin), put, { caCertificate: deleted.der, rootType: 'OEM' });

  await requestSubjectReply(env.as(admin), revoke, { rootCertificateId: toRevoke.rootCertificateId });
  assert.is((await purged.next((e) => e.rootCertificateId === toRevoke.rootCertificateId)).reason, 'revoked');
  await requestSubjectReply(env.as(admin), remove, { rootCertificateId: toDelete.rootCertificateId });
  assert.is((await purged.next((e) => e.rootCertificateId === toDelete.rootCertificateId)).reason, 'deleted');

  now = Date.parse(expiring.validTo) - 1;
  await rcp.purgeNow();
  assert.is((await requestSubjectReply(env.as(cpo), list, {})).roots.length, 1, 'the expiring root is still served before its deadline');
  now = Date.parse(expiring.validTo);
  await rcp.purgeNow();
  const event = await purged.next((e) => e.rootCertificateId === expiring.rootCertificateId);
  assert.is(event.reason, 'expired');
  assert.is(event.purgedAt, expiring.validTo, 'purged as of its notAfter, not before');
  assert.is((await requestSubjectReply(env.as(cpo), list, {})).roots.length, 0);
  assert.is(purged.events.length, 3, 'one event per root');
}));

test('the purge deadline survives a restart', withCleanup(async (defer) => {
  // Both processes run on the test's clock: nothing expires while the first one is up, one root expires
  // while it is down, and the other only when the test moves time past it, so the deadline the second
  // process re-armed from the store is what purges it, however slow the machine.
  const clock = new ManualClock();
  const first = await openEmbedded();
  let rcp = await startRcp(first.bus, first.store, first.log, clock);
  const whileDown = await root('moRoot', 'Expires While Down', 1_000, clock.now());
  const afterRestart = await root('oemRoot', 'Expires After Restart', 2_500, clock.now());
  const { root: a } = await requestSubjectReply(first.as(admin), put, { caCertificate: whileDown.der, rootType: 'MO' });
  const { root: b } = await requestSubjectReply(first.as(admin), put, { caCertificate: afterRestart.der, rootType: 'OEM' });
  assert.ok(Date.parse(a.validTo) < Date.parse(b.validTo));
  await rcp.stop();
  await first.close(true);
  defer(() => rmSync(first.dir, { recursive: true, force: true }));
  clock.advance(Date.parse(a.validTo) - clock.now() + 1);

  const second = await openEmbedded(first.dir);
  defer(() => second.close(true));
  const purged = await collectEvents<{ rootCertificateId: string; reason: string; purgedAt: string }>(second.bus, 'rcp.root.purged');
  rcp = await startRcp(second.bus, second.store, second.log, clock);
  defer(() => rcp.stop());
  assert.is((await purged.next((e) => e.rootCertificateId === a.rootCertificateId)).reason, 'expired');
  const served = (await requestSubjectReply(second.as(cpo), list, {})).roots.map((r) => r.rootCertificateId);
  assert.equal(served, [b.rootCertificateId], 'what expired while down is gone after the restart; the other root is still served');
  assert.not.ok(purged.events.some((e) => e.rootCertificateId === b.rootCertificateId), 'not purged before its notAfter');

  clock.advance(Date.parse(b.validTo) - clock.now());
  const bPurged = await purged.next((e) => e.rootCertificateId === b.rootCertificateId);
  assert.is(bPurged.reason, 'expired');
  assert.is(bPurged.purgedAt, b.validTo, 'the re-armed deadline purged it at its notAfter');
}));

test.run();
