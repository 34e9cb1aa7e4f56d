// EMAID (e-mobility account identifier): the contract certificate's CN and PaymentDetailsReq.eMAID.
// ISO 15118-1 form `CC[-]PPP[-]IIIIIIIII[-][D]`; older DIN SPEC 91286 form `CC[*-]PPP[*-]IIIIII[*-]D`.
import { PncError } from '../errors.ts';

/** The 36 characters an EMAID is made of; a character's index is its value in both check-digit algorithms. */
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** An EMAID that does not follow the syntax; `reason` names the part that is wrong. */
export class EmaidSyntaxError extends PncError {
  override readonly name = 'EmaidSyntaxError';
  constructor(readonly input: string, readonly reason: string) {
    super('EmaidSyntaxError', `invalid EMAID '${input}': ${reason}`, { data: { input, reason } });
  }
}

/** An EMAID whose check character is not the one computed from the other characters. */
export class EmaidCheckDigitMismatch extends PncError {
  override readonly name = 'EmaidCheckDigitMismatch';
  constructor(readonly input: string, readonly expected: string, readonly actual: string) {
    super('EmaidCheckDigitMismatch', `invalid EMAID '${input}': check character is '${actual}', expected '${expected}'`, {
      data: { input, expected, actual },
    });
  }
}

/** A parsed ISO 15118 EMAID. */
export interface Emaid {
  /** ISO 3166-1 alpha-2 country code, upper case. */
  readonly countryCode: string;
  /** Provider (MO) ID, 3 characters. */
  readonly providerId: string;
  /** eMA instance, 9 characters. */
  readonly instance: string;
  /** The 15th character when the input carried one. */
  readonly checkDigit?: string;
  /** Upper case, no separators: 14 characters, or 15 with the check character. */
  readonly normalized: string;
}

function characterValue(character: string): number {
  return ALPHABET.indexOf(character);
}

/** Finds the first offending character so the error says where the input goes wrong. */
function describeCharacters(input: string, compact: string): void {
  for (let i = 0; i < compact.length; i++) {
    const c = compact[i];
    if (i < 2 ? !/[A-Z]/.test(c) : characterValue(c) < 0) {
      const part = i < 2 ? 'country code' : i < 5 ? 'provider ID' : i < 14 ? 'eMA instance' : 'check character';
      const expected = i < 2 ? 'a letter' : 'a letter or digit';
      throw new EmaidSyntaxError(input, `character ${i + 1} ('${c}') in the ${part} must be ${expected}`);
    }
  }
}

/**
 * Parses an EMAID in ISO 15118 form with or without hyphens (used consistently) and with or
 * without the check character, case-insensitively. It checks syntax only; see {@link validateEmaid}.
 * @throws EmaidSyntaxError naming what is wrong.
 */
export function parseEmaid(input: string): Emaid {
  const trimmed = input.trim();
  const hyphenated = trimmed.includes('-');
  if (hyphenated && !/^[^-]{2}-[^-]{3}-[^-]{9}(-[^-])?$/.test(trimmed)) {
    throw new EmaidSyntaxError(input, 'hyphens must separate country code (2), provider ID (3), eMA instance (9) and the optional check character');
  }
  const compact = trimmed.replaceAll('-', '').toUpperCase();
  if (compact.length !== 14 && compact.length !== 15) {
    throw new EmaidSyntaxError(input, `must have 14 characters, or 15 with the check character, without separators (has ${compact.length})`);
  }
  describeCharacters(input, compact);
  return {
    countryCode: compact.slice(0, 2),
    providerId: compact.slice(2, 5),
    instance: compact.slice(5, 14),
    ...(compact.length === 15 ? { checkDigit: compact[14] } : {}),
    normalized: compact,
  };
}

/** Upper case, no separators, check character kept when present. @throws EmaidSyntaxError */
export function normalizeEmaid(input: string): string {
  return parseEmaid(input).normalized;
}

/**
 * Parses an EMAID and, when a 15th character is present, checks it against the ISO 15118 check
 * digit. Real contracts may carry 14 characters only (Hubject QA), so a missing check character
 * is accepted unless `requireCheckDigit` is set.
 * @throws EmaidSyntaxError | EmaidCheckDigitMismatch
 */
export function validateEmaid(input: string, options: { requireCheckDigit?: boolean } = {}): Emaid {
  const emaid = parseEmaid(input);
  if (emaid.checkDigit === undefined) {
    if (options.requireCheckDigit) throw new EmaidSyntaxError(input, 'the check character (15th character) is missing');
    return emaid;
  }
  const expected = emaidCheckDigit(emaid.normalized.slice(0, 14));
  if (expected !== emaid.checkDigit) throw new EmaidCheckDigitMismatch(input, expected, emaid.checkDigit);
  return emaid;
}

/** Two EMAIDs name the same account when they are equal without separators, ignoring case
 * (what the SECC compares between certificate CN and PaymentDetailsReq). */
export function sameEmaid(a: string, b: string): boolean {
  return a.replaceAll('-', '').toUpperCase() === b.replaceAll('-', '').toUpperCase();
}

type Vector = [number, number];
type Matrix = [[number, number], [number, number]];

function times(v: Vector, m: Matrix, modulus: number): Vector {
  return [(v[0] * m[0][0] + v[1] * m[1][0]) % modulus, (v[0] * m[0][1] + v[1] * m[1][1]) % modulus];
}

function multiply(a: Matrix, b: Matrix, modulus: number): Matrix {
  return [times(a[0], b, modulus), times(a[1], b, modulus)];
}

const P1: Matrix = [[0, 1], [1, 1]]; // over GF(2), order 3
const P2: Matrix = [[0, 1], [1, 2]]; // over GF(3)
const NEGATED_P2_INVERSE_15: Matrix = [[0, 2], [2, 1]]; // −P2⁻¹⁵ mod 3

/**
 * The ISO 15118-1 (eMI³) check character of a 14-character EMAID (separators and case ignored).
 * Each character value k = 18·q₁ + 9·q₂ + 3·r₁ + r₂ contributes q·P₁ⁱ over GF(2) and r·P₂ⁱ over
 * GF(3); the check character makes both sums over 15 positions vanish.
 * @throws EmaidSyntaxError when the input is not 14 valid characters.
 */
export function emaidCheckDigit(emaid14: string): string {
  const compact = emaid14.trim().replaceAll('-', '').toUpperCase();
  if (compact.length !== 14) throw new EmaidSyntaxError(emaid14, `check digit input must have 14 characters without separators (has ${compact.length})`);
  describeCharacters(emaid14, compact);
  let t1: Vector = [0, 0];
  let t2: Vector = [0, 0];
  let power1 = P1;
  let power2 = P2;
  for (const character of compact) {
    const k = characterValue(character);
    const q: Vector = [Math.floor(k / 18), Math.floor((k % 18) / 9)];
    const r: Vector = [Math.floor((k % 9) / 3), k % 3];
    const qp = times(q, power1, 2);
    const rp = times(r, power2, 3);
    t1 = [(t1[0] + qp[0]) % 2, (t1[1] + qp[1]) % 2];
    t2 = [(t2[0] + rp[0]) % 3, (t2[1] + rp[1]) % 3];
    power1 = multiply(power1, P1, 2);
    power2 = multiply(power2, P2, 3);
  }
  // P₁¹⁵ = I and −I = I over GF(2), so q(c₁₅) = t₁.
  const r15 = times(t2, NEGATED_P2_INVERSE_15, 3);
  return ALPHABET[18 * t1[0] + 9 * t1[1] + 3 * r15[0] + r15[1]];
}

/**
 * The DIN SPEC 91286 check character over an ID without separators (normally country 2 +
 * provider 3 + instance 6 = 11 characters): digits weigh 2ᵉ, letters split into their two decimal
 * digits; the sum mod 11, with 10 written `X`.
 */
export function dinCheckDigit(id: string): string {
  const compact = id.trim().replaceAll(/[*-]/g, '').toUpperCase();
  let sum = 0;
  let exponent = 0;
  for (const [i, character] of [...compact].entries()) {
    const value = characterValue(character);
    if (value < 0) throw new EmaidSyntaxError(id, `character ${i + 1} ('${character}') must be a letter or digit`);
    if (value < 10) {
      sum += value * 2 ** exponent;
      exponent += 1;
    } else {
      sum += Math.floor(value / 10) * 2 ** exponent + (value % 10) * 2 ** (exponent + 1);
      exponent += 2;
    }
  }
  const check = sum % 11;
  return check === 10 ? 'X' : String(check);
}

/**
 * Converts a DIN SPEC 91286 EMAID `CC[*-]PPP[*-]IIIIII[*-]D` to its ISO 15118 form
 * (instance = "00" + DIN instance + DIN check character, then the ISO check character appended).
 * @throws EmaidSyntaxError | EmaidCheckDigitMismatch (for a wrong DIN check character)
 */
export function dinEmaidToIso(input: string): Emaid {
  const match = /^([A-Za-z]{2})([*-]?)([A-Za-z0-9]{3})\2([A-Za-z0-9]{6})\2([A-Za-z0-9])$/.exec(input.trim());
  if (!match) throw new EmaidSyntaxError(input, 'a DIN SPEC 91286 EMAID is CC*PPP*IIIIII*D (country 2, provider 3, instance 6, check 1; separators * or - used consistently or not at all)');
  const [, country, , provider, instance, check] = match;
  const upper = (country + provider + instance).toUpperCase();
  const expected = dinCheckDigit(upper);
  if (expected !== check.toUpperCase()) throw new EmaidCheckDigitMismatch(input, expected, check.toUpperCase());
  const iso14 = `${upper.slice(0, 5)}00${upper.slice(5)}${expected}`;
  return parseEmaid(iso14 + emaidCheckDigit(iso14));
}
