// Contract private-key transport in CertificateInstallationRes / CertificateUpdateRes [V2G2-818..823]:
// ephemeral-static ECDH on P-256, NIST SP 800-56A concatenation KDF (SHA-256, OtherInfo 01 55 56),
// AES-128-CBC without padding. ContractSignatureEncryptedPrivateKey = IV ‖ C (48 bytes),
// DHpublickey = the ephemeral public key as an uncompressed point (65 bytes).
import { createCipheriv, createDecipheriv, createECDH, createHash, createPublicKey, KeyObject, randomBytes, webcrypto } from 'node:crypto';
import type { X509Certificate } from '@peculiar/x509';
import { PncError } from '../errors.ts';
import type { CryptoKey, CryptoKeyPair } from './keys.ts';

/** Stable codes of {@link ContractKeyError}. */
export type ContractKeyErrorCode =
  /** An input has the wrong length or shape (scalar ≠ 32 bytes, field ≠ 48 bytes, IV ≠ 16 bytes, not a P-256 key). */
  | 'ContractKeyInvalidInput'
  /** DHpublickey is not a 65-byte uncompressed point on P-256. */
  | 'ContractKeyInvalidDhPublicKey'
  /** The decrypted scalar is 0 or not below the curve order n [V2G2-823]. */
  | 'ContractKeyOutOfRange'
  /** The decrypted scalar does not belong to the contract certificate's public key [V2G2-823]. */
  | 'ContractKeyMismatch';

export class ContractKeyError extends PncError {
  override readonly name = 'ContractKeyError';
  declare readonly code: ContractKeyErrorCode;
  constructor(code: ContractKeyErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/** The two fields of CertificateInstallationRes / CertificateUpdateRes that carry the contract key. */
export interface EncryptedContractKey {
  /** ContractSignatureEncryptedPrivateKey: IV (16) ‖ AES-128-CBC ciphertext (32) = 48 bytes. */
  readonly encryptedPrivateKey: Uint8Array;
  /** DHpublickey: the sender's ephemeral public key, `04 ‖ X ‖ Y` = 65 bytes. */
  readonly dhPublicKey: Uint8Array;
}

/** A P-256 private key: a WebCrypto key (ECDSA or ECDH) or its 32-byte big-endian scalar. */
export type PrivateKeyInput = CryptoKey | Uint8Array;
/** A P-256 public key: a WebCrypto key, a certificate carrying it, or the 65-byte uncompressed point. */
export type PublicKeyInput = CryptoKey | X509Certificate | Uint8Array;

/** The decrypted contract key, checked against the contract certificate. */
export interface ContractKey {
  /** d as exactly 32 bytes big-endian. */
  readonly scalar: Uint8Array;
  /** The same key as an extractable ECDSA P-256 pair, ready to sign AuthorizationReq / MeteringReceiptReq. */
  readonly keyPair: CryptoKeyPair;
}

const CURVE = 'prime256v1';
const ORDER_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
/** AlgorithmID 0x01 ‖ PartyUInfo 'U' ‖ PartyVInfo 'V' [V2G2-818]. */
const OTHER_INFO = Uint8Array.of(0x01, 0x55, 0x56);
const COUNTER_1 = Uint8Array.of(0, 0, 0, 1);

// Keys that stay the same across calls (a CPS's view of an OEM provisioning certificate, an EV's
// own static key) are converted once; WeakMaps let them go with the objects.
const pointCache = new WeakMap<object, Buffer>();
const scalarCache = new WeakMap<object, Buffer>();

function fromBase64Url(value: string | undefined): Buffer {
  return Buffer.from(value ?? '', 'base64url');
}

function pointFromJwk(jwk: webcrypto.JsonWebKey): Buffer {
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') throw new ContractKeyError('ContractKeyInvalidInput', `expected a P-256 key, got ${jwk.kty} ${jwk.crv ?? ''}`.trim());
  return Buffer.concat([Uint8Array.of(0x04), fromBase64Url(jwk.x), fromBase64Url(jwk.y)]);
}

function isCryptoKey(value: object): value is CryptoKey {
  return 'algorithm' in value && 'usages' in value && 'type' in value;
}

function publicPoint(key: PublicKeyInput): Buffer {
  if (key instanceof Uint8Array) {
    if (key.length !== 65 || key[0] !== 0x04) throw new ContractKeyError('ContractKeyInvalidInput', `a public key point must be 65 bytes starting 04 (got ${key.length} bytes)`);
    return Buffer.from(key);
  }
  const cached = pointCache.get(key);
  if (cached) return cached;
  const keyObject = isCryptoKey(key)
    ? KeyObject.from(key)
    : createPublicKey({ key: Buffer.from(key.publicKey.rawData), format: 'der', type: 'spki' });
  const point = pointFromJwk(keyObject.export({ format: 'jwk' }));
  pointCache.set(key, point);
  return point;
}

function privateScalar(key: PrivateKeyInput): Buffer {
  if (key instanceof Uint8Array) {
    if (key.length !== 32) throw new ContractKeyError('ContractKeyInvalidInput', `a private scalar must be exactly 32 bytes (got ${key.length})`);
    return Buffer.from(key);
  }
  const cached = scalarCache.get(key);
  if (cached) return cached;
  if (!isCryptoKey(key)) throw new ContractKeyError('ContractKeyInvalidInput', 'expected a private CryptoKey or a 32-byte scalar');
  if (key.type !== 'private') throw new ContractKeyError('ContractKeyInvalidInput', `expected a private key, got a ${key.type} key`);
  const jwk = KeyObject.from(key).export({ format: 'jwk' });
  pointFromJwk(jwk);
  const scalar = fromBase64Url(jwk.d);
  scalarCache.set(key, scalar);
  return scalar;
}

function inRange(scalar: Uint8Array): boolean {
  const d = BigInt(`0x${Buffer.from(scalar).toString('hex')}`);
  return d > 0n && d < ORDER_N;
}

/** K = SHA-256(00000001 ‖ Z ‖ 01 55 56)[0..15]: one round of the concatenation KDF suffices for 128 bits. */
function deriveKey(sharedSecret: Buffer): Buffer {
  return createHash('sha256').update(COUNTER_1).update(sharedSecret).update(OTHER_INFO).digest().subarray(0, 16);
}

function ecdhWith(privateKey: Buffer) {
  const ecdh = createECDH(CURVE);
  try {
    ecdh.setPrivateKey(privateKey);
  } catch (cause) {
    throw new ContractKeyError('ContractKeyInvalidInput', 'the private key is not a valid P-256 scalar', { cause });
  }
  return ecdh;
}

/**
 * Encrypts a contract private key for the EV [V2G2-818..819]. The receiver is the OEM provisioning
 * certificate (CertificateInstallation) or the current contract certificate (CertificateUpdate).
 * A fresh ephemeral key and IV are drawn per call; `ephemeralPrivateKey` and `iv` exist only to
 * reproduce known-answer vectors.
 * @throws ContractKeyError `ContractKeyInvalidInput`
 */
export async function encryptContractKey(
  contractPrivateKey: PrivateKeyInput,
  receiverPublicKey: PublicKeyInput,
  options: { ephemeralPrivateKey?: Uint8Array; iv?: Uint8Array } = {},
): Promise<EncryptedContractKey> {
  const plaintext = privateScalar(contractPrivateKey);
  if (!inRange(plaintext)) throw new ContractKeyError('ContractKeyInvalidInput', 'the contract private key is not in [1, n-1]');
  const receiver = publicPoint(receiverPublicKey);
  const iv = options.iv === undefined ? randomBytes(16) : Buffer.from(options.iv);
  if (iv.length !== 16) throw new ContractKeyError('ContractKeyInvalidInput', `the IV must be 16 bytes (got ${iv.length})`);
  let ephemeral;
  if (options.ephemeralPrivateKey === undefined) {
    ephemeral = createECDH(CURVE);
    ephemeral.generateKeys();
  } else {
    ephemeral = ecdhWith(privateScalar(options.ephemeralPrivateKey));
  }
  let sharedSecret: Buffer;
  try {
    sharedSecret = ephemeral.computeSecret(receiver);
  } catch (cause) {
    throw new ContractKeyError('ContractKeyInvalidInput', 'the receiver public key is not a point on P-256', { cause });
  }
  const cipher = createCipheriv('aes-128-cbc', deriveKey(sharedSecret), iv).setAutoPadding(false);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return {
    encryptedPrivateKey: new Uint8Array(Buffer.concat([iv, ciphertext])),
    dhPublicKey: new Uint8Array(ephemeral.getPublicKey()),
  };
}

/**
 * Decrypts ContractSignatureEncryptedPrivateKey with the EV's static key (OEM provisioning key for
 * an installation, the old contract key for an update) and checks d < n and d·G equal to the
 * contract certificate's public key [V2G2-823]. Verify the response signature and CPS chain first.
 * @throws ContractKeyError with a {@link ContractKeyErrorCode}.
 */
export async function decryptContractKey(
  encrypted: EncryptedContractKey,
  receiverPrivateKey: PrivateKeyInput,
  contractPublicKey: PublicKeyInput,
): Promise<ContractKey> {
  const { encryptedPrivateKey, dhPublicKey } = encrypted;
  if (encryptedPrivateKey.length !== 48) {
    throw new ContractKeyError('ContractKeyInvalidInput', `ContractSignatureEncryptedPrivateKey must be 48 bytes (IV 16 + ciphertext 32), got ${encryptedPrivateKey.length}`);
  }
  if (dhPublicKey.length !== 65 || dhPublicKey[0] !== 0x04) {
    throw new ContractKeyError('ContractKeyInvalidDhPublicKey', `DHpublickey must be a 65-byte uncompressed point starting 04 (got ${dhPublicKey.length} bytes)`);
  }
  const expectedPoint = publicPoint(contractPublicKey);
  let sharedSecret: Buffer;
  try {
    sharedSecret = ecdhWith(privateScalar(receiverPrivateKey)).computeSecret(dhPublicKey);
  } catch (cause) {
    if (cause instanceof ContractKeyError) throw cause;
    throw new ContractKeyError('ContractKeyInvalidDhPublicKey', 'DHpublickey is not a point on P-256', { cause });
  }
  const field = Buffer.from(encryptedPrivateKey);
  const decipher = createDecipheriv('aes-128-cbc', deriveKey(sharedSecret), field.subarray(0, 16)).setAutoPadding(false);
  const scalar = Buffer.concat([decipher.update(field.subarray(16)), decipher.final()]);
  if (!inRange(scalar)) throw new ContractKeyError('ContractKeyOutOfRange', 'the decrypted contract key is not in [1, n-1] [V2G2-823]');
  const point = ecdhWith(scalar).getPublicKey();
  if (!point.equals(expectedPoint)) {
    throw new ContractKeyError('ContractKeyMismatch', "the decrypted key does not match the contract certificate's public key [V2G2-823]");
  }
  const jwk = { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') };
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256' };
  const [privateKey, publicKey] = await Promise.all([
    webcrypto.subtle.importKey('jwk', { ...jwk, d: scalar.toString('base64url') }, algorithm, true, ['sign']),
    webcrypto.subtle.importKey('jwk', jwk, algorithm, true, ['verify']),
  ]);
  return { scalar: new Uint8Array(scalar), keyPair: { privateKey, publicKey } };
}
