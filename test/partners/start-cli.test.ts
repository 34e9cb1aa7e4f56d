// `openpnc start` as a user runs it: the timeline, the verification line, the trace file, bad flags.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = new URL('../../bin/openpnc.js', import.meta.url).pathname;
const openpnc = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });

test('openpnc start prints one line per step and ends with the verification line; --trace keeps the EXI in hex', () => {
  const trace = join(mkdtempSync(join(tmpdir(), 'openpnc-start-')), 'trace.jsonl');
  const result = openpnc('start', '--trace', trace);
  assert.is(result.status, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  assert.match(lines.at(-1)!, /^✓ verified: CertificateInstallationRes for \w{18} signed by CPS Leaf verifies up to the V2G root; the vehicle decrypted the contract key of EMAID \w{15}/);
  assert.ok(lines.some((line) => /^\s+\d+\s+mo\s+→ pcp\.chain\.get\s+PCID \w{18}$/.test(line)), 'an MO step line');
  assert.ok(lines.some((line) => /^\s+\d+\s+cps\s+→ ccp\.contract\.put/.test(line)), 'a CPS step line');
  const entries = readFileSync(trace, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  const installation = entries.find((entry) => entry.subject === 'ccp.installation');
  assert.match(installation.exi.certificateInstallationReq, /^809802[0-9a-f]+$/);
  assert.match(installation.exi.certificateInstallationRes, /^8098[0-9a-f]+$/);
  assert.is(installation.participant, 'cpo');
});

test('openpnc start refuses bad options with one line and exit 2', () => {
  for (const args of [['--bogus'], ['--opcp-port', '5'], ['--serve', '--opcp-port', 'x'], ['extra']]) {
    const result = openpnc('start', ...args);
    assert.is(result.status, 2, args.join(' '));
    assert.match(result.stderr, /^openpnc: .+\n$/);
  }
  const help = openpnc('start', '--help');
  assert.is(help.status, 0);
  assert.match(help.stdout, /--serve/);
});

test.run();
