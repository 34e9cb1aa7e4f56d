/**
 * The EV's contract store (through the Store port): the contract certificate chain, its eMAID and
 * the contract private key recovered from CertificateInstallationRes. The key stays in the vehicle.
 */
import 'reflect-metadata';
import { createPrivateKey, X509Certificate as NodeX509Certificate, type KeyObject } from 'node:crypto';
import type { Store } from '../../store/store.ts';
import { PncError } from '../../../protocols/errors.ts';

export interface StoredContract {
  readonly emaid: string;
  /** Leaf and Sub-CAs, hex DER. */
  readonly certificate: string;
  readonly subCertificates: readonly string[];
}

interface ContractDoc extends StoredContract {
  readonly _id: string;
  readonly _rev?: number;
  /** The contract private key as a JWK (d, x, y). */
  readonly key: Record<string, string>;
  readonly notAfter: number;
  /** When a CertificateUpdate of this contract last failed: the vehicle waits a day before asking again. */
  readonly updateRefusedAt?: number;
}

/** After a failed CertificateUpdate the vehicle charges with its contract and asks again a day later. */
export const UPDATE_RETRY_MS = 86_400_000;

const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

export class ContractStore {
  private readonly docs;

  constructor(store: Store, readonly vehicleId: string, private readonly now: () => number = Date.now) {
    this.docs = store.collection<ContractDoc>(`ev_contracts_${vehicleId}`);
  }

  /** Keeps the contract with its private key scalar (32 bytes, big-endian). */
  async save(contract: StoredContract, keyScalar: Uint8Array): Promise<void> {
    const certificate = new NodeX509Certificate(Buffer.from(contract.certificate, 'hex'));
    const publicJwk = certificate.publicKey.export({ format: 'jwk' }) as Record<string, string>;
    const key = { kty: 'EC', crv: 'P-256', x: publicJwk.x, y: publicJwk.y, d: b64url(keyScalar) };
    createPrivateKey({ key, format: 'jwk' }); // refuses a scalar that does not make a P-256 key
    await this.docs.replace({ _id: 'contract', ...contract, key, notAfter: new Date(certificate.validTo).getTime() });
  }

  /** The contract when one is stored and its certificate is still valid. */
  async valid(): Promise<StoredContract | undefined> {
    const doc = await this.docs.get('contract');
    if (!doc || doc.notAfter <= this.now()) return undefined;
    return { emaid: doc.emaid, certificate: doc.certificate, subCertificates: doc.subCertificates };
  }

  /**
   * True when the valid contract expires within `windowMs` and no CertificateUpdate of it failed in
   * the last day: the vehicle asks for a renewed one before PaymentDetails.
   */
  async renewalDue(windowMs: number): Promise<boolean> {
    const doc = await this.docs.get('contract');
    const now = this.now();
    if (!doc || doc.notAfter <= now || doc.notAfter - now > windowMs) return false;
    return doc.updateRefusedAt === undefined || now - doc.updateRefusedAt >= UPDATE_RETRY_MS;
  }

  /** Remembers that a CertificateUpdate of the stored contract failed. */
  async updateRefused(): Promise<void> {
    const doc = await this.docs.get('contract');
    if (doc) await this.docs.replace({ ...doc, updateRefusedAt: this.now() });
  }

  /** The contract key as its 32-byte scalar: the ECDH static key of CertificateUpdate [V2G2-820/821]. */
  async keyScalar(): Promise<Uint8Array> {
    const doc = await this.docs.get('contract');
    if (!doc) throw new PncError('NoContract', 'the vehicle holds no contract');
    return new Uint8Array(Buffer.from(doc.key.d, 'base64url'));
  }

  /** The contract key for signing AuthorizationReq and MeteringReceiptReq. */
  async signingKey(): Promise<KeyObject> {
    const doc = await this.docs.get('contract');
    if (!doc) throw new PncError('NoContract', 'the vehicle holds no contract');
    return createPrivateKey({ key: doc.key, format: 'jwk' });
  }

  async forget(): Promise<void> {
    await this.docs.delete('contract');
  }
}
