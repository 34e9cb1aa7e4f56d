/**
 * The CSMS edge of the CPO backend: OCPP 2.0.1 (and OCPP 1.6 with the OCA Plug&Charge whitepaper)
 * over WebSocket on ocpp-rpc's RPCServer in strict mode, so both directions are checked against
 * the OCA schemas. It only adapts: every decision is the CPO participant's, asked over the bus
 * (protocols/catalogue/cpo.ts), and the station id it passes is the one the station authenticated
 * with (security profile 2: TLS + Basic auth; profile 3: mutual TLS under the CSMS root), never a
 * field of a message.
 */
import { generateKeyPairSync } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { RPCServer, createRPCError } from 'ocpp-rpc';
import type { Bus, Subscription } from '../bus/bus.ts';
import { unsubscribeAll } from '../bus/bus.ts';
import { requestSubjectReply, serveSubject } from '../bus/typed.ts';
import type { Logger } from '../host/participant.ts';
import type { Store } from '../store/store.ts';
import { cpoInterface } from '../../protocols/catalogue/cpo.ts';
import { ocppInterface, stationConnectionCall, CSMS_INITIATED_ACTIONS } from '../../protocols/catalogue/ocpp.ts';
import { PncError, toPncError } from '../../protocols/errors.ts';
import { StationCredentials } from './credentials.ts';
import { DEFAULT_OCPP_PORT, listenForUpgrades, peerCertificateOf, type TlsMaterial, type UpgradeListener } from './listen.ts';

export { DEFAULT_OCPP_PORT };
import { stationHandlers, type OcppConnection, type OcppPayload, type StationHandlers } from './handlers.ts';
import { PNC_VENDOR_ID, tunnelCall, tunnelledAnswer } from './pnc16.ts';
import { rpcErrorOf } from './rpc-errors.ts';

/** Largest frame accepted: CertificateSigned may carry 10,000 characters, Get15118EVCertificate 5,600 of EXI; 64 KiB leaves room, an attacker's megabytes do not fit. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;
const OCPP_PROTOCOLS = ['ocpp2.0.1', 'ocpp1.6'];

export interface CsmsOptions {
  readonly bus: Bus;
  readonly store: Store;
  readonly log: Logger;
  /** 0 picks a free port. @default 8443 */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Server key and certificate; when omitted the edge makes a key and has the CPO sign it under the CSMS root for `host`. */
  readonly tls?: TlsMaterial;
  /** @default 65536 */
  readonly maxFrameBytes?: number;
  /** Time a station has to answer a CSMS-initiated call. @default 10000 */
  readonly callTimeoutMs?: number;
  /** Interval of WebSocket pings. @default 30000 */
  readonly pingIntervalMs?: number;
}

export interface Csms {
  /** `wss://host:port/ocpp`; a station connects to `<url>/<stationId>`. */
  readonly url: string;
  readonly port: number;
  /** PEM of the CSMS root that signed the server certificate; stations trust it. */
  readonly caCertificate: string;
  readonly credentials: StationCredentials;
  /** Ids of the stations connected now. */
  connected(): string[];
  /** A CSMS-initiated OCPP 2.0.1 call to a connected station (DataTransfer-tunnelled for OCPP 1.6). */
  call(stationId: string, action: (typeof CSMS_INITIATED_ACTIONS)[number], payload: OcppPayload): Promise<OcppPayload>;
  /** M05: installs the V2G and MO roots of the RCP on a station; resolves with each InstallCertificate status. */
  installRoots(stationId: string): Promise<string[]>;
  close(): Promise<void>;
}

/** Makes the edge's TLS server key and has the CPO sign it under the CSMS root (A00 security profile 2/3). */
async function serverTls(bus: Bus, host: string): Promise<TlsMaterial> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keys = {
    privateKey: await crypto.subtle.importKey('pkcs8', privateKey.export({ type: 'pkcs8', format: 'der' }), { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']),
    publicKey: await crypto.subtle.importKey('spki', publicKey.export({ type: 'spki', format: 'der' }), { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']),
  };
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${host}`, keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } });
  const hosts = [...new Set([host, 'localhost', '127.0.0.1'])];
  const [{ certificateChain }, { certificate: ca }] = await Promise.all([
    requestSubjectReply(bus, cpoInterface.requests.signCsmsServer, { csr: csr.toString('pem'), hosts }, { timeoutMs: 15_000 }),
    requestSubjectReply(bus, cpoInterface.requests.csmsCa, {}, { timeoutMs: 15_000 }),
  ]);
  return { key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), cert: certificateChain, ca };
}

/** Starts the CSMS edge; the CPO participant must be serving on `bus`. */
export async function startCsms(options: CsmsOptions): Promise<Csms> {
  const { bus, store, log } = options;
  const host = options.host ?? '127.0.0.1';
  const tls = options.tls ?? await serverTls(bus, host);
  const credentials = new StationCredentials(store);
  const clients = new Map<string, OcppConnection>();

  const server = new RPCServer({
    protocols: OCPP_PROTOCOLS,
    strictMode: true,
    callTimeoutMs: options.callTimeoutMs ?? 10_000,
    pingIntervalMs: options.pingIntervalMs ?? 30_000,
    // Malformed frames are answered (RpcFrameworkError/FormatViolation…) and counted; a flood of them ends the connection.
    maxBadMessages: 100,
    wssOptions: { maxPayload: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES },
  });
  server.on('strictValidationFailure', ({ messageId, method, isCall, error }: { messageId: string; method: string; isCall: boolean; error: Error }) => {
    log.warn('ocpp.invalid', { messageId, method, inbound: isCall, error: error.message });
  });

  server.auth((accept, reject, handshake) => {
    void (async () => {
      const stationId = handshake.identity;
      if (!/^[A-Za-z0-9*_=+.|@-]{1,48}$/.test(stationId)) return reject(400, 'invalid station identity');
      const peer = peerCertificateOf(handshake.request);
      if (peer) {
        // Security profile 3 (A00.FR.4xx): the certificate chains to the CSMS root and names this station.
        if (!peer.authorized) return reject(401, 'station certificate not issued under the CSMS root');
        if (peer.commonName !== stationId) return reject(401, 'station certificate is for another station');
        return accept({ stationId, securityProfile: 3 });
      }
      // Security profile 2 (A00.FR.2xx): Basic auth, user name = station identity.
      if (await credentials.verify(stationId, handshake.password)) return accept({ stationId, securityProfile: 2 });
      reject(401, 'wrong station identity or password');
    })().catch((error: unknown) => {
      log.error('ocpp.auth.failed', { error: toPncError(error).toJSON() });
      reject(500, 'authentication unavailable');
    });
  });

  /** A call over this process's own connection to the station. */
  const callConnected = async (stationId: string, action: string, payload: OcppPayload): Promise<OcppPayload> => {
    const client = clients.get(stationId);
    if (!client) throw new PncError('StationNotConnected', `station ${stationId} is not connected`);
    let answer: unknown;
    try {
      answer = client.protocol === 'ocpp1.6' ? await tunnelCall(client, action, payload) : await client.call(action, payload);
    } catch (error) {
      // A CALLERROR from the station, or strict mode refusing our own payload before it left.
      const rpcErrorCode = (error as { rpcErrorCode?: unknown }).rpcErrorCode;
      if (typeof rpcErrorCode !== 'string') throw error;
      throw new PncError('StationRejected', `${action} to ${stationId}: ${rpcErrorCode}: ${(error as Error).message}`, { data: { rpcErrorCode } });
    }
    if (typeof answer !== 'object' || answer === null) throw new PncError('StationRejected', `station ${stationId} answered ${action} with no object`);
    return answer as OcppPayload;
  };

  /** A call to the station wherever it is connected: here, or at the CSMS process that serves its connection subject. */
  const call = async (stationId: string, action: (typeof CSMS_INITIATED_ACTIONS)[number], payload: OcppPayload): Promise<OcppPayload> => {
    if (clients.has(stationId)) return callConnected(stationId, action, payload);
    try {
      return (await requestSubjectReply(bus, stationConnectionCall(stationId), { stationId, action, payload }, { timeoutMs: (options.callTimeoutMs ?? 10_000) + 2_000 })).response;
    } catch (error) {
      if (toPncError(error).code === 'NoResponders') throw new PncError('StationNotConnected', `station ${stationId} is connected to no CSMS`);
      throw error;
    }
  };

  const handlersFor = (stationId: string): StationHandlers => stationHandlers({
    bus,
    stationId,
    log: log.child({ stationId }),
    sendLater: (action, payload) => {
      // After our answer has left: A02.FR.xx CertificateSigned follows an Accepted SignCertificate.
      setImmediate(() => call(stationId, action, payload).catch((error: unknown) => log.warn('ocpp.call.failed', { stationId, action, error: toPncError(error).toJSON() })));
    },
  });

  server.on('client', (client: OcppConnection) => {
    const stationId = client.identity!;
    const previous = clients.get(stationId);
    // One connection per station: the newer one wins (a reconnecting station after a network cut).
    if (previous && previous !== client) void previous.close({ code: 1000, reason: 'replaced by a newer connection' });
    clients.set(stationId, client);
    // Multi-CSMS: calls for this station from any CSMS process come here while this connection lasts.
    const routed = serveSubject(bus, stationConnectionCall(stationId), async ({ action, payload }) => ({ response: await callConnected(stationId, action, payload) }));
    routed.catch((error: unknown) => log.error('ocpp.route.failed', { stationId, error: toPncError(error).toJSON() }));
    client.once('close', () => {
      if (clients.get(stationId) === client) clients.delete(stationId);
      void routed.then((subscription) => subscription.unsubscribe()).catch(() => {});
    });
    log.info('ocpp.connected', { stationId, protocol: client.protocol, securityProfile: client.session.securityProfile });
    const handlers = handlersFor(stationId);
    // B02: a station with no accepted BootNotification on record gets SecurityError for anything else.
    // One that booted before (then lost its connection, or the CSMS restarted) carries on without booting again.
    let booted: Promise<boolean> | boolean = requestSubjectReply(bus, cpoInterface.requests.station, { stationId }).then(({ accepted }) => accepted, () => false);
    const gate = <P extends OcppPayload>(action: string, run: (params: P) => Promise<OcppPayload>) => async ({ params }: { params?: Record<string, unknown> }) => {
      if (action !== 'BootNotification' && !(await booted)) throw createRPCError('SecurityError', `${action} before an accepted BootNotification`);
      try {
        return await run((params ?? {}) as P);
      } catch (error) {
        throw rpcErrorOf(error);
      }
    };
    const onBoot = async (answer: Promise<OcppPayload & { status?: unknown }>) => {
      const result = await answer;
      booted = result.status === 'Accepted';
      return result;
    };
    if (client.protocol === 'ocpp1.6') {
      client.handle('BootNotification', gate('BootNotification', (params) => onBoot(handlers.boot16(params))));
      client.handle('Heartbeat', gate('Heartbeat', handlers.heartbeat));
      client.handle('StatusNotification', gate('StatusNotification', (params) => handlers.report('StatusNotification', params)));
      client.handle('MeterValues', gate('MeterValues', (params) => handlers.report('MeterValues', params)));
      client.handle('DataTransfer', gate('DataTransfer', (params) => tunnelledAnswer(params, handlers)));
      return;
    }
    client.handle('BootNotification', gate('BootNotification', (params) => onBoot(handlers.boot(params))));
    client.handle('Heartbeat', gate('Heartbeat', handlers.heartbeat));
    client.handle('StatusNotification', gate('StatusNotification', (params) => handlers.report('StatusNotification', params)));
    client.handle('MeterValues', gate('MeterValues', (params) => handlers.report('MeterValues', params)));
    client.handle('NotifyEvent', gate('NotifyEvent', (params) => handlers.report('NotifyEvent', params)));
    client.handle('TransactionEvent', gate('TransactionEvent', handlers.transactionEvent));
    for (const action of ['Authorize', 'Get15118EVCertificate', 'SignCertificate', 'GetCertificateStatus'] as const) {
      client.handle(action, gate(action, handlers.pnc[action]));
    }
    client.handle('DataTransfer', gate('DataTransfer', async ({ vendorId }) => ({ status: vendorId === PNC_VENDOR_ID ? 'UnknownMessageId' : 'UnknownVendorId' })));
  });

  let listener: UpgradeListener;
  try {
    listener = await listenForUpgrades(server.handleUpgrade, { port: options.port ?? DEFAULT_OCPP_PORT, host, tls, log, subprotocols: OCPP_PROTOCOLS });
  } catch (error) {
    await server.close({ force: true });
    throw error;
  }

  const subscriptions: Subscription[] = await Promise.all([
    serveSubject(bus, ocppInterface.requests.addStation, ({ stationId }) => credentials.add(stationId)),
    // One CSMS process takes each call (queue group) and forwards it to the one holding the station.
    serveSubject(bus, ocppInterface.requests.call, async ({ stationId, action, payload }) => ({ response: await call(stationId, action, payload) }), { queue: 'ocpp.csms' }),
  ]);

  const installRoots = async (stationId: string): Promise<string[]> => {
    const { roots } = await requestSubjectReply(bus, cpoInterface.requests.roots, {});
    const statuses: string[] = [];
    for (const root of roots) {
      const answer = await call(stationId, 'InstallCertificate', { certificateType: root.certificateType, certificate: root.certificate });
      statuses.push(String(answer.status));
    }
    return statuses;
  };

  log.info('ocpp.listening', { url: listener.url });
  return {
    url: listener.url,
    port: listener.port,
    caCertificate: tls.ca,
    credentials,
    connected: () => [...clients.keys()],
    call: (stationId, action, payload) => call(stationId, action, payload),
    installRoots,
    async close() {
      await unsubscribeAll(subscriptions);
      await server.close({ code: 1001, reason: 'CSMS shutting down', force: true });
      await listener.close();
    },
  };
}
