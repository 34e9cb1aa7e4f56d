// P-256 key pairs through Node's WebCrypto. The project's tsconfig has no DOM lib, so the WebCrypto
// types come from node:crypto and are re-exported here for the whole PKI.
import { webcrypto } from 'node:crypto';

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
