// The SECC's V2GTP server: TLS 1.2 with the pinned suite and group, or plain TCP when the charger is
// configured for EIM only. Each accepted connection is handed over as the Duplex carrying V2GTP bytes
// (the seam to the session: `new V2gtpConnection(socket)` frames it). Streams come from an IpPort, so
// the same server runs on the in-memory line and on a host interface; TLS wraps whichever Duplex it is.
import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { TLSSocket, createSecureContext } from 'node:tls';
import { PncError } from '../../protocols/errors.ts';
import type { Bound, IpPort, Remote } from '../link/port.ts';
import { TransportError } from './errors.ts';
import { socketIpPort } from './ip-socket.ts';
import { keyLogWriter, ocspStapler, seccTlsOptions, type OcspStapleSource, type SeccTlsCredentials } from './tls.ts';

/** V2G_SECC_CommunicationSetup_Performance_Time (EVerest v2g.hpp): TCP accept to the EV's first V2GTP bytes. */
export const SECC_COMMUNICATION_SETUP_MS = 18_000;

export type V2gtpSecurity =
  | {
      readonly kind: 'tls';
      readonly credentials: SeccTlsCredentials;
      readonly keyLogFile?: string;
      /** Answers the EV's status_request with the leaf's cached OCSP response; without it nothing is stapled. */
      readonly ocspStaple?: OcspStapleSource;
    }
  /** Plain TCP is allowed only for a charger that offers EIM alone: PnC needs TLS [V2G2-116]. */
  | { readonly kind: 'tcp'; readonly eimOnly: true };

export interface PeerInfo {
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The negotiated TLS version and suite (IANA name); absent on plain TCP. */
  readonly tls?: { readonly protocol: string; readonly cipher: string };
}

export interface V2gtpServerOptions {
  /** The link to listen on (the in-memory line or a host interface); default: node:net on `host`. */
  readonly ip?: IpPort;
  /** Without `ip`: `::1`, `::`, or a link-local `fe80::…%if`. */
  readonly host?: string;
  /** Default: a free port drawn from 49152–65535, the range EVCCs accept (link-layer.md §2.2). */
  readonly port?: number;
  readonly security: V2gtpSecurity;
  /** Handshake and the EV's first application bytes must arrive within this many ms of the TCP accept. */
  readonly setupTimeoutMs?: number;
  /** Called with the secured (or, for EIM-only, plain) socket; frame it with `new V2gtpConnection(socket)`. */
  readonly onConnection: (socket: Duplex, peer: PeerInfo) => void;
}

export interface V2gtpServerEvents {
  /** A connection that never became a V2GTP connection: TLS refused (no shared suite, garbage), or setup timed out. */
  refused: [TransportError, { readonly remoteAddress?: string }];
}

export class V2gtpServer extends EventEmitter<V2gtpServerEvents> {
  readonly stats = { accepted: 0, refused: 0 };
  private readonly sockets = new Set<Duplex>();
  private bound?: Bound;
  /** Replaces what a TLS server presents to the connections that come after (a renewed SECC leaf). */
  private renewTls?: (credentials: SeccTlsCredentials) => void;

  private constructor(readonly security: V2gtpSecurity['kind']) {
    super();
  }

  /**
   * Presents `credentials` (leaf, chain and key; the staple is looked up by this leaf's serial) to
   * every connection accepted from now on; sessions already running keep theirs. A station that
   * renewed its SECC leaf serves it without a restart.
   */
  useCredentials(credentials: SeccTlsCredentials): void {
    if (!this.renewTls) throw new TransportError('TransportMisconfigured', 'a plain TCP server presents no certificate');
    this.renewTls(credentials);
  }

  static async start(options: V2gtpServerOptions): Promise<V2gtpServer> {
    const setupMs = options.setupTimeoutMs ?? SECC_COMMUNICATION_SETUP_MS;
    const { security } = options;
    if (security.kind === 'tcp' && security.eimOnly !== true) {
      throw new TransportError('TransportMisconfigured', 'plain TCP is only allowed for an EIM-only charger; Plug&Charge needs TLS');
    }
    const instance = new V2gtpServer(security.kind);
    const accept = (socket: Duplex, remote: Remote, tls: PeerInfo['tls']) => {
      instance.stats.accepted++;
      // A reset must never crash the server, whatever listeners the session attaches; it sees the error too.
      socket.on('error', () => undefined);
      options.onConnection(socket, { remoteAddress: remote.address, remotePort: remote.port, ...(tls ? { tls } : {}) });
    };
    let onStream: (raw: Duplex, remote: Remote) => void;
    if (security.kind === 'tls') {
      const presenting = (credentials: SeccTlsCredentials) => ({
        secureContext: createSecureContext(seccTlsOptions(credentials)),
        ...(security.ocspStaple ? { server: ocspStapler(credentials, security.ocspStaple) } : {}),
      });
      let presented = presenting(security.credentials);
      instance.renewTls = (credentials) => (presented = presenting(credentials));
      onStream = (raw, remote) => {
        const socket = new TLSSocket(raw, { isServer: true, requestCert: false, rejectUnauthorized: false, ...presented });
        if (security.keyLogFile) socket.on('keylog', keyLogWriter(security.keyLogFile));
        let secure = false;
        // A failed handshake (no shared suite, static-ECDH only, garbage) costs one socket, never the server.
        socket.once('error', (error: Error & { code?: string }) => {
          if (!secure) instance.refuse(new TransportError('TlsHandshakeFailed', `TLS handshake refused: ${error.message}`, { data: { opensslCode: error.code } }), remote.address);
        });
        socket.once('secure', () => {
          secure = true;
          const cipher = socket.getCipher();
          accept(socket, remote, { protocol: socket.getProtocol() ?? '', cipher: cipher.standardName ?? cipher.name });
        });
        instance.watchSetup(socket, remote, setupMs);
      };
    } else {
      onStream = (raw, remote) => {
        instance.watchSetup(raw, remote, setupMs);
        accept(raw, remote, undefined);
      };
    }
    const ip = options.ip ?? socketIpPort({ host: options.host ?? '::1' });
    instance.bound = await listen(ip, options.port, (raw, remote) => {
      instance.sockets.add(raw);
      raw.on('close', () => instance.sockets.delete(raw));
      raw.on('error', () => undefined); // reported through the connection or tlsClientError
      onStream(raw, remote);
    });
    return instance;
  }

  get port(): number {
    return this.bound?.port ?? 0;
  }

  get connections(): number {
    return this.sockets.size;
  }

  /** Stops accepting and closes every open connection. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.bound?.close();
  }

  /**
   * Closes a connection that has not carried the EV's first application bytes within the setup time
   * of its accept (handshake included). It watches the byte count instead of reading, so the session
   * can attach its own reader whenever it likes.
   */
  private watchSetup(socket: Duplex, remote: Remote, setupMs: number): void {
    const timer = setTimeout(() => {
      // readableDidRead: 'data' was emitted, i.e. application bytes arrived (TLS handshake bytes never count).
      if (socket.destroyed || socket.readableDidRead || socket.readableLength > 0) return;
      this.refuse(new TransportError('CommunicationSetupTimeout', `no V2GTP bytes within ${setupMs} ms of the connection`, { retryable: true }), remote.address);
      socket.destroy();
    }, setupMs);
    socket.once('close', () => clearTimeout(timer));
  }

  private refuse(error: TransportError, remoteAddress: string | undefined): void {
    this.stats.refused++;
    this.emit('refused', error, { remoteAddress });
  }
}

async function listen(ip: IpPort, port: number | undefined, onConnection: (socket: Duplex, remote: Remote) => void): Promise<Bound> {
  for (let attempt = 0; ; attempt++) {
    const candidate = port ?? randomInt(49152, 65536);
    try {
      return await ip.listen(candidate, onConnection);
    } catch (error) {
      if (port === undefined && error instanceof PncError && error.code === 'AddressInUse' && attempt < 32) continue;
      if (error instanceof TransportError) throw error;
      throw new TransportError('TransportUnavailable', `V2GTP server cannot listen on [${ip.address}]:${candidate}: ${(error as Error).message}`, { cause: error });
    }
  }
}
