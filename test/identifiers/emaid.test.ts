import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  dinCheckDigit,
  dinEmaidToIso,
  EmaidCheckDigitMismatch,
  emaidCheckDigit,
  EmaidSyntaxError,
  normalizeEmaid,
  parseEmaid,
  sameEmaid,
  validateEmaid,
} from '../../protocols/identifiers/index.ts';

// Known-answer vectors from /work/shared/vectors/crypto/emaid-check-digits.tsv (copied as data, sources in the file).
const vectorFile = new URL('../../../shared/vectors/crypto/emaid-check-digits.tsv', import.meta.url);
const vectors = readFileSync(vectorFile, 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => line.split('\t'));

test('every EMAID check-digit vector reproduces', () => {
  assert.ok(vectors.length >= 7);
  for (const [emaid14, expected] of vectors) assert.is(emaidCheckDigit(emaid14), expected, emaid14);
});

test('check digits of the public test contracts (reference §7.3)', () => {
  assert.is(emaidCheckDigit('UKSWI123456791'), '5'); // Josev; its CN carries a wrong 'A'
  assert.is(emaidCheckDigit('EMP77TWTW00002'), 'C'); // Hubject QA
  assert.is(emaidCheckDigit('nl-tnm-000722345'), 'X'); // separators and case ignored
});

test('a full 15-character EMAID satisfies its own check for every input (property)', () => {
  const alphanumeric = fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ');
  const letter = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ');
  const emaid14 = fc
    .tuple(fc.array(letter, { minLength: 2, maxLength: 2 }), fc.array(alphanumeric, { minLength: 12, maxLength: 12 }))
    .map(([a, b]) => [...a, ...b].join(''));
  fc.assert(
    fc.property(emaid14, (id) => {
      const full = id + emaidCheckDigit(id);
      assert.is(validateEmaid(full).normalized, full);
      // Any single-character change of the body is detected.
      const changed = id.slice(0, 7) + (id[7] === 'Z' ? 'Y' : 'Z') + id.slice(8);
      assert.is.not(emaidCheckDigit(changed), emaidCheckDigit(id));
    }),
  );
});

test('any string either parses or gets an EmaidSyntaxError/EmaidCheckDigitMismatch (property)', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 20 }), fc.stringMatching(/^[A-Za-z0-9-]{12,19}$/)), (input) => {
      try {
        const emaid = validateEmaid(input);
        assert.match(emaid.normalized, /^[A-Z]{2}[0-9A-Z]{12,13}$/);
      } catch (error) {
        assert.ok(error instanceof EmaidSyntaxError || error instanceof EmaidCheckDigitMismatch, String(error));
      }
    }),
    { numRuns: 2000 },
  );
});

test('parse and normalise: hyphens, case, optional check character', () => {
  const emaid = parseEmaid('de-abc-c123abc56');
  assert.equal(emaid, { countryCode: 'DE', providerId: 'ABC', instance: 'C123ABC56', normalized: 'DEABCC123ABC56' });
  assert.is(normalizeEmaid('DE-ABC-C123ABC56-0'), 'DEABCC123ABC560');
  assert.is(parseEmaid('DEABCC123ABC560').checkDigit, '0');
  assert.ok(sameEmaid('DE-ABC-C123ABC56', 'deabcc123abc56'));
  assert.not.ok(sameEmaid('DEABCC123ABC56', 'DEABCC123ABC57'));
});

function syntaxReason(input: string): string {
  try {
    parseEmaid(input);
  } catch (error) {
    assert.instance(error, EmaidSyntaxError);
    assert.is((error as EmaidSyntaxError).code, 'EmaidSyntaxError');
    return (error as EmaidSyntaxError).reason;
  }
  throw new Error(`'${input}' was accepted`);
}

test('syntax errors say what is wrong', () => {
  assert.match(syntaxReason('DEABC123'), 'must have 14 characters');
  assert.match(syntaxReason('D1ABCC123ABC56'), "character 2 ('1') in the country code must be a letter");
  assert.match(syntaxReason('DEA_CC123ABC56'), 'provider ID');
  assert.match(syntaxReason('DEABCC123AB#56'), 'eMA instance');
  assert.match(syntaxReason('DEABCC123ABC56$'), 'check character');
  assert.match(syntaxReason('DE-ABCC123ABC56'), 'hyphens must separate');
  assert.match(syntaxReason('DE-ABC-C123-ABC56'), 'hyphens must separate');
});

test('validateEmaid checks the check character when present', () => {
  assert.is(validateEmaid('EMP77TWTW00002').normalized, 'EMP77TWTW00002'); // Hubject QA: no check character
  assert.is(validateEmaid('NL-TNM-000722345-x').normalized, 'NLTNM000722345X');
  try {
    validateEmaid('UKSWI123456791A');
    assert.unreachable('wrong check character accepted');
  } catch (error) {
    assert.instance(error, EmaidCheckDigitMismatch);
    assert.equal((error as EmaidCheckDigitMismatch).toJSON().data, { input: 'UKSWI123456791A', expected: '5', actual: 'A' });
  }
  assert.throws(() => validateEmaid('EMP77TWTW00002', { requireCheckDigit: true }), (e: unknown) => e instanceof EmaidSyntaxError);
});

test('DIN SPEC 91286 check digit and conversion to the ISO form', () => {
  // DIN IDs and their ISO equivalents as ShellRechargeSolutionsEU/mobilityid EmaIdSpec lists them.
  assert.is(dinCheckDigit('NL-TNM-012204'), '5');
  assert.is(dinCheckDigit('DETNM002965'), '8');
  assert.is(dinCheckDigit('NL*BMW*00009L'), '1');
  assert.is(dinEmaidToIso('NL-TNM-012204-5').normalized, 'NLTNM000122045U');
  assert.is(dinEmaidToIso('DE-TNM-002965-8').normalized, 'DETNM000029658Q');
  assert.is(dinEmaidToIso('NL*BMW*00009L*1').normalized, 'NLBMW0000009L1Z');
  assert.throws(() => dinEmaidToIso('NL-TNM-012204-6'), (e: unknown) => e instanceof EmaidCheckDigitMismatch);
  assert.throws(() => dinEmaidToIso('NL-TNM*012204-5'), (e: unknown) => e instanceof EmaidSyntaxError);
  // DEABC00000 sums to 1531 ≡ 2 (mod 11); a final digit v adds v·2¹⁵ ≡ −v, so v = 3 gives 10, written X.
  assert.is(dinCheckDigit('DEABC00000'), '2');
  assert.is(dinCheckDigit('DEABC000003'), 'X');
});

test.run();
