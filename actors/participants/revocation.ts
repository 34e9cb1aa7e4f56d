/**
 * Revocation records of a CA participant, kept in its store, and its OCSP responder on the bus
 * (`<participant>.ocsp`, RFC 6960 DER as base64) built on PKI-crypto's responder.
 */
import type { Bus, Subscription } from '../bus/bus.ts';
import { serveSubject } from '../bus/typed.ts';
import type { Store, StoredDoc } from '../store/store.ts';
import { ocspSubject } from '../../protocols/catalogue/fields.ts';
import type { RevocationReason } from '../../protocols/pki/index.ts';
import { requestSubjectReply } from '../bus/typed.ts';
import { createOcspResponder, crlReasons, normalizeSerialNumber, unsuccessfulResponse, type OcspResponder, type OcspResponseStatus, type OcspTransport, type SerialStatus } from '../../protocols/pki/ocsp.ts';
import { PncError } from '../../protocols/errors.ts';
import { EdgeError, decodePercent, startHttpEdge, type EdgeRequest, type HttpEdge } from '../edge/http.ts';
import { createLogger } from '../host/log.ts';
import type { Logger } from '../host/participant.ts';
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
 * responder also answers RFC 6960 Appendix A HTTP on loopback under `/<participant>`: POST
 * `application/ocsp-request`, or GET `/<participant>/<url-encoded base64 request>`. Every CA
 * participant of a process given the same port shares one server.
 */
export async function serveOcsp(bus: Bus, participant: string, issuer: HeldAuthority, revocations: Revocations, httpPort?: string, log?: Logger): Promise<Subscription> {
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
  const unmount = await mountOcspHttp(Number(httpPort), participant, responder, log ?? createLogger()).catch(async (error: unknown) => {
    await onBus.unsubscribe();
    throw error;
  });
  return {
    async unsubscribe() {
      await onBus.unsubscribe();
      await unmount();
    },
  };
}

const OCSP_RESPONSE = 'application/ocsp-response';
const OCSP_REQUEST = 'application/ocsp-request';
/** An OCSP request is a few hundred bytes; 64 KiB leaves room for any extension a client adds. */
const OCSP_LIMITS = { maxBodyBytes: 64 << 10, maxHeaderBytes: 16 << 10 };

/** One OCSP HTTP server per port in this process; each CA answers under its own path prefix. */
const ocspHttpServers = new Map<number, Promise<{ edge: HttpEdge; responders: Map<string, OcspResponder> }>>();

/** The OCSPResponseStatus an HTTP refusal carries (RFC 6960 §4.2.1), so OCSP clients read it as such. */
function ocspRefusal(status: number): Exclude<OcspResponseStatus, 'successful'> {
  if (status === 404) return 'unauthorized';
  if (status === 429 || status === 503) return 'tryLater';
  return status >= 500 ? 'internalError' : 'malformedRequest';
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** RFC 6960 A.1: the DER request of a POST body or of a GET path (base64, then URL-encoded). */
function ocspRequestDer(request: EdgeRequest, responders: ReadonlyMap<string, OcspResponder>): { responder: OcspResponder; der: Buffer } {
  const { path, segments } = request.target;
  const responder = responders.get(segments[0]);
  if (!responder) throw new EdgeError('NotFound', `no CA answers OCSP under /${segments[0]}`);
  if (request.method === 'POST') {
    if (segments.length > 2 || (segments.length === 2 && segments[1] !== '')) throw new EdgeError('NotFound', `POST the request to /${segments[0]}`);
    const type = request.headers['content-type']?.split(';')[0].trim().toLowerCase();
    if (type !== undefined && type !== OCSP_REQUEST) throw new EdgeError('UnsupportedMediaType', `content type ${type} is not ${OCSP_REQUEST}`);
    return { responder, der: request.body };
  }
  if (request.method !== 'GET') throw new EdgeError('MethodNotAllowed', `${request.method} is not an OCSP method (GET or POST)`, { allow: 'GET, POST' });
  // The base64 text may itself hold `/`: everything after the prefix is the request, decoded once as a whole.
  const slash = path.indexOf('/', 1);
  const encoded = slash < 0 ? '' : decodePercent(path.slice(slash + 1), 'OCSP request');
  if (!BASE64.test(encoded) || encoded.length % 4 !== 0) throw new EdgeError('BadEncoding', 'the GET path is not a base64 OCSP request');
  return { responder, der: Buffer.from(encoded, 'base64') };
}

async function mountOcspHttp(port: number, participant: string, responder: OcspResponder, log: Logger): Promise<() => Promise<void>> {
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new PncError('ConfigInvalid', `ocspHttpPort ${port} is not a port number`);
  let shared = ocspHttpServers.get(port);
  if (!shared) {
    const responders = new Map<string, OcspResponder>();
    shared = startHttpEdge({
      name: 'ocsp.http',
      log,
      port,
      limits: OCSP_LIMITS,
      errorReply: (_error, status) => ({ status, headers: { 'content-type': OCSP_RESPONSE }, body: unsuccessfulResponse(ocspRefusal(status)) }),
      handle: async (request) => {
        const { responder: found, der } = ocspRequestDer(request, responders);
        // Unparsable DER is answered by the responder itself: 200 with malformedRequest, as OCSP clients expect.
        return { status: 200, headers: { 'content-type': OCSP_RESPONSE }, body: await found.respond(der) };
      },
    }).then((edge) => ({ edge, responders }));
    ocspHttpServers.set(port, shared);
    shared.catch(() => ocspHttpServers.delete(port));
  }
  const { edge, responders } = await shared;
  if (responders.has(participant)) throw new PncError('ConfigInvalid', `${participant} already answers OCSP on port ${port}`);
  responders.set(participant, responder);
  return async () => {
    responders.delete(participant);
    if (responders.size > 0 || ocspHttpServers.get(port) !== shared) return;
    ocspHttpServers.delete(port);
    await edge.close();
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
