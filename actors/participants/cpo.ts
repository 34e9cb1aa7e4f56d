/**
 * CPO backend participant. M01/M02 Get15118EVCertificate: forwards the EV's EXI
 * CertificateInstallationReq or CertificateUpdateReq to the CCP and returns the EXI response.
 * A02/A03 SignCertificate: signs SECC CSRs with CPO Sub-CA 2. M05: serves the V2G and MO roots
 * of the RCP for chargers. C07 Authorize: validates contract chains against MO ∪ V2G roots with
 * OCSP at the issuing MO. Runs the OCSP responder of the CPO sub-CAs.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import type { ParticipantContext, ParticipantDefinition } from '../host/participant.ts';
import { cpoInterface } from '../../protocols/catalogue/cpo.ts';
import { PncError } from '../../protocols/errors.ts';
import { decodeExi } from '../../protocols/exi/index.ts';
import { issueFromCsr } from '../../protocols/pki/index.ts';
import { buildOcspRequest, certificateHashData, ocspRevocationChecker } from '../../protocols/pki/ocsp.ts';
import { issueCsmsLeaf, makeCsmsRoot, type CsmsAuthority } from '../../protocols/pki/csms.ts';
import { statusInfoOf } from '../../protocols/ocpp/status-info.ts';
import { failureOf, type Failure } from '../../statecharts/retry.ts';
import type { Store, StoredDoc } from '../store/store.ts';
import { asIssuer, ocspUrlOf, derOf, loadOrMakeAuthorities, makeAuthority, requestSubCa1, queueServer, certificateOf, processKek } from './authority.ts';
import { recordIssuance, recordSuperseded } from './issuance-log.ts';
import { exportPkcs8, importPkcs8 } from '../../protocols/pki/keys.ts';
import type { KeyEncryptionKey, SealedKey } from '../host/kek.ts';
import { certificatesOfPem, emaidVerdict, hashDataAuthorizer, pairingOf, verdictOfChain } from './cpo-authorize.ts';
import { StationRecords } from './cpo-stations.ts';

interface InstallationInput {
  /** Base64 EXI of the whole V2G_Message (header + body). */
  readonly exiRequest: string;
  readonly iso15118SchemaVersion: string;
}
import { busOcspTransport, Revocations, serveOcsp } from './revocation.ts';
import { RootPool } from './roots.ts';
import { poolAccessOf } from './pool-access.ts';
import { unsubscribeAll } from '../bus/bus.ts';
import { moInterface } from '../../protocols/catalogue/mo.ts';

const MSGDEF_ISO2 = 'urn:iso:15118:2:2013:MsgDef';

const pemOf = (certificate: x509.X509Certificate): string => certificate.toString('pem');

interface CsmsRootDoc extends StoredDoc {
  /** DER, base64. */
  readonly certificate: string;
  /** PKCS#8 DER sealed under the host's key-encryption key, like every CA key at rest. */
  readonly sealedKey: SealedKey;
}

const CSMS_ROOT_LABEL = 'cpo/csms-root';

/** Security profile 3: the CSMS root the CPO runs, made once and kept (sealed) in its store. */
async function loadOrMakeCsmsRoot(store: Store, organization: string, kek: KeyEncryptionKey): Promise<CsmsAuthority> {
  const collection = store.collection<CsmsRootDoc>('cpo.csms');
  let doc = await collection.get('root');
  if (!doc) {
    const made = await makeCsmsRoot(organization);
    await recordIssuance(store, 'cpo', 'csmsRoot', made.certificate);
    try {
      doc = await collection.insert({ _id: 'root', certificate: derOf(made.certificate), sealedKey: kek.seal(await exportPkcs8(made.privateKey), CSMS_ROOT_LABEL) });
    } catch (error) {
      if (!PncError.is(error, 'DuplicateKey')) throw error;
      doc = (await collection.get('root'))!;
      await recordSuperseded(store, 'cpo', made.certificate, certificateOf(doc.certificate));
    }
  }
  return { certificate: certificateOf(doc.certificate), privateKey: await importPkcs8(kek.open(doc.sealedKey, CSMS_ROOT_LABEL)) };
}

const csrInvalid = (error: unknown) => new PncError('CsrInvalid', error instanceof Error ? error.message : String(error), { cause: error });

async function startCpo({ bus, store, log, config, kek }: ParticipantContext) {
  const organization = config.organization ?? 'Open Plug&Charge CPO';
  const { sub1, sub2 } = await loadOrMakeAuthorities({ store, kek }, 'cpo', async () => {
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
  const pools = poolAccessOf(bus, config);
  const rootPool = await new RootPool(bus, pools.roots).start();
  const csmsRoot = await loadOrMakeCsmsRoot(store, organization, kek ?? processKek);
  const stations = await new StationRecords(store).start();
  const authorizeHashData = hashDataAuthorizer(ocspTransport, config.ocspBaseUrl);

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

  /**
   * M02 (Get15118EVCertificate, action Update): the CCP answers a CertificateUpdateReq with a
   * CertificateUpdateRes, a FAILED_* one included; Accepted means an EXI response is there for the EV
   * (OCPP 2.0.1 Iso15118EVCertificateStatusEnumType), so the EV learns the ISO ResponseCode.
   */
  const update = async (input: InstallationInput) => {
    try {
      if (input.iso15118SchemaVersion !== MSGDEF_ISO2) throw new PncError('UnsupportedNamespace', `only ${MSGDEF_ISO2} is supported`);
      const { certificateUpdateRes } = await pools.contractInstallation.update({ certificateUpdateReq: input.exiRequest, xsdMsgDefNamespace: input.iso15118SchemaVersion });
      return { status: 'Accepted' as const, exiResponse: certificateUpdateRes };
    } catch (error) {
      return { status: 'Failed' as const, statusInfo: statusInfoOf(failureOf(error)), exiResponse: '' };
    }
  };

  const subscriptions = await Promise.all([
    // A contract the MO terminated or revoked must not stay Accepted from a remembered OCSP answer.
    bus.subscribe(moInterface.events.contractChanged.subject, () => authorizeHashData.forget()),
    serve(cpoInterface.requests.installContract, async ({ exiRequest, iso15118SchemaVersion, action }) => {
      if (action === 'Update') return update({ exiRequest, iso15118SchemaVersion });
      const outcome = await install({ exiRequest, iso15118SchemaVersion });
      if (outcome.exiResponse) return { status: 'Accepted' as const, exiResponse: outcome.exiResponse };
      return { status: 'Failed' as const, statusInfo: statusInfoOf(outcome.failure ?? { code: 'Internal', message: 'the installation ended without a response' }), exiResponse: '' };
    }),
    serve(cpoInterface.requests.signSeccCsr, async ({ csr, certificateType, stationId }) => {
      const request = csr.includes('-----BEGIN') ? csr : Buffer.from(csr, 'base64');
      if (certificateType === 'ChargingStationCertificate') {
        // A02: the station's client certificate for security profile 3, CN = its authenticated identity.
        if (!stationId) throw new PncError('CsrNotAllowed', 'a ChargingStationCertificate is signed only for an authenticated station id');
        const station = await issueCsmsLeaf({ kind: 'station', issuer: csmsRoot, csr: request, commonName: stationId, organization }).catch((error: unknown) => { throw csrInvalid(error); });
        await recordIssuance(store, 'cpo', 'csmsStation', station);
        return { certificateChain: pemOf(station), chain: { certificate: derOf(station), subCertificates: [] } };
      }
      let leaf: x509.X509Certificate;
      try {
        leaf = await issueFromCsr({ role: 'secc', csr: request, issuer: sub2 });
      } catch (error) {
        throw csrInvalid(error);
      }
      await recordIssuance(store, 'cpo', 'secc', leaf);
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
      return { certificateStatus: pairingOf(verdictOfChain(verdict)).certificateStatus ?? 'CertChainError', ...(emaid ? { emaid } : {}), reason: verdict.reason };
    }),
    // C07: one path decides. A chain is judged as a chain (C07.FR.06); hash data alone by OCSP (C07.FR.01/02).
    serve(cpoInterface.requests.authorize, async ({ stationId, idToken, certificate, iso15118CertificateHashData }) => {
      let verdict;
      if (idToken.type !== 'eMAID') verdict = 'NoCertificate' as const;
      else if (certificate !== undefined) {
        const chain = certificatesOfPem(certificate);
        let chainVerdict = chain.length === 0 ? 'NoCertificate' as const : verdictOfChain(await rootPool.validate(chain, 'contract', { revocation: contractRevocation }));
        // The chain check says revoked but not why: the leaf's responder tells Cancelled (cessationOfOperation) from Revoked, as on the hash-data path.
        if (chainVerdict === 'Revoked') chainVerdict = await authorizeHashData(certificateHashData(chain).slice(0, 1)).then((leaf) => (leaf === 'Cancelled' ? leaf : chainVerdict), () => chainVerdict);
        verdict = chainVerdict === 'Valid' ? emaidVerdict(chain, idToken.idToken) ?? chainVerdict : chainVerdict;
      } else if (iso15118CertificateHashData) verdict = await authorizeHashData(iso15118CertificateHashData);
      else verdict = 'NoCertificate' as const;
      const { idTokenStatus, certificateStatus } = pairingOf(verdict);
      // Kept before answering, so the TransactionEvent that follows finds it (E03 idTokenInfo).
      await stations.rememberAuthorization(stationId, idToken.idToken, idTokenStatus);
      return { idTokenInfo: { status: idTokenStatus }, ...(certificateStatus ? { certificateStatus } : {}) };
    }),
    serve(cpoInterface.requests.csmsCa, () => ({ certificate: pemOf(csmsRoot.certificate) })),
    serve(cpoInterface.requests.signCsmsServer, async ({ csr, hosts }) => {
      const server = await issueCsmsLeaf({ kind: 'server', issuer: csmsRoot, csr, commonName: hosts[0], hosts, organization }).catch((error: unknown) => { throw csrInvalid(error); });
      await recordIssuance(store, 'cpo', 'csmsServer', server);
      return { certificateChain: pemOf(server) };
    }),
    serve(cpoInterface.requests.boot, (request) => stations.boot(request)),
    serve(cpoInterface.requests.station, (request) => stations.station(request)),
    serve(cpoInterface.requests.report, (request) => stations.report(request)),
    serve(cpoInterface.requests.transactionEvent, (request) => stations.transactionEvent(request)),
    serve(cpoInterface.requests.transactions, (request) => stations.transactions(request)),
    // M06 GetCertificateStatus: the station's hash data becomes an OCSP request to the named responder.
    serve(cpoInterface.requests.certificateStatus, async ({ ocspRequestData: { responderURL, ...hashData } }) => {
      try {
        const request = buildOcspRequest({ hashData });
        const response = await ocspTransport(request.der, responderURL);
        return { status: 'Accepted' as const, ocspResult: Buffer.from(response).toString('base64') };
      } catch (error) {
        const failure = error instanceof PncError ? error : new PncError('OcspUnavailable', error instanceof Error ? error.message : String(error));
        return { status: 'Failed' as const, statusInfo: statusInfoOf(failure) };
      }
    }),
    serveOcsp(bus, 'cpo', sub2, revocations, config.ocspHttpPort, log),
  ]);
  return { stop: async () => { await unsubscribeAll(subscriptions); await rootPool.stop(); } };
}

export const cpoParticipant: ParticipantDefinition = {
  name: 'cpo',
  summary: 'CPO backend: contract installation and update via the CCP (M01/M02), SECC certificates (A02/A03), roots (M05), contract validation (C07)',
  start: startCpo,
};
