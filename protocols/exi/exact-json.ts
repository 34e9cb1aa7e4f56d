/**
 * JSON with exact integers, for the exi.md document shape: `xs:integer`, `xs:unsignedLong` and the
 * like (X509SerialNumber, MeterReading, time stamps) are exact decimals, and `JSON.parse` rounds
 * those beyond 2^53. This reader (RFC 8259) gives a bigint for an integer literal outside the safe
 * range and a number otherwise; the writer prints a bigint as its bare digits.
 */

/** A syntax error, with the character position. */
export class ExactJsonError extends Error {
  constructor(message: string, readonly position: number) {
    super(`${message} at position ${position}`);
    this.name = 'ExactJsonError';
  }
}

/** Deeper nesting is refused rather than overflowing the stack. */
const MAX_DEPTH = 512;
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const STRING_RUN = /[^"\\\u0000-\u001f]*/y;
const ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** Parses JSON text; integers beyond ±(2^53 − 1) become bigints. */
export function parseExactJson(text: string): unknown {
  let at = 0;
  const fail = (message: string): never => {
    throw new ExactJsonError(at >= text.length ? 'unexpected end of JSON' : `${message} ${JSON.stringify(text[at])}`, at);
  };
  const space = () => {
    while (at < text.length && (text[at] === ' ' || text[at] === '\t' || text[at] === '\n' || text[at] === '\r')) at++;
  };
  const literal = (word: string, value: unknown) => {
    if (text.startsWith(word, at)) {
      at += word.length;
      return value;
    }
    return fail('unexpected token');
  };
  const string = (): string => {
    at++; // opening quote
    let out = '';
    for (;;) {
      STRING_RUN.lastIndex = at;
      const run = STRING_RUN.exec(text)![0];
      out += run;
      at += run.length;
      const c = text[at];
      if (c === '"') {
        at++;
        return out;
      }
      if (c !== '\\') return fail('bad character in string');
      const e = text[at + 1];
      if (e === 'u') {
        const hex = text.slice(at + 2, at + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) return fail('bad \\u escape');
        out += String.fromCharCode(parseInt(hex, 16));
        at += 6;
      } else if (e !== undefined && e in ESCAPES) {
        out += ESCAPES[e];
        at += 2;
      } else {
        at++;
        return fail('bad escape');
      }
    }
  };
  const number = (): number | bigint => {
    NUMBER.lastIndex = at;
    const match = NUMBER.exec(text);
    if (!match) return fail('unexpected token');
    at += match[0].length;
    const [digits, fraction, exponent] = match;
    if (fraction === undefined && exponent === undefined) {
      const value = Number(digits);
      return Number.isSafeInteger(value) ? value : BigInt(digits);
    }
    return Number(digits);
  };
  const value = (depth: number): unknown => {
    if (depth > MAX_DEPTH) return fail(`nesting deeper than ${MAX_DEPTH}`);
    space();
    const c = text[at];
    if (c === '{') {
      at++;
      const out: Record<string, unknown> = {};
      space();
      if (text[at] === '}') return (at++, out);
      for (;;) {
        space();
        if (text[at] !== '"') return fail('expected a property name, got');
        const key = string();
        space();
        if (text[at] !== ':') return fail("expected ':', got");
        at++;
        // defineProperty: a key "__proto__" is data, never the prototype.
        Object.defineProperty(out, key, { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
        space();
        if (text[at] === ',') at++;
        else if (text[at] === '}') return (at++, out);
        else return fail("expected ',' or '}', got");
      }
    }
    if (c === '[') {
      at++;
      const out: unknown[] = [];
      space();
      if (text[at] === ']') return (at++, out);
      for (;;) {
        out.push(value(depth + 1));
        space();
        if (text[at] === ',') at++;
        else if (text[at] === ']') return (at++, out);
        else return fail("expected ',' or ']', got");
      }
    }
    if (c === '"') return string();
    if (c === 't') return literal('true', true);
    if (c === 'f') return literal('false', false);
    if (c === 'n') return literal('null', null);
    return number();
  };
  const result = value(0);
  space();
  if (at < text.length) fail('unexpected text after the document:');
  return result;
}

/** `JSON.stringify(value, null, indent)` that writes a bigint as its exact digits. */
export function stringifyExactJson(value: unknown, indent = 2): string {
  const pad = ' '.repeat(indent);
  const write = (v: unknown, margin: string): string | undefined => {
    if (typeof v === 'bigint') return v.toString();
    if (v === null || typeof v !== 'object') return JSON.stringify(v);
    const inner = margin + pad;
    const open = indent ? `\n${inner}` : '';
    const close = indent ? `\n${margin}` : '';
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      return `[${open}${v.map((item) => write(item, inner) ?? 'null').join(`,${open}`)}${close}]`;
    }
    const entries = Object.entries(v).flatMap(([key, item]) => {
      const written = write(item, inner);
      return written === undefined ? [] : [`${JSON.stringify(key)}:${indent ? ' ' : ''}${written}`];
    });
    return entries.length === 0 ? '{}' : `{${open}${entries.join(`,${open}`)}${close}}`;
  };
  return write(value, '') ?? 'null';
}
