// The catalogue's base64 check accepts and refuses exactly what `^[A-Za-z0-9+/]*={0,2}$` did: hostile
// byte fields (the CCP's installation request, OPCP bodies) must not get through a faster check.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { base64, isBase64 } from '../../protocols/catalogue/fields.ts';

const REGEX = /^[A-Za-z0-9+/]*={0,2}$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** What a lenient decoder skips or reads as base64 (URL-safe, whitespace, padding) and what it may truncate to one. */
const HOSTILE = ['=', '-', '_', ' ', '\n', '\r', '\t', '.', '%', '\0', 'é', '\u0141', '\u0100', '\u012b', '\uff21', '\ud800', '😀'];

const same = (text: string) => assert.is(isBase64(text), REGEX.test(text), JSON.stringify(text.length > 80 ? `${text.slice(0, 40)}…${text.slice(-40)}` : text));

test('short strings over the alphabet, padding and hostile characters', () => {
  fc.assert(fc.property(fc.array(fc.constantFrom(...ALPHABET.slice(0, 4), '+', '/', ...HOSTILE), { maxLength: 14 }), (chars) => {
    same(chars.join(''));
  }), { numRuns: 20_000 });
});

test('a real 6 KB field with one hostile character anywhere, or its padding changed', () => {
  const field = Buffer.from(Array.from({ length: 4_801 }, (_, i) => (i * 7_919) & 255)).toString('base64');
  same(field);
  fc.assert(fc.property(fc.nat(field.length), fc.constantFrom(...HOSTILE), fc.boolean(), (at, bad, replace) => {
    same(field.slice(0, at) + bad + field.slice(replace ? at + 1 : at));
  }), { numRuns: 5_000 });
  for (const text of [field.replace(/=+$/, ''), `${field}=`, `${field}==`, `${field}===`, `=${field}`, `${field.slice(0, -3)}=${field.slice(-2)}`, `${field}A`, `${field}AB`, `${field}ABC`, `${field}ABCD=`]) same(text);
});

test('the edges of the groups: lengths 0 to 9 with padding inside or after', () => {
  for (const text of ['', '=', '==', '===', 'A', 'AB', 'AB=', 'AB==', 'AB===', 'AA==AAAA', 'AA====', 'AAAA====', 'AAA=', 'AAA==', 'A===', 'AAAA=AAA', 'AAAAA=', '-_-_', 'AA\nA', 'AAAA ']) same(text);
});

test('the zod field refuses what the regex refused, with the same message', () => {
  assert.ok(base64.safeParse('QUJD').success);
  const refused = base64.safeParse('QU-D');
  assert.not.ok(refused.success);
  assert.is(refused.error?.issues[0].message, 'expected base64');
  assert.not.ok(base64.min(4).safeParse('QU=').success);
});

test.run();
