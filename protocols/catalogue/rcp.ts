/**
 * RCP — Root Certificate Pool. Holds the V2G, MO and OEM (and PE) roots of the ecosystem; only
 * admins write, every role reads. Expired and revoked roots are purged on a schedule.
 * Payloads follow OPCP 1.0 `rcp.v1.json` (`RootCertV2`), so the OPCP gateway is a thin mapping.
 */
import { z } from 'zod';
import { eventSubject, participantInterface, requestSubject, REQUEST_BYTES } from './define.ts';
import { purgeExpiryEvent } from './pools.ts';
import { certificateDer, hex, serialHex } from './fields.ts';

export const rootTypes = ['V2G', 'MO', 'OEM', 'PE'] as const;
export const rootType = z.enum(rootTypes);
export type RootType = z.output<typeof rootType>;

const uuid = z.string().regex(/^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$/, 'expected a UUID');

/** One pool entry, in the OPCP `RootCertV2` shape (plus `revokedAt` when an admin revoked it). */
export const rootCertificate = z.object({
  /** Derived from the SHA-256 fingerprint, so putting the same certificate twice gives the same id. */
  rootCertificateId: uuid,
  rootType,
  caCertificate: certificateDer,
  distinguishedName: z.string(),
  commonName: z.string(),
  organizationName: z.string().optional(),
  /** Subject key identifier, base64 (OPCP example `RbhAnuE4+L8=`). */
  rootAuthorityKeyIdentifier: z.string().optional(),
  rootAuthorityKeyIdentifierHex: hex.optional(),
  /** Serial number, lowercase hex. */
  rootIssuerSerialNumber: serialHex,
  validFrom: z.string(),
  validTo: z.string(),
  /** SHA-256 of the DER, lowercase hex. */
  fingerprint: hex,
  fingerprintSha1: hex,
  signatureAlgorithm: z.enum(['secp256r1', 'secp521r1', 'ed448']).optional(),
  revokedAt: z.string().optional(),
});
export type RootCertificateJson = z.output<typeof rootCertificate>;

export const rcpErrorCodes = ['RootNotFound', 'InvalidCertificate', 'NotARoot'] as const;

export const rcpInterface = participantInterface({
  participant: 'rcp',
  summary: 'Root Certificate Pool: V2G, MO and OEM roots for every role; admins write',
  requests: {
    put: requestSubject({
      subject: 'rcp.roots.put',
      maxRequestBytes: REQUEST_BYTES.certificates,
      summary: 'admin adds a root (idempotent: the same certificate keeps its id)',
      request: z.object({ caCertificate: certificateDer, rootType }),
      reply: z.object({ root: rootCertificate, created: z.boolean() }),
      errors: ['Forbidden', 'InvalidCertificate', 'NotARoot'] as const,
    }),
    list: requestSubject({
      subject: 'rcp.roots.list',
      summary: 'all roots in the pool (not revoked), optionally of one type',
      request: z.object({ rootType: rootType.optional() }),
      reply: z.object({ roots: z.array(rootCertificate) }),
      errors: [] as const,
    }),
    get: requestSubject({
      subject: 'rcp.roots.get',
      summary: 'one root by its rootCertificateId',
      request: z.object({ rootCertificateId: z.string() }),
      reply: z.object({ root: rootCertificate }),
      errors: ['RootNotFound'] as const,
    }),
    delete: requestSubject({
      subject: 'rcp.roots.delete',
      summary: 'admin removes a root at once; emits rcp.root.purged with reason "deleted"',
      request: z.object({ rootCertificateId: z.string() }),
      reply: z.object({ rootCertificateId: uuid }),
      errors: ['Forbidden', 'RootNotFound'] as const,
    }),
    revoke: requestSubject({
      subject: 'rcp.roots.revoke',
      summary: 'admin marks a root revoked: no longer served, purged at the next purge run',
      request: z.object({ rootCertificateId: z.string() }),
      reply: z.object({ root: rootCertificate }),
      errors: ['Forbidden', 'RootNotFound'] as const,
    }),
  },
  events: {
    purgeExpiry: purgeExpiryEvent('rcp'),
    added: eventSubject({
      subject: 'rcp.root.added',
      summary: 'a root entered the pool (OPCP webhook root.cert.added)',
      payload: z.object({ root: rootCertificate }),
    }),
    purged: eventSubject({
      subject: 'rcp.root.purged',
      summary: 'a root left the pool: expired or revoked (scheduled purge) or deleted by an admin',
      payload: z.object({
        rootCertificateId: uuid,
        rootType,
        distinguishedName: z.string(),
        fingerprint: hex,
        reason: z.enum(['expired', 'revoked', 'deleted']),
        purgedAt: z.string(),
      }),
    }),
  },
});
