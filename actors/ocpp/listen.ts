/**
 * The one place where the CSMS edge meets HTTP: a TLS server (security profiles 2 and 3) whose
 * WebSocket upgrades go to ocpp-rpc's `handleUpgrade`. When the shared HTTP edge helper
 * (actors/edge/http.ts) lands, only this file changes.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

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

/**
 * Listens with TLS 1.2+ and asks for (but does not require) a client certificate: a station that
 * presents one is judged by profile 3 in the auth hook, one that does not by profile 2. Plain HTTP
 * requests get 426 Upgrade Required.
 */
export async function listenForUpgrades(handleUpgrade: UpgradeHandler, options: { port: number; host: string; tls: TlsMaterial }): Promise<UpgradeListener> {
  const server: Server = createServer({ key: options.tls.key, cert: options.tls.cert, ca: options.tls.ca, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' }, (_request, response) => {
    response.writeHead(426, { 'content-type': 'text/plain', connection: 'close' }).end('OCPP-J: upgrade to WebSocket at /ocpp/<stationId>\n');
  });
  // An https server's upgrade socket is its TLSSocket.
  server.on('upgrade', (request, socket, head) => void handleUpgrade(request, socket as Socket, head));
  server.on('tlsClientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => { server.off('error', reject); resolve(); });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `wss://${host}:${port}/ocpp`,
    port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** The station certificate a TLS connection presented, if any, and whether it chains to the CSMS root. */
export function peerCertificateOf(request: IncomingMessage): { commonName?: string; authorized: boolean } | undefined {
  const socket = request.socket as TLSSocket;
  const certificate = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
  if (!certificate || Object.keys(certificate).length === 0) return undefined;
  const commonName = certificate.subject?.CN;
  return { ...(typeof commonName === 'string' ? { commonName } : {}), authorized: socket.authorized };
}
