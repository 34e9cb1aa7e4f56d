// setTimeoutAt: an absolute time on the clock, however far ahead (the host's deadlines and the wake
// index wait months for the MO's renewals); beyond setTimeout's range it waits in steps. ManualClock time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setTimeoutAt } from '../../actors/transport/timers.ts';
import { ManualClock } from '../harness/manual-clock.ts';

const DAY_MS = 86_400_000;

test('a time 40 days ahead (beyond setTimeout\'s 24.8 days) fires once, at that time and not a millisecond before', () => {
  const clock = new ManualClock();
  const at = clock.now() + 40 * DAY_MS;
  const fired: number[] = [];
  setTimeoutAt(clock, at, () => fired.push(clock.now()));
  clock.advance(at - clock.now() - 1);
  assert.equal(fired, []);
  clock.advance(1);
  assert.equal(fired, [at]);
  clock.advance(100 * DAY_MS);
  assert.equal(fired, [at], 'once');
});

test('a time already past fires on the clock\'s next turn', () => {
  const clock = new ManualClock();
  let fired = 0;
  setTimeoutAt(clock, clock.now() - 5_000, () => fired++);
  assert.is(fired, 0);
  clock.advance(0);
  assert.is(fired, 1);
});

test('cancel stops it, also between steps', () => {
  const clock = new ManualClock();
  let fired = 0;
  const timer = setTimeoutAt(clock, clock.now() + 60 * DAY_MS, () => fired++);
  clock.advance(30 * DAY_MS); // one step taken
  timer.cancel();
  clock.advance(60 * DAY_MS);
  assert.is(fired, 0);
});

test.run();
