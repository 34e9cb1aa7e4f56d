// SDP client (EVCC side, link-layer.md §2.2): multicast the request to [ff02::1]:15118 of one
// interface, resend after 250 ms without answer, give up after 50 requests.
import type { Bound, IpPort } from '../link/port.ts';
import { SDP_MULTICAST_ADDRESS, SDP_PORT, SdpError, decodeSdpResponse, encodeSdpRequest, type SdpResponse, type SdpSecurity } from '../../protocols/sdp/index.ts';
import { TransportError } from './errors.ts';
import { scoped } from './interfaces.ts';
import { socketIpPort } from './ip-socket.ts';
import { systemTimers, type Timers } from './timers.ts';

/** EcoG-io `Timeouts.SDP_REQ` and `SDP_MAX_REQUEST_COUNTER`; RISE-V2G uses the same (charging-session.md §2). */
export const SDP_RETRY_INTERVAL_MS = 250;
export const SDP_MAX_REQUESTS = 50;

export interface SdpClientOptions {
  /** The link to ask on (the in-memory line or a host interface); default: node:dgram on `interface`. */
  readonly ip?: IpPort;
  /** The interface to multicast on; its name scopes link-local answers. */
  readonly interface?: string;
  /** Where requests go; default `[ff02::1]:15118` of the link. Tests point it at a loopback server. */
  readonly target?: { readonly address: string; readonly port: number };
  /** Security asked for: `tls` for ISO 15118-2 PnC, `none` for EIM without TLS. */
  readonly security: SdpSecurity;
  readonly retryIntervalMs?: number;
  readonly maxRequests?: number;
  readonly timers?: Timers;
  /** Called with the number of each request as it is sent (for the CLI's step lines). */
  readonly onRequest?: (count: number) => void;
  /** Called for every response that was ignored, and why. */
  readonly onIgnored?: (reason: string) => void;
}

export interface DiscoveredSecc extends SdpResponse {
  /** The address to connect to: link-local addresses carry the scope (`fe80::…%if`). */
  readonly host: string;
  /** How many requests it took. */
  readonly requests: number;
}

/** Finds the SECC; rejects with `SdpNoResponse` (retryable) after the last request went unanswered. */
export async function discoverSecc(options: SdpClientOptions): Promise<DiscoveredSecc> {
  const ip = options.ip ?? socketIpPort({ interface: options.interface, host: '::' });
  const timers = options.timers ?? systemTimers;
  const interval = options.retryIntervalMs ?? SDP_RETRY_INTERVAL_MS;
  const maxRequests = options.maxRequests ?? SDP_MAX_REQUESTS;
  const target = options.target ?? { address: SDP_MULTICAST_ADDRESS, port: SDP_PORT };
  const request = encodeSdpRequest({ security: options.security, transport: 'tcp' });

  let bound: Bound | undefined;
  return new Promise<DiscoveredSecc>((resolve, reject) => {
    let sent = 0;
    let timer: unknown;
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      timers.clearTimeout(timer);
      bound?.close();
      outcome();
    };
    const send = () => {
      if (sent >= maxRequests) {
        settle(() => reject(new TransportError('SdpNoResponse', `no SDP response after ${sent} requests ${interval} ms apart`, { retryable: true, data: { requests: sent } })));
        return;
      }
      sent++;
      options.onRequest?.(sent);
      ip.sendUdp(target.address, target.port, request, bound!.port);
      timer = timers.setTimeout(send, interval);
    };
    const onMessage = (datagram: Uint8Array) => {
      if (settled) return;
      let response: SdpResponse;
      try {
        response = decodeSdpResponse(datagram);
      } catch (error) {
        options.onIgnored?.(error instanceof SdpError ? error.message : String(error));
        return;
      }
      // Ports outside the dynamic range and non-TCP transports are not answers we can use (Josev does the same).
      if (response.port < 49152 || response.transport !== 'tcp') {
        options.onIgnored?.(`SDP response announces ${response.transport} port ${response.port}, outside 49152–65535 or not TCP`);
        return;
      }
      settle(() => resolve({ ...response, host: scoped(response.address, ip.interfaceName), requests: sent }));
    };
    ip.bindUdp(0, onMessage).then((b) => {
      bound = b;
      send();
    }, (error: Error) => settle(() => reject(error instanceof TransportError ? error : new TransportError('TransportUnavailable', `SDP client socket failed: ${error.message}`, { cause: error }))));
  });
}
