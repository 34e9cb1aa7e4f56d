// The SECC's V2GTP server: TLS 1.2 with the pinned suite and group, or plain TCP when the charger is
// configured for EIM only. Each accepted connection is handed over as the Duplex carrying V2GTP bytes
// (the seam to the session: `new V2gtpConnection(socket)` frames it).
import { EventEmitter } from 'node:events';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { randomInt } from 'node:crypto';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { TransportError } from './errors.ts';
import { keyLogWriter, seccTlsOptions, type SeccTlsCredentials } from './tls.ts';

/** V2G_SECC_CommunicationSetup_Performance_Time (EVerest v2g.hpp): TCP accept to the EV's first V2GTP bytes. */
export const SECC_COMMUNICATION_SETUP_MS = 18_000;

export type V2gtpSecurity =
  | { readonly kind: 'tls'; readonly credentials: SeccTlsCredentials; readonly keyLogFile?: string }
  /** Plain TCP is allowed only for a charger that offers EIM alone: PnC needs TLS [V2G2-116]. */
  | { readonly kind: 'tcp'; readonly eimOnly: true };

export interface PeerInfo {
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The negotiated TLS version and suite (IANA name); absent on plain TCP. */
  readonly tls?: { readonly protocol: string; readonly cipher: string };
}

export interface V2gtpServerOptions {
  /** `::1`, `::`, or a link-local `fe80::…%if`. */
  readonly host: string;
  /** Default: a free port drawn from 49152–65535, the range EVCCs accept (link-layer.md §2.2). */
  readonly port?: number;
  readonly security: V2gtpSecurity;
  /** Handshake and the EV's first application bytes must arrive within this many ms of the TCP accept. */
  readonly setupTimeoutMs?: number;
  /** Called with the secured (or, for EIM-only, plain) socket; frame it with `new V2gtpConnection(socket)`. */
  readonly onConnection: (socket: Socket | TLSSocket, peer: PeerInfo) => void;
}

export interface V2gtpServerEvents {
  /** A connection that never became a V2GTP connection: TLS refused (no shared suite, garbage), or setup timed out. */
  refused: [TransportError, { readonly remoteAddress?: string }];
}

export class V2gtpServer extends EventEmitter<V2gtpServerEvents> {
  readonly stats = { accepted: 0, refused: 0 };
  private readonly sockets = new Set<Socket>();
  /** TCP accept time by remote endpoint: the TLS socket handed over is not the raw socket accepted. */
  private readonly acceptedAt = new Map<string, number>();

  private constructor(private readonly server: Server, readonly security: V2gtpSecurity['kind']) {
    super();
  }

  static async start(options: V2gtpServerOptions): Promise<V2gtpServer> {
    const setupMs = options.setupTimeoutMs ?? SECC_COMMUNICATION_SETUP_MS;
    const { security } = options;
    if (security.kind === 'tcp' && security.eimOnly !== true) {
      throw new TransportError('TransportMisconfigured', 'plain TCP is only allowed for an EIM-only charger; Plug&Charge needs TLS');
    }
    let instance: V2gtpServer | undefined;
    const accept = (socket: Socket | TLSSocket, tls: PeerInfo['tls']) => {
      const server = instance!;
      server.stats.accepted++;
      // A reset must never crash the server, whatever listeners the session attaches; it sees the error too.
      socket.on('error', () => undefined);
      // One small request, one small answer: Nagle would hold an answer back behind an unacknowledged one.
      socket.setNoDelay(true);
      server.watchFirstBytes(socket, setupMs);
      const peer: PeerInfo = { remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort ?? 0, ...(tls ? { tls } : {}) };
      options.onConnection(socket, peer);
    };
    let server: Server;
    if (security.kind === 'tls') {
      // handshakeTimeout bounds the handshake; watchFirstBytes then bounds the rest of the setup.
      const tlsServer = createTlsServer({ ...seccTlsOptions(security.credentials), handshakeTimeout: setupMs }, (socket) => {
        const cipher = socket.getCipher();
        accept(socket, { protocol: socket.getProtocol() ?? '', cipher: cipher.standardName ?? cipher.name });
      });
      if (security.keyLogFile) tlsServer.on('keylog', keyLogWriter(security.keyLogFile));
      // A failed handshake (no shared suite, static-ECDH only, garbage, timeout) costs one socket, never the server.
      tlsServer.on('tlsClientError', (error: Error & { code?: string }, socket: TLSSocket) => {
        socket.destroy(); // with a listener, Node leaves the socket open
        const timedOut = error.code === 'ERR_TLS_HANDSHAKE_TIMEOUT';
        instance!.refuse(
          new TransportError(timedOut ? 'CommunicationSetupTimeout' : 'TlsHandshakeFailed', `TLS handshake refused: ${error.message}`, { data: { opensslCode: error.code } }),
          socket.remoteAddress,
        );
      });
      server = tlsServer;
    } else {
      server = createTcpServer((socket) => accept(socket, undefined));
    }
    instance = new V2gtpServer(server, security.kind);
    server.on('connection', (socket: Socket) => {
      instance!.sockets.add(socket);
      const endpoint = endpointOf(socket);
      instance!.acceptedAt.set(endpoint, Date.now());
      socket.on('close', () => {
        instance!.sockets.delete(socket);
        instance!.acceptedAt.delete(endpoint);
      });
      socket.on('error', () => undefined); // reported through the connection or tlsClientError
    });
    await listen(server, options.host, options.port);
    return instance;
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  get connections(): number {
    return this.sockets.size;
  }

  /** Stops accepting and closes every open connection. */
  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /**
   * Closes a connection whose EV sends nothing within what is left of the setup time. It watches the
   * byte count instead of reading, so the session can attach its own reader whenever it likes.
   */
  private watchFirstBytes(socket: Socket | TLSSocket, setupMs: number): void {
    // bytesRead counts application bytes on a TLS socket (0 right after the handshake), raw bytes on TCP.
    const readAtStart = socket.bytesRead;
    const left = setupMs - (Date.now() - (this.acceptedAt.get(endpointOf(socket)) ?? Date.now()));
    const timer = setTimeout(() => {
      if (socket.destroyed || socket.bytesRead > readAtStart) return;
      this.refuse(new TransportError('CommunicationSetupTimeout', `no V2GTP bytes within ${setupMs} ms of the connection`, { retryable: true }), socket.remoteAddress);
      socket.destroy();
    }, Math.max(0, left));
    socket.once('close', () => clearTimeout(timer));
  }

  private refuse(error: TransportError, remoteAddress: string | undefined): void {
    this.stats.refused++;
    this.emit('refused', error, { remoteAddress });
  }
}

function endpointOf(socket: Socket): string {
  return `[${socket.remoteAddress}]:${socket.remotePort}`;
}

async function listen(server: Server, host: string, port: number | undefined): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const candidate = port ?? randomInt(49152, 65536);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port: candidate, ipv6Only: host.includes(':') }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (port === undefined && code === 'EADDRINUSE' && attempt < 32) continue;
      throw new TransportError('TransportUnavailable', `V2GTP server cannot listen on [${host}]:${candidate}: ${(error as Error).message}`, { retryable: code === 'EADDRNOTAVAIL', cause: error });
    }
  }
}
