// The idle collector (issue 9): one full GC at the start of each idle period, none while busy and
// none again until the process was busy; its own collection does not count as load. Driven by a
// manual clock and a scripted event-loop utilization; then once on a real V8 heap.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getHeapSpaceStatistics } from 'node:v8';
import { collectGarbage, collectWhenIdle } from '../../actors/host/idle.ts';
import { ManualClock } from '../harness/manual-clock.ts';

/** A collector on a manual clock whose loop utilization is whatever `busy` says at each check. */
function scripted(busy: () => number) {
  const clock = new ManualClock();
  const collections: number[] = [];
  const readings: number[] = [];
  const collector = collectWhenIdle({
    timers: clock, checkEveryMs: 5_000, quietChecks: 3, busyBelow: 0.02,
    utilization: () => { const value = busy(); readings.push(value); return value; },
    collect: () => collections.push(clock.now()),
  });
  return { clock, collections, readings, collector };
}

test('collects once after three quiet checks, then not again while idle', () => {
  const { clock, collections, collector } = scripted(() => 0.001);
  const start = clock.now();
  clock.advance(14_999);
  assert.equal(collections, []);
  clock.advance(1);
  assert.equal(collections, [start + 15_000]);
  clock.advance(10 * 60_000);
  assert.is(collections.length, 1, 'an idle process is not collected over and over (idle CPU)');
  collector.stop();
});

test('never collects while busy; collects again after load once it is quiet', () => {
  let load = 0.5;
  const { clock, collections, collector } = scripted(() => load);
  clock.advance(60_000);
  assert.equal(collections, [], 'busy: V8 collects as it allocates');
  load = 0.001;
  clock.advance(15_000);
  assert.is(collections.length, 1);
  load = 0.3;
  clock.advance(5_000);
  load = 0.001;
  clock.advance(10_000);
  assert.is(collections.length, 1, 'two quiet checks after load are not yet idle');
  clock.advance(5_000);
  assert.is(collections.length, 2);
  collector.stop();
});

test("the collection's own time is not counted as load: utilization is read again right after it", () => {
  const { clock, readings, collector } = scripted(() => 0);
  clock.advance(15_000);
  assert.is(readings.length, 4, 'three checks and one reading after the collection');
  collector.stop();
  clock.advance(60_000);
  assert.is(readings.length, 4, 'stopped: no more checks');
});

test('collectGarbage on the real heap: garbage in old space is freed', () => {
  const oldUsed = () => getHeapSpaceStatistics().find((space) => space.space_name === 'old_space')!.space_used_size;
  // Objects that survive two scavenges land in old space; then they are dropped.
  let survivors: object[] | undefined = Array.from({ length: 200_000 }, (_, i) => ({ i, text: `item ${i}` }));
  collectGarbage();
  const withSurvivors = oldUsed();
  survivors = undefined;
  collectGarbage();
  assert.ok(oldUsed() < withSurvivors - 4_000_000, `old space used ${withSurvivors} → ${oldUsed()} bytes`);
  assert.is(survivors, undefined);
});

test.run();
