/**
 * RCP participant: the Root Certificate Pool on the bus (protocols/catalogue/rcp.ts). Admins add,
 * revoke and delete roots; every role reads them. Roots leave the pool at their notAfter or, when
 * revoked, at the next purge; each departure is published as `rcp.root.purged`.
 */
import 'reflect-metadata';
import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { PncError } from '../../protocols/errors.ts';
import { requireRole } from '../../protocols/catalogue/caller.ts';
import { callerOf } from '../bus/identity.ts';
import { rcpInterface, type RootCertificateJson, type RootType } from '../../protocols/catalogue/rcp.ts';
import { rcpMachine } from '../../statecharts/rcp.ts';
import { publishEvent } from '../bus/typed.ts';
import type { Bus } from '../bus/bus.ts';
import { queueServer } from './authority.ts';
import type { Store } from '../store/store.ts';
import type { Logger, ParticipantContext, ParticipantDefinition } from '../host/participant.ts';
import { wallClockOf } from '../transport/timers.ts';
import { certificateFacts, fingerprintAsUuid, parseCertificate, purgeExpired, startPurgeSchedule, bytesToBase64, type Clock, type WallClock, type ExpiringDoc, type RunningPool } from '../pools/common.ts';
import { unsubscribeAll } from '../bus/bus.ts';

export const ROOTS_COLLECTION = 'rcp.roots';

interface RootDoc extends ExpiringDoc, RootCertificateJson {}

function toJson(doc: RootDoc): RootCertificateJson {
  const { _id, _rev, expiresAt, ...root } = doc;
  void _id, _rev, expiresAt;
  return root;
}

/** Builds the pool entry of a root certificate; rejects what is not a self-signed CA. */
export async function describeRoot(caCertificate: string, rootType: RootType): Promise<RootCertificateJson> {
  const certificate = parseCertificate(caCertificate, 'caCertificate');
  const isCa = certificate.getExtension(x509.BasicConstraintsExtension)?.ca === true;
  // Node's verifier: it knows every key OPCP names (P-256, P-521, Ed448), WebCrypto lacks Ed448.
  const native = new NodeX509Certificate(new Uint8Array(certificate.rawData));
  if (!isCa || certificate.subject !== certificate.issuer || !native.verify(native.publicKey)) {
    throw new PncError('NotARoot', `${certificate.subject} is not a self-signed CA certificate`);
  }
  const facts = certificateFacts(new Uint8Array(certificate.rawData));
  const ski = facts.subjectKeyIdentifier;
  return {
    rootCertificateId: fingerprintAsUuid(facts.fingerprint),
    rootType,
    caCertificate: bytesToBase64(certificate.rawData),
    distinguishedName: facts.distinguishedName,
    commonName: facts.commonName,
    ...(facts.organizationName ? { organizationName: facts.organizationName } : {}),
    ...(ski ? { rootAuthorityKeyIdentifier: Buffer.from(ski, 'hex').toString('base64'), rootAuthorityKeyIdentifierHex: ski } : {}),
    rootIssuerSerialNumber: facts.serialNumber,
    validFrom: facts.validFrom.toISOString(),
    validTo: facts.validTo.toISOString(),
    fingerprint: facts.fingerprint,
    fingerprintSha1: facts.fingerprintSha1,
    ...(facts.keyAlgorithm ? { signatureAlgorithm: facts.keyAlgorithm } : {}),
  };
}

/**
 * Starts the RCP on a bus and store; `clock` (Date.now by default) dates revocations, deletions and purges;
 * given as a whole clock it also fires the purge deadline.
 */
export async function startRcp(bus: Bus, store: Store, log: Logger, clock: Clock | WallClock = Date.now): Promise<RunningPool> {
  const currentTime = wallClockOf(clock).now;
  const roots = store.collection<RootDoc>(ROOTS_COLLECTION);
  await roots.ensureIndex({ fields: ['expiresAt'] });
  const { requests, events } = rcpInterface;
  // One queue group per pool: several processes of it share the requests.
  const serve = queueServer(bus, 'rcp');

  const schedule = await startPurgeSchedule(
    'rcp',
    rcpMachine,
    (now) =>
      purgeExpired(roots, now, async (doc) => {
        const reason = doc.revokedAt ? 'revoked' : 'expired';
        log.info('rcp.root.purged', { rootCertificateId: doc.rootCertificateId, reason });
        await publishEvent(bus, events.purged, {
          rootCertificateId: doc.rootCertificateId,
          rootType: doc.rootType,
          distinguishedName: doc.distinguishedName,
          fingerprint: doc.fingerprint,
          reason,
          purgedAt: new Date(now).toISOString(),
        });
      }),
    { bus, store, log },
    clock,
  );

  async function servedRoot(id: string): Promise<RootDoc> {
    const doc = await roots.get(id.toLowerCase());
    if (!doc || doc.revokedAt) throw new PncError('RootNotFound', 'Root certificate with the given ID is not found');
    return doc;
  }

  const subscriptions = await Promise.all([
    serve(requests.put, async ({ caCertificate, rootType }, delivery) => {
      const caller = callerOf(delivery);
      requireRole(caller, 'admin');
      const root = await describeRoot(caCertificate, rootType);
      const existing = await roots.get(root.rootCertificateId);
      if (existing) return { root: toJson(existing), created: false };
      const expiresAt = Date.parse(root.validTo);
      try {
        await roots.insert({ _id: root.rootCertificateId, ...root, expiresAt });
      } catch (error) {
        if (PncError.is(error, 'DuplicateKey')) return { root: toJson((await roots.get(root.rootCertificateId))!), created: false };
        throw error;
      }
      await schedule.expiryAdded(expiresAt);
      await publishEvent(bus, events.added, { root });
      log.info('rcp.root.added', { rootCertificateId: root.rootCertificateId, rootType, subject: root.distinguishedName });
      return { root, created: true };
    }),
    serve(requests.list, async ({ rootType }) => {
      const docs = await roots.find(rootType ? { rootType } : {}, { sort: 'expiresAt' });
      return { roots: docs.filter((doc) => !doc.revokedAt).map(toJson) };
    }),
    serve(requests.get, async ({ rootCertificateId }) => ({ root: toJson(await servedRoot(rootCertificateId)) })),
    serve(requests.revoke, async ({ rootCertificateId }, delivery) => {
      const caller = callerOf(delivery);
      requireRole(caller, 'admin');
      const doc = await servedRoot(rootCertificateId);
      const at = currentTime();
      const revoked: RootDoc = { ...doc, revokedAt: new Date(at).toISOString(), expiresAt: at };
      await roots.replace(revoked);
      await schedule.expiryAdded(at);
      return { root: toJson(revoked) };
    }),
    serve(requests.delete, async ({ rootCertificateId }, delivery) => {
      const caller = callerOf(delivery);
      requireRole(caller, 'admin');
      const doc = await roots.get(rootCertificateId.toLowerCase());
      if (!doc || !(await roots.delete(doc._id))) throw new PncError('RootNotFound', 'Root certificate with the given ID is not found');
      await publishEvent(bus, events.purged, {
        rootCertificateId: doc.rootCertificateId,
        rootType: doc.rootType,
        distinguishedName: doc.distinguishedName,
        fingerprint: doc.fingerprint,
        reason: 'deleted',
        purgedAt: new Date(currentTime()).toISOString(),
      });
      return { rootCertificateId: doc.rootCertificateId };
    }),
  ]);
  return {
    purgeNow: () => schedule.purgeNow(),
    async stop() {
      await unsubscribeAll(subscriptions);
      await schedule.stop();
    },
  };
}

export const rcpParticipant: ParticipantDefinition = {
  name: 'rcp',
  summary: 'Root Certificate Pool: V2G, MO and OEM roots; admins write, everyone reads; purges expired and revoked roots',
  start: (context: ParticipantContext) => startRcp(context.bus, context.store, context.log),
};
