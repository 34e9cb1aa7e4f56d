// `openpnc chaos` with a `measure` section: the measured process's RSS (from /proc) and V8 heap
// (over chaos.memory, with forced GCs) at each moment, its idle CPU, and one invariant for it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { natsServerAvailable } from '../harness/nats.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { openpnc } from '../helpers/cli.ts';
import type { ChaosReport } from '../../actors/chaos/runner.ts';

test('the MO measured: RSS and heap at start, after the load, after idle and after a forced GC; its invariant is in the report', async () => {
  if (!natsServerAvailable('chaos measure NATS suite')) return;
  const file = join(tempDir('openpnc-chaos-measure'), 'measure.json');
  writeFileSync(file, JSON.stringify({
    name: 'measure-small',
    deployment: { natsNodes: 1, processes: [['v2g-root', 'rcp', 'pcp', 'ccp', 'oem', 'cps', 'cpo'], ['mo']] },
    load: { contracts: 2, inFlight: 2 },
    measure: { participants: ['mo'], idleMs: 1000 },
    quietMs: 60000,
  }));
  const run = await openpnc(['chaos', '--scenario', file, '--json']);
  const report = JSON.parse(run.stdout || '{}') as ChaosReport;
  // A one-second idle window may or may not stay under 1 % CPU: only the exit code 2 (no report) is wrong.
  assert.ok(run.code === 0 || run.code === 1, run.stderr);
  assert.is(report.contracts.asked, 2);
  assert.ok(report.invariants.slice(0, 4).every((invariant) => invariant.holds), JSON.stringify(report.invariants));
  const [mo] = report.measure!.processes;
  assert.is(report.measure!.processes.length, 1);
  assert.equal(mo.participants, ['mo']);
  for (const moment of [mo.start, mo.startAfterGc, mo.afterLoad, mo.afterIdle, mo.afterGc]) {
    assert.ok(moment.rssBytes > 20 * 1_048_576 && moment.heap.heapUsed > 1_048_576 && moment.heap.heapTotal >= moment.heap.heapUsed, JSON.stringify(moment));
  }
  assert.ok(mo.idleCpuPct >= 0 && Number.isFinite(mo.idleCpuPct), String(mo.idleCpuPct));
  assert.is(mo.retainedHeapBytes, mo.afterGc.heap.heapUsed - mo.startAfterGc.heap.heapUsed);
  const invariant = report.invariants.find((candidate) => candidate.name.startsWith('mo: RSS after 1 s idle within 10 %'));
  assert.ok(invariant, JSON.stringify(report.invariants.map((candidate) => candidate.name)));
  assert.is(invariant!.holds, mo.rssGrowthPct <= 10 && mo.idleCpuPct < 1);
  assert.is(report.holds, report.invariants.every((candidate) => candidate.holds));
});

test.run();
