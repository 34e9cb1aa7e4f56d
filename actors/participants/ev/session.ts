/**
 * Drives one charging session over a connected Duplex (TLS, TCP or in-memory): the EV session
 * machine (statecharts/ev-session.ts) decides; this module encodes its requests as V2GTP frames,
 * decodes the charger's answers, moves the battery and provides the signing effects.
 */
import type { Duplex } from 'node:stream';
import { createActor, fromPromise } from 'xstate';
import type { Bus } from '../../bus/bus.ts';
import type { Vehicle } from '../../story/vehicle.ts';
import { PncError } from '../../../protocols/errors.ts';
import { encodeExi, type ExiJson } from '../../../protocols/exi/index.ts';
import { signFragments } from '../../../protocols/xmldsig/index.ts';
import { evSessionMachine, type EvOutput, type EvPlan, type EvRequest } from '../../../statecharts/ev-session.ts';
import { valueOf, wireName, type Body } from '../../../statecharts/secc/messages.ts';
import { V2gtpConnection } from '../../transport/v2gtp-connection.ts';
import { checkContractResponse, installationRequestParts, updateRequestParts } from '../../story/vehicle.ts';
import { decodeFrame, runOverConnection, systemClock, tracer, type SessionClock, type TraceEntry } from '../v2g/runner.ts';
import { inspectSession } from '../v2g/inspect.ts';
import type { Battery } from './battery.ts';
import type { ContractStore } from './contracts.ts';

export interface EvSessionDeps {
  readonly vehicle: Vehicle;
  readonly battery: Battery;
  readonly contracts: ContractStore;
  readonly plan: EvPlan;
  readonly clock?: SessionClock;
  readonly trace?: (entry: TraceEntry) => void;
  /** Publishes the session on `inspect.ev.<PCID>` for the inspector. */
  readonly inspectOn?: Bus;
}

type Obj = Record<string, unknown>;

/** Encodes a request of the machine: the handshake, or a V2G_Message with the session's SessionID. */
export function encodeEvRequest(request: EvRequest): Uint8Array {
  if (request.schema === 'app') return encodeExi('app', { supportedAppProtocolReq: request.body } as ExiJson);
  const header: Obj = { SessionID: request.sessionId };
  if (request.signature) header.Signature = request.signature;
  return encodeExi(request.schema, { V2G_Message: { Header: header, Body: { [wireName(request.schema, request.name)]: request.body } } } as ExiJson);
}

/** Runs the session on `stream` (a Duplex, or one already framed) until it ends; resolves with the machine's output. */
export function runEvSession(stream: Duplex | V2gtpConnection, deps: EvSessionDeps): Promise<EvOutput> {
  const clock = deps.clock ?? systemClock;
  // A connection from connectV2gtp (TLS checked, SECC leaf checked) is used as it is.
  const connection = stream instanceof V2gtpConnection ? stream : new V2gtpConnection(stream);
  const { vehicle, battery, contracts } = deps;
  const inspection = deps.inspectOn ? inspectSession(deps.inspectOn, 'ev', vehicle.pcid, evSessionMachine.id) : undefined;
  const trace = tracer('ev', deps.trace, inspection?.trace);
  const signedPart = async (element: string, body: Body) => ({ body, signature: signFragments([{ id: 'ID1', fragment: { [element]: body } }], await contracts.signingKey()) as unknown as Body });

  const machine = evSessionMachine.provide({
    actors: {
      signCertificateRequest: fromPromise(async ({ input }) => {
        if (input.service === 'Installation') return installationRequestParts(vehicle);
        const contract = await contracts.valid();
        if (!contract) throw new PncError('NoContract', 'the vehicle holds no valid contract to update');
        return updateRequestParts(vehicle, contract, await contracts.signingKey());
      }),
      acceptCertificateResponse: fromPromise(async ({ input }) => {
        // Installation: the provisioning key decrypts; Update: the contract key about to be replaced.
        const check = input.service === 'Installation'
          ? await checkContractResponse(input.exi, vehicle, 'CertificateInstallationRes', vehicle.provisioningKey)
          : await checkContractResponse(input.exi, vehicle, 'CertificateUpdateRes', await contracts.keyScalar());
        await contracts.save({ emaid: check.emaid, certificate: check.contractChainHex.certificate, subCertificates: check.contractChainHex.subCertificates }, check.contractKeyScalar);
        return { emaid: check.emaid };
      }),
      paymentDetails: fromPromise(async (): Promise<{ emaid: string; body: Body }> => {
        const contract = await contracts.valid();
        if (!contract) throw new PncError('NoContract', 'the vehicle holds no valid contract');
        return {
          emaid: contract.emaid,
          body: { eMAID: contract.emaid, ContractSignatureCertChain: { Certificate: contract.certificate, ...(contract.subCertificates.length ? { SubCertificates: { Certificate: [...contract.subCertificates] } } : {}) } },
        };
      }),
      // The GenChallenge of PaymentDetailsRes, signed with the contract key.
      signAuthorization: fromPromise(({ input }) => signedPart('AuthorizationReq', { Id: 'ID1', GenChallenge: input.genChallenge })),
      signReceipt: fromPromise(({ input }) => signedPart('MeteringReceiptReq', { Id: 'ID1', SessionID: input.sessionId, SAScheduleTupleID: input.saScheduleTupleId, MeterInfo: input.meterInfo })),
    },
    actions: {
      send: ({ context }) => {
        const request = context.request;
        if (!request) return;
        const exi = encodeEvRequest(request);
        trace('out', request.schema === 'app' ? request.name : wireName(request.schema, request.name), exi);
        // Written after the transition: the peer may answer synchronously (in-memory pair) and must find this one settled.
        queueMicrotask(() => connection.send(exi));
      },
      close: () => queueMicrotask(() => connection.end()),
    },
  });

  const actor = createActor(machine, { input: { plan: deps.plan, vehicle: battery.status(), now: clock.now() }, ...(inspection ? { inspect: inspection.inspect } : {}) });
  return runOverConnection<EvOutput>(actor, connection, clock, (payload) => {
    const frame = decodeFrame(actor.getSnapshot().context.protocol, payload);
    if (frame.kind === 'app') {
      if (frame.root !== 'supportedAppProtocolRes') throw new PncError('ExiInvalid', 'expected supportedAppProtocolRes');
      trace('in', frame.root, payload);
      actor.send({ type: 'res.supportedAppProtocolRes', header: {}, body: { supportedAppProtocolRes: frame.content }, exi: payload, now: clock.now(), vehicle: battery.status() });
      return;
    }
    const { name, content } = frame;
    trace('in', frame.wire, payload);
    // The battery takes what the charger delivered during this loop.
    if (name === 'CurrentDemandRes') battery.charge(valueOf(content.EVSEPresentVoltage) * valueOf(content.EVSEPresentCurrent));
    if (name === 'ChargingStatusRes') battery.charge(230 * 3 * valueOf(content.EVSEMaxCurrent));
    actor.send({ type: `res.${name}`, header: frame.header as { SessionID?: string }, body: { [name]: content }, exi: payload, now: clock.now(), vehicle: battery.status() });
  }, (error) => ({ outcome: 'failed', sessionId: '', loops: 0, receiptsSigned: 0, joinedOldSession: false, reason: error.message }));
}
