// `openpnc exi` run as a real child process (node bin/openpnc.js …).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { corpusDocument, loadCorpus } from '../helpers/exi-corpus.ts';
import { assertOneLineError, openpnc, type CliResult } from '../helpers/cli.ts';

const corpus = loadCorpus();
const row = (id: number) => corpus.find((r) => r.id === id)!;
const handshake = row(1); // supportedAppProtocolReq
const iso2 = corpus.find((r) => r.schema === 'iso2' && r.message === 'CurrentDemandReq')!;
const din = row(2); // DIN SessionSetupReq

/** exi's failure form: nothing on stdout, one `openpnc: …` line, exit 1. */
function assertFails(run: CliResult, pattern: RegExp): void {
  assert.is(run.stdout, '');
  assertOneLineError(run, pattern, 1);
}

test('decode prints the document in the exi.md JSON shape', async () => {
  const run = await openpnc(['exi', 'decode', '--schema', 'app', handshake.hex]);
  assert.is(run.code, 0, run.stderr);
  assert.equal(JSON.parse(run.stdout), corpusDocument(handshake.id));
});

test('decode reads stdin and ignores whitespace and 0x', async () => {
  const spaced = `0x${iso2.hex.replace(/(..)/g, '$1 ')}\n`;
  const run = await openpnc(['exi', 'decode', '--schema', 'iso2', '-'], { stdin: spaced });
  assert.is(run.code, 0, run.stderr);
  assert.ok(JSON.parse(run.stdout).V2G_Message.Body.CurrentDemandReq);
});

test('--schema auto names the grammar that matched on stderr, keeping stdout the bare document', async () => {
  const cases = [[handshake, 'app'], [iso2, 'iso2'], [din, 'din']] as const;
  const runs = await Promise.all(cases.map(([vector]) => openpnc(['exi', 'decode', '--schema', 'auto', vector.hex])));
  runs.forEach((run, i) => {
    assert.is(run.code, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`^schema: ${cases[i][1]}$`, 'm'));
    assert.equal(JSON.parse(run.stdout), corpusDocument(cases[i][0].id));
  });
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
  const encoded = await openpnc(['exi', 'encode', '--schema', 'iso2', '-'], { stdin: decoded.stdout });
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
  const [letters, odd, empty] = await Promise.all([
    openpnc(['exi', 'decode', '--schema', 'iso2', '80zz']),
    openpnc(['exi', 'decode', '--schema', 'iso2', '809']),
    openpnc(['exi', 'decode', '--schema', 'iso2', '-'], { stdin: '' }),
  ]);
  assertFails(letters, /invalid hex: 'z'/);
  assertFails(odd, /odd number of digits/);
  assertFails(empty, /no hex input/);
});

test('bytes that are not a document are a one-line error with the bit position, exit 1', async () => {
  const [truncated, garbage] = await Promise.all([
    openpnc(['exi', 'decode', '--schema', 'iso2', iso2.hex.slice(0, 10)]),
    openpnc(['exi', 'decode', '--schema', 'auto', 'ffffffff']),
  ]);
  assertFails(truncated, /not a valid iso2 EXI stream: .*bit \d+/);
  assertFails(garbage, /no schema matched/);
});

test('invalid JSON and schema violations are one-line errors naming the element path, exit 1', async () => {
  const document = corpusDocument(iso2.id);
  document.V2G_Message.Body.CurrentDemandReq.DC_EVStatus.EVRESSSOC = 'full';
  const [badJson, violation, missing] = await Promise.all([
    openpnc(['exi', 'encode', '--schema', 'iso2', '-'], { stdin: '{"V2G_Message": ' }),
    openpnc(['exi', 'encode', '--schema', 'iso2', '-'], { stdin: JSON.stringify(document) }),
    openpnc(['exi', 'encode', '--schema', 'iso2', '/nonexistent/file.json']),
  ]);
  assertFails(badJson, /invalid JSON/);
  assertFails(violation, /V2G_Message.*CurrentDemandReq.*DC_EVStatus.*EVRESSSOC/);
  assertFails(missing, /cannot read .*ENOENT/);
});

test('integers beyond 2^53 pass exactly: JSON numbers in, the same numbers out, as the codec writes them', async () => {
  // exi.md: integers are exact decimals. MeterReading is xs:unsignedLong, X509SerialNumber xs:integer.
  const meter = '18446744073709551615'; // 2^64 - 1, the largest MeterReading
  const serial = '123456789012345678901234567890';
  const cases = [
    [row(69), /"MeterReading": \d+/, `"MeterReading": ${meter}`, meter],
    [row(565), /"X509SerialNumber": \d+/, `"X509SerialNumber": ${serial}`, serial],
  ] as const;
  for (const [vector, field, replacement, digits] of cases) {
    const text = JSON.stringify(corpusDocument(vector.id), null, 2);
    assert.match(text, field);
    const edited = text.replace(field, replacement);
    const encoded = await openpnc(['exi', 'encode', '--schema', 'iso2', '-'], { stdin: edited });
    assert.is(encoded.code, 0, encoded.stderr);
    const decoded = await openpnc(['exi', 'decode', '--schema', 'iso2', encoded.stdout.trim()]);
    assert.is(decoded.code, 0, decoded.stderr);
    assert.ok(decoded.stdout.includes(replacement), `${vector.message}: ${digits} is written as an exact number`);
    const again = await openpnc(['exi', 'encode', '--schema', 'iso2', '-'], { stdin: decoded.stdout });
    assert.is(again.stdout, encoded.stdout, 'the decoded JSON encodes to the same bytes');
  }
});

test('usage errors and --help', async () => {
  const [unknownSchema, autoEncode, unknownSubcommand, topHelp] = await Promise.all([
    openpnc(['exi', 'decode', '--schema', 'xml', '80']),
    openpnc(['exi', 'encode', '--schema', 'auto', '-'], { stdin: '{}' }),
    openpnc(['exi', 'frobnicate']),
    openpnc(['--help']),
  ]);
  assert.is.not(unknownSchema.code, 0);
  assert.match(unknownSchema.stderr, /unknown schema 'xml'/);
  assert.is.not(autoEncode.code, 0);
  assert.match(autoEncode.stderr, /unknown schema 'auto'/);
  assert.is.not(unknownSubcommand.code, 0);
  assert.match(unknownSubcommand.stderr, /unknown subcommand 'exi frobnicate'/);
  assert.match(topHelp.stdout, /exi\s+decode EXI/);
  const helps = [['exi', '--help'], ['exi', 'decode', '--help'], ['exi', 'encode', '-h']];
  (await Promise.all(helps.map((args) => openpnc(args)))).forEach((help, i) => {
    assert.is(help.code, 0, helps[i].join(' '));
    assert.match(help.stdout, /auto\s+\(decode only\)/);
  });
});

test.run();
