/**
 * CPO backend participant. M01 Get15118EVCertificate: forwards the EV's EXI
 * CertificateInstallationReq to the CCP (statecharts/cpo.ts) and returns the EXI response.
 * A02/A03 SignCertificate: signs SECC CSRs with CPO Sub-CA 2. M05: serves the V2G and MO roots
 * of the RCP for chargers. C07 Authorize: validates contract chains against MO ∪ V2G roots with
 * OCSP at the issuing MO. Runs the OCSP responder of the CPO sub-CAs.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import type { ParticipantContext, ParticipantDefinition } from '../host/participant.ts';
import type { Caller } from '../../protocols/catalogue/caller.ts';
import { cpoInterface } from '../../protocols/catalogue/cpo.ts';
import { PncError } from '../../protocols/errors.ts';
import { decodeExi } from '../../protocols/exi/index.ts';
import { issueFromCsr } from '../../protocols/pki/index.ts';
import { buildOcspRequest, ocspRevocationChecker } from '../../protocols/pki/ocsp.ts';
import { failureOf, type Failure } from '../../statecharts/retry.ts';

interface InstallationInput {
  /** Base64 EXI of the whole V2G_Message (header + body). */
  readonly exiRequest: string;
  readonly iso15118SchemaVersion: string;
}
import { asIssuer, ocspUrlOf, derOf, loadOrMakeAuthorities, makeAuthority, requestSubCa1, queueServer } from './authority.ts';
import { busOcspTransport, Revocations, serveOcsp } from './revocation.ts';
import { RootPool } from './roots.ts';
import { poolAccessOf } from './pool-access.ts';
import { unsubscribeAll } from '../bus/bus.ts';

const MSGDEF_ISO2 = 'urn:iso:15118:2:2013:MsgDef';

const pemOf = (certificate: x509.X509Certificate): string => certificate.toString('pem');

/** Splits a PEM bundle into certificates, leaf first. */
function certificatesOfPem(pem: string): x509.X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new x509.X509Certificate(block));
}

/** C07: chain verdict → OCPP AuthorizeCertificateStatusEnumType. */
function authorizeStatusOf(iso15118: string): 'Accepted' | 'CertificateExpired' | 'CertificateRevoked' | 'NoCertificateAvailable' | 'CertChainError' {
  switch (iso15118) {
    case 'OK': return 'Accepted';
    case 'FAILED_CertificateExpired': return 'CertificateExpired';
    case 'FAILED_CertificateRevoked': return 'CertificateRevoked';
    case 'FAILED_NoCertificateAvailable': return 'NoCertificateAvailable';
    default: return 'CertChainError';
  }
}

async function startCpo({ bus, store, config }: ParticipantContext) {
  const organization = config.organization ?? 'Open Plug&Charge CPO';
  const caller: Caller = { role: 'cpo', prefixes: [] };
  const { sub1, sub2 } = await loadOrMakeAuthorities(store, 'cpo', async () => {
    const sub1 = await requestSubCa1(bus, 'cpo', { commonName: 'CPO Sub-CA 1', organization });
    const sub2 = { ...(await makeAuthority({ role: 'cpoSubCa2', subject: { commonName: 'CPO Sub-CA 2', organization }, issuer: asIssuer(sub1) })), ocspUrl: ocspUrlOf('cpo', config.ocspBaseUrl) };
    return { sub1, sub2 };
  });
  const revocations = new Revocations(store, 'cpo');
  const serve = queueServer(bus, 'cpo');
  // C07: OCSP at the responder each certificate names, over the bus.
  const ocspTransport = busOcspTransport(bus);
  const contractRevocation = ocspRevocationChecker(ocspTransport);
  // M01 over our CCP's bus subject, or over `POST /v1/ccp/signedContractData` of an external OPCP endpoint.
  const pools = poolAccessOf(bus, caller, config);
  const rootPool = await new RootPool(bus, pools.roots).start();

  // M01 answers at once and keeps nothing in flight: plain functions, not a machine (issue 9).
  const installation = {
      checkRequest: async (input: InstallationInput) => {
        if (input.iso15118SchemaVersion !== MSGDEF_ISO2) throw new PncError('UnsupportedNamespace', `only ${MSGDEF_ISO2} is supported`);
        const { document } = decodeExi('iso2', Buffer.from(input.exiRequest, 'base64'));
        const request = (document as { V2G_Message?: { Body?: { CertificateInstallationReq?: { OEMProvisioningCert?: string } } } }).V2G_Message?.Body?.CertificateInstallationReq;
        if (!request?.OEMProvisioningCert) throw new PncError('ExiInvalid', 'the EXI request is not a CertificateInstallationReq');
        let provisioning: x509.X509Certificate;
        try {
          provisioning = new x509.X509Certificate(Buffer.from(request.OEMProvisioningCert, 'hex'));
        } catch {
          throw new PncError('ExiInvalid', 'OEMProvisioningCert is not a DER certificate');
        }
        return { pcid: provisioning.subjectName.getField('CN')[0] ?? '' };
      },
      forwardToCcp: async (input: InstallationInput) => {
        const { certificateInstallationRes } = await pools.contractInstallation.install({ certificateInstallationReq: input.exiRequest, xsdMsgDefNamespace: input.iso15118SchemaVersion });
        return { exiResponse: certificateInstallationRes };
      },
  };
  /** M01 (Get15118EVCertificate): check the EV's request, forward it to the CCP; every failure is `Failed` with an empty exiResponse (OCPP requires the field). */
  const install = async (input: InstallationInput): Promise<{ exiResponse?: string; failure?: Failure }> => {
    try {
      await installation.checkRequest(input);
      return await installation.forwardToCcp(input);
    } catch (error) {
      return { failure: failureOf(error) };
    }
  };

  const subscriptions = await Promise.all([
    serve(cpoInterface.requests.installContract, async ({ exiRequest, iso15118SchemaVersion, action }) => {
      // CertificateUpdate is not used in the market and gone in -20 (hubject/opcp#13); the CCP installs only.
      if (action === 'Update') return { status: 'Failed' as const, statusInfo: { reasonCode: 'UpdateNotSupported', additionalInfo: 'only Install is supported' }, exiResponse: '' };
      const outcome = await install({ exiRequest, iso15118SchemaVersion });
      if (outcome.exiResponse) return { status: 'Accepted' as const, exiResponse: outcome.exiResponse };
      return { status: 'Failed' as const, statusInfo: { reasonCode: (outcome.failure?.code ?? 'GenericError').slice(0, 20), additionalInfo: (outcome.failure?.message ?? '').slice(0, 512) }, exiResponse: '' };
    }),
    serve(cpoInterface.requests.signSeccCsr, async ({ csr }) => {
      let leaf: x509.X509Certificate;
      try {
        leaf = await issueFromCsr({ role: 'secc', csr: csr.includes('-----BEGIN') ? csr : Buffer.from(csr, 'base64'), issuer: sub2 });
      } catch (error) {
        throw new PncError('CsrInvalid', error instanceof Error ? error.message : String(error), { cause: error });
      }
      const chain = [leaf, sub2.certificate, sub1.certificate];
      return { certificateChain: chain.map(pemOf).join(''), chain: { certificate: derOf(leaf), subCertificates: [derOf(sub2.certificate), derOf(sub1.certificate)] } };
    }),
    serve(cpoInterface.requests.roots, async ({ type }) => {
      const roots = await rootPool.list('V2G', 'MO');
      return {
        roots: roots
          .map((root) => ({ certificateType: root.rootType === 'V2G' ? 'V2GRootCertificate' as const : 'MORootCertificate' as const, certificate: pemOf(root.certificate) }))
          .filter((root) => type === undefined || root.certificateType === type),
      };
    }),
    serve(cpoInterface.requests.validateContract, async ({ certificate }) => {
      const chain = certificatesOfPem(certificate);
      if (chain.length === 0) return { certificateStatus: 'NoCertificateAvailable' as const, reason: 'no PEM certificate given' };
      const verdict = await rootPool.validate(chain, 'contract', { revocation: contractRevocation });
      const emaid = chain[0].subjectName.getField('CN')[0];
      return { certificateStatus: authorizeStatusOf(verdict.iso15118), ...(emaid ? { emaid } : {}), reason: verdict.reason };
    }),
    // M06 GetCertificateStatus: the station's hash data becomes an OCSP request to the named responder.
    serve(cpoInterface.requests.certificateStatus, async ({ ocspRequestData: { responderURL, ...hashData } }) => {
      try {
        const request = buildOcspRequest({ hashData });
        const response = await ocspTransport(request.der, responderURL);
        return { status: 'Accepted' as const, ocspResult: Buffer.from(response).toString('base64') };
      } catch (error) {
        const failure = error instanceof PncError ? error : new PncError('OcspUnavailable', error instanceof Error ? error.message : String(error));
        return { status: 'Failed' as const, statusInfo: { reasonCode: failure.code.slice(0, 20), additionalInfo: failure.message.slice(0, 512) } };
      }
    }),
    serveOcsp(bus, 'cpo', sub2, revocations, config.ocspHttpPort),
  ]);
  return { stop: async () => { await unsubscribeAll(subscriptions); await rootPool.stop(); } };
}

export const cpoParticipant: ParticipantDefinition = {
  name: 'cpo',
  summary: 'CPO backend: contract installation via the CCP (M01), SECC certificates (A02/A03), roots (M05), contract validation (C07)',
  start: startCpo,
};
