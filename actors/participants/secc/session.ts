/**
 * Serves one connected EV: V2GTP frames from a Duplex (TLS socket, TCP socket or in-memory pair)
 * become events of the SECC session machine (statecharts/secc-session.ts); its answers go back as
 * frames. The machine decides; this module decodes, encodes and provides the effects over the ports.
 */
import type { Duplex } from 'node:stream';
import { createActor, fromPromise, type ActorRefFrom } from 'xstate';
import { PncError } from '../../../protocols/errors.ts';
import { decodeExi, encodeExi, type ExiJson } from '../../../protocols/exi/index.ts';
import type { Bus } from '../../bus/bus.ts';
import type { Collection } from '../../store/store.ts';
import { V2gtpConnection } from '../../transport/v2gtp-connection.ts';
import { seccSessionMachine, type AppProtocol, type PausedSession, type SeccOutput, type SeccResponse } from '../../../statecharts/secc-session.ts';
import type { SeccConfig } from '../../../statecharts/secc/charger.ts';
import { wireName, type Body, type ResponseCode } from '../../../statecharts/secc/messages.ts';
import { decodeFrame, runOverConnection, systemClock, tracer, type SessionClock, type TraceEntry } from '../v2g/runner.ts';
import { inspectSession } from '../v2g/inspect.ts';
import type { CpoBackendPort } from './backend.ts';
import type { ChargerPort } from './charger.ts';
import { authorizationCodeOf, checkPaymentDetails, contractChainPem, contractSignatureValid } from './pnc.ts';
import type { SeccSecurity } from './security.ts';

export interface PausedSessionDoc extends PausedSession {
  readonly _id: string;
  readonly _rev?: number;
}

export interface ReceiptDoc {
  readonly _id: string;
  readonly _rev?: number;
  readonly sessionId: string;
  /** The signed MeteringReceiptReq (header with Signature, body) as EXI JSON. */
  readonly header: unknown;
  readonly body: unknown;
  readonly storedAt: number;
}

export interface SeccSessionDeps {
  readonly config: SeccConfig;
  readonly charger: ChargerPort;
  readonly backend: CpoBackendPort;
  readonly security: SeccSecurity;
  readonly pausedSessions: Collection<PausedSessionDoc>;
  readonly receipts: Collection<ReceiptDoc>;
  readonly clock?: SessionClock;
  /** A fresh 8-byte SessionID (hex) per session. */
  readonly newSessionId: () => string;
  readonly trace?: (entry: TraceEntry) => void;
  readonly maxPayloadLength?: number;
  /** Publishes the session on `inspect.secc.<SessionID>` for the inspector. */
  readonly inspectOn?: Bus;
}

type Obj = Record<string, unknown>;

/** The ResponseCode of a relayed CertificateInstallationRes/UpdateRes (FAILED when unreadable). */
function responseCodeOfExi(exi: Uint8Array): string {
  try {
    const body = ((decodeExi('iso2', exi).document as Obj).V2G_Message as Obj).Body as Obj;
    const content = Object.values(body)[0] as Obj;
    return String(content.ResponseCode ?? 'FAILED');
  } catch {
    return 'FAILED';
  }
}

/** What one session's effects act on: its ports, its connection, its trace and its actor. */
interface SessionIo {
  readonly deps: SeccSessionDeps;
  readonly clock: SessionClock;
  readonly connection: V2gtpConnection;
  readonly trace: ReturnType<typeof tracer>;
  readonly actor: ActorRefFrom<typeof seccSessionMachine>;
}

/**
 * Each served session's I/O by its actor system (one per root actor). The machine is provided once
 * per process and each effect finds its session here: a `.provide()` per session copied the whole
 * state-node tree, about 60 KiB of heap per connected EV for the collector to walk.
 */
const sessionsBySystem = new WeakMap<object, SessionIo>();

function ioOf(system: object): SessionIo {
  const io = sessionsBySystem.get(system);
  if (!io) throw new Error('an SECC session effect ran outside a served session');
  return io;
}

const servedMachine = seccSessionMachine.provide({
  actors: {
    resumeSession: fromPromise(async ({ input, system }) => {
      const { deps } = ioOf(system);
      const doc = await deps.pausedSessions.get(input.sessionId);
      if (!doc) throw new PncError('UnknownSession', `no paused session ${input.sessionId}`);
      await deps.pausedSessions.delete(input.sessionId);
      const { _id, _rev, ...session } = doc;
      void _id; void _rev;
      return session;
    }),
    installContract: fromPromise(async ({ input, system }) => {
      const exi = await ioOf(system).deps.backend.installContract(input.exi, input.action);
      return { exi, code: responseCodeOfExi(exi) };
    }),
    checkContract: fromPromise(async ({ input, system }) => {
      const { deps, clock } = ioOf(system);
      let [v2g, mo] = await Promise.all([deps.security.caCertificates('V2G'), deps.security.caCertificates('MO')]);
      if (v2g.length + mo.length === 0) {
        // M05: no roots installed yet; fetch them once from the backend.
        const roots = await deps.backend.roots();
        for (const pem of roots.v2g) await deps.security.installCaCertificate(pem, 'V2G');
        for (const pem of roots.mo) await deps.security.installCaCertificate(pem, 'MO');
        [v2g, mo] = await Promise.all([deps.security.caCertificates('V2G'), deps.security.caCertificates('MO')]);
      }
      return checkPaymentDetails(input.body, { v2g, mo }, new Date(clock.now()));
    }),
    authorize: fromPromise(async ({ input, system }): Promise<{ code: ResponseCode }> => {
      const { deps, actor } = ioOf(system);
      if (input.paymentOption === 'ExternalPayment') return { code: (await deps.charger.externalAuthorization()) ? 'OK' : 'FAILED' };
      // PnC: the EV proves it holds the contract key by signing the GenChallenge (pki-and-crypto.md §8.2), then C07 at the backend.
      if (!contractSignatureValid(input.contract, input.header, input.body, 'AuthorizationReq')) return { code: 'FAILED_SignatureError' };
      const code = authorizationCodeOf(await deps.backend.authorizeContract(contractChainPem(input.contract!)));
      // E01: the transaction starts with the authorized eMAID and the meter as it stands.
      const sessionId = actor.getSnapshot().context.sessionId;
      if (code === 'OK' && sessionId) await deps.backend.transactions?.started(sessionId, { emaid: input.contract!.emaid, meterWh: deps.charger.status().meter.energyWh });
      return { code };
    }),
    verifyReceipt: fromPromise(async ({ input, system }): Promise<{ code: ResponseCode }> => {
      const { deps } = ioOf(system);
      const meterId = (input.body.MeterInfo as Obj | undefined)?.MeterID;
      if (meterId !== deps.charger.status().meter.meterId) return { code: 'FAILED_MeteringSignatureNotValid' };
      if (!contractSignatureValid(input.contract, input.header, input.body, 'MeteringReceiptReq')) return { code: 'FAILED_MeteringSignatureNotValid' };
      await deps.backend.transactions?.metered(input.sessionId, deps.charger.status().meter.energyWh);
      return { code: 'OK' };
    }),
    persist: fromPromise(async ({ input, system }) => {
      const { deps, clock } = ioOf(system);
      if (input.kind === 'paused') {
        await deps.pausedSessions.replace({ _id: input.session.sessionId, ...input.session });
      } else {
        await deps.receipts.insert({ _id: `${input.sessionId}:${clock.now()}:${Math.random().toString(36).slice(2, 8)}`, sessionId: input.sessionId, header: input.receipt.header, body: input.receipt.body, storedAt: clock.now() });
      }
    }),
  },
  actions: {
    respond: ({ context, system }) => {
      const response = context.response;
      if (!response) return;
      const { connection, trace } = ioOf(system);
      const exi = encodeResponse(response, context.sessionId);
      trace('out', response.name, exi);
      // Written after the transition: the peer may answer synchronously (in-memory pair) and must find this one settled.
      queueMicrotask(() => connection.send(exi));
    },
    close: ({ system }) => {
      const { connection } = ioOf(system);
      queueMicrotask(() => connection.end());
    },
    command: ({ system }, params) => ioOf(system).deps.charger.command(params),
  },
});

/** Serves the EV on `stream` until the session ends; resolves with the machine's output. */
export function serveSeccSession(stream: Duplex, deps: SeccSessionDeps): Promise<SeccOutput> {
  const clock = deps.clock ?? systemClock;
  const connection = new V2gtpConnection(stream, { maxPayloadLength: deps.maxPayloadLength });
  const sessionId = deps.newSessionId();
  const inspection = deps.inspectOn ? inspectSession(deps.inspectOn, 'secc', sessionId, seccSessionMachine.id) : undefined;
  const trace = tracer('secc', deps.trace, inspection?.trace);

  const actor = createActor(servedMachine, { input: { config: deps.config, sessionId, now: clock.now() }, ...(inspection ? { inspect: inspection.inspect } : {}) });
  sessionsBySystem.set(actor.system, { deps, clock, connection, trace, actor });
  return runOverConnection<SeccOutput>(actor, connection, clock, (payload) => {
    const frame = decodeFrame(actor.getSnapshot().context.protocol, payload);
    if (frame.kind === 'app') {
      if (frame.root !== 'supportedAppProtocolReq') throw new PncError('ExiInvalid', 'expected supportedAppProtocolReq');
      trace('in', frame.root, payload);
      actor.send({ type: 'sap', appProtocols: (frame.content.AppProtocol ?? []) as AppProtocol[], now: clock.now() });
      return;
    }
    trace('in', frame.wire, payload);
    actor.send({
      type: `req.${frame.name}`,
      header: frame.header as { SessionID: string },
      body: { [frame.name]: frame.content },
      exi: payload,
      now: clock.now(),
      charger: deps.charger.status(),
    });
  }, (error) => ({ outcome: 'failed', closeReason: error.message }));
}

/** The bytes of a response: the handshake, a V2G_Message of the session's protocol, or relayed EXI. */
function encodeResponse(response: SeccResponse, sessionId: string | undefined): Uint8Array {
  if (response.schema === 'relay') return response.exi;
  if (response.schema === 'app') return encodeExi('app', { supportedAppProtocolRes: response.body } as ExiJson);
  const header: Body = { SessionID: sessionId ?? '00' };
  return encodeExi(response.schema, { V2G_Message: { Header: header, Body: { [wireName(response.schema, response.name)]: response.body } } } as ExiJson);
}
