// `openpnc opcp` as real child processes: a client registered with `client add` (in the data directory,
// or through the gateway over a real nats-server) gets a token from the gateway `opcp serve` runs, and
// uses it; bad input, an unreachable NATS and a bus without a gateway are one-line errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { OPENPNC_BIN, assertOneLineError, openpnc } from '../helpers/cli.ts';
import { freePort } from '../harness/nats.ts';
import { startSecuredNats } from '../harness/creds.ts';

/** Starts `opcp serve` and resolves with its base URL once it listens. */
async function serve(dir: string, extra: readonly string[] = []): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [OPENPNC_BIN, 'opcp', 'serve', '--port', '0', '--data', dir, ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`opcp serve did not start: ${stderr}`)), 45_000);
    child.stderr!.on('data', (chunk) => {
      stderr += chunk;
      const found = /OPCP gateway on (http:\/\/\S+)/.exec(stderr);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`opcp serve exited with ${code}: ${stderr}`)));
  });
  return { child, url };
}

/** POST /oauth/token with the printed credentials, then one authorized call (the root pool, empty). */
async function tokenAndCall(url: string, client: { client_id: string; client_secret: string }): Promise<void> {
  const credentials = { client_id: client.client_id, client_secret: client.client_secret, grant_type: 'client_credentials' };
  const token = await fetch(`${url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(credentials) });
  assert.is(token.status, 200);
  const { access_token } = (await token.json()) as { access_token: string };
  const roots = await fetch(`${url}/v1/root/rootCerts`, { headers: { authorization: `Bearer ${access_token}` } });
  assert.is(roots.status, 200);
  assert.equal(await roots.json(), { RootCertificateCollection: { rootCertificates: [] } });
  const wrong = await fetch(`${url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...credentials, client_secret: 'guess' }) });
  assert.is(wrong.status, 401);
}

const escaped = (text: string) => text.replace(/[.]/g, '\\.');

test('client add --data before serve and --nats through the running gateway: both clients get tokens and are served; Ctrl-C stops cleanly', async () => {
  const nats = await startSecuredNats();
  const creds = ['--creds', nats.credsDir];
  const dir = mkdtempSync(join(tmpdir(), 'openpnc-opcp-cli-'));
  try {
    const [local, idle] = await Promise.all([
      openpnc(['opcp', 'client', 'add', '--role', 'mo', '--prefix', 'deabc', '--data', dir]),
      openpnc(['opcp', 'client', 'add', '--nats', nats.url, ...creds, '--role', 'mo', '--prefix', 'DEABC']),
    ]);
    assert.is(local.code, 0, local.stderr);
    const localClient = JSON.parse(local.stdout);
    assert.match(localClient.client_id, /^mo-[0-9a-f]{16}$/);
    assert.equal(localClient.prefixes, ['DEABC']);
    assertOneLineError(idle, new RegExp(`no OPCP gateway answers on NATS ${escaped(nats.url)}`), 1);
    const { child, url } = await serve(dir, ['--nats', nats.url, ...creds]);
    try {
      // Only the operator's credential may register clients: without one the server turns the connection away.
      const anonymous = await openpnc(['opcp', 'client', 'add', '--nats', nats.url, '--role', 'mo', '--prefix', 'DEABC']);
      assertOneLineError(anonymous, /Authorization Violation/, 1);
      const added = await openpnc(['opcp', 'client', 'add', '--nats', nats.url, ...creds, '--role', 'mo', '--prefix', 'DEABC']);
      assert.is(added.code, 0, added.stderr);
      const client = JSON.parse(added.stdout);
      assert.match(client.client_id, /^mo-[0-9a-f]{16}$/);
      assert.equal(client.prefixes, ['DEABC']);
      assert.ok(client.client_secret.length >= 40);
      await tokenAndCall(url, client);
      await tokenAndCall(url, localClient);
      // The gateway checks the prefix; its typed error is the CLI's one line.
      const [bad, both] = await Promise.all([
        openpnc(['opcp', 'client', 'add', '--nats', nats.url, ...creds, '--role', 'oem', '--prefix', 'TOOLONG']),
        openpnc(['opcp', 'client', 'add', '--nats', nats.url, '--data', dir, '--role', 'cpo']),
      ]);
      assertOneLineError(bad, /prefix TOOLONG is not 3 letters or digits/, 2);
      assertOneLineError(both, /give one of --nats, --mongo or --data/, 2);
    } finally {
      child.kill('SIGINT');
      const [code] = await once(child, 'exit');
      assert.is(code, 0, 'SIGINT stops the gateway and the pools cleanly');
    }
  } finally {
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const unreachable = `nats://127.0.0.1:${await freePort()}`;
  const down = await openpnc(['opcp', 'client', 'add', '--nats', unreachable, '--role', 'cpo']);
  assertOneLineError(down, new RegExp(`cannot reach NATS at ${escaped(unreachable)}`), 1);
});

test('bad input is a one-line error with a non-zero exit; --help answers', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'openpnc-opcp-cli-'));
  try {
    for (const [args, pattern] of [
      [['opcp', 'client', 'add', '--role', 'oem', '--prefix', 'TOOLONG', '--data', dir], /prefix TOOLONG is not 3 letters or digits/],
      [['opcp', 'client', 'add', '--role', 'root', '--data', dir], /--role must be one of admin, oem, mo, cpo, cps/],
      [['opcp', 'client', 'add', '--role', 'mo', '--data', dir], /needs --prefix/],
      [['opcp', 'serve', '--port', 'eighty'], /--port must be a TCP port number/],
      [['opcp', 'launch'], /unknown opcp subcommand 'launch'/],
    ] as const) {
      const run = await openpnc([...args]);
      assert.ok(run.code !== 0, args.join(' '));
      assert.is(run.stderr.trimEnd().split('\n').length, 1, run.stderr);
      assert.match(run.stderr, pattern);
    }
    for (const args of [['opcp', 'client', 'add', '--help']]) {
      const run = await openpnc(args);
      assert.is(run.code, 0);
      assert.match(run.stdout, /usage: openpnc opcp serve/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
