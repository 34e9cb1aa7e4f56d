// SDP server (ISO 15118-2 §7.10.1, link-layer.md §2.2): answers SDP requests on UDP
// [ff02::1]:15118 of one interface with the SECC's address, V2GTP port and security.
import { EventEmitter } from 'node:events';
import type { Bound, IpPort, Remote } from '../link/port.ts';
import { SDP_MULTICAST_ADDRESS, SDP_PORT, SdpError, decodeSdpRequest, encodeSdpResponse, type SdpRequest, type SdpResponse, type SdpSecurity } from '../../protocols/sdp/index.ts';
import { TransportError } from './errors.ts';
import { socketIpPort } from './ip-socket.ts';

export interface SdpServerOptions {
  /** The link to serve on (the in-memory line or a host interface); default: node:dgram on `interface` or `host`. */
  readonly ip?: IpPort;
  /** Joins ff02::1 on this interface and announces its link-local address. */
  readonly interface?: string;
  /** Without an interface: the host address (tests use `::1`). */
  readonly host?: string;
  /** Default 15118; 0 for an ephemeral port in tests. */
  readonly port?: number;
  /** The V2GTP endpoint announced. `address` defaults to the link's own address. */
  readonly announce: { readonly port: number; readonly security: SdpSecurity; readonly address?: string };
}

export interface SdpServerEvents {
  answered: [SdpRequest, SdpResponse, Remote];
  /** A datagram dropped silently: malformed, or asking for a transport we do not serve. */
  dropped: [SdpError | TransportError, Remote];
}

export class SdpServer extends EventEmitter<SdpServerEvents> {
  readonly response: SdpResponse;
  readonly stats = { answered: 0, dropped: 0 };

  private bound?: Bound;

  private constructor(private readonly ip: IpPort, response: SdpResponse) {
    super();
    this.response = response;
  }

  /** Binds and resolves once the server receives datagrams. */
  static async start(options: SdpServerOptions): Promise<SdpServer> {
    const ip = options.ip ?? socketIpPort({ interface: options.interface, host: options.host });
    const address = options.announce.address ?? ip.address;
    if (options.announce.port < 49152 || options.announce.port > 65535) {
      // EVCCs such as Josev reject ports outside the dynamic range (link-layer.md §2.2).
      throw new TransportError('TransportMisconfigured', `the announced V2GTP port ${options.announce.port} is outside 49152–65535`);
    }
    // [V2G2-128]-style policy as EVerest implements it: we offer one security level and announce it
    // whatever the EVCC asked; the EVCC decides whether to go on.
    const response: SdpResponse = { address, port: options.announce.port, security: options.announce.security, transport: 'tcp' };
    encodeSdpResponse(response); // refuse a bad address now, not on the first request
    const server = new SdpServer(ip, response);
    try {
      server.bound = await ip.bindUdp(options.port ?? SDP_PORT, (datagram, remote) => server.receive(datagram, remote));
    } catch (error) {
      throw error instanceof TransportError ? error : new TransportError('TransportUnavailable', `SDP server cannot bind UDP ${options.port ?? SDP_PORT}: ${(error as Error).message}`, { cause: error });
    }
    return server;
  }

  get port(): number {
    return this.bound?.port ?? 0;
  }

  async close(): Promise<void> {
    this.bound?.close();
  }

  private receive(datagram: Uint8Array, rinfo: Remote): void {
    let request: SdpRequest;
    try {
      request = decodeSdpRequest(datagram);
    } catch (error) {
      // Malformed datagrams are dropped silently (EVerest sdp.cpp); only our own counters see them.
      this.drop(error instanceof SdpError ? error : new SdpError('InvalidFrame', String(error), Buffer.from(datagram).toString('hex'), error), rinfo);
      return;
    }
    if (request.transport !== 'tcp') {
      this.drop(new TransportError('TransportMisconfigured', 'SDP request asks for UDP transport; only TCP is served'), rinfo);
      return;
    }
    this.ip.sendUdp(rinfo.address, rinfo.port, encodeSdpResponse(this.response), this.port);
    this.stats.answered++;
    this.emit('answered', request, this.response, rinfo);
  }

  private drop(error: SdpError | TransportError, rinfo: Remote): void {
    this.stats.dropped++;
    this.emit('dropped', error, rinfo);
  }
}
