// `openpnc start` as a user runs it: the timeline, the verification line, the trace file, bad flags.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPENPNC_BIN } from '../helpers/cli.ts';

const openpnc = (...args: string[]) => spawnSync(process.execPath, [OPENPNC_BIN, ...args], { encoding: 'utf8', timeout: 60_000 });

test('openpnc start prints one line per step, the verification line and ends with the charged line; --trace keeps the EXI in hex', () => {
  const trace = join(mkdtempSync(join(tmpdir(), 'openpnc-start-')), 'trace.jsonl');
  const result = openpnc('start', '--trace', trace);
  assert.is(result.status, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  assert.match(lines.at(-1)!, /^✓ charged: session \w+ installed the contract of EMAID \w{15} through the SECC/);
  assert.match(lines.find((line) => line.startsWith('✓ verified'))!, /^✓ verified: CertificateInstallationRes for \w{18} signed by CPS Leaf verifies up to the V2G root; the vehicle decrypted the contract key of EMAID \w{15}/);
  assert.ok(lines.some((line) => /^\s+\d+\s+mo\s+→ pcp\.chain\.get\s+PCID \w{18}$/.test(line)), 'an MO step line');
  assert.ok(lines.some((line) => /^\s+\d+\s+cps\s+→ ccp\.contract\.put/.test(line)), 'a CPS step line');
  const entries = readFileSync(trace, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  const installation = entries.find((entry) => entry.subject === 'ccp.installation');
  assert.match(installation.exi.certificateInstallationReq, /^809802[0-9a-f]+$/);
  assert.match(installation.exi.certificateInstallationRes, /^8098[0-9a-f]+$/);
  assert.is(installation.participant, 'cpo');
});

test('openpnc start --serve keeps the participants and the OPCP gateway up until SIGINT', async () => {
  const child = spawn(process.execPath, [OPENPNC_BIN, 'start', '--serve', '--opcp-port', '0', '--ocpp-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => { output += chunk; });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no serving line in:\n${output}`)), 60_000);
      child.stdout.on('data', () => {
        const match = /OPCP gateway at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
        if (match) { clearTimeout(timer); resolve(match[1]); }
      });
    });
    assert.match(output, /✓ verified: /);
    assert.match(output, /OCPP CSMS at wss:\/\/127\.0\.0\.1:\d+\/ocpp\/<stationId>/);
    const jwks = await fetch(`${url}/.well-known/jwks.json`);
    assert.is(jwks.status, 200);
    const roots = await fetch(`${url}/v1/root/rootCerts`);
    assert.is(roots.status, 401); // the pools behind the gateway want a token
  } finally {
    child.kill('SIGINT');
  }
  assert.is(await exited, 0);
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
