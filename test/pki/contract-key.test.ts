import { createCipheriv, createECDH, webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ContractKeyError, decryptContractKey, encryptContractKey, type EncryptedContractKey } from '../../protocols/pki/contract-key.ts';
import { createTestPki, generateKeyPair, issueCertificate } from '../../protocols/pki/index.ts';

// Known-answer vector /work/shared/vectors/crypto/contract-key-encryption.json (reference §10.3).
const vector = JSON.parse(readFileSync(new URL('../../../shared/vectors/crypto/contract-key-encryption.json', import.meta.url), 'utf8')) as Record<string, string>;
function ecdhPublic(scalar: Uint8Array): Buffer {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(scalar);
  return ecdh.getPublicKey();
}
const hex = (value: string) => new Uint8Array(Buffer.from(value, 'hex'));
const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

const vectorEnvelope: EncryptedContractKey = {
  encryptedPrivateKey: hex(vector.contractSignatureEncryptedPrivateKey),
  dhPublicKey: hex(vector.dhPublicKey),
};

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, ContractKeyError);
    return (error as ContractKeyError).code;
  }
  throw new Error('no error');
}

test('known-answer vector: encryption with the given ephemeral key and IV reproduces the fields', async () => {
  const encrypted = await encryptContractKey(hex(vector.contractPrivateKey), hex(vector.receiverPublicKey), {
    ephemeralPrivateKey: hex(vector.ephemeralPrivateKey),
    iv: hex(vector.iv),
  });
  assert.is(toHex(encrypted.encryptedPrivateKey), vector.contractSignatureEncryptedPrivateKey);
  assert.is(toHex(encrypted.encryptedPrivateKey.subarray(16)), vector.ciphertext);
  assert.is(toHex(encrypted.dhPublicKey), vector.dhPublicKey);
});

test('known-answer vector: decryption recovers the contract key and checks it', async () => {
  const key = await decryptContractKey(vectorEnvelope, hex(vector.receiverPrivateKey), hex(vector.contractPublicKey));
  assert.is(toHex(key.scalar), vector.contractPrivateKey);
  const jwk = await webcrypto.subtle.exportKey('jwk', key.keyPair.publicKey);
  assert.is(toHex(Buffer.concat([Uint8Array.of(4), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')])), vector.contractPublicKey);
  // The recovered key signs, and the certificate's key verifies.
  const data = new TextEncoder().encode('AuthorizationReq');
  const signature = await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key.keyPair.privateKey, data);
  assert.ok(await webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key.keyPair.publicKey, signature, data));
});

test('round trip with WebCrypto keys and certificates, fresh ephemeral key and IV each time', async () => {
  const pki = await createTestPki();
  const [oemProvisioning] = pki.provisioning;
  const [contract] = pki.contracts;
  const first = await encryptContractKey(contract.keys.privateKey, oemProvisioning.certificate);
  const second = await encryptContractKey(contract.keys.privateKey, oemProvisioning.certificate);
  assert.is(first.encryptedPrivateKey.length, 48);
  assert.is(first.dhPublicKey.length, 65);
  assert.is(first.dhPublicKey[0], 4);
  assert.is.not(toHex(first.dhPublicKey), toHex(second.dhPublicKey));
  assert.is.not(toHex(first.encryptedPrivateKey.subarray(0, 16)), toHex(second.encryptedPrivateKey.subarray(0, 16)));
  const expected = await webcrypto.subtle.exportKey('jwk', contract.keys.privateKey);
  for (const encrypted of [first, second]) {
    const key = await decryptContractKey(encrypted, oemProvisioning.keys.privateKey, contract.certificate);
    assert.is(Buffer.from(key.scalar).toString('base64url'), expected.d);
  }
  // CertificateUpdate: the receiver is the old contract key.
  const renewed = await issueCertificate({ role: 'contract', subject: { commonName: contract.identifier! }, issuer: pki.authorities['mo-sub-ca-2'] });
  const update = await encryptContractKey(renewed.keys!.privateKey, contract.certificate);
  const key = await decryptContractKey(update, contract.keys.privateKey, renewed.certificate);
  assert.is(Buffer.from(key.scalar).toString('base64url'), (await webcrypto.subtle.exportKey('jwk', renewed.keys!.privateKey)).d);
});

test('scalars with leading zero bytes or the top bit set survive (pitfall: signed BigInteger, short scalars)', async () => {
  const receiver = createECDH('prime256v1');
  receiver.generateKeys();
  const n = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
  for (const d of [1n, 2n ** 200n + 7n, n - 1n, 2n ** 255n + 12345n]) {
    const scalar = hex(d.toString(16).padStart(64, '0'));
    const publicPoint = new Uint8Array(ecdhPublic(scalar));
    const encrypted = await encryptContractKey(scalar, receiver.getPublicKey());
    const key = await decryptContractKey(encrypted, receiver.getPrivateKey(), publicPoint);
    assert.is(toHex(key.scalar), toHex(scalar));
  }
});

test('[V2G2-823] a key that does not match the contract certificate is rejected', async () => {
  const other = await generateKeyPair();
  assert.is(await codeOf(decryptContractKey(vectorEnvelope, hex(vector.receiverPrivateKey), other.publicKey)), 'ContractKeyMismatch');
  // A wrong receiver key decrypts to garbage, which can never match.
  const wrongReceiver = createECDH('prime256v1');
  wrongReceiver.generateKeys();
  assert.is(await codeOf(decryptContractKey(vectorEnvelope, wrongReceiver.getPrivateKey(), hex(vector.contractPublicKey))), 'ContractKeyMismatch');
  // A flipped ciphertext bit likewise.
  const tampered = vectorEnvelope.encryptedPrivateKey.slice();
  tampered[20] ^= 1;
  assert.is(await codeOf(decryptContractKey({ ...vectorEnvelope, encryptedPrivateKey: tampered }, hex(vector.receiverPrivateKey), hex(vector.contractPublicKey))), 'ContractKeyMismatch');
});

test('[V2G2-823] a decrypted scalar not below n is rejected', async () => {
  // Encrypt d = n (the curve order) by hand with the vector's derived key K.
  const n = hex('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
  const cipher = createCipheriv('aes-128-cbc', hex(vector.aesKey), hex(vector.iv)).setAutoPadding(false);
  const field = Buffer.concat([hex(vector.iv), cipher.update(n), cipher.final()]);
  const envelope = { encryptedPrivateKey: new Uint8Array(field), dhPublicKey: vectorEnvelope.dhPublicKey };
  assert.is(await codeOf(decryptContractKey(envelope, hex(vector.receiverPrivateKey), hex(vector.contractPublicKey))), 'ContractKeyOutOfRange');
});

test('malformed fields get typed errors', async () => {
  const receiver = hex(vector.receiverPrivateKey);
  const contract = hex(vector.contractPublicKey);
  assert.is(await codeOf(decryptContractKey({ ...vectorEnvelope, encryptedPrivateKey: new Uint8Array(47) }, receiver, contract)), 'ContractKeyInvalidInput');
  assert.is(await codeOf(decryptContractKey({ ...vectorEnvelope, dhPublicKey: vectorEnvelope.dhPublicKey.subarray(0, 33) }, receiver, contract)), 'ContractKeyInvalidDhPublicKey');
  const offCurve = vectorEnvelope.dhPublicKey.slice();
  offCurve[64] ^= 1;
  assert.is(await codeOf(decryptContractKey({ ...vectorEnvelope, dhPublicKey: offCurve }, receiver, contract)), 'ContractKeyInvalidDhPublicKey');
  assert.is(await codeOf(encryptContractKey(new Uint8Array(31), contract)), 'ContractKeyInvalidInput');
  assert.is(await codeOf(encryptContractKey(new Uint8Array(32), contract)), 'ContractKeyInvalidInput'); // d = 0
  assert.is(await codeOf(encryptContractKey(hex(vector.contractPrivateKey), contract, { iv: new Uint8Array(8) })), 'ContractKeyInvalidInput');
  const keys = await generateKeyPair();
  assert.is(await codeOf(encryptContractKey(keys.publicKey, contract)), 'ContractKeyInvalidInput'); // a public key is no contract key
});

test.run();
