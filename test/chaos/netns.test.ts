// Chaos against `openpnc deploy netns` (issue 13), a real run: three hosts in network namespaces, a
// 3-node NATS cluster over TLS, the load from the client namespace; the contracts host is cut off from
// the bridge and healed while the MO's host process is killed with -9 inside its namespace. Every
// invariant must hold, the cut must be proven, and nothing of the run may be left behind. Without
// namespaces (not root, no iproute2) this fails: it is not a test that can pass without running.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { listNamespaces, netnsAvailable } from '../../deploy/netns.ts';
import { natsServerAvailable } from '../harness/nats.ts';
import { openpnc } from '../helpers/cli.ts';

const SCENARIOS = new URL('../../deploy/chaos/', import.meta.url).pathname;

test('netns-ci-short: a host partitioned and healed, the MO killed in its namespace, every invariant holds', async () => {
  assert.ok(netnsAvailable(), 'network namespaces are needed (root and iproute2): this suite runs them, it does not skip');
  assert.ok(natsServerAvailable('chaos netns suite'), 'nats-server is needed on PATH');
  const run = await openpnc(['chaos', '--scenario', join(SCENARIOS, 'netns-ci-short.json'), '--json']);
  const report = JSON.parse(run.stdout || '{}');
  console.log(`  ${run.stderr.split('\n').filter((line) => line.startsWith('namespaces:')).join('')}`);
  assert.is(run.code, 0, `${run.stderr}\n${JSON.stringify(report.invariants, null, 1)}`);
  assert.is(report.holds, true);
  assert.is(report.faults.partitions, 1);
  assert.is(report.faults.kills, 1, JSON.stringify(report.faults));
  assert.ok(report.invariants.some((invariant: { name: string; holds: boolean }) => invariant.name.startsWith('every cut host was unreachable') && invariant.holds));
  assert.is(report.contracts.installable, report.contracts.asked);
  // Both CPO hosts got their own Sub-CA 1 from the V2G root, each kept in its own store.
  assert.is(report.certificates.byRole['v2g-root cpoSubCa1'], 2);
  assert.equal(report.certificates.unaccounted, []);
  assert.equal(listNamespaces(), [], 'the namespaces are down after the run');
});

test.run();
