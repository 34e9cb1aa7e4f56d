// P-256 key pairs through Node's WebCrypto. The project's tsconfig has no DOM lib, so the WebCrypto
// types come from node:crypto and are re-exported here for the whole PKI.
import { createPublicKey, webcrypto, type KeyObject } from 'node:crypto';

export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** secp256r1 with ecdsa-with-SHA256 [V2G2-006], [V2G2-007]. */
export const signingAlgorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** Generates an extractable P-256 ECDSA key pair. */
export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(signingAlgorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
}

/** PKCS#8 DER of a private key. */
export async function exportPkcs8(privateKey: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', privateKey));
}

/** Imports a PKCS#8 DER P-256 private key for ECDSA signing. */
export async function importPkcs8(der: Uint8Array): Promise<CryptoKey> {
  return webcrypto.subtle.importKey('pkcs8', der, signingAlgorithm, true, ['sign']);
}

/** DER of a SubjectPublicKeyInfo up to its point, for an uncompressed P-256 key (RFC 5480: id-ecPublicKey, prime256v1). */
const P256_SPKI_HEAD = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

/**
 * A P-256 public key from its uncompressed point (`04 ‖ x ‖ y`, 65 bytes), imported by its coordinates.
 * @throws when it is not a point on the curve
 */
export function publicKeyFromPoint(point: Uint8Array): KeyObject {
  const bytes = Buffer.from(point.buffer, point.byteOffset, point.byteLength);
  return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: bytes.toString('base64url', 1, 33), y: bytes.toString('base64url', 33, 65) }, format: 'jwk' });
}

/**
 * A public key from SubjectPublicKeyInfo DER. An uncompressed P-256 key goes in by its point
 * ({@link publicKeyFromPoint}): OpenSSL 3.0's DER decoder takes about twice as long (107–125 µs against
 * 55–60 µs here), and a vehicle's first installation imports its provisioning key. Both paths refuse a
 * point off the curve. Any other key goes through the DER decoder. @throws when the SPKI is not a key Node can import
 */
export function publicKeyFromSpki(spki: Uint8Array): KeyObject {
  if (spki.length === P256_SPKI_HEAD.length + 65 && spki[P256_SPKI_HEAD.length] === 0x04 && P256_SPKI_HEAD.equals(spki.subarray(0, P256_SPKI_HEAD.length))) {
    return publicKeyFromPoint(spki.subarray(P256_SPKI_HEAD.length));
  }
  return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
}
