// "Certificates issued vs accounted for" (issue 13): every CA logs what it issues in its own store;
// `openpnc chaos` reads those logs and the holders' stores. A provisioning chain deleted from the PCP's
// store behind its back (lost-pool-entry.json) must be caught by that invariant, and by it alone.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { natsServerAvailable } from '../harness/nats.ts';
import { openpnc } from '../helpers/cli.ts';

const SCENARIOS = new URL('../../deploy/chaos/', import.meta.url).pathname;

test('a certificate whose pool entry was lost is caught by the certificate invariant alone, from the issuance logs in the stores', async () => {
  if (!natsServerAvailable('chaos NATS suite')) return;
  const run = await openpnc(['chaos', '--scenario', join(SCENARIOS, 'lost-pool-entry.json'), '--json']);
  assert.is(run.code, 1, run.stderr);
  const report = JSON.parse(run.stdout);
  assert.is(report.lostRecords, 1);
  const broken = report.invariants.filter((invariant: { holds: boolean }) => !invariant.holds).map((invariant: { name: string }) => invariant.name);
  assert.equal(broken, ['every certificate issued is where it belongs, revoked or superseded, and no serial was issued twice']);
  assert.is(report.certificates.unaccounted.length, 1);
  assert.match(report.certificates.unaccounted[0], /^oem provisioning [0-9a-f]+ \(CN=OPN\w+.*\): not in the PCP pool$/);
  // Every CA of the deployment logged what it issued: the roots, the domains' Sub-CAs, the leaves of the load.
  for (const role of ['v2g-root v2gRoot', 'v2g-root cpoSubCa1', 'v2g-root cpsSubCa1', 'cps cps', 'cpo cpoSubCa2', 'oem provisioning', 'mo contract']) assert.ok(report.certificates.byRole[role] >= 1, role);
  assert.is(report.certificates.byRole['mo contract'], 3, "the story's contract and the load's two");
  assert.equal(report.certificates.duplicateSerials, []);
});

test.run();
