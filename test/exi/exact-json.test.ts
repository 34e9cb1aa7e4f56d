// The exact-integer JSON reader and writer of `openpnc exi`: JSON.parse's answers wherever those are
// exact, bigints beyond 2^53, one-line errors with a position for broken text.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { ExactJsonError, parseExactJson, stringifyExactJson } from '../../protocols/exi/exact-json.ts';

test('agrees with JSON.parse and JSON.stringify on JSON without big integers', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const text = JSON.stringify(value, null, 2);
      fc.pre(!/\d{16}/.test(text)); // no integer near or beyond 2^53
      assert.equal(parseExactJson(text), JSON.parse(text));
      assert.is(stringifyExactJson(JSON.parse(text)), text);
      assert.is(stringifyExactJson(JSON.parse(text), 0), JSON.stringify(value));
    }),
    { numRuns: 300 },
  );
});

test('integers beyond 2^53 are bigints, exactly, and are written back as the same digits', () => {
  const text = '{"a": 9007199254740993, "b": -123456789012345678901234567890, "c": 9007199254740991, "d": 1.5e300, "e": [18446744073709551615]}';
  const parsed = parseExactJson(text) as Record<string, unknown>;
  assert.is(parsed.a, 9007199254740993n);
  assert.is(parsed.b, -123456789012345678901234567890n);
  assert.is(parsed.c, 9007199254740991);
  assert.is(parsed.d, 1.5e300);
  assert.is(stringifyExactJson(parsed, 0), '{"a":9007199254740993,"b":-123456789012345678901234567890,"c":9007199254740991,"d":1.5e+300,"e":[18446744073709551615]}');
});

test('broken text is an ExactJsonError with a position; __proto__ stays data; deep nesting is refused', () => {
  for (const [text, position] of [['{"a": }', 6], ['[1, 2', 5], ['{"a" 1}', 5], ['01', 1], ['"\\x"', 2], ['"a\u0001"', 2], ['[1] 2', 4], ['', 0], ['-', 0], ['tru', 0]] as const) {
    try {
      parseExactJson(text);
      assert.unreachable(text);
    } catch (error) {
      assert.instance(error, ExactJsonError, text);
      assert.is((error as ExactJsonError).position, position, text);
    }
  }
  const polluted = parseExactJson('{"__proto__": {"admin": true}}') as Record<string, unknown>;
  assert.is(Object.getPrototypeOf(polluted), Object.prototype);
  assert.equal(Object.keys(polluted), ['__proto__']);
  assert.throws(() => parseExactJson('['.repeat(100_000)), /nesting deeper/);
});

test.run();
