// Issue 11: the CCP's purge removes expired contracts, expired or superseded renewals and cancellations
// past their retention, and keeps a renewal an EV can still ask for (its renewed certificate is valid).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { openEmbeddedStore, type Store } from '../../actors/store/index.ts';
import { CANCELLED_RETENTION_MS, ccpPurge, type ContractCertificateDoc } from '../../actors/pools/ccp-purge.ts';
import type { ExpiringDoc } from '../../actors/pools/common.ts';
import { tempDir } from '../harness/temp-dir.ts';

const DAY_MS = 86_400_000;
const NOW = Date.UTC(2030, 0, 1);
let store: Store;

test.before(async () => {
  store = await openEmbeddedStore(tempDir('openpnc-ccp-purge'));
});
test.after(async () => {
  await store?.close();
});

/** A pool entry with a made-up certificate: only its SHA-256 (the renewal key) matters here. */
const certificate = () => randomBytes(64).toString('base64');
const idOf = (der: string) => createHash('sha256').update(Buffer.from(der, 'base64')).digest('hex');

test('expired contracts go with the renewals prepared for them (superseded); renewals of valid certificates stay; expired renewals and old cancellations go', async () => {
  const contracts = store.collection<ContractCertificateDoc>('t.contracts');
  const renewals = store.collection<ContractCertificateDoc>('t.renewals');
  const cancelled = store.collection<ExpiringDoc>('t.cancelled');
  const expiredContract = certificate();
  const validContract = certificate();
  await contracts.insert({ _id: 'P1|expired', summary: { contractCertificate: expiredContract }, expiresAt: NOW - DAY_MS });
  await contracts.insert({ _id: 'P2|valid', summary: { contractCertificate: validContract }, expiresAt: NOW + 30 * DAY_MS });
  // Renewal of the expired contract: superseded. Its own renewal (C0 → R1 → R2) stays: an EV may hold R1.
  const r1 = certificate();
  await renewals.insert({ _id: idOf(expiredContract), summary: { contractCertificate: r1 }, expiresAt: NOW + 700 * DAY_MS });
  await renewals.insert({ _id: idOf(r1), summary: { contractCertificate: certificate() }, expiresAt: NOW + 1400 * DAY_MS });
  // Renewal of a valid contract: the EV has not fetched it yet.
  await renewals.insert({ _id: idOf(validContract), summary: { contractCertificate: certificate() }, expiresAt: NOW + 700 * DAY_MS });
  // A renewal whose own certificate expired (its renewed certificate is not in the pool).
  await renewals.insert({ _id: 'f'.repeat(64), summary: { contractCertificate: certificate() }, expiresAt: NOW - 1 });
  await cancelled.insert({ _id: 'DEOPNOLD', expiresAt: NOW - 1 });
  await cancelled.insert({ _id: 'DEOPNNEW', expiresAt: NOW + CANCELLED_RETENTION_MS });
  const expired: string[] = [];
  const purge = ccpPurge({ contracts, renewals, cancelled }, async (doc, now) => { expired.push(`${doc._id}@${now}`); });
  const result = await purge(NOW);
  assert.equal(expired, [`P1|expired@${NOW}`]);
  assert.equal((await contracts.find()).map((doc) => doc._id), ['P2|valid']);
  assert.equal((await renewals.find()).map((doc) => doc._id).sort(), [idOf(r1), idOf(validContract)].sort());
  assert.equal((await cancelled.find()).map((doc) => doc._id), ['DEOPNNEW']);
  assert.is(result.superseded, 1);
  assert.is(result.purged, 4, 'a contract, a superseded and an expired renewal, a cancellation');
  assert.is(result.nextPurgeAt, NOW + 30 * DAY_MS, 'the valid contract expires first');
  // When the valid contract expires its renewal is superseded too; R2 stays until its own expiry.
  const later = await purge(NOW + 30 * DAY_MS);
  assert.is(later.superseded, 1);
  assert.equal((await renewals.find()).map((doc) => doc._id), [idOf(r1)]);
  assert.is(later.nextPurgeAt, NOW + CANCELLED_RETENTION_MS, 'then the cancellation');
});

test('a cancellation lasts as long as a contract certificate can: the contract profile\'s two years', () => {
  assert.is(CANCELLED_RETENTION_MS, 730 * DAY_MS);
});

test.run();
