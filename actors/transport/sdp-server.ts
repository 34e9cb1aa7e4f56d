// SDP server (ISO 15118-2 §7.10.1, link-layer.md §2.2): answers SDP requests on UDP
// [ff02::1]:15118 of one interface with the SECC's address, V2GTP port and security.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { SDP_MULTICAST_ADDRESS, SDP_PORT, SdpError, decodeSdpRequest, encodeSdpResponse, type SdpRequest, type SdpResponse, type SdpSecurity } from '../../protocols/sdp/index.ts';
import { TransportError } from './errors.ts';
import { linkLocalAddress } from './interfaces.ts';

export interface SdpServerOptions {
  /** Joins ff02::1 on this interface and announces its link-local address. */
  readonly interface?: string;
  /** Bind address; default `::` (all, so ff02::1 arrives). Tests use `::1`. */
  readonly host?: string;
  /** Default 15118; 0 for an ephemeral port in tests. */
  readonly port?: number;
  /** The V2GTP endpoint announced. `address` defaults to the interface's link-local address. */
  readonly announce: { readonly port: number; readonly security: SdpSecurity; readonly address?: string };
}

export interface SdpServerEvents {
  answered: [SdpRequest, SdpResponse, RemoteInfo];
  /** A datagram dropped silently: malformed, or asking for a transport we do not serve. */
  dropped: [SdpError | TransportError, RemoteInfo];
}

export class SdpServer extends EventEmitter<SdpServerEvents> {
  readonly response: SdpResponse;
  readonly stats = { answered: 0, dropped: 0 };

  private constructor(private readonly socket: Socket, response: SdpResponse) {
    super();
    this.response = response;
  }

  /** Binds and resolves once the server receives datagrams. */
  static async start(options: SdpServerOptions): Promise<SdpServer> {
    const address = options.announce.address ?? (options.interface ? linkLocalAddress(options.interface) : undefined);
    if (!address) throw new TransportError('TransportMisconfigured', 'the SDP server needs an interface or an address to announce');
    if (options.announce.port < 49152 || options.announce.port > 65535) {
      // EVCCs such as Josev reject ports outside the dynamic range (link-layer.md §2.2).
      throw new TransportError('TransportMisconfigured', `the announced V2GTP port ${options.announce.port} is outside 49152–65535`);
    }
    // [V2G2-128]-style policy as EVerest implements it: we offer one security level and announce it
    // whatever the EVCC asked; the EVCC decides whether to go on.
    const response: SdpResponse = { address, port: options.announce.port, security: options.announce.security, transport: 'tcp' };
    encodeSdpResponse(response); // refuse a bad address now, not on the first request
    const socket = createSocket({ type: 'udp6', reuseAddr: true });
    const server = new SdpServer(socket, response);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (error) => reject(new TransportError('TransportUnavailable', `SDP server cannot bind UDP ${options.port ?? SDP_PORT}: ${error.message}`, { cause: error })));
      socket.bind(options.port ?? SDP_PORT, options.host ?? '::', () => resolve());
    });
    if (options.interface) {
      try {
        socket.addMembership(SDP_MULTICAST_ADDRESS, `::%${options.interface}`);
      } catch (error) {
        socket.close();
        throw new TransportError('TransportUnavailable', `cannot join ${SDP_MULTICAST_ADDRESS} on ${options.interface}: ${(error as Error).message}`, { cause: error });
      }
    }
    socket.on('error', () => undefined); // a send to a vanished peer must not take the server down
    socket.on('message', (datagram, rinfo) => server.receive(datagram, rinfo));
    return server;
  }

  get port(): number {
    return this.socket.address().port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private receive(datagram: Buffer, rinfo: RemoteInfo): void {
    let request: SdpRequest;
    try {
      request = decodeSdpRequest(datagram);
    } catch (error) {
      // Malformed datagrams are dropped silently (EVerest sdp.cpp); only our own counters see them.
      this.drop(error instanceof SdpError ? error : new SdpError('InvalidFrame', String(error), datagram.toString('hex'), error), rinfo);
      return;
    }
    if (request.transport !== 'tcp') {
      this.drop(new TransportError('TransportMisconfigured', 'SDP request asks for UDP transport; only TCP is served'), rinfo);
      return;
    }
    this.socket.send(encodeSdpResponse(this.response), rinfo.port, rinfo.address);
    this.stats.answered++;
    this.emit('answered', request, this.response, rinfo);
  }

  private drop(error: SdpError | TransportError, rinfo: RemoteInfo): void {
    this.stats.dropped++;
    this.emit('dropped', error, rinfo);
  }
}
