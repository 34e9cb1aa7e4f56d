/**
 * Key material of the CA participants (V2G root CA, OEM, MO, CPS, CPO): each keeps its CAs
 * (certificate + private key sealed under the host's key-encryption key) in its store, made once on
 * first start and loaded afterwards, so a restarted process signs with the same keys. Sub-CA 1 certificates of the CPO and CPS domains
 * come from the V2G root CA over the bus, from a CSR.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { requestSubjectReply, serveSubject } from '../bus/typed.ts';
import type { RequestSubject } from '../../protocols/catalogue/define.ts';
import type { Bus } from '../bus/bus.ts';
import type { Store, StoredDoc } from '../store/store.ts';
import { v2gRootInterface } from '../../protocols/catalogue/v2g-root.ts';
import { PncError } from '../../protocols/errors.ts';
import { issueCertificate, subjectName, type CertificateAuthority, type IssueOptions, type SubjectFields } from '../../protocols/pki/issue.ts';
import { exportPkcs8, generateKeyPair, importPkcs8, signingAlgorithm, type CryptoKey, type CryptoKeyPair } from '../../protocols/pki/keys.ts';
import type { RoleName } from '../../protocols/pki/profiles.ts';
import { KeyEncryptionKey, type SealedKey } from '../host/kek.ts';
import { recordIssuance, recordSuperseded } from './issuance-log.ts';

export interface HeldAuthority extends CertificateAuthority {
  readonly publicKey: CryptoKey;
}

interface StoredAuthority {
  readonly role: RoleName;
  /** DER, base64. */
  readonly certificate: string;
  /** PKCS#8 DER sealed under the host's key-encryption key (actors/host/kek.ts): never in clear at rest. */
  readonly sealedKey: SealedKey;
  readonly ocspUrl?: string;
}

interface AuthoritiesDoc extends StoredDoc {
  readonly authorities: Record<string, StoredAuthority>;
}

const SIGNED_BY_V2G_ROOT: ReadonlySet<RoleName> = new Set(['cpoSubCa1', 'cpsSubCa1']);

/** A fresh CA: certificate and key pair. */
export interface MadeAuthority {
  readonly role: RoleName;
  readonly certificate: x509.X509Certificate;
  readonly keys: CryptoKeyPair;
  readonly ocspUrl?: string;
}

/**
 * The AIA OCSP URL written into certificates a participant's CA issues. The bus serves it as
 * `<participant>.ocsp` (revocation.ts `busOcspTransport` maps one onto the other).
 */
export function ocspUrlOf(participant: string, baseUrl = 'http://ocsp.openpnc.test'): string {
  return `${baseUrl.replace(/\/$/, '')}/${participant}`;
}

/** Issues a CA (or leaf) with a fresh key pair. */
export async function makeAuthority(options: IssueOptions): Promise<MadeAuthority> {
  const { role, certificate, keys } = await issueCertificate(options);
  return { role, certificate, keys: keys! };
}

/** A freshly made CA as the issuer of the next certificate. */
export function asIssuer(made: MadeAuthority): CertificateAuthority {
  return { role: made.role, certificate: made.certificate, privateKey: made.keys.privateKey, ...(made.ocspUrl ? { ocspUrl: made.ocspUrl } : {}) };
}

export const base64Of = (bytes: ArrayBuffer | Uint8Array): string => Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toString('base64');
export const certificateOf = (base64: string): x509.X509Certificate => new x509.X509Certificate(Buffer.from(base64, 'base64'));
export const derOf = (certificate: x509.X509Certificate): string => base64Of(certificate.rawData);
/** A PKCS#8 private key as base64, for keys that are not CA keys (a station's own leaf key) and so are not sealed. */
export const importPrivateKey = (pkcs8Base64: string): Promise<CryptoKey> => importPkcs8(Buffer.from(pkcs8Base64, 'base64'));
export const exportPrivateKey = async (key: CryptoKey): Promise<string> => base64Of(await exportPkcs8(key));


/** Hosts that give no KEK (programmatic use, tests) get one per process: their CA keys last as long as it. */
export const processKek = KeyEncryptionKey.generate();

async function held(entry: StoredAuthority, kek: KeyEncryptionKey, label: string): Promise<HeldAuthority> {
  const certificate = certificateOf(entry.certificate);
  if (!entry.sealedKey) throw new PncError('KekMismatch', `${label}: the stored key is not sealed (made by an older version); remove the store's authorities to make new CAs`);
  return {
    role: entry.role,
    certificate,
    privateKey: await importPkcs8(kek.open(entry.sealedKey, label)),
    publicKey: await certificate.publicKey.export(signingAlgorithm, ['verify']),
    ...(entry.ocspUrl ? { ocspUrl: entry.ocspUrl } : {}),
  };
}

/**
 * Loads the participant's CAs from its store, or makes them with `make` on first start and stores
 * them. When two processes race on first start, the first insert wins and both use its keys.
 */
export async function loadOrMakeAuthorities<Name extends string>(
  { store, kek = processKek }: { readonly store: Store; readonly kek?: KeyEncryptionKey },
  participant: string,
  make: () => Promise<Record<Name, MadeAuthority>>,
): Promise<Record<Name, HeldAuthority>> {
  const labelOf = (name: string) => `${participant}/${name}`;
  const collection = store.collection<AuthoritiesDoc>(`${participant}.authorities`);
  let doc = await collection.get('authorities');
  if (!doc) {
    const made = await make();
    // Sub-CA 1 of the CPO and CPS domains is the V2G root's issuance, logged there.
    const ownIssuance = (Object.entries(made) as Array<[string, MadeAuthority]>).filter(([, authority]) => !SIGNED_BY_V2G_ROOT.has(authority.role));
    for (const [, authority] of ownIssuance) await recordIssuance(store, participant, authority.role, authority.certificate);
    const authorities: Record<string, StoredAuthority> = {};
    for (const [name, authority] of Object.entries(made) as Array<[string, MadeAuthority]>) {
      authorities[name] = {
        role: authority.role,
        certificate: derOf(authority.certificate),
        sealedKey: kek.seal(await exportPkcs8(authority.keys.privateKey), labelOf(name)),
        ...(authority.ocspUrl ? { ocspUrl: authority.ocspUrl } : {}),
      };
    }
    try {
      doc = await collection.insert({ _id: 'authorities', authorities });
    } catch (error) {
      if (!PncError.is(error, 'DuplicateKey')) throw error;
      doc = (await collection.get('authorities'))!;
      // Another process of this participant stored its CAs first: ours are made and never used.
      for (const [name, authority] of ownIssuance) {
        const kept = doc.authorities[name];
        if (kept) await recordSuperseded(store, participant, authority.certificate, certificateOf(kept.certificate));
      }
    }
  }
  const result: Record<string, HeldAuthority> = {};
  for (const [name, entry] of Object.entries(doc.authorities)) result[name] = await held(entry, kek, labelOf(name));
  return result as Record<Name, HeldAuthority>;
}

/** A PKCS#10 CSR (DER) for a fresh P-256 key, signed with it. */
export async function makeCsr(subject: SubjectFields): Promise<{ csr: Uint8Array; keys: CryptoKeyPair }> {
  const keys = await generateKeyPair();
  const request = await x509.Pkcs10CertificateRequestGenerator.create({ name: subjectName(subject), keys, signingAlgorithm });
  return { csr: new Uint8Array(request.rawData), keys };
}

/**
 * Asks the V2G root CA for a domain Sub-CA 1 certificate, retrying while the root CA is not yet
 * serving (processes start in any order).
 */
export async function requestSubCa1(bus: Bus, domain: 'cpo' | 'cps', subject: SubjectFields): Promise<MadeAuthority> {
  const { csr, keys } = await makeCsr(subject);
  const reply = await whenServed(() => requestSubjectReply(bus, v2gRootInterface.requests.issueSubCa, { domain, csr: base64Of(csr) }));
  return { role: domain === 'cpo' ? 'cpoSubCa1' : 'cpsSubCa1', certificate: certificateOf(reply.certificate), keys };
}

/** Retries a bus request while nobody serves the subject yet (processes start in any order). */
export async function whenServed<T>(call: () => Promise<T>, attempts = 60): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const waiting = PncError.is(error, 'NoResponders') || PncError.is(error, 'Timeout');
      if (!waiting || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/**
 * `serveSubject` in the participant's NATS queue group: several processes of one participant
 * share its requests instead of all answering each one.
 */
export function queueServer(bus: Bus, participant: string) {
  return <S extends RequestSubject>(spec: S, handler: Parameters<typeof serveSubject<S>>[2]) => serveSubject(bus, spec, handler, { queue: participant });
}
