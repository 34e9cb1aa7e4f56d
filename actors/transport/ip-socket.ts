// The IpPort on a host: node:dgram and node:net, on a named interface (link-local addresses get its
// `%if` scope, SDP's port joins ff02::1 there) or on a plain host address such as `::1` for tests.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect as connectTcp, createServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { PncError } from '../../protocols/errors.ts';
import { SDP_MULTICAST_ADDRESS } from '../../protocols/sdp/index.ts';
import type { Bound, IpPort, Remote } from '../link/port.ts';
import { TransportError } from './errors.ts';
import { linkLocalAddress, requireInterface, scoped } from './interfaces.ts';

export interface SocketIpOptions {
  /** The interface: our address is its IPv6 link-local one, link-local peers are scoped to it. */
  readonly interface?: string;
  /** Without an interface: the address to bind and announce (default `::1`). */
  readonly host?: string;
}

const isMulticast = (address: string) => /^ff/i.test(address);

export function socketIpPort(options: SocketIpOptions = {}): IpPort {
  const ifname = options.interface;
  if (ifname) requireInterface(ifname);
  // Read when needed: an EV that only sends SDP and connects does not need its own address yet (DAD may still run).
  const ownAddress = () => (ifname ? linkLocalAddress(ifname) : (options.host ?? '::1'));
  // Without an interface an address keeps whatever scope it came with (`fe80::…%if` from SDP).
  const scope = (to: string) => (!ifname ? to : isMulticast(to.split('%')[0]) ? `${to.split('%')[0]}%${ifname}` : scoped(to, ifname));
  const udp = new Map<number, UdpSocket>();

  return {
    get address() { return ownAddress(); },
    ...(ifname ? { interfaceName: ifname } : {}),

    connect(to, port) {
      return new Promise<Duplex>((resolve, reject) => {
        // One small request, one small answer: Nagle would hold an answer back behind an unacknowledged one.
        const socket = connectTcp({ host: scope(to), port, noDelay: true });
        socket.once('error', (error: NodeJS.ErrnoException) => reject(new TransportError('ConnectionClosed', `cannot connect to [${to}]:${port}: ${error.message}`, { retryable: true, data: { cause: error.code }, cause: error })));
        socket.once('connect', () => resolve(socket));
      });
    },

    listen(port, onConnection) {
      const bindHost = ifname ? `${ownAddress()}%${ifname}` : ownAddress();
      const server = createServer({ noDelay: true }, (socket) => onConnection(socket, { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 }));
      return new Promise<Bound>((resolve, reject) => {
        server.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'EADDRINUSE'
          ? new PncError('AddressInUse', `[${bindHost}]:${port} is already listening`)
          : new TransportError('TransportUnavailable', `cannot listen on [${bindHost}]:${port}: ${error.message}`, { retryable: error.code === 'EADDRNOTAVAIL', cause: error })));
        server.listen({ host: bindHost, port, ipv6Only: true }, () => {
          const where = server.address();
          resolve({ port: typeof where === 'object' && where ? where.port : port, close: () => server.close() });
        });
      });
    },

    bindUdp(port, onMessage) {
      const socket = createSocket({ type: 'udp6', reuseAddr: true });
      return new Promise<Bound>((resolve, reject) => {
        socket.once('error', (error) => reject(new TransportError('TransportUnavailable', `cannot bind UDP ${port}: ${error.message}`, { cause: error })));
        // A fixed port (SDP's 15118) binds to all addresses so that ff02::1 arrives; port 0 is a client's.
        socket.bind(port, '::', () => {
          try {
            if (ifname) {
              socket.setMulticastInterface(`::%${ifname}`);
              if (port !== 0) socket.addMembership(SDP_MULTICAST_ADDRESS, `::%${ifname}`);
            }
          } catch (error) {
            socket.close();
            reject(new TransportError('TransportUnavailable', `cannot use ${SDP_MULTICAST_ADDRESS} on ${ifname}: ${(error as Error).message}`, { cause: error }));
            return;
          }
          socket.removeAllListeners('error');
          socket.on('error', () => undefined); // a send to a vanished peer must not take the port down
          socket.on('message', (data, rinfo) => onMessage(data, { address: rinfo.address, port: rinfo.port } satisfies Remote));
          const chosen = socket.address().port;
          udp.set(chosen, socket);
          resolve({ port: chosen, close: () => { udp.delete(chosen); socket.close(); } });
        });
      });
    },

    sendUdp(to, port, data, sourcePort) {
      const socket = udp.get(sourcePort);
      if (!socket) throw new TransportError('TransportMisconfigured', `UDP port ${sourcePort} is not bound`);
      socket.send(data, port, scope(to));
      return 1;
    },
  };
}
