// CA participants (v2g-root, oem, mo, cps, cpo) refuse to serve on NATS without credentials; with
// --insecure they start and say so loudly on stderr. A pool holds no CA key and may start plainly.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertOneLineError, openpnc, spawnOpenpnc } from '../helpers/cli.ts';
import { natsServerAvailable, startNatsServer, type NatsServer } from '../harness/nats.ts';

if (natsServerAvailable('insecure start suite')) {
  let nats: NatsServer;
  const dir = mkdtempSync(join(tmpdir(), 'openpnc-insecure-'));
  test.before(async () => { nats = await startNatsServer(); });
  test.after(async () => {
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('without --creds a CA participant refuses NATS with one line', async () => {
    const refused = await openpnc(['run', 'rcp', 'mo', 'cps', '--nats', nats.url, '--data', dir]);
    assertOneLineError(refused, /mo, cps hold a CA key: refusing to serve on NATS without credentials \(--creds DIR from 'openpnc deploy creds'\); --insecure starts anyway/, 1);
  });

  test('--insecure starts it and says so on stderr; SIGTERM stops it', async () => {
    const child = spawnOpenpnc(['run', 'v2g-root', '--nats', nats.url, '--data', dir, '--insecure']);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const until = Date.now() + 45_000;
      while (!stdout.includes('"event":"host.ready"') && child.exitCode === null && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.match(stdout, /"event":"host\.ready"/, stderr);
      assert.match(stderr, /\*\*\* INSECURE: v2g-root on NATS WITHOUT CREDENTIALS\. Anyone who reaches nats:\/\/127\.0\.0\.1:\d+ can call and serve their subjects/);
    } finally {
      child.kill('SIGTERM');
      assert.is(await exited, 0);
    }
  });

  test.run();
}
