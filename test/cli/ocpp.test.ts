// `openpnc ocpp` as child processes: bad input is a one-line error with exit code 2; a station
// registered in a data directory gets its password once, and only a hash stays in the store.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertOneLineError, openpnc } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'openpnc-ocpp-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('bad input: one-line errors, exit code 2', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['ocpp', 'frobnicate'], /unknown ocpp command 'frobnicate'/],
    [['ocpp', 'station', 'add', '--id', 'has space', '--data', dir], /--id must be an OCPP station identity/],
    [['ocpp', 'station', 'add', '--data', dir], /--id must be an OCPP station identity/],
    [['ocpp', 'station', 'add', '--id', 'A', '--data', dir, '--mongo', 'mongodb://x'], /give --data or --mongo, not both/],
    [['ocpp', 'serve', '--port', '70000', '--data', dir], /--port must be a TCP port number/],
    [['ocpp', 'serve', '--bogus'], /bogus/],
  ];
  const results = await Promise.all(cases.map(([args]) => openpnc(args)));
  results.forEach((result, i) => assertOneLineError(result, cases[i][1], 2));
});

test('station add prints the password once; the store keeps an scrypt hash, not the password', async () => {
  const result = await openpnc(['ocpp', 'station', 'add', '--id', 'CS-CLI-1', '--data', dir]);
  assert.is(result.code, 0, result.stderr);
  const { stationId, password } = JSON.parse(result.stdout);
  assert.is(stationId, 'CS-CLI-1');
  assert.ok(password.length >= 16 && password.length <= 40);
  const files = readdirSync(dir, { recursive: true }).map(String).filter((f) => !f.endsWith('/'));
  for (const file of files) {
    let content: Buffer;
    try { content = readFileSync(join(dir, file)); } catch { continue; }
    assert.not.ok(content.includes(password), `${file} holds the password`);
  }
  const help = await openpnc(['ocpp', '--help']);
  assert.match(help.stdout, /openpnc ocpp serve/);
});

test.run();
