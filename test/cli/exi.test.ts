// `openpnc exi` run as a real child process (node bin/openpnc.js …).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { corpusDocument, loadCorpus } from '../helpers/exi-corpus.ts';

const bin = new URL('../../bin/openpnc.js', import.meta.url).pathname;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function openpnc(args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

const corpus = loadCorpus();
const row = (id: number) => corpus.find((r) => r.id === id)!;
const handshake = row(1); // supportedAppProtocolReq
const iso2 = corpus.find((r) => r.schema === 'iso2' && r.message === 'CurrentDemandReq')!;
const din = row(2); // DIN SessionSetupReq

function assertOneLineError(run: Run, pattern: RegExp): void {
  assert.is(run.code, 1, run.stderr);
  assert.is(run.stdout, '');
  assert.is(run.stderr.trimEnd().split('\n').length, 1, run.stderr);
  assert.match(run.stderr, /^openpnc: /);
  assert.match(run.stderr, pattern);
  assert.not.match(run.stderr, /\n\s+at /);
}

test('decode prints the document in the exi.md JSON shape', async () => {
  const run = await openpnc(['exi', 'decode', '--schema', 'app', handshake.hex]);
  assert.is(run.code, 0, run.stderr);
  assert.equal(JSON.parse(run.stdout), corpusDocument(handshake.id));
});

test('decode reads stdin and ignores whitespace and 0x', async () => {
  const spaced = `0x${iso2.hex.replace(/(..)/g, '$1 ')}\n`;
  const run = await openpnc(['exi', 'decode', '--schema', 'iso2', '-'], spaced);
  assert.is(run.code, 0, run.stderr);
  assert.ok(JSON.parse(run.stdout).V2G_Message.Body.CurrentDemandReq);
});

test('--schema auto names the grammar that matched on stderr, keeping stdout the bare document', async () => {
  for (const [vector, schema] of [[handshake, 'app'], [iso2, 'iso2'], [din, 'din']] as const) {
    const run = await openpnc(['exi', 'decode', '--schema', 'auto', vector.hex]);
    assert.is(run.code, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`^schema: ${schema}$`, 'm'));
    assert.ok(JSON.parse(run.stdout));
  }
});

test('encode prints lowercase hex that equals the captured bytes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'openpnc-exi-'));
  try {
    const file = join(dir, 'message.json');
    writeFileSync(file, JSON.stringify(corpusDocument(din.id)));
    const run = await openpnc(['exi', 'encode', '--schema', 'din', file]);
    assert.is(run.code, 0, run.stderr);
    assert.is(run.stdout, `${din.hex}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('decode | encode round-trips through stdin', async () => {
  const decoded = await openpnc(['exi', 'decode', '--schema', 'iso2', iso2.hex]);
  const encoded = await openpnc(['exi', 'encode', '--schema', 'iso2', '-'], decoded.stdout);
  assert.is(encoded.code, 0, encoded.stderr);
  assert.is(encoded.stdout.trim(), iso2.hex);
});

test('trailing padding is reported on stderr', async () => {
  const padded = corpus.find((r) => r.notes.includes('trailing-bytes=1'))!;
  const run = await openpnc(['exi', 'decode', '--schema', padded.schema, padded.hex]);
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stderr, /padding: \d+ bytes/);
});

test('invalid hex is a one-line error, exit 1', async () => {
  assertOneLineError(await openpnc(['exi', 'decode', '--schema', 'iso2', '80zz']), /invalid hex: 'z'/);
  assertOneLineError(await openpnc(['exi', 'decode', '--schema', 'iso2', '809']), /odd number of digits/);
  assertOneLineError(await openpnc(['exi', 'decode', '--schema', 'iso2', '-'], ''), /no hex input/);
});

test('bytes that are not a document are a one-line error with the bit position, exit 1', async () => {
  assertOneLineError(await openpnc(['exi', 'decode', '--schema', 'iso2', iso2.hex.slice(0, 10)]), /not a valid iso2 EXI stream: .*bit \d+/);
  assertOneLineError(await openpnc(['exi', 'decode', '--schema', 'auto', 'ffffffff']), /no schema matched/);
});

test('invalid JSON and schema violations are one-line errors naming the element path, exit 1', async () => {
  assertOneLineError(await openpnc(['exi', 'encode', '--schema', 'iso2', '-'], '{"V2G_Message": '), /invalid JSON/);
  const document = corpusDocument(iso2.id);
  document.V2G_Message.Body.CurrentDemandReq.DC_EVStatus.EVRESSSOC = 'full';
  const run = await openpnc(['exi', 'encode', '--schema', 'iso2', '-'], JSON.stringify(document));
  assertOneLineError(run, /V2G_Message.*CurrentDemandReq.*DC_EVStatus.*EVRESSSOC/);
  assertOneLineError(await openpnc(['exi', 'encode', '--schema', 'iso2', '/nonexistent/file.json']), /cannot read .*ENOENT/);
});

test('usage errors and --help', async () => {
  let run = await openpnc(['exi', 'decode', '--schema', 'xml', '80']);
  assert.is.not(run.code, 0);
  assert.match(run.stderr, /unknown schema 'xml'/);
  run = await openpnc(['exi', 'encode', '--schema', 'auto', '-'], '{}');
  assert.is.not(run.code, 0);
  run = await openpnc(['exi', 'frobnicate']);
  assert.is.not(run.code, 0);
  for (const args of [['exi', '--help'], ['exi', 'decode', '--help'], ['exi', 'encode', '-h']]) {
    run = await openpnc(args);
    assert.is(run.code, 0, args.join(' '));
    assert.match(run.stdout, /--schema auto|auto\s+\(decode only\)/);
  }
  run = await openpnc(['--help']);
  assert.match(run.stdout, /exi\s+decode EXI/);
});

test.run();
