// How a participant process is started (issue 9): the young generation capped, malloc's thresholds
// fixed; the same settings in the `openpnc` executable's first line, the rendered units and the chaos
// runner. The cap is checked on a real V8: a burst of garbage grows new space only with the defaults.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PARTICIPANT_MALLOC_ENV, PARTICIPANT_NODE_OPTIONS, participantEnvironment, runtimeSettings } from '../../actors/host/runtime.ts';

test('participantEnvironment: the malloc tunables and NODE_OPTIONS after what the caller has', () => {
  assert.equal(participantEnvironment(), { ...PARTICIPANT_MALLOC_ENV, NODE_OPTIONS: PARTICIPANT_NODE_OPTIONS.join(' ') });
  assert.is(participantEnvironment({ NODE_OPTIONS: '--enable-source-maps' }).NODE_OPTIONS, ['--enable-source-maps', ...PARTICIPANT_NODE_OPTIONS].join(' '));
  assert.is(participantEnvironment({ NODE_OPTIONS: '  ' }).NODE_OPTIONS, PARTICIPANT_NODE_OPTIONS.join(' '));
});

test('runtimeSettings: what the process runs with, null where unset, the last semi-space flag wins', () => {
  assert.equal(runtimeSettings({}, []), { maxSemiSpaceMb: null, MALLOC_ARENA_MAX: null, MALLOC_TRIM_THRESHOLD_: null });
  assert.equal(runtimeSettings({ NODE_OPTIONS: '--max-semi-space-size=4', MALLOC_ARENA_MAX: '2' }, ['--max-semi-space-size=16']), { maxSemiSpaceMb: '4', MALLOC_ARENA_MAX: '2', MALLOC_TRIM_THRESHOLD_: null });
});

test("the openpnc executable's first line starts it with the participant's settings", () => {
  const first = readFileSync(new URL('../../bin/openpnc.js', import.meta.url), 'utf8').split('\n')[0];
  const match = /^#!\/usr\/bin\/env -S (.*)$/.exec(first);
  assert.ok(match, first);
  const words = match![1].split(' ');
  const node = words.indexOf('node');
  assert.ok(node > 0, first);
  assert.equal(Object.fromEntries(words.slice(0, node).map((word) => word.split('=') as [string, string])), PARTICIPANT_MALLOC_ENV);
  assert.equal(words.slice(node + 1), [...PARTICIPANT_NODE_OPTIONS]);
});

/** New space's committed bytes after a burst of short-lived objects, in a node started with `env`. */
function newSpaceAfterBurst(env: Record<string, string>): number {
  const script = `
    const v8 = require('node:v8');
    let kept = 0;
    for (let round = 0; round < 200; round++) { const batch = []; for (let i = 0; i < 20000; i++) batch.push({ i, s: 'x'.repeat(i % 50) + i }); kept += batch.length; }
    const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    process.stdout.write(String(space.physical_space_size));`;
  const { NODE_OPTIONS: _inherited, ...parent } = process.env;
  const run = spawnSync(process.execPath, ['-e', script], { env: { ...parent, ...env }, encoding: 'utf8' });
  assert.is(run.status, 0, run.stderr);
  return Number(run.stdout);
}

test('a participant process keeps its young generation within the cap; the defaults let it grow', () => {
  const capMb = Number(runtimeSettings(participantEnvironment(), []).maxSemiSpaceMb);
  const capped = newSpaceAfterBurst(participantEnvironment());
  const defaults = newSpaceAfterBurst({});
  // Two semi-spaces of at most the cap each.
  assert.ok(capped <= 2 * capMb * 1_048_576, `capped new space ${capped} bytes`);
  assert.ok(defaults > 4 * capMb * 1_048_576, `default new space ${defaults} bytes: the burst no longer grows it, so the test proves nothing`);
});

test.run();
