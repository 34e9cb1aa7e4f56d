// C07's pairing table and the StatusInfo table, as tables: every verdict has exactly one pairing,
// no pairing contradicts itself, and no reason code is a PncError code cut to length.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AUTHORIZATION_STATUSES, AUTHORIZE_CERTIFICATE_STATUSES, AUTHORIZE_PAIRING, combineVerdicts, type ContractVerdict } from '../../protocols/ocpp/authorization.ts';
import { statusInfoOf } from '../../protocols/ocpp/status-info.ts';
import { OCSP_VERDICT_CACHE_MS, hashDataAuthorizer, verdictOfChain } from '../../actors/participants/cpo-authorize.ts';
import { ocspUrlOf } from '../../actors/participants/authority.ts';
import { certificateHashDataOf, createOcspResponder, createTestPki } from '../../protocols/pki/index.ts';

const verdicts = Object.keys(AUTHORIZE_PAIRING) as ContractVerdict[];

test('the pairing table: idTokenInfo.status and certificateStatus as decided once', () => {
  assert.equal(Object.fromEntries(verdicts.map((v) => [v, [AUTHORIZE_PAIRING[v].idTokenStatus, AUTHORIZE_PAIRING[v].certificateStatus ?? '—']])), {
    Valid: ['Accepted', 'Accepted'],
    Expired: ['Expired', 'CertificateExpired'],
    Revoked: ['Blocked', 'CertificateRevoked'],
    Cancelled: ['Invalid', 'ContractCancelled'],
    SignatureError: ['Invalid', 'SignatureError'],
    ChainError: ['Invalid', 'CertChainError'],
    NoCertificate: ['Invalid', 'NoCertificateAvailable'],
    EmaidMismatch: ['Invalid', '—'],
    Undetermined: ['Unknown', '—'],
  });
});

test('no contradictory pair: Accepted on one side only with Accepted on the other; every value is an OCPP enumeration member', () => {
  for (const verdict of verdicts) {
    const { idTokenStatus, certificateStatus } = AUTHORIZE_PAIRING[verdict];
    assert.ok((AUTHORIZATION_STATUSES as readonly string[]).includes(idTokenStatus));
    if (certificateStatus !== undefined) assert.ok((AUTHORIZE_CERTIFICATE_STATUSES as readonly string[]).includes(certificateStatus));
    assert.is(idTokenStatus === 'Accepted', certificateStatus === 'Accepted', verdict);
  }
});

test('several certificates: the worst verdict wins, none is NoCertificate', () => {
  assert.is(combineVerdicts(['Valid', 'Revoked', 'Valid']), 'Revoked');
  assert.is(combineVerdicts(['Valid', 'Undetermined']), 'Undetermined');
  assert.is(combineVerdicts(['Valid', 'Valid']), 'Valid');
  assert.is(combineVerdicts(['Expired', 'Cancelled']), 'Cancelled');
  assert.is(combineVerdicts([]), 'NoCertificate');
});

test('chain results map onto verdicts (signature defects apart from other chain errors)', () => {
  assert.is(verdictOfChain({ iso15118: 'OK' }), 'Valid');
  assert.is(verdictOfChain({ iso15118: 'FAILED_CertificateExpired', defect: 'Expired' }), 'Expired');
  assert.is(verdictOfChain({ iso15118: 'FAILED_CertificateRevoked', defect: 'Revoked' }), 'Revoked');
  assert.is(verdictOfChain({ iso15118: 'FAILED_CertChainError', defect: 'Signature' }), 'SignatureError');
  assert.is(verdictOfChain({ iso15118: 'FAILED_CertChainError', defect: 'UnknownRoot' }), 'ChainError');
  assert.is(verdictOfChain({ iso15118: 'FAILED_NoCertificateAvailable', defect: 'NoCertificate' }), 'NoCertificate');
});

test('StatusInfo: reason codes from OCPP\'s list (≤ 20), the PncError code whole in additionalInfo, nothing cut (issue 8)', () => {
  assert.equal(statusInfoOf({ code: 'FAILED_NoCertificateAvailable', message: 'no contract for this PCID' }), { reasonCode: 'NotFound', additionalInfo: 'FAILED_NoCertificateAvailable: no contract for this PCID' });
  const long = 'FAILED_SomethingNobodyListed';
  const info = statusInfoOf({ code: long, message: 'new' });
  assert.is(info.reasonCode, 'Unspecified');
  assert.is(info.additionalInfo, `${long}: new`);
  assert.equal(statusInfoOf({ code: 'ContractNotFound', message: 'm' }), { reasonCode: 'NotFound', additionalInfo: 'ContractNotFound: m' });
  assert.equal(statusInfoOf({ code: 'Timeout', message: 't' }).reasonCode, 'InternalError');
  // A message too long for additionalInfo is left out whole, not cut: the code still goes.
  assert.equal(statusInfoOf({ code: 'CsrInvalid', message: 'x'.repeat(600) }), { reasonCode: 'InvalidCSR', additionalInfo: 'CsrInvalid' });
  for (const code of ['UnsupportedNamespace', 'ExiDecodeError', 'CsrMalformed', 'OcspUnavailable', 'SomethingNew', long]) {
    const { reasonCode, additionalInfo } = statusInfoOf({ code, message: '' });
    assert.ok(reasonCode.length <= 20 && !long.startsWith(reasonCode) || reasonCode === 'Unspecified', reasonCode);
    assert.ok(additionalInfo?.startsWith(code));
  }
});

test('C07 hash data: a verified OCSP status is reused within its window, asked again after it, after forget(), and a revocation shows then', async () => {
  const pki = await createTestPki({ contracts: 1 });
  const ca = pki.authorities['mo-sub-ca-2'];
  const contract = pki.contracts[0].certificate;
  const revoked = new Set<string>();
  const responder = createOcspResponder({ issuer: ca.certificate, signer: ca, lookup: (serial) => (revoked.has(serial) ? { status: 'revoked', revokedAt: new Date(), reason: 5 } : { status: 'good' }) });
  let asked = 0;
  let clock = Date.now();
  const authorize = hashDataAuthorizer(async (der) => { asked++; return responder.respond(der); }, undefined, () => new Date(clock));
  const entry = [{ ...certificateHashDataOf(contract, ca.certificate), responderURL: ocspUrlOf('mo') }];
  assert.is(await authorize(entry), 'Valid');
  assert.is(await authorize(entry), 'Valid');
  assert.is(asked, 1, 'the second Authorize reused the verified status');
  // The MO ends the contract (cessationOfOperation): remembered until forget(), which mo.contract.changed triggers at the CPO.
  revoked.add(certificateHashDataOf(contract, ca.certificate).serialNumber);
  authorize.forget();
  assert.is(await authorize(entry), 'Cancelled');
  assert.is(asked, 2);
  clock += OCSP_VERDICT_CACHE_MS + 1;
  assert.is(await authorize(entry), 'Cancelled');
  assert.is(asked, 3, 'asked again once the window passed');
});

test.run();
