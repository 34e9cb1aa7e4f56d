/**
 * How a partner reaches the pools (issue 5): one small port per pool operation, each with a bus
 * implementation (our pools' subjects) and an OPCP implementation (any OPCP 1.0 endpoint through
 * `actors/opcp/client.ts`, e.g. Hubject's stages or our own gateway). A partner picks one with
 * `poolAccessOf(bus, config)`: with `opcp.url` set it talks REST, otherwise the bus. Either
 * way a failure is the same typed PncError, so the partner's code has one path per operation.
 */
import type { Bus } from '../bus/bus.ts';
import { requestSubjectReply } from '../bus/typed.ts';
import { OpcpClient } from '../opcp/client.ts';
import { signedContractXml } from '../opcp/signed-xml.ts';
import { ccpInterface } from '../../protocols/catalogue/ccp.ts';
import type { SignedContractDataJson } from '../../protocols/catalogue/cps.ts';
import type { CertificateChainJson } from '../../protocols/catalogue/fields.ts';
import { pcpInterface } from '../../protocols/catalogue/pcp.ts';
import { rcpInterface, type RootType } from '../../protocols/catalogue/rcp.ts';
import { samePcid } from '../../protocols/identifiers/index.ts';
import { PncError, toPncError } from '../../protocols/errors.ts';
import { decodeExi } from '../../protocols/exi/index.ts';

/** M01: forwards the EV's CertificateInstallationReq to the CCP. */
export interface ContractInstallationPort {
  /**
   * Resolves with the CertificateInstallationRes (base64 EXI) when the CCP installs; rejects with a
   * PncError whose code is the ISO 15118-2 ResponseCode (e.g. `FAILED_NoCertificateAvailable`) and
   * whose `data.exiResponse` is the EXI error response for the EV, or with the CCP's request error
   * (`ExiInvalid`, `UnsupportedNamespace`, `Forbidden`, `NoResponders`, `Timeout`).
   */
  install(request: { certificateInstallationReq: string; xsdMsgDefNamespace: string }): Promise<{ certificateInstallationRes: string }>;
  /**
   * M02 (Get15118EVCertificate action Update): resolves with the CertificateUpdateRes (base64 EXI) for
   * the EV, whatever its ResponseCode; rejects with the CCP's request error, or `UpdateNotSupported`
   * behind OPCP, which has no CertificateUpdate (hubject/opcp#13).
   */
  update(request: { certificateUpdateReq: string; xsdMsgDefNamespace: string }): Promise<{ responseCode: string; certificateUpdateRes: string }>;
}

/** Process 3: the MO reads a vehicle's provisioning chain from the PCP. */
export interface ProvisioningChainPort {
  /** Leaf first; rejects with `VehicleNotFound`, `Forbidden`, `NoResponders` or `Timeout`. */
  fetch(pcid: string): Promise<CertificateChainJson>;
}

/** The MO deletes a contract from the CCP (termination). */
export interface ContractDeletionPort {
  /** Rejects with `ContractNotFound`, `Forbidden`, `NoResponders` or `Timeout`. */
  delete(emaid: string): Promise<void>;
}

/** The MO asks the CCP whether it holds a contract: the confirmation it waits for, reconciled (issue 9 D1). */
export interface ContractLookupPort {
  /** True when the CCP holds the contract of `emaid` for `pcid`; rejects with `Forbidden`, `NoResponders` or `Timeout`. */
  holds(pcid: string, emaid: string): Promise<boolean>;
}

/** Every partner reads the RCP's roots (RootPool in roots.ts). */
export interface RootListPort {
  /** All roots in the pool, DER base64; rejects with `NoResponders` or `Timeout`. */
  list(): Promise<Array<{ rootType: RootType; caCertificate: string }>>;
}

/** The OEM's vehicle chain in the PCP (process 2) and its removal. */
export interface ProvisioningUploadPort {
  /**
   * Stores the chain (leaf, Sub-CA 2, Sub-CA 1) for its PCID; rejects with `Forbidden`,
   * `ChainInvalid` (the REST side does not tell `InvalidCertificate`/`PcidMismatch` apart),
   * `NoResponders` or `Timeout`.
   */
  upload(chain: { pcid: string; chain: CertificateChainJson; v2gRootAuthorityKeyIdentifiers?: string[] }): Promise<void>;
  /** Rejects with `VehicleNotFound`, `Forbidden`, `NoResponders` or `Timeout`. */
  delete(pcid: string): Promise<void>;
}

/** Process 5: the CPS stores a signed contract in the CCP. */
export interface SignedContractStorePort {
  /**
   * Idempotent by contract; rejects with `Forbidden`, `ContractInvalid` (a 400 over REST),
   * `NoResponders` or `Timeout`. Over REST the CCP assigns its own contract id, so partners match
   * stored contracts by PCID and EMAID.
   */
  put(signed: SignedContractDataJson): Promise<void>;
}

/** The ports a partner uses, all over the same transport. */
export interface PoolAccess {
  /** `'opcp'` when `opcp.url` is configured. */
  readonly transport: 'bus' | 'opcp';
  readonly contractInstallation: ContractInstallationPort;
  readonly provisioningChain: ProvisioningChainPort;
  readonly contractDeletion: ContractDeletionPort;
  readonly contractLookup: ContractLookupPort;
  readonly roots: RootListPort;
  readonly provisioningUpload: ProvisioningUploadPort;
  readonly signedContracts: SignedContractStorePort;
}

/** OPCP's and our PCP's ProvisioningCertificate fields → the chain the partners verify, leaf first. */
function chainOfProvisioningCertificate(data: { vehicleCertificate: string; subCA1Certificate: string; subCA2Certificate?: string }): CertificateChainJson {
  return { certificate: data.vehicleCertificate, subCertificates: [data.subCA2Certificate, data.subCA1Certificate].filter((c): c is string => typeof c === 'string' && c !== '') };
}

/** What the bus path answers when the CCP does not install: the ISO ResponseCode as error code. */
function installationFailure(responseCode: string, reason: string, exiResponse: string): PncError {
  return new PncError(responseCode, reason, { data: { exiResponse } });
}

/** The PCP's ProvisioningCertificate fields (ours and OPCP's) of a chain, leaf first. */
function provisioningCertificateOf({ chain, v2gRootAuthorityKeyIdentifiers }: { chain: CertificateChainJson; v2gRootAuthorityKeyIdentifiers?: string[] }) {
  return {
    vehicleCertificate: chain.certificate,
    ...(chain.subCertificates.length > 1 ? { subCA2Certificate: chain.subCertificates[0] } : {}),
    subCA1Certificate: chain.subCertificates[chain.subCertificates.length - 1],
    ...(v2gRootAuthorityKeyIdentifiers?.length ? { v2gRootAuthorityKeyIdentifiers } : {}),
  };
}

function busPoolAccess(bus: Bus): PoolAccess {
  return {
    transport: 'bus',
    contractInstallation: {
      async install(request) {
        const reply = await requestSubjectReply(bus, ccpInterface.requests.installation, { ...request }, { timeoutMs: 3_000 });
        if (reply.responseCode !== 'OK') throw installationFailure(reply.responseCode, reply.reason ?? reply.responseCode, reply.certificateInstallationRes);
        return { certificateInstallationRes: reply.certificateInstallationRes };
      },
      async update(request) {
        const { responseCode, certificateUpdateRes } = await requestSubjectReply(bus, ccpInterface.requests.update, { ...request }, { timeoutMs: 3_000 });
        return { responseCode, certificateUpdateRes };
      },
    },
    provisioningChain: {
      async fetch(pcid) {
        return chainOfProvisioningCertificate((await requestSubjectReply(bus, pcpInterface.requests.get, { pcid })).chain);
      },
    },
    contractDeletion: {
      async delete(emaid) {
        await requestSubjectReply(bus, ccpInterface.requests.delete, { emaid });
      },
    },
    contractLookup: {
      async holds(pcid, emaid) {
        const { contracts } = await requestSubjectReply(bus, ccpInterface.requests.list, { emaid });
        return contracts.some((contract) => samePcid(contract.pcid, pcid));
      },
    },
    roots: {
      async list() {
        return (await requestSubjectReply(bus, rcpInterface.requests.list, {})).roots;
      },
    },
    provisioningUpload: {
      async upload(upload) {
        await requestSubjectReply(bus, pcpInterface.requests.put, { pcid: upload.pcid, ...provisioningCertificateOf(upload) });
      },
      async delete(pcid) {
        await requestSubjectReply(bus, pcpInterface.requests.delete, { pcid });
      },
    },
    signedContracts: {
      async put(signed) {
        await requestSubjectReply(bus, ccpInterface.requests.put, signed);
      },
    },
  };
}

/**
 * Runs one OPCP call and gives its failure the code the bus path would raise: an unreachable
 * endpoint or a 5xx is `NoResponders` (retryable), a 401/403 `Forbidden`, and the statuses in
 * `byStatus` their pool error (a 404 is `VehicleNotFound` for the PCP, for instance).
 */
async function asPoolCall<T>(call: () => Promise<T>, byStatus: Readonly<Record<number, string>>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const failure = toPncError(error);
    const status = (failure.data as { status?: number } | undefined)?.status;
    const code = status === undefined ? (failure.code === 'OpcpUnavailable' ? 'NoResponders' : failure.code === 'Unauthorized' ? 'Forbidden' : failure.code)
      : byStatus[status] ?? (status === 401 || status === 403 ? 'Forbidden' : status >= 500 ? 'NoResponders' : failure.code);
    throw new PncError(code, failure.message, { retryable: failure.retryable, data: failure.data, cause: failure });
  }
}

/** The ISO ResponseCode inside a CertificateInstallationRes (base64 EXI); `FAILED` when there is none. */
function responseCodeOf(certificateInstallationRes: string): string {
  if (!certificateInstallationRes) return 'FAILED';
  try {
    const { document } = decodeExi('iso2', Buffer.from(certificateInstallationRes, 'base64'));
    return (document as { V2G_Message?: { Body?: { CertificateInstallationRes?: { ResponseCode?: string } } } }).V2G_Message?.Body?.CertificateInstallationRes?.ResponseCode ?? 'FAILED';
  } catch {
    return 'FAILED';
  }
}

/** OPCP 1.0 has no CertificateUpdate: Hubject dropped it with ISO 15118-20 (hubject/opcp#13). */
const updateNotSupported = () => new PncError('UpdateNotSupported', 'the OPCP pools have no CertificateUpdate (hubject/opcp#13); renewed contracts need the pools on the bus', { retryable: false });

function opcpPoolAccess(client: OpcpClient): PoolAccess {
  return {
    transport: 'opcp',
    contractInstallation: {
      async install({ certificateInstallationReq, xsdMsgDefNamespace }) {
        const answer = await asPoolCall(() => client.signedContractData(certificateInstallationReq, xsdMsgDefNamespace), { 400: 'ExiInvalid' });
        if (!answer.found) throw installationFailure(responseCodeOf(answer.certificateInstallationRes), 'the CCP answered 404: no installable contract', answer.certificateInstallationRes);
        return { certificateInstallationRes: answer.certificateInstallationRes };
      },
      async update() {
        throw updateNotSupported();
      },
    },
    provisioningChain: {
      async fetch(pcid) {
        return chainOfProvisioningCertificate(await asPoolCall(() => client.provisioningCertificate(pcid), { 404: 'VehicleNotFound' }));
      },
    },
    contractDeletion: {
      async delete(emaid) {
        await asPoolCall(() => client.deleteContract(emaid), { 404: 'ContractNotFound' });
      },
    },
    contractLookup: {
      async holds(pcid, emaid) {
        try {
          const contracts = await asPoolCall(() => client.lookupContract(emaid), { 404: 'ContractNotFound' });
          return contracts.some((contract: { pcid?: string }) => contract.pcid === undefined || contract.pcid.toUpperCase() === pcid.toUpperCase());
        } catch (error) {
          if (PncError.is(error, 'ContractNotFound')) return false;
          throw error;
        }
      },
    },
    roots: {
      async list() {
        return asPoolCall(() => client.rootCertificates(), {});
      },
    },
    provisioningUpload: {
      async upload(upload) {
        await asPoolCall(() => client.putProvisioningCertificate(provisioningCertificateOf(upload)), { 400: 'ChainInvalid' });
      },
      async delete(pcid) {
        await asPoolCall(() => client.deleteProvisioningCertificate(pcid), { 404: 'VehicleNotFound' });
      },
    },
    signedContracts: {
      async put({ pcid, emaid, body, signature, renewalOf }) {
        // A renewal stored as an ordinary contract would be installed with a key the EV cannot decrypt.
        if (renewalOf) throw updateNotSupported();
        const signedContractDataXML = Buffer.from(signedContractXml(body, signature), 'utf8').toString('base64');
        await asPoolCall(() => client.putSignedContractData({ pcid, emaid, signedContractDataXML }), { 400: 'ContractInvalid' });
      },
    },
  };
}

/** Reads the `opcp.*` settings; undefined when `opcp.url` is not set. */
export function opcpClientOf(config: Readonly<Record<string, string>>): OpcpClient | undefined {
  const baseUrl = config['opcp.url'];
  if (!baseUrl) return undefined;
  const clientId = config['opcp.clientId'];
  const clientSecret = config['opcp.clientSecret'];
  if (!clientId || !clientSecret) throw new PncError('ConfigInvalid', 'opcp.url needs opcp.clientId and opcp.clientSecret as well');
  const timeoutMs = config['opcp.timeoutMs'] === undefined ? undefined : Number(config['opcp.timeoutMs']);
  if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0)) throw new PncError('ConfigInvalid', `opcp.timeoutMs must be a positive integer, not ${config['opcp.timeoutMs']}`);
  return new OpcpClient({
    baseUrl,
    clientId,
    clientSecret,
    ...(config['opcp.tokenUrl'] ? { tokenUrl: config['opcp.tokenUrl'] } : {}),
    ...(config['opcp.audience'] ? { audience: config['opcp.audience'] } : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
  });
}

/**
 * The pool ports for a partner: over the external OPCP endpoint when `opcp.url` (with
 * `opcp.clientId`, `opcp.clientSecret`, optional `opcp.tokenUrl`, `opcp.audience`,
 * `opcp.timeoutMs`) is configured, otherwise over the bus, as the identity the bus handle signs with.
 */
export function poolAccessOf(bus: Bus, config: Readonly<Record<string, string>>): PoolAccess {
  const client = opcpClientOf(config);
  return client ? opcpPoolAccess(client) : busPoolAccess(bus);
}
