// The short chaos run CI makes (issue 9): the whole back office in eight processes on a three-node
// NATS cluster, participants killed with -9 and restarted, one NATS node restarted, while contracts
// are concluded; nothing lost, stuck or duplicated, and every contract installs. The long runs:
// `npm run chaos:backoffice` (200 with faults) and `-- --contracts 1000 --no-faults --measure`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { natsServerAvailable } from '../harness/nats.ts';
import { printFigures, runChaos } from './backoffice.ts';

if (natsServerAvailable('chaos suite')) {
  test('24 contracts through at least 4 kills of random participants and a NATS node restart: 0 lost, 0 stuck, 0 duplicates, all installable', async () => {
    const lines: string[] = [];
    const figures = await runChaos({ contracts: 24, faults: true, killEveryMs: 1_000, downMs: 500, natsRestartAfterKills: 2, minKills: 4, concurrency: 2, quietMs: 60_000, deadlineMs: 240_000, print: (line) => lines.push(line) }).catch((error) => {
      console.log(lines.join('\n'));
      throw error;
    });
    printFigures(figures, (line) => lines.push(line));
    const report = lines.join('\n');
    assert.ok(figures.kills >= 4, `fewer than 4 participants were killed\n${report}`);
    assert.is(figures.natsRestarts, 1, report);
    assert.is(figures.lost, 0, report);
    assert.is(figures.stuck, 0, report);
    assert.is(figures.duplicates, 0, report);
    assert.is(figures.installable, figures.contracts, report);
    assert.is(figures.moInstalled, figures.contracts, report);
    console.log(report);
  });
}

test.run();
