/**
 * V2G root CA: the trust anchor of ISO 15118-2. It issues the Sub-CA 1 certificates of the
 * CPO and CPS domains from their CSRs, revokes them, and answers OCSP for what it issued.
 */
import { z } from 'zod';
import { participantInterface, requestSubject, REQUEST_BYTES } from './define.ts';
import { base64, caCertificateSubject, certificateDer, hex, ocspSubject } from './fields.ts';

export const v2gRootInterface = participantInterface({
  participant: 'v2g-root',
  summary: 'V2G root CA: issues CPO and CPS Sub-CA 1 certificates, revokes them, serves OCSP',
  requests: {
    ca: caCertificateSubject('v2g-root', 'V2G root'),
    issueSubCa: requestSubject({
      subject: 'v2g-root.subca.issue',
      maxRequestBytes: REQUEST_BYTES.certificates,
      summary: 'issue a CPO or CPS Sub-CA 1 certificate from a PKCS#10 CSR (DER, base64)',
      request: z.object({ domain: z.enum(['cpo', 'cps']), csr: base64.min(16) }),
      reply: z.object({ certificate: certificateDer }),
      errors: ['CsrInvalid'] as const,
    }),
    revoke: requestSubject({
      subject: 'v2g-root.revoke',
      summary: 'revoke a certificate this CA issued (serial as lowercase hex)',
      request: z.object({ serialNumber: hex.min(2), reason: z.string().max(64).optional() }),
      reply: z.object({ serialNumber: hex, revokedAt: z.string() }),
      errors: ['UnknownCertificate'] as const,
    }),
    ocsp: ocspSubject('v2g-root'),
  },
});
