/**
 * OPCP 1.0 operations mapped onto the bus: one entry per implemented `operationId` of the OpenAPI
 * files, with the roles the OPCP role matrix (`docs/04_authentication.md`) allows and a thin
 * translation between the OPCP JSON and the pool subjects. Data scoping (WMI, EMAID prefix) is
 * enforced by the pools themselves: `bus` signs each call as the gateway acting for the token's identity.
 */
import { createHash } from 'node:crypto';
import { PncError } from '../../protocols/errors.ts';
import { emaidKey, ownsEmaid, type Caller, type CallerRole } from '../../protocols/catalogue/caller.ts';
import { rcpInterface, type RootCertificateJson } from '../../protocols/catalogue/rcp.ts';
import { pcpInterface, type ProvisioningCertificateDataJson } from '../../protocols/catalogue/pcp.ts';
import { ccpInterface, type ContractSummaryJson } from '../../protocols/catalogue/ccp.ts';
import { cpsInterface } from '../../protocols/catalogue/cps.ts';
import { requestSubjectReply } from '../bus/typed.ts';
import type { Bus } from '../bus/bus.ts';
import { certificateFacts, fingerprintAsUuid } from '../pools/common.ts';
import { readSignedContractXml, signedContractXml } from './signed-xml.ts';
import { errorBody } from './errors.ts';

export interface OpcpCall {
  readonly caller: Caller;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string | string[] | undefined>>;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: any;
  /** The gateway's bus handle acting for `caller` (Pnc-On-Behalf, actors/bus/identity.ts). */
  readonly bus: Bus;
}

export interface OpcpReply {
  readonly status: number;
  readonly body?: unknown;
}

export interface OpcpRoute {
  readonly roles: readonly CallerRole[];
  handle(call: OpcpCall): Promise<OpcpReply>;
}

const ALL_ROLES: readonly CallerRole[] = ['admin', 'oem', 'mo', 'cpo', 'cps'];

/** OPCP's RootCertV2 (our `revokedAt` is internal). */
function opcpRoot(root: RootCertificateJson) {
  const { revokedAt, ...rest } = root;
  void revokedAt;
  return rest;
}

function opcpChain(chain: ProvisioningCertificateDataJson) {
  const { pcid, validTo, ...rest } = chain;
  void pcid, validTo;
  return rest;
}

/** LookupContractResponse entry. */
function opcpContract(contract: ContractSummaryJson) {
  return {
    pcid: contract.pcid,
    emaid: contract.emaid,
    xsdMsgDefNamespace: contract.xsdMsgDefNamespace,
    contractCertificate: contract.contractCertificate,
    defaultContract: contract.defaultContract,
    certValidFrom: contract.certValidFrom,
    certValidTo: contract.certValidTo,
    ...(contract.cpsV2GRootFingerprint ? { cpsV2GRootCertificateFingerprint: fingerprintAsUuid(contract.cpsV2GRootFingerprint) } : {}),
  };
}

function headerFlag(call: OpcpCall, name: string, fallback: boolean): boolean {
  const value = call.headers[name.toLowerCase()];
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined ? fallback : text.toLowerCase() === 'true';
}

function text(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

const { requests: rcp } = rcpInterface;
const { requests: pcp } = pcpInterface;
const { requests: ccp } = ccpInterface;
const { requests: cps } = cpsInterface;

/** Every implemented OPCP operation, by operationId. */
export const OPCP_ROUTES: Readonly<Record<string, OpcpRoute>> = {
  // ---------------------------------------------------------------- RCP (rcp.v1.json)
  getAllRootCerts: {
    roles: ALL_ROLES,
    async handle({ bus, query }) {
      const rootType = text(query.rootType)?.toUpperCase() as 'V2G' | 'MO' | 'OEM' | undefined;
      const { roots } = await requestSubjectReply(bus, rcp.list, { ...(rootType ? { rootType } : {}) });
      return { status: 200, body: { RootCertificateCollection: { rootCertificates: roots.map(opcpRoot) } } };
    },
  },
  getRootCert: {
    roles: ALL_ROLES,
    async handle({ bus, params }) {
      const { root } = await requestSubjectReply(bus, rcp.get, { rootCertificateId: params.rootCertificateId });
      return { status: 200, body: { RootResponse: opcpRoot(root) } };
    },
  },
  'put-v1-root-rootCerts': {
    roles: ['admin'],
    async handle({ bus, body }) {
      const { root } = await requestSubjectReply(bus, rcp.put, { caCertificate: body.caCertificate, rootType: body.rootType });
      return { status: 200, body: { RootResponse: opcpRoot(root) } };
    },
  },
  'delete-v1-root-rootCerts-rootCertificateId': {
    roles: ['admin'],
    async handle({ bus, params }) {
      await requestSubjectReply(bus, rcp.delete, { rootCertificateId: params.rootCertificateId });
      return { status: 200 };
    },
  },
  'get-v1-root-ctl': {
    roles: ALL_ROLES,
    async handle() {
      throw new PncError('CtlNotDefined', 'Certificate Trust Lists are not yet defined for the V2G PKI (OPCP rcp.v1.json)');
    },
  },

  // ---------------------------------------------------------------- PCP (pcp.v1.json)
  addOEMProvCert: {
    roles: ['oem'],
    async handle({ bus, body }) {
      const { chain } = await requestSubjectReply(bus, pcp.put, { ...body });
      return { status: 200, body: opcpChain(chain) };
    },
  },
  getOEMProvCert: {
    roles: ['mo', 'oem', 'cps'],
    async handle({ bus, params }) {
      const { chain } = await requestSubjectReply(bus, pcp.get, { pcid: params.pcid });
      return { status: 200, body: { OEMMessage: opcpChain(chain) } };
    },
  },
  lookupVehicle: {
    roles: ['mo', 'oem', 'cps'],
    async handle({ bus, params }) {
      const { exists } = await requestSubjectReply(bus, pcp.lookup, { pcid: params.pcid });
      if (!exists) throw new PncError('VehicleNotFound', `no provisioning certificate for PCID ${params.pcid}`);
      return { status: 200 };
    },
  },
  deleteOEMProvCert: {
    roles: ['oem'],
    async handle({ bus, params }) {
      await requestSubjectReply(bus, pcp.delete, { pcid: params.pcid });
      return { status: 200 };
    },
  },

  // ---------------------------------------------------------------- CCP (ccp.v1.json)
  getSignedContractData: {
    roles: ['cpo'],
    async handle(call) {
      const { bus, body } = call;
      const answer = await requestSubjectReply(bus, ccp.installation, { certificateInstallationReq: body.certificateInstallationReq, xsdMsgDefNamespace: body.xsdMsgDefNamespace });
      if (answer.responseCode === 'OK') {
        const messageDef = {
          certificateInstallationRes: answer.certificateInstallationRes,
          ...(answer.emaid ? { emaid: answer.emaid } : {}),
          ...(body.metadata ? { metaData: body.metadata } : {}),
          ...(answer.cpsV2GRootFingerprint ? { cpsV2GRootCertificateFingerprint: fingerprintAsUuid(answer.cpsV2GRootFingerprint) } : {}),
        };
        return { status: 200, body: { CCPResponse: { emaidContent: [{ messageDef }] } } };
      }
      // OPCP: 404 always carries CCPResponse; with alwaysReturnEXI (default true) it holds the EXI
      // error response for the EV, without it an empty one (the schema allows minLength 0).
      const exi = headerFlag(call, 'alwaysReturnEXI', true) ? answer.certificateInstallationRes : '';
      return {
        status: 404,
        body: { CCPResponse: { emaidContent: [{ messageDef: { certificateInstallationRes: exi } }] }, ...errorBody([`${answer.responseCode}: ${answer.reason ?? 'no contract'}`]) },
      };
    },
  },
  addSignedContractData: {
    roles: ['cps'],
    async handle({ bus, body }) {
      const xml = Buffer.from(body.signedContractDataXML, 'base64').toString('utf8');
      const signed = readSignedContractXml(xml);
      await requestSubjectReply(bus, ccp.put, {
        contractId: createHash('sha256').update(`${body.pcid}|${emaidKey(body.emaid)}|${xml}`).digest('hex').slice(0, 32),
        pcid: body.pcid,
        emaid: body.emaid,
        xsdMsgDefNamespace: body.xsdMsgDefNamespace,
        body: signed.body,
        signature: signed.signature,
        ...(body.metadata ? { metadata: body.metadata } : {}),
      });
      return { status: 201 };
    },
  },
  deleteSignedContractData: {
    roles: ['mo'],
    async handle({ bus, params }) {
      await requestSubjectReply(bus, ccp.delete, { emaid: params.emaid });
      return { status: 200 };
    },
  },
  provideSignedContractData: {
    roles: ['oem'],
    async handle({ bus, params, query }) {
      const sessionId = text(query.sessionID);
      const answer = await requestSubjectReply(bus, ccp.provide, { pcid: params.pcid, emaid: params.emaid, ...(sessionId ? { sessionId } : {}) });
      return {
        status: 200,
        body: {
          certificateInstallationRes: answer.certificateInstallationRes,
          xsdMsgDefNamespace: answer.xsdMsgDefNamespace,
          ...(answer.cpsV2GRootFingerprint ? { cpsV2GRootCertificateFingerprint: fingerprintAsUuid(answer.cpsV2GRootFingerprint) } : {}),
        },
      };
    },
  },
  setDefaultContract: {
    roles: ['oem'],
    async handle({ bus, params }) {
      await requestSubjectReply(bus, ccp.setDefault, { pcid: params.pcid, emaid: params.emaid });
      return { status: 200 };
    },
  },
  lookupContract: {
    roles: ['oem', 'cpo', 'mo'],
    async handle({ bus, params }) {
      const { contracts } = await requestSubjectReply(bus, ccp.list, { emaid: params.emaid });
      if (contracts.length === 0) throw new PncError('ContractNotFound', `no contract for EMAID ${params.emaid}`);
      return { status: 200, body: { XMLContracts: contracts.map(opcpContract) } };
    },
  },
  getContracts: {
    roles: ['oem'],
    async handle({ bus, params }) {
      const { contracts } = await requestSubjectReply(bus, ccp.list, { pcid: params.pcid });
      return { status: 200, body: { XMLContracts: contracts.map(opcpContract) } };
    },
  },

  // ---------------------------------------------------------------- CPS (cps.v1.json), served by the partners' CPS participant
  'put-v1-cps-signContractData': {
    roles: ['mo'],
    async handle({ bus, caller, body }) {
      const data = body.contractData;
      const emaid = certificateFacts(data.contractCertificate, 'contractCertificate').commonName;
      if (!ownsEmaid(caller, emaid)) throw new PncError('Forbidden', `not allowed for EMAID ${emaid}`);
      if (!body.pcid) throw new PncError('InvalidPayload', 'pcid is required: this pool signs contracts for a vehicle');
      const subCertificates = [data.contractSubCa2Certificate, data.contractSubCa1Certificate].filter((c): c is string => Boolean(c));
      const contractId = createHash('sha256').update(`${body.pcid}|${emaidKey(emaid)}|${data.contractCertificate}`).digest('hex').slice(0, 32);
      const signed = await requestSubjectReply(bus, cps.sign, {
        contractId,
        pcid: body.pcid,
        moId: emaidKey(emaid).slice(0, 5),
        store: true,
        contractData: {
          emaid,
          contractSignatureCertChain: { certificate: data.contractCertificate, subCertificates },
          dhPublicKey: data.dHpublickey,
          contractSignatureEncryptedPrivateKey: data.contractSignatureEncryptedPrivateKey,
        },
      });
      const signer = await requestSubjectReply(bus, cps.ca, {});
      const v2gRoot = certificateFacts(signer.v2gRoot, 'CPS V2G root');
      return {
        status: 201,
        body: {
          pcid: signed.pcid,
          emaid: signed.emaid,
          xsdMsgDefNamespace: 'urn:iso:15118:2:2013:MsgDef',
          signedData: Buffer.from(signedContractXml(signed.body, signed.signature)).toString('base64'),
          cpsV2GRootCertificateFingerprint: fingerprintAsUuid(signed.cpsV2GRootFingerprint),
          cpsRootDistinguishedName: v2gRoot.distinguishedName,
        },
      };
    },
  },
  'get-cps-signer': {
    roles: ALL_ROLES,
    async handle({ bus }) {
      const signer = await requestSubjectReply(bus, cps.ca, {});
      const leaf = certificateFacts(signer.chain.certificate, 'CPS leaf');
      const root = certificateFacts(signer.v2gRoot, 'CPS V2G root');
      const [sub2, sub1] = signer.chain.subCertificates;
      return {
        status: 200,
        body: {
          cpsCertificates: [
            {
              cpsDistinguishedName: leaf.distinguishedName,
              cpsCertificate: signer.chain.certificate,
              validFrom: leaf.validFrom.toISOString(),
              validTo: leaf.validTo.toISOString(),
              organizationName: leaf.organizationName ?? leaf.commonName,
              cpsV2GRootCertificateFingerprint: fingerprintAsUuid(signer.cpsV2GRootFingerprint),
              cpsRootDistinguishedName: root.distinguishedName,
              cpsSubCa1Certificate: sub1 ?? sub2,
              ...(sub1 && sub2 ? { cpsSubCa2Certificate: sub2 } : {}),
              xsdMsgDefNamespace: 'urn:iso:15118:2:2013:MsgDef',
            },
          ],
        },
      };
    },
  },
};

/** HTTP status of a PncError code, for the OPCP `{errorMessages, traceId}` body. */
export function httpStatusOf(code: string): number {
  if (code === 'Unauthorized') return 401;
  if (code === 'Forbidden') return 403;
  if (code === 'TooManyRequests') return 429;
  if (/NotFound$/.test(code) || code === 'CtlNotDefined') return 404;
  if (code === 'Timeout' || code === 'NoResponders') return 503;
  if (code === 'CcpPutFailed') return 502;
  if (code === 'Internal' || code === 'EffectNotProvided' || code === 'BadErrorPayload') return 500;
  return 400;
}
