/**
 * CPO backend: forwards an EV's CertificateInstallationReq to the CCP (OCPP 2.0.1 M01
 * Get15118EVCertificate), signs SECC CSRs with CPO Sub-CA 2 (A02/A03 SignCertificate →
 * CertificateSigned), serves the V2G and MO roots for chargers (M05 InstallCertificate),
 * validates contract chains with OCSP (C07 Authorize) and relays OCSP (M06 GetCertificateStatus).
 */
import { z } from 'zod';
import { participantInterface, requestSubject, REQUEST_BYTES } from './define.ts';
import { base64, certificateChain, ocspSubject } from './fields.ts';

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
      summary: 'M01 Get15118EVCertificate: forward the EXI CertificateInstallationReq to the CCP and return its EXI response',
      request: z.object({
        iso15118SchemaVersion: z.string().max(50).default('urn:iso:15118:2:2013:MsgDef'),
        action: z.enum(['Install', 'Update']).default('Install'),
        exiRequest: base64.min(4).max(5600),
      }),
      reply: z.object({
        status: z.enum(['Accepted', 'Failed']),
        statusInfo: z.object({ reasonCode: z.string().max(20), additionalInfo: z.string().max(512).optional() }).optional(),
        exiResponse: z.string().max(7500),
      }),
      errors: [] as const,
    }),
    signSeccCsr: requestSubject({
      subject: 'cpo.secc.sign',
      maxRequestBytes: REQUEST_BYTES.certificates,
      summary: 'A02/A03: sign a SECC CSR (PEM or base64 DER) with CPO Sub-CA 2; returns the PEM chain leaf, Sub-CA 2, Sub-CA 1',
      request: z.object({ csr: z.string().min(16).max(5500), certificateType: z.enum(['V2GCertificate', 'ChargingStationCertificate']).default('V2GCertificate') }),
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
      reply: z.object({ status: z.enum(['Accepted', 'Failed']), ocspResult: z.string().max(5500).optional(), statusInfo: z.object({ reasonCode: z.string(), additionalInfo: z.string().optional() }).optional() }),
      errors: [] as const,
    }),
    ocsp: ocspSubject('cpo'),
  },
});
