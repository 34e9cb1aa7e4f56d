/**
 * The one place where the CSMS edge meets HTTP: it stands behind the shared HTTP edge
 * (actors/edge/http.ts) with TLS (security profiles 2 and 3), so bad targets, oversized heads,
 * slow clients and plain requests get the edge's typed answers before ocpp-rpc sees anything;
 * WebSocket upgrades to `/ocpp/<stationId>` go to ocpp-rpc's `handleUpgrade`.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { EdgeError, startHttpEdge, type EdgeLimits } from '../edge/http.ts';
import type { Logger } from '../host/participant.ts';

/** The CSMS's default port (kept here, light to import, so CLI usage texts need not load ocpp-rpc). */
export const DEFAULT_OCPP_PORT = 8443;

export interface TlsMaterial {
  /** PEM private key of the CSMS server certificate. */
  readonly key: string;
  /** PEM server certificate (chain). */
  readonly cert: string;
  /** PEM CSMS root: station certificates for security profile 3 must chain to it. */
  readonly ca: string;
}

export interface UpgradeListener {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export type UpgradeHandler = (request: IncomingMessage, socket: Socket, head: Buffer) => void | Promise<void>;

/** RFC 6455 §4.1: a comma-separated list of RFC 7230 tokens. */
const SUBPROTOCOL_LIST = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:[ \t]*,[ \t]*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*$/;

/** The path prefix stations connect under: `wss://host:port/ocpp/<stationId>`. */
const OCPP_PATH = 'ocpp';

/**
 * Listens with TLS 1.2+ and asks for (but does not require) a client certificate: a station that
 * presents one is judged by profile 3 in the auth hook, one that does not by profile 2. A request
 * that is not an upgrade gets 426; an upgrade anywhere but `/ocpp/<stationId>` gets 404, one
 * without a subprotocol of `subprotocols` 400.
 */
export async function listenForUpgrades(handleUpgrade: UpgradeHandler, options: { port: number; host: string; tls: TlsMaterial; log: Logger; subprotocols: readonly string[]; limits?: Partial<EdgeLimits> }): Promise<UpgradeListener> {
  const edge = await startHttpEdge({
    name: 'ocpp',
    log: options.log,
    port: options.port,
    host: options.host,
    ...(options.limits ? { limits: options.limits } : {}),
    tls: { key: options.tls.key, cert: options.tls.cert, ca: options.tls.ca, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' },
    errorReply: (error, status, traceId) => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: error.code, message: error.message, traceId }) }),
    handle: () => { throw new EdgeError('UpgradeRequired', `OCPP-J only: upgrade to WebSocket at /${OCPP_PATH}/<stationId>`, { upgrade: 'websocket' }); },
    upgrade: ({ target, request }, socket, head) => {
      const [prefix, stationId, ...rest] = target.segments;
      if (prefix !== OCPP_PATH || !stationId || rest.length) throw new EdgeError('NotFound', `stations connect at /${OCPP_PATH}/<stationId>, not ${target.path}`);
      if (request.headers.upgrade?.toLowerCase() !== 'websocket') throw new EdgeError('BadRequest', 'only WebSocket upgrades are served');
      // OCPP-J §3.1.2: the station names the OCPP versions it speaks; a missing or malformed list is refused here, not by a library's parser.
      const offered = request.headers['sec-websocket-protocol'];
      if (typeof offered !== 'string' || !SUBPROTOCOL_LIST.test(offered)) throw new EdgeError('BadRequest', 'Sec-WebSocket-Protocol must list OCPP versions (tokens separated by commas)');
      if (!offered.split(',').some((token) => options.subprotocols.includes(token.trim()))) throw new EdgeError('BadRequest', `no supported subprotocol offered; this CSMS speaks ${options.subprotocols.join(', ')}`);
      // An https server's upgrade socket is its TLSSocket.
      return handleUpgrade(request, socket as Socket, head);
    },
  });
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return { url: `wss://${host}:${edge.port}/${OCPP_PATH}`, port: edge.port, close: edge.close };
}

/** The station certificate a TLS connection presented, if any, and whether it chains to the CSMS root. */
export function peerCertificateOf(request: IncomingMessage): { commonName?: string; authorized: boolean } | undefined {
  const socket = request.socket as TLSSocket;
  const certificate = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
  if (!certificate || Object.keys(certificate).length === 0) return undefined;
  const commonName = certificate.subject?.CN;
  return { ...(typeof commonName === 'string' ? { commonName } : {}), authorized: socket.authorized };
}
