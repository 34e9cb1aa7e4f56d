/**
 * CPO backend: forwards an EV's CertificateInstallationReq to the CCP (OCPP 2.0.1 M01
 * Get15118EVCertificate), signs SECC CSRs with CPO Sub-CA 2 (A02/A03 SignCertificate →
 * CertificateSigned), serves the V2G and MO roots for chargers (M05 InstallCertificate),
 * validates contract chains with OCSP (C07 Authorize) and relays OCSP (M06 GetCertificateStatus).
 */
import { z } from 'zod';
import { participantInterface, requestSubject, REQUEST_BYTES } from './define.ts';
import { base64, certificateChain, ocspSubject } from './fields.ts';
import { AUTHORIZATION_STATUSES, AUTHORIZE_CERTIFICATE_STATUSES } from '../ocpp/authorization.ts';

/** The identity a station authenticated with at the CSMS edge (security profile 2 or 3); never taken from an OCPP body. */
export const stationId = z.string().min(1).max(48);

/** OCPP 2.0.1 IdTokenType. */
export const idToken = z.object({
  idToken: z.string().max(36),
  type: z.enum(['Central', 'eMAID', 'ISO14443', 'ISO15693', 'KeyCode', 'Local', 'MacAddress', 'NoAuthorization']),
  additionalInfo: z.array(z.object({ additionalIdToken: z.string().max(36), type: z.string().max(50) })).min(1).optional(),
});

/** OCPP 2.0.1 StatusInfoType: reasonCode ≤ 20 characters, so codes are OCPP words, never cut PncError codes. */
export const statusInfo = z.object({ reasonCode: z.string().max(20), additionalInfo: z.string().max(512).optional() });

/** An OCPP payload the edge has validated against the OCA schema; the CPO stores it as it came. */
const ocppRecord = z.record(z.string(), z.unknown());

export const ocspRequestData = z.object({
  hashAlgorithm: z.enum(['SHA256', 'SHA384', 'SHA512']),
  issuerNameHash: z.string().max(128),
  issuerKeyHash: z.string().max(128),
  serialNumber: z.string().max(40),
  responderURL: z.string().max(512),
});

export const cpoInterface = participantInterface({
  participant: 'cpo',
  summary: 'CPO backend: contract installation via the CCP, SECC certificates, roots for chargers, contract validation',
  requests: {
    installContract: requestSubject({
      subject: 'cpo.certificate.install',
      maxRequestBytes: REQUEST_BYTES.exi,
      summary: 'M01/M02 Get15118EVCertificate: forward the EXI CertificateInstallationReq (Install) or CertificateUpdateReq (Update) to the CCP and return its EXI response; an Update is Accepted with a FAILED_* CertificateUpdateRes too',
      request: z.object({
        iso15118SchemaVersion: z.string().max(50).default('urn:iso:15118:2:2013:MsgDef'),
        action: z.enum(['Install', 'Update']).default('Install'),
        exiRequest: base64.min(4).max(5600),
      }),
      reply: z.object({
        status: z.enum(['Accepted', 'Failed']),
        statusInfo: statusInfo.optional(),
        exiResponse: z.string().max(7500),
      }),
      errors: [] as const,
    }),
    signSeccCsr: requestSubject({
      subject: 'cpo.secc.sign',
      maxRequestBytes: REQUEST_BYTES.certificates,
      summary: 'A02/A03: sign a CSR (PEM or base64 DER): V2GCertificate with CPO Sub-CA 2 (PEM chain leaf, Sub-CA 2, Sub-CA 1); ChargingStationCertificate with the CSMS root, its CN the authenticated stationId',
      request: z.object({ csr: z.string().min(16).max(5500), certificateType: z.enum(['V2GCertificate', 'ChargingStationCertificate']).default('V2GCertificate'), stationId: stationId.optional() }),
      reply: z.object({ certificateChain: z.string().max(10000), chain: certificateChain }),
      errors: ['CsrInvalid', 'CsrNotAllowed'] as const,
    }),
    roots: requestSubject({
      subject: 'cpo.roots.get',
      summary: 'M05: the V2G and MO root certificates to install on chargers (from the RCP)',
      request: z.object({ type: z.enum(['V2GRootCertificate', 'MORootCertificate']).optional() }),
      reply: z.object({ roots: z.array(z.object({ certificateType: z.enum(['V2GRootCertificate', 'MORootCertificate']), certificate: z.string() })) }),
      errors: ['PoolUnavailable'] as const,
    }),
    validateContract: requestSubject({
      subject: 'cpo.contract.validate',
      maxRequestBytes: REQUEST_BYTES.certificates,
      summary: 'C07: validate a contract chain (PEM leaf first) against MO ∪ V2G roots with OCSP',
      request: z.object({ certificate: z.string().min(16).max(5500) }),
      reply: z.object({
        certificateStatus: z.enum(['Accepted', 'SignatureError', 'CertificateExpired', 'CertificateRevoked', 'NoCertificateAvailable', 'CertChainError', 'ContractCancelled']),
        emaid: z.string().optional(),
        reason: z.string().optional(),
      }),
      errors: [] as const,
    }),
    certificateStatus: requestSubject({
      subject: 'cpo.certificate.status',
      summary: 'M06 GetCertificateStatus: fetch the OCSP response for a certificate from its CA participant',
      request: z.object({ ocspRequestData }),
      reply: z.object({ status: z.enum(['Accepted', 'Failed']), ocspResult: z.string().max(5500).optional(), statusInfo: statusInfo.optional() }),
      errors: [] as const,
    }),
    authorize: requestSubject({
      subject: 'cpo.contract.authorize',
      summary: 'C07 Authorize: an eMAID with iso15118CertificateHashData (OCSP at each responder) or with the PEM contract chain; idTokenInfo.status and certificateStatus paired by one table (protocols/ocpp/authorization.ts)',
      request: z.object({
        stationId,
        idToken,
        certificate: z.string().max(5500).optional(),
        iso15118CertificateHashData: z.array(ocspRequestData).min(1).max(4).optional(),
      }),
      reply: z.object({
        idTokenInfo: z.object({ status: z.enum(AUTHORIZATION_STATUSES) }),
        certificateStatus: z.enum(AUTHORIZE_CERTIFICATE_STATUSES).optional(),
      }),
      errors: [] as const,
    }),
    csmsCa: requestSubject({
      subject: 'cpo.csms.ca',
      summary: 'security profile 3: the CSMS root (PEM) under which stations and the CSMS edge hold TLS certificates',
      request: z.object({}),
      reply: z.object({ certificate: z.string() }),
      errors: [] as const,
    }),
    signCsmsServer: requestSubject({
      subject: 'cpo.csms.server.sign',
      summary: 'security profile 2/3: sign the CSMS edge\'s TLS server CSR (PEM) with the CSMS root for the given host names',
      request: z.object({ csr: z.string().min(16).max(5500), hosts: z.array(z.string().min(1).max(253)).min(1).max(16) }),
      reply: z.object({ certificateChain: z.string().max(10000) }),
      errors: ['CsrInvalid'] as const,
    }),
    boot: requestSubject({
      subject: 'cpo.station.boot',
      summary: 'B01 BootNotification of an authenticated station: Accepted with the heartbeat interval, or Rejected',
      request: z.object({ stationId, reason: z.string().max(30), chargingStation: ocppRecord }),
      reply: z.object({ status: z.enum(['Accepted', 'Pending', 'Rejected']), interval: z.number().int().min(1), statusInfo: statusInfo.optional() }),
      errors: [] as const,
    }),
    station: requestSubject({
      subject: 'cpo.station.get',
      summary: 'B02: whether a station has an accepted BootNotification on record (a station reconnecting after a network cut or a CSMS restart does not boot again)',
      request: z.object({ stationId }),
      reply: z.object({ accepted: z.boolean() }),
      errors: [] as const,
    }),
    report: requestSubject({
      subject: 'cpo.station.report',
      summary: 'G01 StatusNotification, J01 MeterValues, N07 NotifyEvent of an authenticated station, kept per station',
      request: z.object({ stationId, kind: z.enum(['StatusNotification', 'MeterValues', 'NotifyEvent']), payload: ocppRecord }),
      reply: z.object({}),
      errors: [] as const,
    }),
    transactionEvent: requestSubject({
      subject: 'cpo.transaction.event',
      summary: 'E01–E15 TransactionEvent of an authenticated station: kept once per (station, transactionId, seqNo); a repeat after a lost answer is answered again, not stored again',
      request: z.object({
        stationId,
        eventType: z.enum(['Started', 'Updated', 'Ended']),
        seqNo: z.number().int().min(0),
        transactionId: z.string().min(1).max(36),
        timestamp: z.string(),
        triggerReason: z.string().max(30),
        idToken: idToken.optional(),
        event: ocppRecord,
      }),
      reply: z.object({ duplicate: z.boolean(), idTokenInfo: z.object({ status: z.enum(AUTHORIZATION_STATUSES) }).optional() }),
      errors: [] as const,
    }),
    transactions: requestSubject({
      subject: 'cpo.transaction.list',
      summary: 'the TransactionEvents the CPO kept for one station, in (transactionId, seqNo) order',
      request: z.object({ stationId, transactionId: z.string().max(36).optional() }),
      reply: z.object({ events: z.array(z.object({ transactionId: z.string(), seqNo: z.number().int(), eventType: z.string(), idToken: z.string().optional(), receivedAt: z.string() })) }),
      errors: [] as const,
    }),
    ocsp: ocspSubject('cpo'),
  },
});
