/**
 * The link under a charging session, one code path for the in-memory power line and a real
 * interface: plug-in → SLAC (ISO 15118-3) → SDP → V2GTP over TLS 1.2 → the session. What differs
 * between the two is one `LinkTransport`: the frames SLAC runs on (absent when the interface already
 * is the IP link, e.g. a veth pair) and the IpPort that carries SDP and V2GTP once the link is up.
 */
import * as x509 from '@peculiar/x509';
import { PncError, toPncError } from '../../../protocols/errors.ts';
import type { SdpSecurity } from '../../../protocols/sdp/index.ts';
import type { EvOutput, EvPlan } from '../../../statecharts/ev-session.ts';
import type { SeccOutput } from '../../../statecharts/secc-session.ts';
import { systemLinkClock, type LinkClock } from '../../link/clock.ts';
import type { ControlPilot, FramePort, IpPort } from '../../link/port.ts';
import type { LineStation, PowerLine } from '../../link/powerline.ts';
import { openRawEthernet } from '../../link/raw-ethernet.ts';
import { SlacStation, type LinkUp, type SlacRole } from '../../link/station.ts';
import { socketIpPort } from '../../transport/ip-socket.ts';
import { discoverSecc } from '../../transport/sdp-client.ts';
import { SdpServer } from '../../transport/sdp-server.ts';
import { connectV2gtp } from '../../transport/v2gtp-client.ts';
import { V2gtpServer, type V2gtpSecurity } from '../../transport/v2gtp-server.ts';
import type { Ev } from '../ev/index.ts';
import type { SeccStation } from '../secc/index.ts';
import type { LeafSubject, OcspRefresher } from '../secc/ocsp-refresh.ts';
import type { OcspRefresh } from '../secc/security.ts';

/** Where a participant's link runs: the in-memory line or a host interface. */
export interface LinkTransport {
  /** For step lines: `in-memory line`, or the interface name. */
  readonly name: string;
  /** Layer 2 for SLAC; absent when the interface already is the IP link, so SLAC is skipped. */
  readonly frames?: FramePort;
  readonly clock: LinkClock;
  /** IPv6 over the link (SDP, V2GTP); usable once SLAC reported the link up. */
  readonly ip: IpPort;
  close(): Promise<void>;
}

/** One station of the in-memory power line. */
export function lineTransport(line: PowerLine, station: LineStation): LinkTransport {
  return { name: 'in-memory line', frames: station.port, clock: line.clock, ip: line.ipPort(station), close: () => station.port.close() };
}

/**
 * A host interface: SLAC over raw Ethernet (ethertype 0x88E1, needs a modem or a SLAC peer on it)
 * unless `slac` is false, IP through node:dgram/net with the interface's link-local address.
 */
export function interfaceTransport(ifname: string, options: { readonly slac: boolean }): LinkTransport {
  const frames = options.slac ? openRawEthernet(ifname) : undefined;
  return { name: ifname, ...(frames ? { frames } : {}), clock: systemLinkClock, ip: socketIpPort({ interface: ifname }), close: async () => frames?.close() };
}

/** A step on the way to the session, for the CLI's lines and the story's timeline. */
export interface LinkStep {
  readonly layer: 'slac' | 'sdp' | 'tls' | 'v2gtp';
  readonly text: string;
}

interface LinkRun {
  readonly link: LinkTransport;
  readonly pilot: ControlPilot;
  readonly onStep?: (step: LinkStep) => void;
}

/**
 * Runs SLAC on the link until the modems joined (the link is up) and returns the station, which
 * keeps watching the link; without frames there is nothing to match and it returns at once.
 * @throws PncError from the SLAC machine (`SlacMatchFailed`, `ModemUnresponsive`, …)
 */
async function linkUp(role: SlacRole, { link, pilot, onStep }: LinkRun): Promise<SlacStation | undefined> {
  const step = (text: string) => onStep?.({ layer: 'slac', text });
  if (!link.frames) {
    step(`skipped: ${link.name} already is the IP link`);
    return undefined;
  }
  const station = new SlacStation({ role, port: link.frames, clock: link.clock, pilot });
  station.on('step', step);
  const up = new Promise<LinkUp>((resolve, reject) => {
    station.once('up', resolve);
    station.once('failed', reject);
  });
  station.start();
  try {
    await up;
    return station;
  } catch (error) {
    station.stop();
    throw error;
  }
}

export interface SeccLinkOptions extends LinkRun {
  /** The OCSP cache for stapling is kept fresh through the station's backend unless false (tests that fill it themselves). */
  readonly refreshOcsp?: boolean;
  /** The station renews its SECC leaf on the same rounds, for this subject, and serves the new one to the next EVs. */
  readonly renewLeaf?: LeafSubject;
  /** TLS with the station's SECC leaf (the default), or plain TCP for an EIM-only charger. */
  readonly eimOnlyTcp?: boolean;
  readonly keyLogFile?: string;
  /** Called with each session's outcome. */
  readonly onSession?: (output: SeccOutput) => void;
}

export interface SeccLink {
  /** The V2GTP port announced by SDP. */
  readonly port: number;
  readonly address: string;
  close(): Promise<void>;
}

/**
 * The charger's side: SLAC as EVSE, then the SDP server on the matched link's UDP 15118 announcing a
 * V2GTP server (TLS 1.2 with the station's leaf chain) on a port in 49152–65535; each EV that connects
 * is served as one session by `station.serve`. Over TLS the server staples the leaf's cached OCSP
 * response (RFC 6066 status_request), which the station keeps fresh from its first round on.
 */
export async function serveOverLink(station: SeccStation, options: SeccLinkOptions): Promise<SeccLink> {
  const step = (layer: LinkStep['layer'], text: string) => options.onStep?.({ layer, text });
  let security: V2gtpSecurity;
  let ocsp: OcspRefresher | undefined;
  if (options.eimOnlyTcp) {
    security = { kind: 'tcp', eimOnly: true };
  } else {
    const credentials = await station.security.tlsCredentials();
    if (!credentials) throw new PncError('SeccLeafRejected', 'the station holds no SECC leaf for TLS: run ensureLeaf first');
    security = { kind: 'tls', credentials, ocspStaple: (serialNumber) => station.security.ocspStaple(serialNumber), ...(options.keyLogFile ? { keyLogFile: options.keyLogFile } : {}) };
    if (options.refreshOcsp !== false) {
      ocsp = station.keepOcspFresh((outcome) => step('tls', ocspStepText(outcome)), options.renewLeaf);
      await ocsp.ready;
    }
  }
  let slac: SlacStation | undefined;
  try {
    slac = await linkUp('evse', options);
  } catch (error) {
    ocsp?.stop();
    throw error;
  }
  const { ip } = options.link;
  const layer = security.kind === 'tls' ? 'tls' : 'v2gtp';
  let v2gtp: V2gtpServer | undefined;
  let sdp: SdpServer | undefined;
  let stopServingNewLeaves = () => {};
  try {
    v2gtp = await V2gtpServer.start({
      ip, security,
      onConnection: (socket, peer) => {
        step(layer, `accepted [${peer.remoteAddress}]:${peer.remotePort}${peer.tls ? ` ${peer.tls.protocol} ${peer.tls.cipher}` : ''}`);
        void station.serve(socket).then((output) => options.onSession?.(output));
      },
    });
    v2gtp.on('refused', (error) => step(layer, `refused: ${error.code}: ${error.message}`));
    if (security.kind === 'tls') stopServingNewLeaves = serveNewLeaves(station, v2gtp, (text) => step('tls', text));
    const offered: SdpSecurity = security.kind === 'tls' ? 'tls' : 'none';
    sdp = await SdpServer.start({ ip, announce: { port: v2gtp.port, security: offered } });
    sdp.on('answered', (request, response, remote) => step('sdp', `answered [${remote.address}]:${remote.port} (asked ${request.security}): [${response.address}]:${response.port} ${response.security}`));
    step('sdp', `serving on UDP 15118 of ${options.link.name}, V2GTP ${security.kind} on [${ip.address}]:${v2gtp.port}`);
  } catch (error) {
    stopServingNewLeaves();
    await v2gtp?.close();
    slac?.stop();
    ocsp?.stop();
    throw error;
  }
  const [servingV2gtp, servingSdp] = [v2gtp, sdp];
  return {
    port: servingV2gtp.port,
    address: ip.address,
    async close() {
      stopServingNewLeaves();
      ocsp?.stop();
      await servingSdp.close();
      await servingV2gtp.close();
      slac?.stop();
    },
  };
}

/**
 * Has `server` present the station's leaf to every EV that connects after the station installed a new
 * one (a renewal, or a leaf pushed by the CPO), so a renewed leaf needs no restart. Returns the stop.
 */
export function serveNewLeaves(station: SeccStation, server: V2gtpServer, onServed?: (text: string) => void): () => void {
  const onLeafInstalled = () => void station.security.tlsCredentials().then((credentials) => {
    if (!credentials) return;
    server.useCredentials(credentials);
    onServed?.('new SECC leaf installed: presented to the next connections');
  }, (error: unknown) => onServed?.(`new SECC leaf not presented: ${toPncError(error).message}`));
  station.security.on('leafInstalled', onLeafInstalled);
  return () => station.security.off('leafInstalled', onLeafInstalled);
}

function ocspStepText(outcome: OcspRefresh | PncError): string {
  if (!('cached' in outcome)) return `OCSP cache not refreshed: ${outcome.code}: ${outcome.message}`;
  const leafCheck = outcome.leafCheck === undefined ? '' : outcome.leafCheck instanceof PncError ? `; SECC leaf not renewed: ${outcome.leafCheck.code}: ${outcome.leafCheck.message}` : `; SECC leaf ${outcome.leafCheck}`;
  return `OCSP cache: ${outcome.cached} response(s) from the CPO backend${outcome.failed ? `, ${outcome.failed} refused` : ''}; stapling ${outcome.leaf ? `the leaf's (${outcome.leaf})` : 'nothing new for the leaf'}${leafCheck}`;
}

export interface EvLinkOptions extends LinkRun {
  /** Ask SDP for no TLS and use plain TCP (EIM only). */
  readonly tcp?: boolean;
  readonly keyLogFile?: string;
  readonly plan?: Partial<EvPlan>;
  /** The EV's clock for the [V2G2-925] leaf check (tests move it). */
  readonly at?: Date;
}

/**
 * The vehicle's side: SLAC as EV, SDP with retries (250 ms × 50), TLS against its V2G roots with the
 * [V2G2-925] DC=CPO check of the SECC leaf, then one charging session.
 */
export async function chargeOverLink(ev: Ev, options: EvLinkOptions): Promise<EvOutput> {
  const step = (layer: LinkStep['layer'], text: string) => options.onStep?.({ layer, text });
  const slac = await linkUp('ev', options);
  try {
    const { ip } = options.link;
    const asked: SdpSecurity = options.tcp ? 'none' : 'tls';
    const secc = await discoverSecc({ ip, security: asked, onRequest: (n) => step('sdp', `request ${n} to [ff02::1]:15118 (${asked})`) });
    step('sdp', `SECC at [${secc.host}]:${secc.port} ${secc.security} after ${secc.requests} request(s)`);
    if (!options.tcp && secc.security !== 'tls') throw new PncError('TlsHandshakeFailed', `the SECC offers ${secc.security}, Plug&Charge needs TLS`);
    const v2gRoots = ev.vehicle.v2gRoots.map((der) => new x509.X509Certificate(Buffer.from(der, 'base64')).toString('pem'));
    const { connection, tls } = await connectV2gtp({
      ip, host: secc.host, port: secc.port,
      security: options.tcp ? { kind: 'tcp' } : { kind: 'tls', v2gRoots, ...(options.keyLogFile ? { keyLogFile: options.keyLogFile } : {}), ...(options.at ? { at: options.at } : {}) },
    });
    if (tls) step('tls', `${tls.protocol} ${tls.cipher} ${tls.group}; SECC leaf ${tls.seccSubject} accepted (DC=CPO); OCSP ${tls.ocsp === 'good' ? 'good (stapled)' : 'none stapled, proceeding (optional in -2)'}`);
    else step('v2gtp', 'plain TCP (EIM only)');
    return await ev.charge(connection, options.plan);
  } finally {
    slac?.stop();
  }
}
