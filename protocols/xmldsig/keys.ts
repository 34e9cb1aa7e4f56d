import 'reflect-metadata'; // @peculiar/x509 resolves its services through tsyringe
import { KeyObject, X509Certificate as NodeX509Certificate, createPublicKey, type webcrypto } from 'node:crypto';
import { X509Certificate } from '@peculiar/x509';
import { publicKeyFromPoint, publicKeyFromSpki } from '../pki/keys.ts';
import { XmlSignatureKeyError } from './errors.ts';

type CryptoKey = webcrypto.CryptoKey;

/** Anything that names a P-256 public key: WebCrypto key, Node key, certificate, or the raw 65-byte point `04‖x‖y`. */
export type SignatureVerificationKey = CryptoKey | KeyObject | X509Certificate | NodeX509Certificate | Uint8Array;

/** A P-256 private key as WebCrypto or Node holds it. */
export type SignatureSigningKey = CryptoKey | KeyObject;

const P256_POINT_LENGTH = 65;

/** Normalises any accepted public-key form to a Node KeyObject, checking it is a P-256 (secp256r1) key. */
export function toVerificationKey(key: SignatureVerificationKey): KeyObject {
  let keyObject: KeyObject;
  if (key instanceof KeyObject) keyObject = key;
  else if (key instanceof X509Certificate) keyObject = publicKeyFromSpki(new Uint8Array(key.publicKey.rawData));
  else if (key instanceof NodeX509Certificate) keyObject = key.publicKey;
  else if (key instanceof Uint8Array) keyObject = fromRawPoint(key);
  else if (isCryptoKey(key)) keyObject = KeyObject.from(key);
  else throw new XmlSignatureKeyError('unsupported public key type');
  if (keyObject.type === 'private') keyObject = createPublicKey(keyObject);
  return requireP256(keyObject, 'public');
}

/** Normalises a private key to a Node KeyObject, checking it is a P-256 private key. */
export function toSigningKey(key: SignatureSigningKey): KeyObject {
  const keyObject = key instanceof KeyObject ? key : isCryptoKey(key) ? KeyObject.from(key) : undefined;
  if (!keyObject) throw new XmlSignatureKeyError('unsupported private key type');
  return requireP256(keyObject, 'private');
}

function fromRawPoint(point: Uint8Array): KeyObject {
  if (point.byteLength !== P256_POINT_LENGTH || point[0] !== 0x04) {
    throw new XmlSignatureKeyError(`a raw P-256 public key is 65 bytes starting 04, got ${point.byteLength} bytes`);
  }
  try {
    return publicKeyFromPoint(point);
  } catch (error) {
    throw new XmlSignatureKeyError('the raw public key is not a point on P-256', error);
  }
}

function requireP256(key: KeyObject, type: 'public' | 'private'): KeyObject {
  if (key.type !== type) throw new XmlSignatureKeyError(`expected a ${type} key, got a ${key.type} key`);
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new XmlSignatureKeyError(`ISO 15118-2 signatures use ECDSA on P-256, got a ${key.asymmetricKeyType ?? 'non-EC'} key ${key.asymmetricKeyDetails?.namedCurve ?? ''}`.trim());
  }
  return key;
}

function isCryptoKey(value: unknown): value is CryptoKey {
  return typeof value === 'object' && value !== null && Object.prototype.toString.call(value) === '[object CryptoKey]';
}
