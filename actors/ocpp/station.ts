/**
 * The charging station's OCPP 2.0.1 side, as a library for the SECC host: a strict ocpp-rpc client
 * to any CSMS (ours by default), reconnecting with back-off; TransactionEvents queued durably in
 * the Store and sent in order, one at a time, resent after a lost answer (the CSMS keeps each seqNo
 * once), with seqNo without gaps; the ISO15118Ctrlr device-model variables; and the evse_security
 * operations (./evse-security.ts) wired to A03, M03–M06 and F06.
 *
 * @example
 * const station = new ChargingStation({ url: 'wss://csms.example/ocpp', stationId: 'CS1', password, ca, store });
 * await station.start();
 * const tx = await station.startTransaction({ evseId: 1, idToken: { idToken: emaid, type: 'eMAID' }, meterWh: 0 });
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { RPCClient } from 'ocpp-rpc';
import type { Store, StoredDoc } from '../store/store.ts';
import type { Logger } from '../host/participant.ts';
import { PncError, toPncError } from '../../protocols/errors.ts';
import { validateChain, certificateHashData, type OcspRequestData } from '../../protocols/pki/index.ts';
import { certificatesOfPem } from '../participants/cpo-authorize.ts';
import { EvseSecurity, type CaCertificateType, type InstalledCertificateType } from './evse-security.ts';
import type { OcppPayload } from './handlers.ts';

/** ISO15118Ctrlr (OCPP 2.0.1 device model) as this station keeps it. */
export interface Iso15118Ctrlr {
  /** C07: Plug&Charge authorization enabled. */
  PnCEnabled: boolean;
  /** C07.FR.06: send the contract chain to the CSMS when it cannot be checked locally. */
  CentralContractValidationAllowed: boolean;
  /** C07.FR.08: validate contracts locally while offline. */
  ContractValidationOffline: boolean;
  /** M01/M02: forward the EV's certificate installation to the CSMS. */
  ContractCertificateInstallationEnabled: boolean;
  /** A03: accept V2G certificates from the CSMS. */
  V2GCertificateInstallationEnabled: boolean;
  /** CN of the SECC certificate CSR. */
  SeccId: string;
  OrganizationName: string;
  CountryName: string;
}

export interface StationOptions {
  /** CSMS base URL; the station connects to `<url>/<stationId>`. */
  readonly url: string;
  readonly stationId: string;
  /** Security profile 2. */
  readonly password?: string;
  /** TLS: the CSMS root to trust; a client certificate and key for security profile 3. */
  readonly tls?: { readonly ca?: string; readonly cert?: string; readonly key?: string };
  readonly store: Store;
  readonly log?: Logger;
  readonly deviceModel?: Partial<Iso15118Ctrlr>;
  readonly boot?: { readonly model: string; readonly vendorName: string; readonly serialNumber?: string; readonly firmwareVersion?: string };
  /** Reconnect back-off. @default { initialDelayMs: 1000, maxDelayMs: 30000 } */
  readonly backoff?: { readonly initialDelayMs: number; readonly maxDelayMs: number };
  /** Renew the SECC leaf when it has fewer days left. @default 30 */
  readonly renewalDays?: number;
  /** @default 30000 */
  readonly callTimeoutMs?: number;
  readonly now?: () => Date;
}

interface QueuedDoc extends StoredDoc {
  readonly order: number;
  readonly action: 'TransactionEvent';
  readonly payload: OcppPayload;
}

interface TransactionDoc extends StoredDoc {
  readonly nextSeqNo: number;
  readonly evseId: number;
  readonly idToken?: OcppPayload;
}

const ISO15118_DEFAULTS: Iso15118Ctrlr = {
  PnCEnabled: true,
  CentralContractValidationAllowed: true,
  ContractValidationOffline: true,
  ContractCertificateInstallationEnabled: true,
  V2GCertificateInstallationEnabled: true,
  SeccId: 'SECC',
  OrganizationName: 'Open Plug&Charge CPO',
  CountryName: 'DE',
};

const OPEN = 1;

export interface AuthorizeResult {
  readonly idTokenInfo: { readonly status: string };
  readonly certificateStatus?: string;
  /** Where the answer came from: the CSMS, or the station alone (offline or refused locally). */
  readonly source: 'csms' | 'local';
}

/** One OCPP-J frame as it crossed the WebSocket ([2,id,action,payload], [3,id,payload] or [4,id,code,text,details]). */
export interface OcppFrame {
  readonly outbound: boolean;
  readonly frame: unknown;
}

/** A SignCertificate whose key lives outside this station's evse_security (the SECC's own store): CertificateSigned goes to it. */
interface ForeignSigning {
  readonly publicKey: Buffer;
  resolve(chainPem: string): void;
}

/**
 * Events: `connected`, `disconnected`, `v2gCertificateInstalled`, `caCertificateInstalled`, `queueDrained`,
 * `frame` (an OcppFrame, for traces).
 */
export class ChargingStation extends EventEmitter {
  readonly security: EvseSecurity;
  readonly deviceModel: Iso15118Ctrlr;
  private readonly client: RPCClient;
  private readonly queue;
  private readonly transactions;
  private readonly now: () => Date;
  private stopped = false;
  private pumping = false;
  private booted = false;
  private order = 0;
  private wake: () => void = () => {};
  private readonly foreignSignings = new Set<ForeignSigning>();

  constructor(private readonly options: StationOptions) {
    super();
    this.now = options.now ?? (() => new Date());
    this.security = new EvseSecurity(options.store, this.now);
    this.deviceModel = { ...ISO15118_DEFAULTS, ...options.deviceModel };
    this.queue = options.store.collection<QueuedDoc>('station.outbox');
    this.transactions = options.store.collection<TransactionDoc>('station.transactions');
    const backoff = options.backoff ?? { initialDelayMs: 1000, maxDelayMs: 30_000 };
    this.client = new RPCClient({
      endpoint: options.url,
      identity: options.stationId,
      password: options.password ?? null,
      protocols: ['ocpp2.0.1'],
      strictMode: true,
      reconnect: true,
      maxReconnects: Infinity,
      callTimeoutMs: options.callTimeoutMs ?? 30_000,
      pingIntervalMs: 30_000,
      backoff: { initialDelay: backoff.initialDelayMs, maxDelay: backoff.maxDelayMs, factor: 2, randomisationFactor: 0.25 },
      wsOpts: { ...(options.tls?.ca ? { ca: options.tls.ca } : {}), ...(options.tls?.cert ? { cert: options.tls.cert, key: options.tls.key } : {}) },
    } as ConstructorParameters<typeof RPCClient>[0]);
    this.client.on('open', () => { this.emit('connected'); this.kick(); });
    this.client.on('disconnect', () => this.emit('disconnected'));
    this.client.on('message', ({ message, outbound }: { message: string; outbound: boolean }) => {
      if (this.listenerCount('frame') === 0) return;
      try {
        this.emit('frame', { outbound, frame: JSON.parse(message) as unknown } satisfies OcppFrame);
      } catch {
        this.emit('frame', { outbound, frame: message } satisfies OcppFrame);
      }
    });
    this.client.on('strictValidationFailure', ({ method, error }: { method: string; error: Error }) => options.log?.warn('ocpp.invalid', { method, error: error.message }));
    this.handleCsmsCalls();
  }

  get online(): boolean {
    return this.client.state === OPEN;
  }

  /** Connects (retrying with back-off until it succeeds), boots, and starts sending the queue. */
  async start(): Promise<void> {
    const pending = await this.queue.find({}, { sort: '-order', limit: 1 });
    this.order = pending[0]?.order ?? 0;
    const backoff = this.options.backoff ?? { initialDelayMs: 1000, maxDelayMs: 30_000 };
    for (let delay = backoff.initialDelayMs; !this.stopped; delay = Math.min(delay * 2, backoff.maxDelayMs)) {
      try {
        await this.client.connect();
        break;
      } catch (error) {
        this.options.log?.warn('ocpp.connect.failed', { error: toPncError(error).message, retryInMs: delay });
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
    if (this.stopped) return;
    const boot = await this.client.call('BootNotification', { reason: 'PowerUp', chargingStation: this.options.boot ?? { model: 'OpenPnC SECC', vendorName: 'Open Plug&Charge' } }) as OcppPayload;
    if (boot.status !== 'Accepted') throw new PncError('BootRejected', `the CSMS answered BootNotification with ${boot.status}`);
    this.booted = true;
    void this.pump();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.client.close({ force: true });
  }

  /** Calls the CSMS now (not queued); rejects when offline, or when no answer comes within `timeoutMs` (default: the station's callTimeoutMs). */
  async call(action: string, payload: OcppPayload, options: { readonly timeoutMs?: number } = {}): Promise<OcppPayload> {
    return await this.client.call(action, payload, options.timeoutMs === undefined ? {} : { callTimeoutMs: options.timeoutMs }) as OcppPayload;
  }

  // ── E01–E15 transactions: queued durably, sent in order ─────────────────────────────────────

  async startTransaction(input: { evseId: number; idToken?: OcppPayload; meterWh: number; transactionId?: string; triggerReason?: string }): Promise<string> {
    const transactionId = input.transactionId ?? randomUUID();
    await this.transactions.insert({ _id: transactionId, nextSeqNo: 0, evseId: input.evseId, ...(input.idToken ? { idToken: input.idToken } : {}) });
    await this.enqueueEvent(transactionId, 'Started', input.triggerReason ?? (input.idToken ? 'Authorized' : 'CablePluggedIn'), input.meterWh, { evse: { id: input.evseId, connectorId: 1 }, ...(input.idToken ? { idToken: input.idToken } : {}) });
    return transactionId;
  }

  async updateTransaction(transactionId: string, input: { meterWh: number; triggerReason?: string }): Promise<void> {
    await this.enqueueEvent(transactionId, 'Updated', input.triggerReason ?? 'MeterValuePeriodic', input.meterWh, {});
  }

  async endTransaction(transactionId: string, input: { meterWh: number; stoppedReason?: string }): Promise<void> {
    await this.enqueueEvent(transactionId, 'Ended', 'StopAuthorized', input.meterWh, {}, { stoppedReason: input.stoppedReason ?? 'Local' });
    await this.transactions.delete(transactionId);
  }

  /** Messages still waiting for the CSMS. */
  pendingCount(): Promise<number> {
    return this.queue.count();
  }

  private async enqueueEvent(transactionId: string, eventType: 'Started' | 'Updated' | 'Ended', triggerReason: string, meterWh: number, extra: OcppPayload, transactionInfo: OcppPayload = {}): Promise<void> {
    const transaction = await this.transactions.get(transactionId);
    if (!transaction) throw new PncError('UnknownTransaction', `no open transaction ${transactionId}`);
    // seqNo is taken and the event queued before anything is sent: no gaps, whatever the connection does.
    await this.transactions.replace({ ...transaction, nextSeqNo: transaction.nextSeqNo + 1 }, { expectedRev: transaction._rev });
    const timestamp = this.now().toISOString();
    const order = ++this.order;
    await this.queue.insert({
      _id: String(order).padStart(12, '0'),
      order,
      action: 'TransactionEvent',
      payload: {
        eventType, timestamp, triggerReason, seqNo: transaction.nextSeqNo,
        transactionInfo: { transactionId, ...transactionInfo },
        ...(this.online ? {} : { offline: true }),
        meterValue: [{ timestamp, sampledValue: [{ value: meterWh, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' } }] }],
        ...extra,
      },
    });
    this.kick();
  }

  private kick(): void {
    this.wake();
    if (this.booted) void this.pump();
  }

  /** Sends the queue head-first; a failed send waits for the next connection or a short pause and tries the same message again. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.stopped) {
        const [head] = await this.queue.find({}, { sort: 'order', limit: 1 });
        if (!head) {
          this.emit('queueDrained');
          return;
        }
        if (!this.online) {
          await new Promise<void>((resolve) => { this.wake = resolve; setTimeout(resolve, 1000); });
          continue;
        }
        try {
          await this.client.call(head.action, head.payload);
          await this.queue.delete(head._id);
        } catch (error) {
          const rpcErrorCode = (error as { rpcErrorCode?: string }).rpcErrorCode;
          // A CALLERROR about the message itself will not go away by resending: keep order, drop it, say so.
          if (rpcErrorCode && !['InternalError', 'GenericError', 'SecurityError'].includes(rpcErrorCode)) {
            this.options.log?.error('ocpp.transaction.refused', { seqNo: head.payload.seqNo, rpcErrorCode });
            await this.queue.delete(head._id);
            continue;
          }
          await new Promise<void>((resolve) => { this.wake = resolve; setTimeout(resolve, 200); });
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  // ── C07, M01: Plug&Charge for the SECC ─────────────────────────────────────────────────────

  /** C07 from the station's side (EVerest's table, charger-and-ocpp.md §2). */
  async authorizeContract(emaid: string, contractChainPem: string): Promise<AuthorizeResult> {
    const idToken = { idToken: emaid, type: 'eMAID' };
    if (!this.deviceModel.PnCEnabled) return { idTokenInfo: { status: 'Invalid' }, source: 'local' };
    const chain = certificatesOfPem(contractChainPem);
    if (!chain.length) return { idTokenInfo: { status: 'Invalid' }, source: 'local' };
    const verdict = await validateChain(chain, { purpose: 'contract', roots: { v2g: await this.security.caCertificates('V2GRootCertificate'), mo: await this.security.caCertificates('MORootCertificate') }, at: this.now() });
    if (!this.online) {
      // C07.FR.07–09.
      if (!this.deviceModel.ContractValidationOffline) return { idTokenInfo: { status: 'NotAtThisTime' }, source: 'local' };
      if (verdict.valid) return { idTokenInfo: { status: 'Unknown' }, certificateStatus: 'Accepted', source: 'local' };
      if (verdict.evseSecurity === 'Expired') return { idTokenInfo: { status: 'Expired' }, certificateStatus: 'CertificateExpired', source: 'local' };
      return { idTokenInfo: { status: 'Unknown' }, source: 'local' };
    }
    const central = async () => ({ ...(await this.call('Authorize', { idToken, certificate: contractChainPem })), source: 'csms' as const }) as AuthorizeResult;
    if (verdict.defect === 'UnknownRoot') {
      // C07.FR.06
      return this.deviceModel.CentralContractValidationAllowed ? central() : { idTokenInfo: { status: 'Invalid' }, source: 'local' };
    }
    let hashData: OcspRequestData[];
    try {
      hashData = certificateHashData(chain, await this.security.caCertificates('MORootCertificate', 'V2GRootCertificate')).slice(0, 4);
    } catch {
      hashData = [];
    }
    // C07.FR.01/02: the CSMS checks OCSP for the hash data.
    if (hashData.length) return { ...(await this.call('Authorize', { idToken, iso15118CertificateHashData: hashData })), source: 'csms' } as AuthorizeResult;
    return this.deviceModel.CentralContractValidationAllowed ? central() : { idTokenInfo: { status: 'Invalid' }, source: 'local' };
  }

  /** M01/M02: the EV's EXI CertificateInstallationReq (whole V2G_Message, base64) to the CSMS. */
  async get15118EVCertificate(exiRequest: string, action: 'Install' | 'Update' = 'Install'): Promise<{ status: string; exiResponse: string }> {
    if (!this.deviceModel.ContractCertificateInstallationEnabled) return { status: 'Failed', exiResponse: '' };
    const answer = await this.call('Get15118EVCertificate', { iso15118SchemaVersion: 'urn:iso:15118:2:2013:MsgDef', action, exiRequest });
    return { status: String(answer.status), exiResponse: String(answer.exiResponse ?? '') };
  }

  // ── A03, M06: the SECC's own certificate and its OCSP ─────────────────────────────────────

  /** A03: sends SignCertificate for a new V2G leaf; CertificateSigned installs it (event `v2gCertificateInstalled`). */
  async requestV2GCertificate(): Promise<string> {
    const csr = await this.security.v2gCsr({ commonName: this.deviceModel.SeccId, organization: this.deviceModel.OrganizationName, country: this.deviceModel.CountryName });
    const answer = await this.call('SignCertificate', { csr, certificateType: 'V2GCertificate' });
    return String(answer.status);
  }

  /**
   * A02/A03 for a CSR whose key another store holds (the SECC participant's evse_security): sends
   * SignCertificate and resolves with the chain of the CertificateSigned that carries the CSR's key.
   * @throws PncError `SignCertificateRejected` when the CSMS refuses, `CertificateSignedTimeout` (retryable) when no chain comes in time.
   */
  async signForeignCsr(csrPem: string, certificateType: 'V2GCertificate' | 'ChargingStationCertificate' = 'V2GCertificate', timeoutMs = 30_000): Promise<string> {
    const publicKey = Buffer.from(new x509.Pkcs10CertificateRequest(csrPem).publicKey.rawData);
    let signing: ForeignSigning | undefined;
    const chain = new Promise<string>((resolve) => { signing = { publicKey, resolve }; });
    this.foreignSignings.add(signing!);
    let timer: NodeJS.Timeout | undefined;
    try {
      const answer = await this.call('SignCertificate', { csr: csrPem, certificateType });
      if (answer.status !== 'Accepted') throw new PncError('SignCertificateRejected', `the CSMS answered SignCertificate with ${answer.status}: ${answer.statusInfo?.reasonCode ?? ''}`.trim());
      const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new PncError('CertificateSignedTimeout', `no CertificateSigned within ${timeoutMs} ms`, { retryable: true })), timeoutMs); });
      return await Promise.race([chain, late]);
    } finally {
      clearTimeout(timer);
      this.foreignSignings.delete(signing!);
    }
  }

  /** A03.FR.xx: requests a new leaf when there is none or it expires within `renewalDays`; resolves true if it asked. */
  async renewV2GCertificateIfDue(): Promise<boolean> {
    if (!this.deviceModel.PnCEnabled) return false;
    const chain = await this.security.v2gChain();
    if (chain.length && (await this.security.v2gLeafExpiryDays()) >= (this.options.renewalDays ?? 30)) return false;
    await this.requestV2GCertificate();
    return true;
  }

  /** M06: GetCertificateStatus for each certificate of the V2G chain but the root; answers cached for stapling. Resolves with how many were cached. */
  async refreshOcsp(): Promise<number> {
    let cached = 0;
    for (const ocspRequestData of await this.security.v2gOcspRequestData()) {
      const answer = await this.call('GetCertificateStatus', { ocspRequestData });
      if (answer.status === 'Accepted' && typeof answer.ocspResult === 'string') {
        await this.security.updateOcspCache(ocspRequestData, answer.ocspResult);
        cached++;
      }
    }
    return cached;
  }

  /** The waiting foreign signing whose CSR key the chain's leaf carries. */
  private foreignSigningOf(chainPem: unknown): ForeignSigning | undefined {
    if (this.foreignSignings.size === 0 || typeof chainPem !== 'string') return undefined;
    const [leaf] = certificatesOfPem(chainPem);
    if (!leaf) return undefined;
    const publicKey = Buffer.from(leaf.publicKey.rawData);
    return [...this.foreignSignings].find((signing) => signing.publicKey.equals(publicKey));
  }

  // ── CSMS-initiated calls ───────────────────────────────────────────────────────────────────

  private handleCsmsCalls(): void {
    const handle = (action: string, run: (params: OcppPayload) => Promise<OcppPayload>) => this.client.handle(action, async ({ params }) => run((params ?? {}) as OcppPayload));
    handle('CertificateSigned', async ({ certificateChain, certificateType }) => {
      if ((certificateType ?? 'ChargingStationCertificate') !== 'V2GCertificate') return { status: 'Rejected', statusInfo: { reasonCode: 'UnsupportedParam' } };
      if (!this.deviceModel.V2GCertificateInstallationEnabled) return { status: 'Rejected', statusInfo: { reasonCode: 'NotEnabled' } };
      const foreign = this.foreignSigningOf(certificateChain);
      if (foreign) {
        foreign.resolve(certificateChain);
        return { status: 'Accepted' };
      }
      const status = await this.security.installV2gLeaf(certificateChain);
      if (status === 'Accepted') this.emit('v2gCertificateInstalled');
      return status === 'Accepted' ? { status } : { status, statusInfo: { reasonCode: 'InvalidCertificate' } };
    });
    handle('InstallCertificate', async ({ certificateType, certificate }) => {
      const status = await this.security.installCaCertificate(certificateType as CaCertificateType, certificate);
      if (status === 'Accepted') this.emit('caCertificateInstalled', certificateType);
      return status === 'Accepted' ? { status } : { status, statusInfo: { reasonCode: 'InvalidCertificate' } };
    });
    handle('GetInstalledCertificateIds', async ({ certificateType }) => {
      const chains = await this.security.installedCertificateIds((certificateType ?? ['V2GRootCertificate', 'MORootCertificate', 'CSMSRootCertificate', 'V2GCertificateChain', 'ManufacturerRootCertificate']) as InstalledCertificateType[]);
      return chains.length ? { status: 'Accepted', certificateHashDataChain: chains } : { status: 'NotFound' };
    });
    handle('DeleteCertificate', async ({ certificateHashData }) => ({ status: await this.security.deleteCertificate(certificateHashData) }));
    handle('TriggerMessage', async ({ requestedMessage }) => {
      // F06: answer first, then send what was asked for.
      if (requestedMessage === 'SignV2GCertificate') {
        setImmediate(() => void this.requestV2GCertificate().catch((error: unknown) => this.options.log?.warn('ocpp.sign.failed', { error: toPncError(error).message })));
        return { status: 'Accepted' };
      }
      if (requestedMessage === 'Heartbeat') {
        setImmediate(() => void this.call('Heartbeat', {}).catch(() => {}));
        return { status: 'Accepted' };
      }
      return { status: 'NotImplemented' };
    });
    const component = 'ISO15118Ctrlr';
    handle('GetVariables', async ({ getVariableData }) => ({
      getVariableResult: (getVariableData as Array<{ component: { name: string }; variable: { name: string } }>).map(({ component: c, variable }) => {
        const known = c.name === component && Object.hasOwn(this.deviceModel, variable.name);
        return { component: c, variable, attributeStatus: known ? 'Accepted' : c.name === component ? 'UnknownVariable' : 'UnknownComponent', ...(known ? { attributeValue: String(this.deviceModel[variable.name as keyof Iso15118Ctrlr]) } : {}) };
      }),
    }));
    handle('SetVariables', async ({ setVariableData }) => ({
      setVariableResult: (setVariableData as Array<{ component: { name: string }; variable: { name: string }; attributeValue: string }>).map(({ component: c, variable, attributeValue }) => {
        if (c.name !== component) return { component: c, variable, attributeStatus: 'UnknownComponent' };
        if (!Object.hasOwn(this.deviceModel, variable.name)) return { component: c, variable, attributeStatus: 'UnknownVariable' };
        const name = variable.name as keyof Iso15118Ctrlr;
        if (typeof this.deviceModel[name] === 'boolean') {
          if (attributeValue !== 'true' && attributeValue !== 'false') return { component: c, variable, attributeStatus: 'Rejected' };
          (this.deviceModel as unknown as Record<string, boolean>)[name] = attributeValue === 'true';
        } else (this.deviceModel as unknown as Record<string, string>)[name] = attributeValue;
        return { component: c, variable, attributeStatus: 'Accepted' };
      }),
    }));
  }
}

/**
 * OCPP as an edge chosen by configuration, like `opcp.url` for the pools: with `ocpp.url` set
 * (`--set ocpp.url=wss://csms.example/ocpp --set ocpp.stationId=CS1 --set ocpp.password=… --set ocpp.caFile=root.pem`,
 * or `ocpp.certFile`/`ocpp.keyFile` for security profile 3) the SECC host gets a ChargingStation;
 * without it, undefined, and the SECC keeps talking to the CPO on the bus.
 * @throws PncError `ConfigInvalid` when `ocpp.url` is set without a station id, or a file cannot be read.
 */
export function stationFromConfig(config: Readonly<Record<string, string>>, store: Store, log?: Logger, readFile: (path: string) => string = (path) => readFileSync(path, 'utf8')): ChargingStation | undefined {
  const url = config['ocpp.url'];
  if (!url) return undefined;
  const stationId = config['ocpp.stationId'];
  if (!stationId) throw new PncError('ConfigInvalid', 'ocpp.url needs ocpp.stationId as well');
  if (!/^wss?:\/\//.test(url)) throw new PncError('ConfigInvalid', `ocpp.url must be a ws:// or wss:// URL, not '${url}'`);
  const read = (key: string): string | undefined => {
    const path = config[key];
    if (!path) return undefined;
    try {
      return readFile(path);
    } catch (error) {
      throw new PncError('ConfigInvalid', `${key}: cannot read ${path}: ${(error as Error).message}`);
    }
  };
  const [ca, cert, key] = [read('ocpp.caFile'), read('ocpp.certFile'), read('ocpp.keyFile')];
  return new ChargingStation({
    url, stationId, store, ...(log ? { log } : {}),
    ...(config['ocpp.password'] ? { password: config['ocpp.password'] } : {}),
    tls: { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) },
    ...(config['ocpp.seccId'] ? { deviceModel: { SeccId: config['ocpp.seccId'] } } : {}),
  });
}
