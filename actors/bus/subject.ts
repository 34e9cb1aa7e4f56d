/**
 * NATS subject rules, shared by both adapters so a subject the in-process bus accepts is one NATS accepts:
 * dot-separated non-empty tokens without whitespace; `*` matches one token and `>` the rest,
 * both only as whole tokens, `>` only last, and neither where a concrete subject is needed.
 */
import { PncError } from '../../protocols/errors.ts';

const WHITESPACE = /[\s\u0000]/;
const validConcrete = new Set<string>();
const validPatterns = new Set<string>();
const CACHE_LIMIT = 10_000;

function invalid(subject: unknown, why: string): PncError {
  return new PncError('InvalidSubject', `invalid subject ${JSON.stringify(subject)}: ${why}`, { data: { subject } });
}

function check(subject: unknown, wildcards: boolean): void {
  if (typeof subject !== 'string' || subject.length === 0) throw invalid(subject, 'must be a non-empty string');
  if (WHITESPACE.test(subject)) throw invalid(subject, 'must not contain whitespace');
  const tokens = subject.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token.length === 0) throw invalid(subject, 'has an empty token');
    const wildcard = token === '*' || token === '>';
    if (!wildcard && (token.includes('*') || token.includes('>'))) throw invalid(subject, `token "${token}" mixes a wildcard with text`);
    if (wildcard && !wildcards) throw invalid(subject, 'wildcards are only allowed when subscribing');
    if (token === '>' && i !== tokens.length - 1) throw invalid(subject, '">" must be the last token');
  }
}

function remember(cache: Set<string>, subject: string): void {
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.add(subject);
}

/** Throws `InvalidSubject` unless `subject` is a concrete subject (publish, request, queue names). */
export function assertSubject(subject: string): void {
  if (validConcrete.has(subject)) return;
  check(subject, false);
  remember(validConcrete, subject);
}

/** Throws `InvalidSubject` unless `pattern` is a valid subscription subject (wildcards allowed). */
export function assertPattern(pattern: string): void {
  if (validPatterns.has(pattern)) return;
  check(pattern, true);
  remember(validPatterns, pattern);
}

/** True when the concrete `subject` matches the subscription `pattern`; both already validated. */
export function subjectMatches(pattern: readonly string[], subject: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const token = pattern[i];
    if (token === '>') return subject.length > i;
    if (i >= subject.length) return false;
    if (token !== '*' && token !== subject[i]) return false;
  }
  return pattern.length === subject.length;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Durable consumer names become JetStream consumer names: letters, digits, `_` and `-` only. */
export function assertDurableName(name: string): void {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new PncError('InvalidArgument', `invalid durable name ${JSON.stringify(name)}: use 1-64 letters, digits, "_" or "-"`, { data: { name } });
  }
}
