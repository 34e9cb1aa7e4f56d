/**
 * The key-encryption key (KEK) that CA private keys are encrypted with at rest (AES-256-GCM): what the
 * store holds of a CA key is useless without it. It comes from `OPENPNC_KEK` (32 bytes, base64) or a
 * file (`--kek FILE` or `OPENPNC_KEK_FILE`: the same base64 text, mode 600); a host given neither keeps
 * one in `<data>/kek` (made on first start, mode 600). A KEK that is named but unreadable or not 32
 * bytes stops the host before any participant starts.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PncError } from '../../protocols/errors.ts';

export const KEK_ENV = 'OPENPNC_KEK';
export const KEK_FILE_ENV = 'OPENPNC_KEK_FILE';
const KEK_BYTES = 32;

/** A private key as the store keeps it: AES-256-GCM under the KEK, bound to what it is the key of. */
export interface SealedKey {
  /** First 8 hex digits of SHA-256(KEK): names the KEK needed without revealing it. */
  readonly kekId: string;
  readonly iv: string;
  readonly ciphertext: string;
  readonly tag: string;
}

export class KeyEncryptionKey {
  readonly id: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== KEK_BYTES) throw new PncError('KekInvalid', `a key-encryption key is ${KEK_BYTES} bytes, this one ${key.length}`);
    this.id = createHash('sha256').update(key).digest('hex').slice(0, 8);
  }

  static generate(): KeyEncryptionKey {
    return new KeyEncryptionKey(randomBytes(KEK_BYTES));
  }

  /** `label` (participant and CA name) is authenticated data: a sealed key cannot be moved to another CA. */
  seal(plaintext: Uint8Array, label: string): SealedKey {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv).setAAD(Buffer.from(label));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { kekId: this.id, iv: iv.toString('base64'), ciphertext: ciphertext.toString('base64'), tag: cipher.getAuthTag().toString('base64') };
  }

  /** @throws PncError `KekMismatch` when sealed under another KEK or tampered with */
  open(sealed: SealedKey, label: string): Uint8Array {
    if (sealed.kekId !== this.id) throw new PncError('KekMismatch', `${label} is sealed under KEK ${sealed.kekId}, this host has KEK ${this.id}`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(sealed.iv, 'base64')).setAAD(Buffer.from(label));
      decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
      return new Uint8Array(Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]));
    } catch {
      throw new PncError('KekMismatch', `${label} does not open with KEK ${this.id} (tampered with?)`);
    }
  }
}

function parseKek(text: string, where: string): KeyEncryptionKey {
  const bytes = Buffer.from(text.trim(), 'base64');
  if (bytes.length !== KEK_BYTES) throw new PncError('KekInvalid', `${where}: expected ${KEK_BYTES} bytes in base64, got ${bytes.length}`);
  return new KeyEncryptionKey(bytes);
}

function readKekFile(path: string): KeyEncryptionKey {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new PncError('KekInvalid', `cannot read the key-encryption key ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return parseKek(text, path);
}

/**
 * The host's KEK: `OPENPNC_KEK`, else the file (`file` or `OPENPNC_KEK_FILE`), else `<dataDir>/kek`
 * (made when absent). @throws PncError `KekInvalid`
 */
export function resolveKek(options: { readonly file?: string; readonly dataDir: string; readonly env?: NodeJS.ProcessEnv }): KeyEncryptionKey {
  const env = options.env ?? process.env;
  if (env[KEK_ENV]) return parseKek(env[KEK_ENV]!, KEK_ENV);
  const file = options.file ?? env[KEK_FILE_ENV];
  if (file) return readKekFile(file);
  const local = join(options.dataDir, 'kek');
  if (existsSync(local)) return readKekFile(local);
  const made = randomBytes(KEK_BYTES);
  mkdirSync(dirname(local), { recursive: true });
  try {
    writeFileSync(local, `${made.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process on the same data directory made it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readKekFile(local);
    throw new PncError('KekInvalid', `cannot write the key-encryption key ${local}: ${(error as Error).message}`);
  }
  return new KeyEncryptionKey(made);
}
