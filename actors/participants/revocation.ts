/**
 * Revocation records of a CA participant, kept in its store, and its OCSP responder on the bus
 * (`<participant>.ocsp`, RFC 6960 DER as base64) built on PKI-crypto's responder.
 */
import { createServer } from 'node:http';
import type { Bus, Subscription } from '../bus/bus.ts';
import { serveSubject } from '../bus/typed.ts';
import type { Store, StoredDoc } from '../store/store.ts';
import { ocspSubject } from '../../protocols/catalogue/fields.ts';
import type { RevocationReason } from '../../protocols/pki/index.ts';
import { requestSubjectReply } from '../bus/typed.ts';
import { createOcspResponder, crlReasons, normalizeSerialNumber, type OcspTransport, type SerialStatus } from '../../protocols/pki/ocsp.ts';
import type { HeldAuthority } from './authority.ts';

interface RevocationDoc extends StoredDoc {
  readonly revokedAt: string;
  readonly reason?: RevocationReason;
}

export class Revocations {
  private readonly collection;

  constructor(store: Store, participant: string) {
    this.collection = store.collection<RevocationDoc>(`${participant}.revocations`);
  }

  /** Records a revocation (idempotent: the first revocation time stays). Serial as lowercase hex. */
  async revoke(serialNumber: string, reason?: RevocationReason): Promise<{ serialNumber: string; revokedAt: string }> {
    const id = normalizeSerialNumber(serialNumber);
    const existing = await this.collection.get(id);
    if (existing) return { serialNumber: id, revokedAt: existing.revokedAt };
    const revokedAt = new Date().toISOString();
    await this.collection.replace({ _id: id, revokedAt, ...(reason ? { reason } : {}) });
    return { serialNumber: id, revokedAt };
  }

  /** `revoked` for a recorded serial, otherwise `good`: the CA vouches only for what it signed. */
  async status(serialNumber: string): Promise<SerialStatus> {
    const doc = await this.collection.get(normalizeSerialNumber(serialNumber));
    if (!doc) return { status: 'good' };
    return { status: 'revoked', revokedAt: new Date(doc.revokedAt), ...(doc.reason ? { reason: crlReasons[doc.reason] } : {}) };
  }
}

/**
 * Serves `<participant>.ocsp` for the CA that issues the participant's end-entity certificates
 * (CertIDs of other issuers are answered `unknown`, RFC 6960); each answer reflects the
 * revocation records at the time of the request. With `httpPort` (config `ocspHttpPort`) the same
 * responder also answers RFC 6960 Appendix A HTTP on loopback: POST `application/ocsp-request`
 * or GET `/<participant>/<base64 request>`, for OpenSSL and other standard clients.
 */
export async function serveOcsp(bus: Bus, participant: string, issuer: HeldAuthority, revocations: Revocations, httpPort?: string): Promise<Subscription> {
  const responder = createOcspResponder({
    issuer: issuer.certificate,
    signer: { certificate: issuer.certificate, privateKey: issuer.privateKey },
    lookup: (serialNumber) => revocations.status(serialNumber),
  });
  const onBus = await serveSubject(bus, ocspSubject(participant), async ({ ocspRequest }) => {
    const response = await responder.respond(Buffer.from(ocspRequest, 'base64'));
    return { ocspResponse: Buffer.from(response).toString('base64') };
  }, { queue: participant });
  if (httpPort === undefined) return onBus;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const path = decodeURIComponent((request.url ?? '/').split('?')[0]);
      const der = request.method === 'POST' ? Buffer.concat(chunks) : Buffer.from(path.slice(path.lastIndexOf('/') + 1), 'base64');
      const answer = await responder.respond(der);
      response.writeHead(200, { 'content-type': 'application/ocsp-response', 'content-length': answer.length });
      response.end(Buffer.from(answer));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(httpPort), '127.0.0.1', resolve);
  });
  return {
    async unsubscribe() {
      await onBus.unsubscribe();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * OCSP over the bus for PKI-crypto's `ocspRevocationChecker`: an AIA URL made by `ocspUrlOf`
 * (`…/<participant>`) is asked on `<participant>.ocsp`.
 */
export function busOcspTransport(bus: Bus): OcspTransport {
  return async (requestDer, url) => {
    const participant = new URL(url).pathname.split('/').filter(Boolean).at(-1);
    if (!participant) throw new Error(`no participant in OCSP URL ${url}`);
    const { ocspResponse } = await requestSubjectReply(bus, ocspSubject(participant), { ocspRequest: Buffer.from(requestDer).toString('base64') }, { timeoutMs: 2_000 });
    return new Uint8Array(Buffer.from(ocspResponse, 'base64'));
  };
}
