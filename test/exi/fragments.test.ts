// Fragments that ISO 15118-2 signs: MsgDef fragments in urn:iso:15118:2:2013:MsgBody, the eMAID
// element fragment (OpenV2G/RISE/dSPACE form), and SignedInfo in the xmldsig-only grammar.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeExi, encodeExi, exiCodecs, ExiEncodeError } from '../../protocols/exi/index.ts';
import { corpusDocument, loadCorpus } from '../helpers/exi-corpus.ts';
import { expectError } from '../helpers/expect-error.ts';

const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const annexJ = JSON.parse(readFileSync(new URL('../../../shared/vectors/crypto/annex-j-authorization-req.json', import.meta.url), 'utf8'));

test('Annex J AuthorizationReq fragment encodes byte-identically and digests to the known value', () => {
  const fragment = { AuthorizationReq: { Id: 'ID1', GenChallenge: Buffer.from('Some Random Data').toString('hex') } };
  const bytes = encodeExi('iso2-frag', fragment);
  assert.is(toHex(bytes), annexJ.fragmentExi);
  assert.is(createHash('sha256').update(bytes).digest('hex'), annexJ.fragmentSha256);
  assert.equal(decodeExi('iso2-frag', bytes).document, fragment);
  // Header 0x80, SE(AuthorizationReq) = 4 in 8 bits.
  assert.is(bytes[1], 4);
});

test('SignedInfo over the Annex J digest in the xmldsig-only grammar (80 81 …) hashes to the known value', () => {
  const signedInfo = {
    SignedInfo: {
      CanonicalizationMethod: { Algorithm: 'http://www.w3.org/TR/canonical-exi/' },
      SignatureMethod: { Algorithm: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256' },
      Reference: [
        {
          URI: '#ID1',
          Transforms: { Transform: [{ Algorithm: 'http://www.w3.org/TR/canonical-exi/' }] },
          DigestMethod: { Algorithm: 'http://www.w3.org/2001/04/xmlenc#sha256' },
          DigestValue: annexJ.fragmentSha256,
        },
      ],
    },
  };
  const bytes = encodeExi('iso2-xmldsig', signedInfo);
  assert.is(toHex(bytes.subarray(0, 2)), '8081');
  assert.is(bytes.length, annexJ.signedInfoExiLength);
  assert.is(createHash('sha256').update(bytes).digest('hex'), annexJ.signedInfoSha256);
  assert.equal(decodeExi('iso2-xmldsig', bytes).document, signedInfo);
});

test('the iso2-frag and iso2-xmldsig corpus rows round-trip', () => {
  const rows = loadCorpus().filter((r) => r.schema === 'iso2-frag' || r.schema === 'iso2-xmldsig');
  assert.is(rows.length, 7);
  for (const row of rows) {
    const expected = corpusDocument(row.id);
    assert.is(toHex(encodeExi(row.schema, expected)), row.hex, `row ${row.id}`);
    const { document } = decodeExi(row.schema, row.bytes);
    assert.is(Object.keys(document)[0], row.message);
    assert.is(toHex(encodeExi(row.schema, document)), row.hex);
  }
});

test('MsgDef fragment start codes match the ones libcbv2g and the real captures use', () => {
  const codes: Record<string, number> = {
    AuthorizationReq: 4,
    CertificateInstallationReq: 15,
    CertificateUpdateReq: 17,
    ContractSignatureCertChain: 33,
    ContractSignatureEncryptedPrivateKey: 34,
    DHpublickey: 45,
    MeteringReceiptReq: 121,
    eMAID: 236,
  };
  const samples: Record<string, unknown> = {
    AuthorizationReq: { Id: 'a' },
    CertificateInstallationReq: { Id: 'a', OEMProvisioningCert: '00', ListOfRootCertificateIDs: { RootCertificateID: [{ X509IssuerName: 'CN=x', X509SerialNumber: 1 }] } },
    CertificateUpdateReq: { Id: 'a', ContractSignatureCertChain: { Certificate: '00' }, eMAID: 'DEABCC123ABC56', ListOfRootCertificateIDs: { RootCertificateID: [{ X509IssuerName: 'CN=x', X509SerialNumber: 1 }] } },
    ContractSignatureCertChain: { Id: 'a', Certificate: '00' },
    ContractSignatureEncryptedPrivateKey: { Id: 'a', CONTENT: '00'.repeat(48) },
    DHpublickey: { Id: 'a', CONTENT: '04'.repeat(65) },
    MeteringReceiptReq: { SessionID: '00', MeterInfo: { MeterID: 'm' } },
    eMAID: { Id: 'a', CONTENT: 'DEABCC123ABC56' },
  };
  for (const [name, code] of Object.entries(codes)) {
    const bytes = encodeExi('iso2-frag', { [name]: samples[name] });
    assert.is(bytes[1], code, name);
    assert.equal(decodeExi('iso2-frag', bytes).document, { [name]: samples[name] }, name);
  }
});

test('the eMAID fragment uses the element fragment grammar: 80 EC, AT(Id) = 4 in 9 bits, CH = 256, EE = ED = 244', () => {
  // RISE-V2G signature-creation-testdata README (failures.tsv lists it because libcbv2g cannot produce it).
  const bytes = encodeExi('iso2-frag', { eMAID: { Id: 'id4', CONTENT: 'DEABCC123ABC56' } });
  assert.is(toHex(bytes), '80ec0202b4b21a40041111505090d0cc4c8cd05090cd4dbd3d00');
  assert.not.equal(toHex(bytes).slice(0, 8), '80ec02b4', 'not the libcbv2g EMAIDType form');
  const typed = exiCodecs['iso2-frag'].decode(bytes);
  assert.equal(typed, { eMAID: { Id: 'id4', CONTENT: 'DEABCC123ABC56' } });
});

test('fragment encoding errors name the element', () => {
  const unknown = expectError(ExiEncodeError, () => encodeExi('iso2-frag', { NoSuchElement: {} }));
  assert.is(unknown.path, 'NoSuchElement');
  const badAttribute = expectError(ExiEncodeError, () => encodeExi('iso2-frag', { eMAID: { Nope: 'x', CONTENT: 'DE' } }));
  assert.is(badAttribute.path, 'eMAID.Nope');
  const missing = expectError(ExiEncodeError, () => encodeExi('iso2-xmldsig', { SignedInfo: { CanonicalizationMethod: { Algorithm: 'a' }, SignatureMethod: { Algorithm: 'b' } } }));
  assert.is(missing.path, 'SignedInfo.Reference');
});

test.run();
