// publicKeyFromSpki: an uncompressed P-256 key goes in by its coordinates, any other by the DER decoder;
// both give the same key and both refuse what is no key.
import { createECDH, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { publicKeyFromSpki } from '../../protocols/pki/index.ts';
import { toVerificationKey, XmlSignatureKeyError } from '../../protocols/xmldsig/index.ts';

const spkiOf = (key: ReturnType<typeof generateKeyPairSync>['publicKey']) => new Uint8Array(key.export({ format: 'der', type: 'spki' }));

test('an uncompressed P-256 key is the same key as the DER decoder gives, and verifies the same signatures', () => {
  for (let i = 0; i < 40; i++) {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = spkiOf(publicKey);
    const imported = publicKeyFromSpki(spki);
    assert.equal(new Uint8Array(imported.export({ format: 'der', type: 'spki' })), spki);
    assert.is(imported.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const signature = sign('sha256', Buffer.from(`message ${i}`), privateKey);
    assert.ok(verify('sha256', Buffer.from(`message ${i}`), imported, signature));
    assert.not.ok(verify('sha256', Buffer.from(`message ${i + 1}`), imported, signature));
  }
});

test('a key inside a larger buffer (a view at an offset) is read from its own bytes', () => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = spkiOf(publicKey);
  const larger = new Uint8Array(spki.length + 37).fill(0xa5);
  larger.set(spki, 17);
  const view = larger.subarray(17, 17 + spki.length);
  assert.equal(new Uint8Array(publicKeyFromSpki(view).export({ format: 'der', type: 'spki' })), spki);
});

test('a point off the curve is refused on the fast path as by the DER decoder', () => {
  const spki = spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
  const offCurve = spki.slice();
  offCurve[offCurve.length - 1] ^= 0x01;
  assert.throws(() => createPublicKey({ key: Buffer.from(offCurve), format: 'der', type: 'spki' }));
  assert.throws(() => publicKeyFromSpki(offCurve));
});

test('other keys and encodings go through the DER decoder; bytes that are no key throw', () => {
  const p384 = spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey);
  assert.is(publicKeyFromSpki(p384).asymmetricKeyDetails?.namedCurve, 'secp384r1');
  assert.is(publicKeyFromSpki(spkiOf(generateKeyPairSync('ed25519').publicKey)).asymmetricKeyType, 'ed25519');
  // A compressed P-256 point (02/03 ‖ x): another length, the same key.
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const compressed = new Uint8Array(Buffer.concat([Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'), ecdh.getPublicKey(undefined, 'compressed')]));
  const uncompressed = new Uint8Array(Buffer.concat([Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'), ecdh.getPublicKey()]));
  assert.equal(publicKeyFromSpki(compressed).export({ format: 'jwk' }), publicKeyFromSpki(uncompressed).export({ format: 'jwk' }));
  for (const bad of [new Uint8Array(0), new Uint8Array(91), uncompressed.subarray(0, 90), Buffer.from('not a key')]) assert.throws(() => publicKeyFromSpki(bad));
});

test('the XML signature\'s raw points go in the same way: the same key, and off the curve a typed error', () => {
  const spki = spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
  const point = spki.subarray(26);
  assert.equal(toVerificationKey(point).export({ format: 'jwk' }), publicKeyFromSpki(spki).export({ format: 'jwk' }));
  const offCurve = point.slice();
  offCurve[64] ^= 0x01;
  assert.throws(() => toVerificationKey(offCurve), (error: unknown) => error instanceof XmlSignatureKeyError && /not a point on P-256/.test(error.message));
  assert.throws(() => toVerificationKey(point.subarray(0, 64)), (error: unknown) => error instanceof XmlSignatureKeyError);
});

test.run();
