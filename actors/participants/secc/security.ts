/**
 * The SECC's certificates as evse_security operations (charger-and-ocpp.md §1): install a CA,
 * generate a CSR for its SECC leaf, update the leaf, verify a chain, list what is installed, leaf
 * expiry days; renewal when fewer than 30 days remain (EVerest pnc-process step 1); the OCSP cache of
 * the SECC chain and the leaf's staple for the TLS server. Kept through the Store port; the leaf's
 * private key never leaves it.
 */
import 'reflect-metadata';
import { EventEmitter } from 'node:events';
import * as x509 from '@peculiar/x509';
import type { Store } from '../../store/store.ts';
import { PncError } from '../../../protocols/errors.ts';
import { certificateHashData, normalizeSerialNumber, ocspStatusForHashData, validateChain, type EvseSecurityResult } from '../../../protocols/pki/index.ts';
import type { CryptoKey } from '../../../protocols/pki/keys.ts';
import { exportPrivateKey, importPrivateKey, makeCsr } from '../authority.ts';
import type { SeccTlsCredentials } from '../../transport/tls.ts';
import type { CpoBackendPort } from './backend.ts';

export type CaCertificateType = 'V2G' | 'MO';
export type InstallCertificateResult = 'Accepted' | 'InvalidFormat' | 'InvalidCertificateChain' | 'NoRootCertificateInstalled' | 'Expired';

/** Renew the SECC leaf when it expires within this many days. */
export const LEAF_RENEWAL_DAYS = 30;

interface CertificateDoc {
  readonly _id: string;
  readonly _rev?: number;
  readonly pems: readonly string[];
  /** PKCS#8 of the leaf key (leaf document only). */
  readonly key?: string;
}

const pemsOf = (bundle: string): string[] => bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
const parse = (pem: string): x509.X509Certificate => new x509.X509Certificate(pem);

interface OcspDoc {
  /** The certificate's serial number, lowercase hex without leading zeros. */
  readonly _id: string;
  readonly _rev?: number;
  /** base64 DER OCSPResponse. */
  readonly ocspResponse: string;
  readonly fetchedAt: number;
  /** ms since the epoch; after it the response is not stapled. Absent in entries cached before it was kept. */
  readonly nextUpdate?: number;
  readonly status?: 'good' | 'revoked' | 'unknown';
}

/** What one M06 round did: responses cached, answers refused (unreachable, stale, not for the certificate), and the cached ones' nextUpdate. */
export interface OcspRefresh {
  readonly cached: number;
  readonly failed: number;
  readonly nextUpdates: readonly number[];
  /** The leaf's status as its CA answered, when cached in this round. */
  readonly leaf?: 'good' | 'revoked' | 'unknown';
  /** Where the round also keeps the leaf valid (`keepOcspFresh` with `renewLeaf`): what `ensureLeaf` did, or why it failed. */
  readonly leafCheck?: 'valid' | 'renewed' | PncError;
}

export class SeccSecurity extends EventEmitter<{ leafInstalled: [] }> {
  private readonly docs;
  private readonly ocsp;
  private pendingKey: CryptoKey | undefined;

  constructor(store: Store, readonly name: string, private readonly now: () => number = Date.now) {
    super();
    this.docs = store.collection<CertificateDoc>(`secc_certificates_${name}`);
    this.ocsp = store.collection<OcspDoc>(`secc_ocsp_${name}`);
  }

  /** install_ca_certificate */
  async installCaCertificate(pem: string, type: CaCertificateType): Promise<InstallCertificateResult> {
    const pems = pemsOf(pem);
    if (pems.length === 0) return 'InvalidFormat';
    try { pems.forEach(parse); } catch { return 'InvalidFormat'; }
    const existing = (await this.docs.get(`ca:${type}`))?.pems ?? [];
    await this.docs.replace({ _id: `ca:${type}`, pems: [...new Set([...existing, ...pems])] });
    return 'Accepted';
  }

  async caCertificates(type: CaCertificateType): Promise<x509.X509Certificate[]> {
    return ((await this.docs.get(`ca:${type}`))?.pems ?? []).map(parse);
  }

  /** generate_certificate_signing_request for the V2G (SECC) leaf: a fresh key stays here. */
  async generateCsr(subject: { commonName: string; organization: string; country?: string }): Promise<string> {
    const { csr, keys } = await makeCsr({ commonName: subject.commonName, organization: subject.organization, country: subject.country ?? 'DE', domainComponent: 'CPO' });
    this.pendingKey = keys.privateKey;
    const base64 = Buffer.from(csr).toString('base64').replace(/.{64}/g, '$&\n');
    return `-----BEGIN CERTIFICATE REQUEST-----\n${base64}\n-----END CERTIFICATE REQUEST-----\n`;
  }

  /** update_leaf_certificate: the signed chain for the pending CSR key, checked against the V2G roots first. */
  async updateLeafCertificate(chainPem: string): Promise<InstallCertificateResult> {
    if (!this.pendingKey) return 'InvalidCertificateChain';
    const verdict = await this.verifyCertificate(chainPem);
    if (verdict === 'Expired') return 'Expired';
    if (verdict === 'IssuerNotFound') return 'NoRootCertificateInstalled';
    if (verdict !== 'Valid') return 'InvalidCertificateChain';
    const previous = await this.leafSerialNumber();
    await this.docs.replace({ _id: 'leaf', pems: pemsOf(chainPem), key: await exportPrivateKey(this.pendingKey) });
    this.pendingKey = undefined;
    // The old leaf's staple must never go out with the new leaf; the sub-CAs' entries stay valid.
    if (previous !== undefined && previous !== (await this.leafSerialNumber())) await this.ocsp.delete(previous);
    this.emit('leafInstalled');
    return 'Accepted';
  }

  /** verify_certificate: a SECC chain (leaf first, PEM) against the installed V2G roots. */
  async verifyCertificate(chainPem: string): Promise<EvseSecurityResult> {
    let chain: x509.X509Certificate[];
    try { chain = pemsOf(chainPem).map(parse); } catch { return 'InvalidChain'; }
    if (chain.length === 0) return 'InvalidChain';
    const roots = await this.caCertificates('V2G');
    return (await validateChain(chain, { purpose: 'secc', roots, at: new Date(this.now()) })).evseSecurity;
  }

  /** get_installed_certificates: subject and serial of each installed certificate. */
  async installedCertificates(): Promise<{ type: string; subject: string; serialNumber: string }[]> {
    const docs = await this.docs.find();
    return docs.flatMap((doc) => doc.pems.map(parse).map((c) => ({ type: doc._id === 'leaf' ? 'V2GCertificateChain' : doc._id.replace('ca:', '') + 'RootCertificate', subject: c.subject, serialNumber: c.serialNumber })));
  }

  /** The SECC chain (leaf, Sub-CA 2, Sub-CA 1) and its key for the TLS server, if installed. */
  async leaf(): Promise<{ chain: x509.X509Certificate[]; key: CryptoKey } | undefined> {
    const doc = await this.docs.get('leaf');
    if (!doc?.key) return undefined;
    return { chain: doc.pems.map(parse), key: await importPrivateKey(doc.key) };
  }

  /** The leaf for the TLS server: PKCS#8 key and the chain in wire order (leaf, Sub-CA 2, Sub-CA 1), PEM. */
  async tlsCredentials(): Promise<SeccTlsCredentials | undefined> {
    const doc = await this.docs.get('leaf');
    if (!doc?.key) return undefined;
    return { key: x509.PemConverter.encode(Buffer.from(doc.key, 'base64'), 'PRIVATE KEY'), chain: doc.pems.join('\n') };
  }

  /** When the installed leaf enters its renewal window (fewer than LEAF_RENEWAL_DAYS left); undefined without a leaf. */
  async leafRenewalAt(): Promise<number | undefined> {
    const doc = await this.docs.get('leaf');
    return doc ? parse(doc.pems[0]).notAfter.getTime() - LEAF_RENEWAL_DAYS * 86_400_000 : undefined;
  }

  /** get_leaf_expiry_days_count: whole days until the leaf expires, 0 when none is installed. */
  async leafExpiryDays(): Promise<number> {
    const doc = await this.docs.get('leaf');
    if (!doc) return 0;
    return Math.max(0, Math.floor((parse(doc.pems[0]).notAfter.getTime() - this.now()) / 86_400_000));
  }

  /**
   * M06 (get_v2g_ocsp_request_data, update_ocsp_cache): the OCSP response of each certificate of the
   * SECC chain but the root, fetched through the backend and kept for stapling. An answer is cached
   * only when it is fresh at the SECC's clock and for the certificate asked about (the backend is
   * an authenticated channel to the CA's responder; the EV checks the signature); a revoked status
   * is cached like a good one, since the EV must learn it. Nothing is thrown for one certificate's
   * failure: the others still get their round.
   */
  async refreshOcsp(backend: CpoBackendPort): Promise<OcspRefresh> {
    const leaf = await this.leaf();
    if (!leaf) return { cached: 0, failed: 0, nextUpdates: [] };
    const leafSerial = normalizeSerialNumber(leaf.chain[0].serialNumber);
    let cached = 0;
    let failed = 0;
    let leafStatus: OcspRefresh['leaf'];
    const nextUpdates: number[] = [];
    for (const request of certificateHashData(leaf.chain, await this.caCertificates('V2G'))) {
      const { hashAlgorithm } = request;
      // OCPP's HashAlgorithmEnumType has no SHA1; our profiles hash with SHA256.
      if (hashAlgorithm === 'SHA1') continue;
      try {
        const ocspResponse = await backend.certificateStatus({ ...request, hashAlgorithm });
        const checked = ocspStatusForHashData(Buffer.from(ocspResponse, 'base64'), request, { at: new Date(this.now()) });
        const nextUpdate = checked.nextUpdate?.getTime();
        await this.ocsp.replace({ _id: request.serialNumber, ocspResponse, fetchedAt: this.now(), status: checked.status, ...(nextUpdate === undefined ? {} : { nextUpdate }) });
        if (nextUpdate !== undefined) nextUpdates.push(nextUpdate);
        if (request.serialNumber === leafSerial) leafStatus = checked.status;
        cached++;
      } catch {
        failed++;
      }
    }
    return { cached, failed, nextUpdates, ...(leafStatus ? { leaf: leafStatus } : {}) };
  }

  /** The cached OCSP response (base64 DER) for a certificate of the SECC chain, by serial number (hex). */
  async cachedOcsp(serialNumber: string): Promise<string | undefined> {
    return (await this.ocsp.get(normalizeSerialNumber(serialNumber)))?.ocspResponse;
  }

  /**
   * The staple for the TLS server (get_leaf_certificate_info with include_ocsp): the cached response
   * for the leaf it presents, by serial, while its nextUpdate lies ahead on the SECC's clock;
   * undefined when there is none (nothing fetched yet, or the leaf was replaced), so the handshake
   * goes on without one.
   */
  async ocspStaple(leafSerialNumber: string): Promise<Uint8Array | undefined> {
    const cached = await this.ocsp.get(normalizeSerialNumber(leafSerialNumber));
    if (!cached || (cached.nextUpdate !== undefined && cached.nextUpdate <= this.now())) return undefined;
    return new Uint8Array(Buffer.from(cached.ocspResponse, 'base64'));
  }

  private async leafSerialNumber(): Promise<string | undefined> {
    const doc = await this.docs.get('leaf');
    return doc ? normalizeSerialNumber(parse(doc.pems[0]).serialNumber) : undefined;
  }

  /**
   * Makes sure a valid SECC leaf is installed: the V2G and MO roots from the backend (M05), and a new
   * leaf signed by the backend when none is installed or fewer than 30 days remain.
   * Returns what it did.
   */
  async ensureLeaf(backend: CpoBackendPort, subject: { commonName: string; organization: string }): Promise<'valid' | 'renewed'> {
    const roots = await backend.roots();
    for (const pem of roots.v2g) await this.installCaCertificate(pem, 'V2G');
    for (const pem of roots.mo) await this.installCaCertificate(pem, 'MO');
    if ((await this.leafExpiryDays()) >= LEAF_RENEWAL_DAYS) return 'valid';
    const csr = await this.generateCsr(subject);
    const result = await this.updateLeafCertificate(await backend.signSeccCsr(csr));
    if (result !== 'Accepted') throw new PncError('SeccLeafRejected', `the SECC leaf from the backend was not installed: ${result}`);
    return 'renewed';
  }
}
