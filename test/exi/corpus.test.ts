// Every real EXI payload of the shared corpus (exi.md) against the generated codecs: decodes to the
// reference decoding (by value), and the reference JSON re-encodes to the identical bytes. Edge
// cases are listed explicitly with what must happen instead.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeExi, encodeExi, EXI_SCHEMA_IDS, exiCodecs, ExiDecodeError, ExiEncodeError, type ExiJson } from '../../protocols/exi/index.ts';
import { corpusDocument, EXI_CORPUS_DIR, loadCorpus, type CorpusRow } from '../helpers/exi-corpus.ts';
import { expectError } from '../helpers/expect-error.ts';

const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** The reference decodings write xmldsig Transform (maxOccurs unbounded) as a single object; we always write a list. */
function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'Transform' && !Array.isArray(v) ? [normalize(v)] : normalize(v)]));
}

/**
 * EVerest upstream serializer tests use EVSEID "000000", shorter than the schema's minLength 7
 * (evseIDType). We decode them, but refuse to encode a schema violation.
 */
const EVSEID_TOO_SHORT = new Map([
  [3169, 'CurrentDemandRes'],
  [3170, 'CurrentDemandRes'],
  [3187, 'ChargingStatusRes'],
  [3188, 'ChargingStatusRes'],
]);

const rows = loadCorpus();
const trailing = (row: CorpusRow): number => Number(row.notes.find((n) => n.startsWith('trailing-bytes='))?.split('=')[1] ?? 0);

test('the corpus is the one exi.md describes', () => {
  assert.is(rows.length, 3189);
  const bySchema = Object.fromEntries(EXI_SCHEMA_IDS.map((s) => [s, rows.filter((r) => r.schema === s).length]));
  assert.equal(bySchema, { app: 16, iso2: 1039, din: 2127, 'iso2-frag': 4, 'iso2-xmldsig': 3 });
});

test('every regular row decodes to its reference decoding and re-encodes to the identical bytes', () => {
  const problems: string[] = [];
  let checked = 0;
  for (const row of rows) {
    if (row.notes.includes('overrun') || trailing(row) > 0 || EVSEID_TOO_SHORT.has(row.id)) continue;
    const expected = corpusDocument(row.id) as ExiJson;
    try {
      const { document, paddingBytes } = decodeExi(row.schema, row.bytes);
      if (paddingBytes !== 0) problems.push(`${row.id}: paddingBytes ${paddingBytes}`);
      assert.equal(normalize(document), normalize(expected), `row ${row.id} ${row.schema} ${row.message}`);
      const again = toHex(encodeExi(row.schema, expected));
      if (again !== row.hex) problems.push(`${row.id} ${row.schema} ${row.message}: re-encoded ${again} != ${row.hex}`);
      checked++;
    } catch (error) {
      problems.push(`${row.id} ${row.schema} ${row.message}: ${(error as Error).message.slice(0, 300)}`);
    }
  }
  assert.equal(problems, []);
  assert.is(checked, rows.length - 7);
});

test('the typed API gives the same documents with Uint8Array byte fields', () => {
  for (const row of rows.filter((r) => r.schema === 'iso2').slice(0, 200)) {
    const typed = exiCodecs.iso2.decode(row.bytes);
    const session = typed.V2G_Message.Header.SessionID;
    assert.instance(session, Uint8Array);
    assert.is(toHex(session), (corpusDocument(row.id) as any).V2G_Message.Header.SessionID);
    if (!row.notes.includes('overrun') && !EVSEID_TOO_SHORT.has(row.id)) assert.is(toHex(exiCodecs.iso2.encode(typed)), row.hex);
  }
});

test('byte fields that start on a byte boundary are views into the input, the others copies', () => {
  let views = 0;
  let copies = 0;
  const walk = (value: unknown, input: Uint8Array): void => {
    if (value instanceof Uint8Array) {
      if (value.buffer === input.buffer) {
        views++;
        assert.ok(value.byteOffset >= input.byteOffset && value.byteOffset + value.length <= input.byteOffset + input.length);
      } else copies++;
    } else if (typeof value === 'object' && value !== null) for (const v of Object.values(value)) walk(v, input);
  };
  for (const row of rows.filter((r) => r.schema === 'iso2' && !r.notes.includes('overrun'))) walk(exiCodecs.iso2.decode(row.bytes), row.bytes);
  assert.ok(views > 0 && copies > 0, `${views} views, ${copies} copies`);
});

test('trailing zero padding is accepted and reported; re-encoding drops it', () => {
  const padded = rows.filter((r) => trailing(r) > 0);
  assert.ok(padded.length >= 1);
  for (const row of padded) {
    const { document, paddingBytes } = decodeExi(row.schema, row.bytes);
    assert.is(paddingBytes, trailing(row));
    assert.equal(normalize(document), normalize(corpusDocument(row.id)));
    assert.is(toHex(encodeExi(row.schema, document)), row.hex.slice(0, -2 * paddingBytes));
    const nonZero = row.bytes.slice();
    nonZero[nonZero.length - 1] = 1;
    const error = expectError(ExiDecodeError, () => decodeExi(row.schema, nonZero));
    assert.is(error.bitPosition, (row.bytes.length - 1) * 8);
  }
});

test('vectors one byte short (libcbv2g reads past the end) raise ExiDecodeError at the end of the input', () => {
  const short = rows.filter((r) => r.notes.includes('overrun'));
  assert.is(short.length, 2);
  for (const row of short) {
    const error = expectError(ExiDecodeError, () => decodeExi(row.schema, row.bytes));
    assert.is(error.code, 'ExiDecodeError');
    assert.ok(error.bitPosition <= row.bytes.length * 8 && error.bitPosition > (row.bytes.length - 1) * 8, `${error.bitPosition}`);
    assert.match(error.message, /unexpected end of input/);
  }
});

test('EVSEID shorter than its minLength decodes, but encoding it is refused with the element path', () => {
  for (const [id, message] of EVSEID_TOO_SHORT) {
    const row = rows.find((r) => r.id === id)!;
    const { document } = decodeExi(row.schema, row.bytes);
    assert.equal(normalize(document), normalize(corpusDocument(id)));
    const error = expectError(ExiEncodeError, () => encodeExi(row.schema, document));
    assert.is(error.path, `V2G_Message.Body.${message}.EVSEID`);
    assert.match(error.message, /string length 6 outside \[7, 37\]/);
  }
});

test('every truncation of a curated vector is an ExiDecodeError inside the input', () => {
  const curated = readFileSync(new URL('vectors.tsv', EXI_CORPUS_DIR), 'utf8').trimEnd().split('\n').slice(1).map((line) => line.split('\t'));
  let cuts = 0;
  for (const [, , schema, , hex, , notes] of curated) {
    const bytes = new Uint8Array(Buffer.from(hex, 'hex'));
    const documentEnd = bytes.length - Number(/trailing-bytes=(\d+)/.exec(notes ?? '')?.[1] ?? 0);
    for (let length = 0; length < documentEnd; length += Math.max(1, bytes.length >> 6)) {
      const cut = bytes.slice(0, length);
      try {
        decodeExi(schema as never, cut);
        assert.unreachable(`decoded a ${length}-byte prefix of ${hex}`);
      } catch (error) {
        if (!(error instanceof ExiDecodeError)) throw error;
        assert.ok(error.bitPosition <= length * 8);
      }
      cuts++;
    }
  }
  assert.ok(cuts > 2000);
});

test('failures.tsv: each input is an ExiDecodeError under every schema, except the eMAID element fragment', () => {
  const failures = readFileSync(new URL('failures.tsv', EXI_CORPUS_DIR), 'utf8').trimEnd().split('\n').slice(1).map((line) => line.split('\t'));
  assert.is(failures.length, 12);
  for (const [hex, , explanation] of failures) {
    const bytes = new Uint8Array(Buffer.from(hex, 'hex'));
    for (const schema of EXI_SCHEMA_IDS) {
      if (schema === 'iso2-frag' && explanation.startsWith('eMAID fragment in the EXI element-fragment grammar')) {
        const { document } = decodeExi(schema, bytes);
        assert.equal(document, { eMAID: { Id: 'id4', CONTENT: 'DEABCC123ABC56' } });
        assert.is(toHex(encodeExi(schema, document)), hex);
        continue;
      }
      expectError(ExiDecodeError, () => decodeExi(schema, bytes));
    }
  }
});

test.run();
