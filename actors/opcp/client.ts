/**
 * A small OPCP 1.0 client, so our participants (and tests, and users' scripts) can talk to any
 * OPCP endpoint: this project's gateway or Hubject's stages. OAuth2 client credentials with a cached
 * token (refreshed a minute before expiry, and once more after a 401, as CitrineOS does), a timeout
 * per call, and typed errors: a non-2xx answer is a PncError whose code follows the status and whose
 * `data` holds `{status, body}` (OPCP's `{errorMessages, traceId}`, or the CCP's EXI error response).
 */
import { PncError } from '../../protocols/errors.ts';

export interface OpcpClientOptions {
  /** e.g. `http://127.0.0.1:7080` or `https://open.plugncharge-test.hubject.com`. */
  readonly baseUrl: string;
  /** @default `${baseUrl}/oauth/token` */
  readonly tokenUrl?: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** OAuth2 audience; Hubject selects the environment with it. @default baseUrl */
  readonly audience?: string;
  /** Per call. @default 10000 */
  readonly timeoutMs?: number;
}

export interface OpcpResponse<T = any> {
  readonly status: number;
  readonly body: T;
}

const STATUS_CODES: Readonly<Record<number, string>> = { 400: 'OpcpBadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 501: 'NotImplemented' };

export class OpcpClient {
  private token?: { value: string; renewAt: number };

  constructor(private readonly options: OpcpClientOptions) {}

  private get base(): string {
    return this.options.baseUrl.replace(/\/$/, '');
  }

  private async fetchJson(url: string, init: RequestInit): Promise<OpcpResponse> {
    let response: Response;
    try {
      response = await fetch(url, { ...init, signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000) });
    } catch (error) {
      throw new PncError('OpcpUnavailable', `OPCP endpoint ${url} did not answer: ${(error as Error).message}`, { retryable: true, cause: error });
    }
    const text = await response.text();
    let body: unknown = text;
    if (text && response.headers.get('content-type')?.includes('json')) body = JSON.parse(text);
    return { status: response.status, body };
  }

  /** A valid access token, fetched with the client credentials when needed. */
  async accessToken(): Promise<string> {
    if (this.token && Date.now() < this.token.renewAt) return this.token.value;
    const { status, body } = await this.fetchJson(this.options.tokenUrl ?? `${this.base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: this.options.clientId, client_secret: this.options.clientSecret, audience: this.options.audience ?? this.base, grant_type: 'client_credentials' }),
    });
    if (status !== 200 || typeof body?.access_token !== 'string') {
      throw new PncError(status === 401 ? 'Unauthorized' : 'OpcpTokenFailed', `token request failed with ${status}: ${typeof body === 'string' ? body : JSON.stringify(body)}`, { data: { status, body } });
    }
    const lifetime = Number(body.expires_in ?? 3600);
    this.token = { value: body.access_token, renewAt: Date.now() + Math.max(0, lifetime - 60) * 1000 };
    return this.token.value;
  }

  /** One OPCP call; resolves for 2xx (and for the statuses in `accept`), rejects with a PncError otherwise. */
  async call<T = any>(method: string, path: string, options: { body?: unknown; headers?: Record<string, string>; query?: Record<string, string | undefined>; accept?: readonly number[] } = {}): Promise<OpcpResponse<T>> {
    const query = new URLSearchParams(Object.entries(options.query ?? {}).filter((e): e is [string, string] => e[1] !== undefined));
    const url = `${this.base}${path}${query.size ? `?${query}` : ''}`;
    const send = async () =>
      this.fetchJson(url, {
        method,
        headers: { authorization: `Bearer ${await this.accessToken()}`, ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      });
    let response = await send();
    if (response.status === 401) {
      this.token = undefined;
      response = await send();
    }
    if ((response.status >= 200 && response.status < 300) || options.accept?.includes(response.status)) return response as OpcpResponse<T>;
    const messages = Array.isArray(response.body?.errorMessages) ? response.body.errorMessages.join('; ') : JSON.stringify(response.body);
    throw new PncError(STATUS_CODES[response.status] ?? 'OpcpFailed', `${method} ${path}: ${response.status}: ${messages}`, { retryable: response.status >= 500, data: { status: response.status, body: response.body } });
  }

  // ---------------------------------------------------------------- RCP
  /** `GET /v1/root/rootCerts`: the RootCertV2 entries, optionally of one type. */
  async rootCertificates(rootType?: 'v2g' | 'mo' | 'oem'): Promise<any[]> {
    return (await this.call('GET', '/v1/root/rootCerts', { query: { rootType } })).body?.RootCertificateCollection?.rootCertificates ?? [];
  }
  async rootCertificate(rootCertificateId: string): Promise<any> {
    return (await this.call('GET', `/v1/root/rootCerts/${encodeURIComponent(rootCertificateId)}`)).body.RootResponse;
  }
  async putRootCertificate(caCertificate: string, rootType: 'V2G' | 'MO' | 'OEM' | 'PE'): Promise<any> {
    return (await this.call('PUT', '/v1/root/rootCerts', { body: { caCertificate, rootType } })).body?.RootResponse;
  }
  async deleteRootCertificate(rootCertificateId: string): Promise<void> {
    await this.call('DELETE', `/v1/root/rootCerts/${encodeURIComponent(rootCertificateId)}`);
  }

  // ---------------------------------------------------------------- PCP
  /** `PUT /v1/oem/provCerts` with OPCP's ProvisioningCertificate; returns ProvisioningCertificateData. */
  async putProvisioningCertificate(chain: { vehicleCertificate: string; subCA1Certificate: string; subCA2Certificate?: string; v2gRootAuthorityKeyIdentifiers?: string[] }): Promise<any> {
    return (await this.call('PUT', '/v1/oem/provCerts', { body: chain })).body;
  }
  async provisioningCertificate(pcid: string): Promise<any> {
    return (await this.call('GET', `/v1/oem/provCerts/${encodeURIComponent(pcid)}`)).body.OEMMessage;
  }
  async lookupVehicle(pcid: string): Promise<boolean> {
    return (await this.call('GET', `/v1/oem/provCerts/lookupVehicle/${encodeURIComponent(pcid)}`, { accept: [404] })).status === 200;
  }
  async deleteProvisioningCertificate(pcid: string): Promise<void> {
    await this.call('DELETE', `/v1/oem/provCerts/${encodeURIComponent(pcid)}`);
  }

  // ---------------------------------------------------------------- CPS
  /** `PUT /v1/cps/contractData/signed` (MO with own PKI): signs, and stores in the CCP when `pcid` is given. */
  async signContractData(request: { contractData: Record<string, string>; pcid?: string; xsdMsgDefNamespace?: string }): Promise<any> {
    return (await this.call('PUT', '/v1/cps/contractData/signed', { body: { xsdMsgDefNamespace: 'urn:iso:15118:2:2013:MsgDef', ...request } })).body;
  }
  async cpsSigners(): Promise<any[]> {
    return (await this.call('GET', '/cps/signer')).body?.cpsCertificates ?? [];
  }

  // ---------------------------------------------------------------- CCP
  /**
   * `POST /v1/ccp/signedContractData` (CPO): the EV's CertificateInstallationReq (base64 EXI) in, the
   * CertificateInstallationRes (base64 EXI) out. `found` is false when the CCP answered 404 with an EXI
   * error response for the EV (alwaysReturnEXI).
   */
  async signedContractData(certificateInstallationReq: string, xsdMsgDefNamespace = 'urn:iso:15118:2:2013:MsgDef'): Promise<{ found: boolean; certificateInstallationRes: string; emaid?: string }> {
    const { status, body } = await this.call('POST', '/v1/ccp/signedContractData', { body: { certificateInstallationReq, xsdMsgDefNamespace }, accept: [404] });
    const messageDef = body?.CCPResponse?.emaidContent?.at(-1)?.messageDef;
    if (!messageDef?.certificateInstallationRes) throw new PncError('NotFound', `POST /v1/ccp/signedContractData: ${status} without a CertificateInstallationRes`, { data: { status, body } });
    return { found: status === 200, certificateInstallationRes: messageDef.certificateInstallationRes, ...(messageDef.emaid ? { emaid: messageDef.emaid } : {}) };
  }
  /** `PUT /v1/ccp/signedContractData` (CPS): stores the signed contract XML (base64) for a vehicle. */
  async putSignedContractData(request: { pcid: string; emaid: string; signedContractDataXML: string; xsdMsgDefNamespace?: string; metadata?: string }): Promise<void> {
    await this.call('PUT', '/v1/ccp/signedContractData', { body: { xsdMsgDefNamespace: 'urn:iso:15118:2:2013:MsgDef', ...request } });
  }
  async deleteContract(emaid: string): Promise<void> {
    await this.call('DELETE', `/v1/ccp/signedContractData/${encodeURIComponent(emaid)}`);
  }
  async lookupContract(emaid: string): Promise<any[]> {
    return (await this.call('GET', `/v1/ccp/lookupContract/${encodeURIComponent(emaid)}`)).body?.XMLContracts ?? [];
  }
  async contractsOfVehicle(pcid: string): Promise<any[]> {
    return (await this.call('GET', `/v1/ccp/signedContractData/${encodeURIComponent(pcid)}`)).body?.XMLContracts ?? [];
  }
  async setDefaultContract(pcid: string, emaid: string): Promise<void> {
    await this.call('POST', `/v1/ccp/signedContractData/${encodeURIComponent(pcid)}/${encodeURIComponent(emaid)}/default`);
  }
  async provideSignedContractData(emaid: string, pcid: string, sessionID?: string): Promise<any> {
    return (await this.call('GET', `/v1/ccp/provideSignedContractData/${encodeURIComponent(emaid)}/${encodeURIComponent(pcid)}`, { query: { sessionID } })).body;
  }
}
