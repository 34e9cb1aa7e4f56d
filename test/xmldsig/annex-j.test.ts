// ISO 15118-2 Annex J AuthorizationReq (vectors/crypto/annex-j-authorization-req.json), plus the
// failure modes a verifier must tell apart.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, webcrypto, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { encodeExi } from '../../protocols/exi/index.ts';
import {
  SignatureCoverageIncomplete,
  SignatureDigestMismatch,
  SignatureInvalid,
  SignatureMalformed,
  SignatureReferenceMissing,
  XmlSignatureKeyError,
  buildSignedInfo,
  digestFragment,
  encodeSignedInfo,
  signFragments,
  verifyMessageSignature,
  type SignatureJson,
} from '../../protocols/xmldsig/index.ts';
import { expectError } from '../helpers/expect-error.ts';

const vector = JSON.parse(readFileSync(new URL('../../../shared/vectors/crypto/annex-j-authorization-req.json', import.meta.url), 'utf8'));
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const rawPublicKey = new Uint8Array(Buffer.from(vector.publicKey, 'hex'));
const jwk = {
  kty: 'EC',
  crv: 'P-256',
  x: Buffer.from(rawPublicKey.subarray(1, 33)).toString('base64url'),
  y: Buffer.from(rawPublicKey.subarray(33)).toString('base64url'),
  d: Buffer.from(vector.privateKey, 'hex').toString('base64url'),
};
const privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
const publicKey = createPublicKey(privateKey);

const authorizationReq = { AuthorizationReq: { Id: 'ID1', GenChallenge: Buffer.from('Some Random Data').toString('hex') } };
const references = [{ id: 'ID1', fragment: authorizationReq }];

function message(signature: unknown, body: unknown = authorizationReq) {
  return { V2G_Message: { Header: { SessionID: '0000000000000000', Signature: signature }, Body: body } };
}
const annexSignature = (): SignatureJson => ({ SignedInfo: buildSignedInfo(references), SignatureValue: { CONTENT: vector.signatureValue } });

test('the fragment EXI and its digest are the Annex J values', () => {
  assert.is(hex(encodeExi('iso2-frag', authorizationReq)), vector.fragmentExi);
  assert.is(hex(digestFragment(authorizationReq)), vector.fragmentSha256);
});

test('SignedInfo is built per [V2G2-771] and its xmldsig-grammar EXI is the Annex J SignedInfo', () => {
  const signedInfo = buildSignedInfo(references);
  assert.equal(signedInfo, {
    CanonicalizationMethod: { Algorithm: 'http://www.w3.org/TR/canonical-exi/' },
    SignatureMethod: { Algorithm: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256' },
    Reference: [
      {
        URI: '#ID1',
        Transforms: { Transform: { Algorithm: 'http://www.w3.org/TR/canonical-exi/' } },
        DigestMethod: { Algorithm: 'http://www.w3.org/2001/04/xmlenc#sha256' },
        DigestValue: vector.fragmentSha256,
      },
    ],
  });
  const exi = encodeSignedInfo(signedInfo);
  assert.is(exi.length, vector.signedInfoExiLength);
  assert.is(hex(exi.subarray(0, 2)), '8081');
  assert.is(sha256(exi), vector.signedInfoSha256);
});

test('the published Annex J signature verifies, with the key in every accepted form', async () => {
  const cryptoKey = await webcrypto.subtle.importKey('raw', rawPublicKey, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  for (const key of [rawPublicKey, publicKey, privateKey, cryptoKey]) {
    const verified = verifyMessageSignature(message(annexSignature()), key);
    assert.equal(verified.references, [{ uri: '#ID1', digest: vector.fragmentSha256 }]);
    assert.is(sha256(verified.signedInfoExi), vector.signedInfoSha256);
  }
  // The inner { Header, Body } form is accepted too.
  verifyMessageSignature(message(annexSignature()).V2G_Message, rawPublicKey);
});

test('signFragments makes a fresh raw r‖s signature over the same SignedInfo', async () => {
  const signature = signFragments(references, privateKey);
  assert.equal(signature.SignedInfo, annexSignature().SignedInfo);
  assert.is(signature.SignatureValue.CONTENT.length, 128);
  assert.is.not(signature.SignatureValue.CONTENT, vector.signatureValue); // ECDSA is randomised
  verifyMessageSignature(message(signature), rawPublicKey);

  const webKey = await webcrypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  verifyMessageSignature(message(signFragments(references, webKey)), publicKey);
});

test('a changed element fails its digest, naming the Reference', () => {
  const tampered = { AuthorizationReq: { Id: 'ID1', GenChallenge: Buffer.from('Some Random DatA').toString('hex') } };
  const error = expectError(SignatureDigestMismatch, () => verifyMessageSignature(message(annexSignature(), tampered), rawPublicKey));
  assert.is(error.code, 'SignatureDigestMismatch');
  assert.is(error.uri, '#ID1');
  assert.is(error.expected, vector.fragmentSha256);
  assert.is(error.actual, hex(digestFragment(tampered)));
});

test('a changed signature, digest or key fails the ECDSA check', () => {
  const flipped = Buffer.from(vector.signatureValue, 'hex');
  flipped[40] ^= 0x01;
  const signature = { ...annexSignature(), SignatureValue: { CONTENT: flipped.toString('hex') } };
  assert.is(expectError(SignatureInvalid, () => verifyMessageSignature(message(signature), rawPublicKey)).code, 'SignatureInvalid');

  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  expectError(SignatureInvalid, () => verifyMessageSignature(message(annexSignature()), other.publicKey));

  // A Reference whose digest matches another element but whose SignedInfo was not what got signed.
  const otherFragment = { AuthorizationReq: { Id: 'ID1', GenChallenge: '00'.repeat(16) } };
  const resigned = { ...annexSignature(), SignedInfo: buildSignedInfo([{ id: 'ID1', fragment: otherFragment }]) };
  expectError(SignatureInvalid, () => verifyMessageSignature(message(resigned, otherFragment), rawPublicKey));
});

test('a Reference to an Id that is nowhere is SignatureReferenceMissing; given fragments resolve it', () => {
  const body = { ChargingStatusReq: {} };
  const error = expectError(SignatureReferenceMissing, () => verifyMessageSignature(message(annexSignature(), body), rawPublicKey));
  assert.is(error.uri, '#ID1');
  verifyMessageSignature(message(annexSignature(), body), rawPublicKey, { fragments: references });
});

test('a signed message must reference its own AuthorizationReq; given fragments never replace Body elements', () => {
  // A valid signature over another element, sent next to an unsigned AuthorizationReq.
  const other = { AuthorizationReq: { Id: 'ID2', GenChallenge: '11'.repeat(16) } };
  const forged = message(signFragments([{ id: 'ID2', fragment: other }], privateKey), { AuthorizationReq: { Id: 'ID1', GenChallenge: '22'.repeat(16) } });
  const error = expectError(SignatureCoverageIncomplete, () => verifyMessageSignature(forged, publicKey, { fragments: [{ id: 'ID2', fragment: other }] }));
  assert.is(error.code, 'SignatureCoverageIncomplete');
  assert.is(error.element, 'AuthorizationReq');
  assert.is(error.id, 'ID1');

  const withoutId = message(annexSignature(), { AuthorizationReq: { GenChallenge: authorizationReq.AuthorizationReq.GenChallenge } });
  assert.is(expectError(SignatureCoverageIncomplete, () => verifyMessageSignature(withoutId, rawPublicKey)).id, undefined);

  const tampered = message(annexSignature(), { AuthorizationReq: { Id: 'ID1', GenChallenge: '33'.repeat(16) } });
  expectError(SignatureDigestMismatch, () => verifyMessageSignature(tampered, rawPublicKey, { fragments: references }));
});

test('signatures outside the ISO 15118-2 profile are SignatureMalformed', () => {
  const base = annexSignature();
  const reference = base.SignedInfo.Reference[0];
  const derSignature = sign('sha256', encodeSignedInfo(base.SignedInfo), privateKey).toString('hex');
  const cases: [string, unknown][] = [
    ['no Signature', undefined],
    ['DER SignatureValue', { ...base, SignatureValue: { CONTENT: derSignature } }],
    ['KeyInfo', { ...base, KeyInfo: { KeyName: 'x' } }],
    ['SignedInfo@Id', { ...base, SignedInfo: { ...base.SignedInfo, Id: 'si' } }],
    ['rsa-sha256', { ...base, SignedInfo: { ...base.SignedInfo, SignatureMethod: { Algorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256' } } }],
    ['HMACOutputLength', { ...base, SignedInfo: { ...base.SignedInfo, SignatureMethod: { ...base.SignedInfo.SignatureMethod, HMACOutputLength: 128 } } }],
    ['sha1 digest', { ...base, SignedInfo: { ...base.SignedInfo, Reference: [{ ...reference, DigestMethod: { Algorithm: 'http://www.w3.org/2000/09/xmldsig#sha1' } }] } }],
    ['Reference@Type', { ...base, SignedInfo: { ...base.SignedInfo, Reference: [{ ...reference, Type: 'x' }] } }],
    ['URI not #Id', { ...base, SignedInfo: { ...base.SignedInfo, Reference: [{ ...reference, URI: 'ID1' }] } }],
    ['no Reference', { ...base, SignedInfo: { ...base.SignedInfo, Reference: [] } }],
    ['short digest', { ...base, SignedInfo: { ...base.SignedInfo, Reference: [{ ...reference, DigestValue: 'abcd' }] } }],
  ];
  for (const [name, signature] of cases) {
    const error = expectError(SignatureMalformed, () => verifyMessageSignature(message(signature), rawPublicKey));
    assert.is(error.code, 'SignatureMalformed', name);
  }
  expectError(SignatureMalformed, () => verifyMessageSignature({ Body: {} }, rawPublicKey));
});

test('signing refuses a Reference whose element carries another Id', () => {
  expectError(SignatureMalformed, () => signFragments([{ id: 'ID2', fragment: authorizationReq }], privateKey));
  expectError(SignatureMalformed, () => signFragments([], privateKey));
});

test('keys that are not P-256 are refused with a typed error', () => {
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  expectError(XmlSignatureKeyError, () => signFragments(references, p384.privateKey));
  expectError(XmlSignatureKeyError, () => verifyMessageSignature(message(annexSignature()), p384.publicKey));
  expectError(XmlSignatureKeyError, () => signFragments(references, publicKey));
  expectError(XmlSignatureKeyError, () => verifyMessageSignature(message(annexSignature()), rawPublicKey.subarray(0, 64)));
  const offCurve = Uint8Array.from(rawPublicKey);
  offCurve[64] ^= 1;
  expectError(XmlSignatureKeyError, () => verifyMessageSignature(message(annexSignature()), offCurve));
  const certificate = new NodeX509Certificate(readFileSync(new URL('../../../shared/vectors/crypto/rise-certificate-installation/cpsLeafCert.pem', import.meta.url)));
  expectError(SignatureInvalid, () => verifyMessageSignature(message(annexSignature()), certificate));
});

test.run();
