// The EVCC's decision on a stapled OCSP response (stapledOcspVerdict) and the SECC's refresh deadline
// (nextOcspRefreshAt), on real responses of a CPO Sub-CA 2 responder; mutated staples never throw.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import 'reflect-metadata';
import {
  buildOcspRequest,
  createOcspResponder,
  createTestPki,
  nextOcspRefreshAt,
  OCSP_REFRESH_INTERVAL_MS,
  OCSP_REFRESH_MARGIN_MS,
  OCSP_RETRY_MS,
  stapledOcspVerdict,
  type CertificateAuthority,
  type SerialStatus,
  type TestPki,
} from '../../protocols/pki/index.ts';

let pki: TestPki;
let cpoSubCa2: CertificateAuthority;
const HOUR = 3_600_000;
const t0 = new Date(Date.UTC(2026, 5, 1, 12, 0, 0));

async function staple(status: SerialStatus, signer: CertificateAuthority = cpoSubCa2, at = t0): Promise<Uint8Array> {
  const responder = createOcspResponder({ issuer: signer.certificate, signer: { certificate: signer.certificate, privateKey: signer.privateKey }, lookup: () => status, now: () => at });
  return responder.respond(buildOcspRequest({ certificate: pki.secc.certificate, issuer: pki.secc.chain[1] }).der);
}

const check = (at = new Date(t0.getTime() + HOUR)) => ({ leaf: pki.secc.certificate, issuer: pki.secc.chain[1], at });

test.before(async () => {
  pki = await createTestPki({ notBefore: new Date(t0.getTime() - 24 * HOUR) });
  cpoSubCa2 = pki.authorities['cpo-sub-ca-2'];
});

test('absent → proceed; good → proceed with its update times', async () => {
  assert.equal(stapledOcspVerdict(undefined, check()), { accept: true, ocsp: 'absent' });
  assert.equal(stapledOcspVerdict(new Uint8Array(0), check()), { accept: true, ocsp: 'absent' });
  const verdict = stapledOcspVerdict(await staple({ status: 'good' }), check());
  assert.equal(verdict, { accept: true, ocsp: 'good', thisUpdate: t0, nextUpdate: new Date(t0.getTime() + 24 * HOUR) });
});

test('revoked and unknown → refuse', async () => {
  const revokedAt = new Date(t0.getTime() - HOUR);
  assert.equal(stapledOcspVerdict(await staple({ status: 'revoked', revokedAt, reason: 1 }), check()), { accept: false, ocsp: 'revoked', revokedAt, reason: 1 });
  assert.equal(stapledOcspVerdict(await staple({ status: 'unknown' }), check()), { accept: false, ocsp: 'unknown' });
});

test('wrong signer, stale, not yet valid → refuse as invalid with the OCSP error code', async () => {
  const codeOf = (verdict: ReturnType<typeof stapledOcspVerdict>) => (verdict.ocsp === 'invalid' ? verdict.code : verdict.ocsp);
  assert.is(codeOf(stapledOcspVerdict(await staple({ status: 'good' }, pki.authorities['mo-sub-ca-2']), check())), 'OcspUnauthorizedResponder');
  assert.is(codeOf(stapledOcspVerdict(await staple({ status: 'good' }), check(new Date(t0.getTime() + 25 * HOUR)))), 'OcspStale');
  assert.is(codeOf(stapledOcspVerdict(await staple({ status: 'good' }), check(new Date(t0.getTime() - HOUR)))), 'OcspStale');
});

test('any mutation or truncation of a good staple gives a verdict, never an exception; a truncated one is refused', async () => {
  const good = await staple({ status: 'good' });
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat(good.length), (flips, cut) => {
      const mutated = Buffer.from(good);
      for (const [index, xor] of flips) mutated[index] ^= xor;
      const verdict = stapledOcspVerdict(mutated.subarray(0, Math.max(1, cut)), check());
      assert.ok(['good', 'revoked', 'unknown', 'invalid'].includes(verdict.ocsp));
      assert.is(verdict.accept, verdict.ocsp === 'good');
      const truncated = stapledOcspVerdict(Buffer.from(good).subarray(0, Math.max(1, Math.min(cut, good.length - 1))), check());
      assert.equal({ accept: truncated.accept, ocsp: truncated.ocsp }, { accept: false, ocsp: 'invalid' });
    }),
    { numRuns: 300 },
  );
});

test('refresh deadline: daily, before nextUpdate with a margin, soon after a failure, never within a minute', () => {
  const now = t0.getTime();
  assert.is(nextOcspRefreshAt(now, { nextUpdates: [], failed: false }), now + OCSP_REFRESH_INTERVAL_MS);
  assert.is(nextOcspRefreshAt(now, { nextUpdates: [now + 48 * HOUR], failed: false }), now + OCSP_REFRESH_INTERVAL_MS);
  assert.is(nextOcspRefreshAt(now, { nextUpdates: [now + 10 * HOUR, now + 20 * HOUR], failed: false }), now + 10 * HOUR - OCSP_REFRESH_MARGIN_MS);
  assert.is(nextOcspRefreshAt(now, { nextUpdates: [], failed: true }), now + OCSP_RETRY_MS);
  assert.is(nextOcspRefreshAt(now, { nextUpdates: [now + 10_000], failed: false }), now + 60_000);
  // The SECC leaf entering its renewal window makes a round due then, never in the past.
  assert.is(nextOcspRefreshAt(now, { nextUpdates: [], failed: false, renewLeafAt: now + 3 * HOUR }), now + 3 * HOUR);
  assert.is(nextOcspRefreshAt(now, { nextUpdates: [now + 10 * HOUR], failed: false, renewLeafAt: now - HOUR }), now + 60_000);
  assert.is(nextOcspRefreshAt(now, { nextUpdates: [], failed: false, renewLeafAt: now + 40 * 24 * HOUR }), now + OCSP_REFRESH_INTERVAL_MS);
});

test.run();
