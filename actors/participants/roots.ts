/**
 * The RCP's roots as a participant sees them: fetched once, parsed once (so chain validation
 * reuses the parse and the issuer keys), refreshed when the RCP announces a change
 * (`rcp.root.added`, `rcp.root.purged`) or after a minute, and kept when the RCP is briefly away.
 */
import 'reflect-metadata';
import type { X509Certificate } from '@peculiar/x509';
import type { Bus, Subscription } from '../bus/bus.ts';
import { rcpInterface, type RootType } from '../../protocols/catalogue/rcp.ts';
import { validateChain, type ChainPurpose, type ChainValidationResult, type RevocationChecker, type TrustAnchors } from '../../protocols/pki/index.ts';
import { certificateOf } from './authority.ts';
import type { RootListPort } from './pool-access.ts';
import { unsubscribeAll } from '../bus/bus.ts';

export interface PooledRoot {
  readonly rootType: RootType;
  /** DER, base64, as the RCP serves it. */
  readonly der: string;
  readonly certificate: X509Certificate;
}

const REFRESH_MS = 60_000;

export class RootPool {
  private roots?: Promise<PooledRoot[]>;
  private fetchedAt = 0;
  private subscriptions: Subscription[] = [];
  /** Parsed certificates by DER, kept across refreshes so validation caches stay warm; only the pool's current roots. */
  private readonly parsed = new Map<string, X509Certificate>();

  /** `source` reads the RCP (bus or OPCP, pool-access.ts); `bus` carries the RCP's change events. */
  constructor(private readonly bus: Bus, private readonly source: RootListPort) {}

  /** Listens for the RCP's change events. */
  async start(): Promise<this> {
    this.subscriptions = await Promise.all([
      this.bus.subscribe(rcpInterface.events.added.subject, () => this.invalidate()),
      this.bus.subscribe(rcpInterface.events.purged.subject, () => this.invalidate()),
    ]);
    return this;
  }

  async stop(): Promise<void> {
    await unsubscribeAll(this.subscriptions);
  }

  /** The next use asks the RCP again. */
  invalidate(): void {
    this.fetchedAt = 0;
  }

  /** The roots of the given types (all when none given); none known asks the RCP once more. */
  async list(...types: RootType[]): Promise<PooledRoot[]> {
    const of = (roots: PooledRoot[]) => (types.length ? roots.filter((root) => types.includes(root.rootType)) : roots);
    const found = of(await this.current());
    if (found.length) return found;
    this.invalidate();
    return of(await this.current());
  }

  /** Trust anchors by kind, for `validateChain`. */
  async anchors(): Promise<TrustAnchors> {
    const roots = await this.current();
    const of = (type: RootType) => roots.filter((root) => root.rootType === type).map((root) => root.certificate);
    return { v2g: of('V2G'), mo: of('MO'), oem: of('OEM') };
  }

  /**
   * Validates a chain against the pooled roots; a chain that ends at a root the pool does not
   * hold yet is checked once more against a fresh copy (a root added a moment ago).
   */
  async validate(chain: readonly X509Certificate[], purpose: ChainPurpose, options: { revocation?: RevocationChecker } = {}): Promise<ChainValidationResult> {
    const verdict = await validateChain(chain, { purpose, roots: await this.anchors(), ...options });
    if (verdict.valid || verdict.defect !== 'UnknownRoot') return verdict;
    this.invalidate();
    return validateChain(chain, { purpose, roots: await this.anchors(), ...options });
  }

  private parse(der: string): X509Certificate {
    let certificate = this.parsed.get(der);
    if (!certificate) {
      certificate = certificateOf(der);
      this.parsed.set(der, certificate);
    }
    return certificate;
  }

  private current(): Promise<PooledRoot[]> {
    if (this.roots && Date.now() - this.fetchedAt < REFRESH_MS) return this.roots;
    const previous = this.roots;
    this.fetchedAt = Date.now();
    const fetching = this.source.list().then((roots) => {
      const pooled = roots.map((root) => ({ rootType: root.rootType, der: root.caCertificate, certificate: this.parse(root.caCertificate) }));
      // Bounded by the pool: a purged root's parsed copy goes with it.
      const held = new Set(roots.map((root) => root.caCertificate));
      for (const der of this.parsed.keys()) if (!held.has(der)) this.parsed.delete(der);
      return pooled;
    });
    // An RCP that does not answer leaves the last known roots in use; the next call asks again.
    this.roots = fetching.catch((error: unknown) => {
      this.fetchedAt = 0;
      if (previous) return previous;
      throw error;
    });
    return this.roots;
  }
}
