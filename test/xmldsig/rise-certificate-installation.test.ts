// RISE-V2G signed CertificateInstallationRes (vectors/crypto/rise-certificate-installation/): four
// References signed by the CPS leaf key, including the element-fragment eMAID.
import 'reflect-metadata'; // @peculiar/x509 resolves its services through tsyringe
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { X509Certificate } from '@peculiar/x509';
import { decodeExi, encodeExi } from '../../protocols/exi/index.ts';
import {
  SignatureCoverageIncomplete,
  SignatureDigestMismatch,
  SignatureInvalid,
  SignatureReferenceMissing,
  digestFragment,
  encodeSignedInfo,
  findById,
  signFragments,
  signV2gMessage,
  verifyMessageSignature,
} from '../../protocols/xmldsig/index.ts';
import { expectError } from '../helpers/expect-error.ts';
import { xmlToExiJson } from './xml-to-exi-json.ts';

const dir = new URL('../../../shared/vectors/crypto/rise-certificate-installation/', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, dir), 'utf8');
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

const message = xmlToExiJson(read('CertificateInstallationRes-MsgBody-namespace.xml'));
const cpsLeaf = new X509Certificate(read('cpsLeafCert.pem'));
const cpsKey = createPrivateKey({ key: read('cpsLeaf.key'), passphrase: '123456' }); // password from the RISE README
const signature = message.V2G_Message.Header.Signature;
const body = message.V2G_Message.Body;

// Digests from the RISE test-data README as quoted in pki-and-crypto.md §11.6 (first/last bytes, eMAID in full).
const expectedDigests: Record<string, RegExp> = {
  id1: /^8efa2b8d.*92b0$/,
  id2: /^5f0eede4.*31f2$/,
  id3: /^02003e52.*ce78$/,
  id4: /^939af54f14396ec0d827f753c896ac0762ae1e00acab57e19af100243cdd5a6b$/,
};

test('the fragments encode as RISE-V2G encoded them', () => {
  const fragment = (id: string) => encodeExi('iso2-frag', findById(body, id)!);
  assert.is(hex(fragment('id4')), '80ec0202b4b21a40041111505090d0cc4c8cd05090cd4dbd3d00'); // element-fragment eMAID
  assert.is(fragment('id1').length, 1426);
  assert.is(hex(fragment('id1').subarray(0, 2)), '8021');
  assert.is(fragment('id2').length, 57);
  assert.ok(hex(fragment('id2')).startsWith('802202b4b2190c20'));
  assert.is(fragment('id3').length, 74);
  assert.ok(hex(fragment('id3')).startsWith('802d02b4b21990'));
});

test('all four fragment digests match the References and the published values', () => {
  for (const reference of signature.SignedInfo.Reference) {
    const id = reference.URI.slice(1);
    const digest = hex(digestFragment(findById(body, id)!));
    assert.is(digest, reference.DigestValue, reference.URI);
    assert.match(digest, expectedDigests[id], reference.URI);
  }
});

test('the signature verifies with the CPS leaf certificate, over a 559-byte SignedInfo', () => {
  const verified = verifyMessageSignature(message, cpsLeaf);
  assert.equal(verified.references.map((r) => r.uri), ['#id2', '#id1', '#id4', '#id3']);
  assert.is(verified.signedInfoExi.length, 559);
  assert.is(hex(encodeSignedInfo(signature.SignedInfo)), hex(verified.signedInfoExi));
});

test('Reference order is part of what is signed', () => {
  const [a, b, ...rest] = signature.SignedInfo.Reference;
  const reordered = structuredClone(message);
  reordered.V2G_Message.Header.Signature.SignedInfo.Reference = [b, a, ...rest];
  expectError(SignatureInvalid, () => verifyMessageSignature(reordered, cpsLeaf));
});

test('the unsigned SAProvisioningCertificateChain may change; a signed element may not', () => {
  const unsignedChange = structuredClone(message);
  unsignedChange.V2G_Message.Body.CertificateInstallationRes.SAProvisioningCertificateChain.Certificate = '00';
  verifyMessageSignature(unsignedChange, cpsLeaf);

  const signedChange = structuredClone(message);
  signedChange.V2G_Message.Body.CertificateInstallationRes.eMAID.CONTENT = 'DEABCC123ABC57';
  assert.is(expectError(SignatureDigestMismatch, () => verifyMessageSignature(signedChange, cpsLeaf)).uri, '#id4');
});

test('re-signing with the CPS key in RISE order reproduces the SignedInfo and verifies', () => {
  const order = ['id2', 'id1', 'id4', 'id3'];
  const resigned = signFragments(order.map((id) => ({ id, fragment: findById(body, id)! })), cpsKey);
  assert.equal(resigned.SignedInfo, signature.SignedInfo);
  const copy = structuredClone(message);
  copy.V2G_Message.Header.Signature = resigned;
  verifyMessageSignature(copy, cpsLeaf);
});

test('a CertificateInstallationRes signature must cover all four contract elements', () => {
  const partial = signV2gMessage(message, ['id1', 'id2', 'id3'], cpsKey);
  const error = expectError(SignatureCoverageIncomplete, () => verifyMessageSignature(partial, cpsLeaf));
  assert.is(error.element, 'eMAID');
  assert.is(error.id, 'id4');
});

test('signV2gMessage signs Body elements by Id; the signed message survives the wire', () => {
  const unsigned = structuredClone(message);
  delete unsigned.V2G_Message.Header.Signature;
  const signed = signV2gMessage(unsigned, ['id1', 'id2', 'id3', 'id4'], cpsKey);
  assert.is(unsigned.V2G_Message.Header.Signature, undefined, 'the input is not changed');
  assert.equal(signed.V2G_Message.Body, message.V2G_Message.Body);
  assert.equal(signed.V2G_Message.Header.Signature.SignedInfo.Reference.map((r: { URI: string }) => r.URI), ['#id1', '#id2', '#id3', '#id4']);
  // Encode to EXI as the CPS/SECC sends it, decode as the EV receives it, verify there.
  const received = decodeExi('iso2', encodeExi('iso2', signed)).document;
  const verified = verifyMessageSignature(received, cpsLeaf);
  assert.is(verified.references.length, 4);
  // The inner { Header, Body } form works the same way.
  verifyMessageSignature(signV2gMessage(unsigned.V2G_Message, ['id4', 'id3', 'id2', 'id1'], cpsKey), cpsLeaf);
  assert.is(expectError(SignatureReferenceMissing, () => signV2gMessage(unsigned, ['id9'], cpsKey)).uri, '#id9');
});

test.run();
