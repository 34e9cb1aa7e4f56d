// `openpnc chaos` as a user runs it: a scenario that breaks an invariant on purpose (acknowledged
// work thrown away by the fault layer) is caught and named, and bad scenarios are refused on one line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { natsServerAvailable } from '../harness/nats.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { assertOneLineError, openpnc } from '../helpers/cli.ts';
import { loadScenario } from '../../actors/chaos/scenario.ts';

const SCENARIOS = new URL('../../deploy/chaos/', import.meta.url).pathname;

test('every shipped scenario is valid', async () => {
  const { readdirSync } = await import('node:fs');
  const files = readdirSync(SCENARIOS).filter((name) => name.endsWith('.json'));
  assert.ok(files.length >= 2);
  for (const file of files) assert.ok(loadScenario(join(SCENARIOS, file)).name, file);
});

test('a lost acknowledged write is caught: the report names the broken invariants and exits 1', async () => {
  if (!natsServerAvailable('chaos NATS suite')) return;
  const run = await openpnc(['chaos', '--scenario', join(SCENARIOS, 'lost-acknowledged-write.json'), '--json']);
  assert.is(run.code, 1, run.stderr);
  const report = JSON.parse(run.stdout);
  assert.is(report.holds, false);
  assert.ok(report.faults.counts.mo.dropped >= 3, JSON.stringify(report.faults));
  const broken = report.invariants.filter((invariant: { holds: boolean }) => !invariant.holds).map((invariant: { name: string }) => invariant.name);
  assert.ok(broken.includes('every concluded contract is installed at the MO after the quiet period'), broken.join('; '));
  assert.is(report.contracts.concluded, 3);
  assert.is(report.contracts.installable, 0);
});

test('the CI scenario: participants killed with -9 and the CCP announcements faulted, every invariant holds', async () => {
  if (!natsServerAvailable('chaos NATS suite')) return;
  const run = await openpnc(['chaos', '--scenario', join(SCENARIOS, 'ci-short.json'), '--json']);
  const report = JSON.parse(run.stdout || '{}');
  assert.is(run.code, 0, `${run.stderr}\n${JSON.stringify(report.invariants)}`);
  assert.is(report.holds, true);
  assert.is(report.contracts.installable, report.contracts.asked);
  assert.ok(report.faults.kills >= 2, JSON.stringify(report.faults));
  assert.equal(report.certificates.unaccounted, []);
  assert.ok(report.certificates.byRole['mo contract'] >= report.contracts.asked + 1, JSON.stringify(report.certificates.byRole));
});

test('bad scenarios are refused with the field that is wrong', async () => {
  const dir = tempDir('openpnc-chaos-bad');
  const write = (name: string, content: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  };
  const base = { name: 'x', deployment: { processes: [['v2g-root', 'rcp', 'pcp', 'ccp', 'oem', 'mo', 'cps', 'cpo']] }, load: { contracts: 1 } };
  assertOneLineError(await openpnc(['chaos']), /--scenario FILE is required/, 2);
  assertOneLineError(await openpnc(['chaos', '--scenario', join(dir, 'none.json')]), /cannot read/, 2);
  assertOneLineError(await openpnc(['chaos', '--scenario', write('a.json', '{ nope')]), /is not JSON/, 2);
  assertOneLineError(await openpnc(['chaos', '--scenario', write('b.json', { ...base, deployment: { processes: [['mo']] } })]), /v2g-root must be hosted exactly once/, 2);
  assertOneLineError(await openpnc(['chaos', '--scenario', write('c.json', { ...base, faults: [{ atMs: 0, natsNode: 2 }] })]), /natsNode 2 does not exist/, 2);
  assertOneLineError(await openpnc(['chaos', '--scenario', write('d.json', { ...base, faults: [{ atMs: 0, kill: 'nobody' }] })]), /faults/, 2);
  assertOneLineError(await openpnc(['chaos', '--scenario', write('e.json', { ...base, surprise: true })]), /surprise|Unrecognized/i, 2);
  assertOneLineError(await openpnc(['chaos', '--scenario', write('f.json', { ...base, load: { contracts: 1, sessions: 2 } })]), /charging sessions need the secc hosted exactly once/, 2);
  assertOneLineError(await openpnc(['chaos', '--scenario', write('g.json', { ...base, faults: [{ atMs: 0, kill: 'mo', afterSessionsPaused: true }] })]), /afterSessionsPaused needs load.sessions/, 2);
});

test.run();
