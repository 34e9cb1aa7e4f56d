// `openpnc run`, `openpnc participants` and `openpnc start --help` as a user runs them: the real
// `node bin/openpnc.js` in a child process.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { participantNames } from '../../actors/participants/index.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { assertOneLineError, openpncSync, spawnOpenpnc } from '../helpers/cli.ts';

const openpnc = (...args: string[]) => openpncSync(args, { timeoutMs: 15_000 });

test('every command of this module answers --help with its usage', () => {
  const usages: Record<string, string> = {};
  for (const command of ['run', 'participants', 'start']) {
    const result = openpnc(command, '--help');
    assert.is(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^usage: openpnc ${command}`));
    assert.match(result.stdout, /--help/);
    usages[command] = result.stdout;
  }
  assert.match(usages.run, /--nats URL.*\n.*--replicas N.*\n.*--mongo URI.*\n.*--data DIR/);
  const top = openpnc('--help');
  for (const command of ['run', 'participants', 'start']) assert.match(top.stdout, new RegExp(`\\n  ${command} `));
});

test('openpnc participants lists every registered participant in start order', () => {
  const text = openpnc('participants');
  assert.is(text.code, 0, text.stderr);
  assert.equal(text.stdout.trim().split('\n').map((line) => line.split(/\s+/)[0]), [...participantNames]);
  const json = JSON.parse(openpnc('participants', '--json').stdout) as Array<{ name: string; summary: string }>;
  assert.equal(json.map((p) => p.name), [...participantNames]);
  assert.ok(json.every((p) => p.summary.length > 10));
  assertOneLineError(openpnc('participants', 'extra'), /unexpected argument 'extra'/);
});

test('bad flags and arguments give a one-line reason and a non-zero exit', () => {
  assertOneLineError(openpnc('run'), /name at least one participant/);
  assertOneLineError(openpnc('run', 'nobody'), /unknown participant 'nobody' \(known: v2g-root/);
  assertOneLineError(openpnc('run', 'rcp', '--bogus'), /Unknown option '--bogus'/);
  assertOneLineError(openpnc('run', 'rcp', '--nats', 'localhost:4222'), /--nats wants nats:\/\/host:port/);
  assertOneLineError(openpnc('run', 'rcp', '--replicas', '3'), /--replicas needs --nats/);
  assertOneLineError(openpnc('run', 'rcp', '--nats', 'nats://127.0.0.1:1', '--replicas', 'x'), /--replicas must be 1 to 5/);
  assertOneLineError(openpnc('run', 'rcp', '--set', 'novalue'), /--set wants KEY=VALUE/);
});

test('an unwritable --data, an unreachable NATS or MongoDB give a one-line reason and exit 1', () => {
  const file = join(tempDir(), 'not-a-dir');
  writeFileSync(file, '');
  const data = openpnc('run', 'rcp', '--data', join(file, 'data'));
  assertOneLineError(data, /store unavailable: data directory .* cannot be created \(ENOTDIR\)/);
  assert.is(data.code, 1);
  const nats = openpnc('run', 'rcp', '--data', tempDir(), '--nats', 'nats://127.0.0.1:1');
  assertOneLineError(nats, /bus unavailable: .*127\.0\.0\.1:1/);
  assert.is(nats.code, 1);
  const mongo = openpnc('run', 'rcp', '--mongo', 'mongodb://127.0.0.1:1/openpnc?serverSelectionTimeoutMS=300');
  assertOneLineError(mongo, /store unavailable: MongoDB at .*127\.0\.0\.1:1.* is unreachable/);
  assert.is(mongo.code, 1);
});

test('openpnc run hosts participants until SIGTERM, then stops gracefully; a restart finds their state', async () => {
  const data = tempDir();
  const runOnce = () => new Promise<{ code: number | null; lines: Array<Record<string, unknown>> }>((resolve, reject) => {
    const child = spawnOpenpnc(['run', 'v2g-root', 'rcp', '--data', data]);
    let output = '';
    let stderr = '';
    let signalled = false; // once: a second signal means "stop now" and kills the host
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no host.ready within 30 s:\n${output}${stderr}`));
    }, 30_000);
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (!signalled && output.includes('"event":"host.ready"')) signalled = child.kill('SIGTERM');
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      try {
        resolve({ code, lines: output.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>) });
      } catch {
        reject(new Error(`stdout is not JSON lines:\n${output}${stderr}`));
      }
    });
  });
  const first = await runOnce();
  assert.is(first.code, 0);
  const events = first.lines.map((l) => l.event);
  assert.ok(events.indexOf('host.ready') > events.lastIndexOf('participant.started'));
  assert.equal(first.lines.filter((l) => l.event === 'participant.stopped').map((l) => l.participant), ['rcp', 'v2g-root'], 'stopped in reverse order');
  assert.is(events.at(-1), 'host.stopped');
  const ready = first.lines.find((l) => l.event === 'host.ready')!;
  assert.equal(ready.participants, ['v2g-root', 'rcp']);
  assert.is(ready.bus, 'memory');
  assert.is(ready.store, 'embedded');
  const second = await runOnce();
  assert.is(second.code, 0);
  assert.ok(second.lines.some((l) => l.event === 'actor.restored'), 'the participant actors resumed from the data directory');
});

test.run();
