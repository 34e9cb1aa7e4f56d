/**
 * SECC participant: one charging station. It holds its SECC leaf (evse_security operations in
 * security.ts, renewed through the CPO backend), a charger hardware port (simulated by default) and
 * a CPO-backend port (the CPO participant's bus subjects by default), and serves each connected EV
 * — any Duplex: TLS socket, TCP socket or in-memory pair — as one session machine
 * (statecharts/secc-session.ts). Paused sessions and signed MeteringReceipts live in the store.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { unsubscribeAll, type Bus } from '../../bus/bus.ts';
import { serveSubject } from '../../bus/typed.ts';
import type { ParticipantContext, ParticipantDefinition } from '../../host/participant.ts';
import type { Store } from '../../store/store.ts';
import { seccInterface } from '../../../protocols/catalogue/secc.ts';
import { toPncError, type PncError } from '../../../protocols/errors.ts';
import { DEFAULT_SECC_CONFIG, type SeccConfig } from '../../../statecharts/secc/charger.ts';
import type { SeccOutput } from '../../../statecharts/secc-session.ts';
import { systemClock, type SessionClock, type TraceEntry } from '../v2g/runner.ts';
import { busCpoBackend, type CpoBackendPort } from './backend.ts';
import { SimulatedCharger, type ChargerPort } from './charger.ts';
import { keepOcspFresh, type LeafSubject, type OcspRefresher } from './ocsp-refresh.ts';
import { SeccSecurity, type OcspRefresh } from './security.ts';
import { serveSeccSession, type PausedSessionDoc, type ReceiptDoc } from './session.ts';

export interface SeccStationOptions {
  /** Station name: keys its store collections. @default 'secc' */
  readonly name?: string;
  readonly config?: Partial<SeccConfig>;
  readonly charger?: ChargerPort;
  readonly backend?: CpoBackendPort;
  readonly clock?: SessionClock;
  readonly trace?: (entry: TraceEntry) => void;
  readonly maxPayloadLength?: number;
}

export interface SeccStation {
  readonly config: SeccConfig;
  readonly security: SeccSecurity;
  readonly charger: ChargerPort;
  /** Serves one connected EV until its session ends. Never rejects. */
  serve(stream: Duplex): Promise<SeccOutput>;
  /** Sessions being served now. */
  readonly active: number;
  /**
   * Keeps the SECC chain's OCSP cache fresh for stapling through the backend port, on the station's
   * clock, and with `renewLeaf` the leaf itself within its validity (./ocsp-refresh.ts).
   */
  keepOcspFresh(onRefresh?: (outcome: OcspRefresh | PncError) => void, renewLeaf?: LeafSubject): OcspRefresher;
  /** Paused sessions and signed receipts kept in the store. */
  pausedSessions(): Promise<PausedSessionDoc[]>;
  receipts(): Promise<ReceiptDoc[]>;
}

/** Builds a station over a bus and a store; `ensureLeaf()` is the caller's to run when PnC is wanted. */
export function createSeccStation(bus: Bus, store: Store, options: SeccStationOptions = {}): SeccStation {
  const name = options.name ?? 'secc';
  const config: SeccConfig = { ...DEFAULT_SECC_CONFIG, ...options.config };
  const clock = options.clock ?? systemClock;
  const charger = options.charger ?? new SimulatedCharger({ now: clock.now });
  const backend = options.backend ?? busCpoBackend(bus);
  const security = new SeccSecurity(store, name, clock.now);
  const pausedSessions = store.collection<PausedSessionDoc>(`secc_paused_${name}`);
  const receipts = store.collection<ReceiptDoc>(`secc_receipts_${name}`);
  let active = 0;
  return {
    config, security, charger,
    get active() { return active; },
    async serve(stream) {
      active++;
      try {
        const output = await serveSeccSession(stream, {
          config, charger, backend, security, pausedSessions, receipts, clock,
          newSessionId: () => randomBytes(8).toString('hex'),
          trace: options.trace, maxPayloadLength: options.maxPayloadLength, inspectOn: bus,
        });
        // E06: whatever ended the session (stop, pause, failure) ends its transaction, with the final meter.
        if (!output.sessionId || !backend.transactions) return output;
        try {
          await backend.transactions.ended(output.sessionId, { meterWh: charger.status().meter.energyWh, stoppedReason: output.outcome === 'terminated' ? 'Local' : output.outcome === 'disconnected' ? 'EVDisconnected' : 'Other' });
          return output;
        } catch (error) {
          return { ...output, closeReason: `${output.closeReason ?? output.outcome}; transaction not ended: ${toPncError(error).message}` };
        }
      } finally {
        active--;
      }
    },
    keepOcspFresh: (onRefresh, renewLeaf) => keepOcspFresh(security, backend, clock, onRefresh, renewLeaf),
    pausedSessions: () => pausedSessions.find(),
    receipts: () => receipts.find(),
  };
}

/**
 * The backend port by configuration: with `ocpp.url` (and `ocpp.stationId`, `ocpp.password` or
 * `ocpp.certFile`/`ocpp.keyFile`, `ocpp.caFile`) the SECC speaks OCPP 2.0.1 to that CSMS; without
 * it, the CPO participant's bus subjects. The station library loads only when asked for.
 */
export async function backendFromConfig({ bus, store, config, log }: Pick<ParticipantContext, 'bus' | 'store' | 'config' | 'log'>): Promise<{ backend: CpoBackendPort; stop(): Promise<void> }> {
  if (!config['ocpp.url']) return { backend: busCpoBackend(bus), stop: async () => {} };
  const [{ stationFromConfig }, { ocppCpoBackend }] = await Promise.all([import('../../ocpp/station.ts'), import('./ocpp-backend.ts')]);
  const ocppStation = stationFromConfig(config, store, log)!;
  // Connects with back-off in the background: until then calls are refused and transactions queue.
  ocppStation.start().catch((error: unknown) => log.error('secc.ocpp.start.failed', { error: toPncError(error).toJSON() }));
  return { backend: ocppCpoBackend(ocppStation), stop: () => ocppStation.stop() };
}

async function startSecc(context: ParticipantContext) {
  const { bus, store, config } = context;
  const ocpp = await backendFromConfig(context);
  const station = createSeccStation(bus, store, { name: config.name ?? 'secc', backend: ocpp.backend });
  const subscriptions = [
    await serveSubject(bus, seccInterface.requests.status, async () => ({
      evseId: station.config.evseId,
      activeSessions: station.active,
      pausedSessions: (await station.pausedSessions()).length,
      receipts: (await station.receipts()).length,
      leafExpiryDays: await station.security.leafExpiryDays(),
    })),
  ];
  // Plain TCP on loopback for labs (EIM-only per the issue; TLS is the transport branch's).
  let server: Server | undefined;
  if (config.tcpPort) {
    server = createServer((socket) => { void station.serve(socket); });
    await new Promise<void>((resolve) => server!.listen(Number(config.tcpPort), config.tcpHost ?? '127.0.0.1', resolve));
  }
  return {
    stop: async () => {
      await unsubscribeAll(subscriptions);
      if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
      await ocpp.stop();
    },
  };
}

export const seccParticipant: ParticipantDefinition = {
  name: 'secc',
  summary: 'SECC: ISO 15118-2 / DIN 70121 charging sessions, Plug&Charge with the CPO backend, charger hardware port',
  start: startSecc,
};
