// The issuance log's purpose key: a CA effect re-run after a crash (the certificate made, the process
// killed before its holder stored it) issues again; the log marks the first one superseded, so the
// "certificates issued vs accounted for" invariant tells this recovery from a certificate really lost.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedStore } from '../../actors/store/embedded.ts';
import { ISSUANCE_COLLECTION, ensureIssuanceIndex, recordIssuance, type IssuanceDoc } from '../../actors/participants/issuance-log.ts';
import { asIssuer, makeAuthority } from '../../actors/participants/authority.ts';
import { issueCertificate } from '../../protocols/pki/issue.ts';
import { accountCertificates } from '../../actors/chaos/certificates.ts';
import { emaidCheckDigit } from '../../protocols/identifiers/emaid.ts';
import { createHash } from 'node:crypto';
import type { StoredDoc } from '../../actors/store/store.ts';

const emaidOf = (emaid14: string): string => `${emaid14}${emaidCheckDigit(emaid14)}`;

/** A test MO's contract-issuing Sub-CA 2, under its own root and Sub-CA 1. */
async function moSubCa2() {
  const root = await makeAuthority({ role: 'moRoot', subject: { commonName: 'Test MO Root CA', organization: 'Test', country: 'DE' } });
  const sub1 = await makeAuthority({ role: 'moSubCa1', subject: { commonName: 'Test MO Sub-CA 1', organization: 'Test' }, issuer: asIssuer(root) });
  return makeAuthority({ role: 'moSubCa2', subject: { commonName: 'Test MO Sub-CA 2', organization: 'Test' }, issuer: asIssuer(sub1) });
}

/** A fresh embedded store with the issuance index and a test MO's Sub-CA 2; the store is closed and removed after `run`. */
async function withIssuingMo(run: (rig: { dir: string; store: Awaited<ReturnType<typeof openEmbeddedStore>>; sub2: Awaited<ReturnType<typeof moSubCa2>> }) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'opnc-issuance-'));
  const store = await openEmbeddedStore(dir);
  try {
    await ensureIssuanceIndex(store);
    await run({ dir, store, sub2: await moSubCa2() });
  } finally {
    await store.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a re-issue for the same purpose supersedes the earlier certificate; other purposes are untouched', async () => {
  await withIssuingMo(async ({ dir, store, sub2 }) => {
    const contract = async (emaid14: string) => (await issueCertificate({ role: 'contract', subject: { commonName: emaidOf(emaid14), organization: 'Test' }, issuer: asIssuer(sub2) })).certificate;
    const lost = await contract('DEOPN000000001');
    const kept = await contract('DEOPN000000002');
    const other = await contract('DEOPN000000003');
    await recordIssuance(store, 'mo', 'contract', lost, 'contract-1');
    await recordIssuance(store, 'mo', 'contract', other, 'contract-2');
    await recordIssuance(store, 'mo', 'contract', kept, 'contract-1');
    await recordIssuance(store, 'mo', 'contract', kept, 'contract-1'); // a replay of the same step
    const log = await store.collection<IssuanceDoc>(ISSUANCE_COLLECTION).find({});
    const bySubject = new Map(log.map((doc) => [doc.subject.match(/CN=([^,]+)/)?.[1], doc]));
    assert.is(log.length, 3);
    assert.is(bySubject.get(emaidOf('DEOPN000000001'))?.supersededBy, bySubject.get(emaidOf('DEOPN000000002'))?.serial, 'the first issue for contract-1 is superseded by the second');
    assert.is(bySubject.get(emaidOf('DEOPN000000002'))?.supersededBy, undefined, 'a replay does not supersede the certificate itself');
    assert.is(bySubject.get(emaidOf('DEOPN000000003'))?.supersededBy, undefined, 'another purpose is untouched');
    await store.close();
    // Neither live contract is stored where it belongs here: both are unaccounted, the superseded one is not.
    const account = accountCertificates([dir]);
    assert.is(account.issued, 3);
    assert.is(account.superseded, 1);
    assert.is(account.unaccounted.length, 2);
  });
});

// Issue 11: the CCP's purge takes expired contracts and superseded renewals out of the pool; the MO keeps them.
test('a contract certificate the CCP purged is accounted for once it expired, a renewal once the certificate it renews expired', async () => {
  await withIssuingMo(async ({ dir, store, sub2 }) => {
    const emaid = emaidOf('DEOPN000000009');
    const issue = async (validityDays: number) => (await issueCertificate({ role: 'contract', subject: { commonName: emaid, organization: 'Test' }, issuer: asIssuer(sub2), validityDays })).certificate;
    const current = await issue(60);
    const renewed = await issue(700);
    const der = (certificate: typeof current) => Buffer.from(certificate.rawData).toString('base64');
    const serial = (certificate: typeof current) => certificate.serialNumber.toLowerCase().replace(/^0+(?=.)/, '');
    await recordIssuance(store, 'mo', 'contract', current, 'contract-9');
    await recordIssuance(store, 'mo', 'contract', renewed, 'contract-9:renewal-1');
    await store.collection<StoredDoc & Record<string, unknown>>('mo.contracts').insert({ _id: emaid, contractId: 'contract-9', serialNumber: serial(current), contractData: { emaid, contractSignatureCertChain: { certificate: der(current), subCertificates: [] } } });
    const renewalOf = createHash('sha256').update(new Uint8Array(current.rawData)).digest('hex');
    await store.collection<StoredDoc & Record<string, unknown>>('mo.renewals').insert({ _id: 'contract-9:renewal-1', renewal: { serialNumber: serial(renewed), renewalOf, contractData: { emaid, contractSignatureCertChain: { certificate: der(renewed), subCertificates: [] } } } });
    await store.close();
    // Neither is in the CCP pool: lost while the contract certificate is valid, purged once it expired.
    const valid = accountCertificates([dir], current.notAfter.getTime() - 1);
    assert.is(valid.unaccounted.length, 2);
    assert.is(valid.purged, 0);
    const expired = accountCertificates([dir], current.notAfter.getTime() + 1);
    assert.equal(expired.unaccounted, []);
    assert.is(expired.purged, 2, 'the expired contract certificate and the renewal nobody can ask for any more (itself valid)');
    assert.ok(renewed.notAfter.getTime() > current.notAfter.getTime() + 1);
  });
});

test.run();
