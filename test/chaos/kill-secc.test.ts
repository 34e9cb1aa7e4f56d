// `openpnc chaos` with charging sessions (deploy/chaos/kill-secc.json): vehicles pause their sessions at
// the SECC process, the SECC is killed with -9 and started again, and each session is joined again by
// its SessionID; its own file, as the deployment alone takes most of a file's time on a loaded machine.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { natsServerAvailable } from '../harness/nats.ts';
import { openpnc } from '../helpers/cli.ts';

const SCENARIOS = new URL('../../deploy/chaos/', import.meta.url).pathname;

test('kill -9 of the SECC while charging sessions are paused: every session resumes by its SessionID, no invariant broken', async () => {
  if (!natsServerAvailable('chaos NATS suite')) return;
  const run = await openpnc(['chaos', '--scenario', join(SCENARIOS, 'kill-secc.json'), '--json']);
  const report = JSON.parse(run.stdout || '{}');
  assert.is(run.code, 0, `${run.stderr}\n${JSON.stringify(report.invariants)}`);
  assert.is(report.faults.kills, 1);
  assert.equal(report.sessions, { started: 2, paused: 2, resumed: 2, ended: [], hanging: 0, hangingAfter: [] });
});

test.run();
