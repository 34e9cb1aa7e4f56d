// `openpnc inspect` beside a deployment, as a user runs it: live over NATS (a real nats-server,
// participants hosted by `openpnc run`), and from the embedded store that `openpnc start --data` left.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { once } from 'node:events';
import { tempDir } from '../harness/temp-dir.ts';
import { natsServerAvailable, startNatsServer, type NatsServer } from '../harness/nats.ts';
import { assertOneLineError, openpnc, spawnOpenpnc } from '../helpers/cli.ts';
import { backOfficeParticipantNames } from '../../actors/participants/index.ts';
import { AUTHORIZATION_FILE } from '../../deploy/creds.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';

const children: ChildProcess[] = [];
let nats: NatsServer | undefined;

test.after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await nats?.stop();
});

/** Starts a long-running openpnc command and resolves with the first stdout line matching `ready`. */
async function launch(args: string[], ready: RegExp): Promise<RegExpExecArray> {
  const child = spawnOpenpnc(args);
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = ready.exec(output);
      if (match) resolve(match);
    });
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('exit', (code) => reject(new Error(`openpnc ${args.join(' ')} exited with ${code}: ${output}`)));
  });
}

/** Polls the inspector's actor list until `found` accepts it (the inspector is eventually consistent by design). */
interface ListedActor { participant: string; machine: string; value: unknown; keys: Record<string, string> }

async function actorsUntil(url: string, found: (actors: ListedActor[]) => boolean): Promise<ListedActor[]> {
  for (;;) {
    const actors = (await (await fetch(`${url}api/actors`)).json()) as ListedActor[];
    if (found(actors)) return actors;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('from the embedded store of openpnc start --data: the MO contract and the OEM vehicle with their states', async () => {
  const data = tempDir('openpnc-inspect-data');
  const story = await openpnc(['start', '--data', data]);
  assert.is(story.code, 0, story.stderr);
  const [, url] = await launch(['inspect', '--data', data, '--port', '0'], /inspector at (\S+)/);
  const actors = await actorsUntil(url, (list) => list.some((actor) => actor.machine === 'mo-contract'));
  const contract = actors.find((actor) => actor.machine === 'mo-contract')!;
  assert.is(contract.value, 'installed');
  assert.ok(contract.keys.emaid && contract.keys.pcid);
  assert.ok(actors.some((actor) => actor.machine === 'oem-vehicle' && actor.value === 'produced'));
});

test('live over NATS with credentials: participants under openpnc run, the story by openpnc story, the contract and its sequence in the inspector', async () => {
  if (!natsServerAvailable('inspector NATS suite')) return;
  const creds = tempDir('openpnc-inspect-creds');
  const issued = await openpnc(['deploy', 'creds', '--out', creds]);
  assert.is(issued.code, 0, issued.stderr);
  nats = await startNatsServer({ extraConfig: readFileSync(join(creds, AUTHORIZATION_FILE), 'utf8') });
  const [, url] = await launch(['inspect', '--nats', nats.url, '--creds', creds, '--port', '0'], /inspector at (\S+)/);
  await launch(['run', ...backOfficeParticipantNames, '--nats', nats.url, '--creds', creds, '--data', tempDir('openpnc-inspect-run')], /host\.ready/);
  const story = await openpnc(['story', '--nats', nats.url, '--creds', creds]);
  assert.is(story.code, 0, story.stderr);
  const actors = await actorsUntil(url, (list) => list.some((actor) => actor.machine === 'mo-contract' && actor.value === 'installed'));
  const contract = actors.find((actor) => actor.machine === 'mo-contract')!;
  assert.match(story.stdout, contract.keys.emaid);
  const sequence = (await (await fetch(`${url}api/sequence?contractId=${contract.keys.contractId}`)).json()) as Array<{ participant: string; subject: string }>;
  const steps = sequence.map((step) => `${step.participant} ${step.subject}`);
  for (const step of ['mo pcp.chain.get', 'cps ccp.contract.put', 'ccp ccp.contract.stored']) assert.ok(steps.includes(step), `${step} in ${steps.join(', ')}`);
});

test('a source is required and flags are checked', async () => {
  assertOneLineError(await openpnc(['inspect']), /name a source/, 2);
  assertOneLineError(await openpnc(['inspect', '--data', 'a', '--mongo', 'mongodb://x']), /choose one/, 2);
  assertOneLineError(await openpnc(['inspect', '--data', 'a', '--port', 'http']), /--port must be a port number/, 2);
  assertOneLineError(await openpnc(['inspect', '--nats', 'http://x']), /--nats wants/, 2);
  assertOneLineError(await openpnc(['inspect', '--data', 'a', '--creds', 'b']), /--creds goes with --nats/, 2);
});

test.run();
