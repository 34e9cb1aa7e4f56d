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

const emaidOf = (emaid14: string): string => `${emaid14}${emaidCheckDigit(emaid14)}`;

test('a re-issue for the same purpose supersedes the earlier certificate; other purposes are untouched', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'opnc-issuance-'));
  const store = await openEmbeddedStore(dir);
  try {
    await ensureIssuanceIndex(store);
    const root = await makeAuthority({ role: 'moRoot', subject: { commonName: 'Test MO Root CA', organization: 'Test', country: 'DE' } });
    const sub1 = await makeAuthority({ role: 'moSubCa1', subject: { commonName: 'Test MO Sub-CA 1', organization: 'Test' }, issuer: asIssuer(root) });
    const sub2 = await makeAuthority({ role: 'moSubCa2', subject: { commonName: 'Test MO Sub-CA 2', organization: 'Test' }, issuer: asIssuer(sub1) });
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
  } finally {
    await store.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
