/**
 * The charging station's certificate store, in the manner of EVerest's evse_security interface
 * (charger-and-ocpp.md §1), kept in the Store: CA roots by type (M05 InstallCertificate, M03
 * GetInstalledCertificateIds, M04 DeleteCertificate), the SECC's V2G leaf requested by CSR and
 * installed from CertificateSigned (A03), and the OCSP cache of the V2G chain for stapling (M06).
 * The leaf's private key is made here and never leaves.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import type { Store, StoredDoc } from '../store/store.ts';
import { certificateHashData, certificateHashDataOf, normalizeCertificateHashData, validateChain, type CertificateHashData, type OcspRequestData } from '../../protocols/pki/index.ts';
import { exportPrivateKey, makeCsr } from '../participants/authority.ts';
import { certificatesOfPem } from '../participants/cpo-authorize.ts';

/** OCPP 2.0.1 InstallCertificateUseEnumType. */
export type CaCertificateType = 'V2GRootCertificate' | 'MORootCertificate' | 'CSMSRootCertificate' | 'ManufacturerRootCertificate';
/** OCPP 2.0.1 GetCertificateIdUseEnumType. */
export type InstalledCertificateType = CaCertificateType | 'V2GCertificateChain';

const DAY_MS = 86_400_000;

interface CaDoc extends StoredDoc {
  readonly certificateType: CaCertificateType;
  readonly pem: string;
}

interface LeafDoc extends StoredDoc {
  /** PEM chain leaf first, without the root. */
  readonly chain?: string;
  readonly privateKey?: string;
  /** A CSR's key waiting for its CertificateSigned. */
  readonly pendingKey?: string;
  readonly pendingSince?: string;
}

interface OcspDoc extends StoredDoc {
  readonly hashData: CertificateHashData;
  /** DER OCSPResponse, base64, as the CSMS returned it in GetCertificateStatus.ocspResult. */
  readonly ocspResponse: string;
  readonly fetchedAt: string;
}

const hashKey = (data: CertificateHashData): string => {
  const { hashAlgorithm, issuerNameHash, issuerKeyHash, serialNumber } = normalizeCertificateHashData(data);
  return [hashAlgorithm, issuerNameHash, issuerKeyHash, serialNumber].join(':');
};

export class EvseSecurity {
  private readonly cas;
  private readonly leaf;
  private readonly ocsp;

  constructor(store: Store, private readonly now: () => Date = () => new Date()) {
    this.cas = store.collection<CaDoc>('station.ca_certificates');
    this.leaf = store.collection<LeafDoc>('station.leaf');
    this.ocsp = store.collection<OcspDoc>('station.ocsp_cache');
  }

  /** M05: a self-signed CA certificate of the given type; anything else is Rejected. */
  async installCaCertificate(certificateType: CaCertificateType, pem: string): Promise<'Accepted' | 'Rejected'> {
    const [certificate] = certificatesOfPem(pem);
    if (!certificate || certificate.subject !== certificate.issuer || !(await certificate.verify({ signatureOnly: true }).catch(() => false))) return 'Rejected';
    const basic = certificate.getExtension(x509.BasicConstraintsExtension);
    if (!basic?.ca) return 'Rejected';
    await this.cas.replace({ _id: hashKey(certificateHashDataOf(certificate, certificate)), certificateType, pem: certificate.toString('pem') });
    return 'Accepted';
  }

  async caCertificates(...types: CaCertificateType[]): Promise<x509.X509Certificate[]> {
    const docs = await this.cas.find();
    return docs.filter((doc) => types.length === 0 || types.includes(doc.certificateType)).map((doc) => new x509.X509Certificate(doc.pem));
  }

  /** M03: hash data of the installed roots (and of the V2G chain, its sub-CAs as children). */
  async installedCertificateIds(types: readonly InstalledCertificateType[]) {
    const result: Array<{ certificateType: InstalledCertificateType; certificateHashData: CertificateHashData; childCertificateHashData?: CertificateHashData[] }> = [];
    for (const doc of await this.cas.find()) {
      if (!types.includes(doc.certificateType)) continue;
      const certificate = new x509.X509Certificate(doc.pem);
      result.push({ certificateType: doc.certificateType, certificateHashData: certificateHashDataOf(certificate, certificate) });
    }
    if (types.includes('V2GCertificateChain')) {
      const chain = await this.v2gChain();
      if (chain.length) {
        const roots = await this.caCertificates('V2GRootCertificate');
        const hashes = certificateHashData(chain, roots).map(({ responderURL: _url, ...data }) => data);
        if (hashes.length) result.push({ certificateType: 'V2GCertificateChain', certificateHashData: hashes[0], ...(hashes.length > 1 ? { childCertificateHashData: hashes.slice(1, 5) } : {}) });
      }
    }
    return result;
  }

  /** M04: Accepted, or NotFound. The V2G leaf is not deleted this way. */
  async deleteCertificate(data: CertificateHashData): Promise<'Accepted' | 'NotFound' | 'Failed'> {
    let key: string;
    try {
      key = hashKey(data);
    } catch {
      return 'NotFound';
    }
    return (await this.cas.delete(key)) ? 'Accepted' : 'NotFound';
  }

  /** A03: a CSR for the SECC leaf (CN = SeccId, DC=CPO [V2G2-925]); its key waits for CertificateSigned. */
  async v2gCsr(subject: { commonName: string; organization: string; country: string }): Promise<string> {
    const { csr, keys } = await makeCsr({ ...subject, domainComponent: 'CPO' });
    const current = await this.leaf.get('v2g');
    await this.leaf.replace({ ...(current ?? {}), _id: 'v2g', pendingKey: await exportPrivateKey(keys.privateKey), pendingSince: this.now().toISOString() });
    return new x509.Pkcs10CertificateRequest(csr).toString('pem');
  }

  /**
   * A03 CertificateSigned: the chain must carry the key of the pending CSR and chain to an
   * installed V2G root (A02.FR.06 hierarchy check); then it replaces the current leaf.
   */
  async installV2gLeaf(chainPem: string): Promise<'Accepted' | 'Rejected'> {
    const chain = certificatesOfPem(chainPem);
    const current = await this.leaf.get('v2g');
    if (!chain.length || !current?.pendingKey) return 'Rejected';
    const pending = await crypto.subtle.importKey('pkcs8', Buffer.from(current.pendingKey, 'base64'), { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']);
    const pendingPublic = await crypto.subtle.exportKey('jwk', pending);
    const leafPublic = await crypto.subtle.exportKey('jwk', await chain[0].publicKey.export({ name: 'ECDSA', namedCurve: 'P-256' }, ['verify']));
    if (pendingPublic.x !== leafPublic.x || pendingPublic.y !== leafPublic.y) return 'Rejected';
    const verdict = await validateChain(chain, { purpose: 'secc', roots: { v2g: await this.caCertificates('V2GRootCertificate') }, at: this.now() });
    if (!verdict.valid) return 'Rejected';
    await this.leaf.replace({ _id: 'v2g', chain: chain.map((c) => c.toString('pem')).join(''), privateKey: current.pendingKey });
    return 'Accepted';
  }

  /** The installed SECC chain, leaf first. */
  async v2gChain(): Promise<x509.X509Certificate[]> {
    const doc = await this.leaf.get('v2g');
    return doc?.chain ? certificatesOfPem(doc.chain) : [];
  }

  /** Days until the SECC leaf expires; 0 when none is installed. */
  async v2gLeafExpiryDays(): Promise<number> {
    const [leaf] = await this.v2gChain();
    if (!leaf) return 0;
    return Math.max(0, Math.floor((leaf.notAfter.getTime() - this.now().getTime()) / DAY_MS));
  }

  /** M06: hash data of every certificate of the V2G chain except the root (evse_security get_v2g_ocsp_request_data). */
  async v2gOcspRequestData(): Promise<OcspRequestData[]> {
    const chain = await this.v2gChain();
    return chain.length ? certificateHashData(chain, await this.caCertificates('V2GRootCertificate')) : [];
  }

  async updateOcspCache(data: CertificateHashData, ocspResponse: string): Promise<void> {
    await this.ocsp.replace({ _id: hashKey(data), hashData: normalizeCertificateHashData(data), ocspResponse, fetchedAt: this.now().toISOString() });
  }

  /** The cached OCSP response for a certificate, for stapling to the EV. */
  async cachedOcsp(data: CertificateHashData): Promise<string | undefined> {
    return (await this.ocsp.get(hashKey(data)))?.ocspResponse;
  }
}
