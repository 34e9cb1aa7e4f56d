/**
 * V2G root CA participant: holds the V2G root, issues CPO and CPS Sub-CA 1 certificates from
 * CSRs (statecharts/v2g-root.ts), revokes what it issued and answers OCSP for it.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import type { StoredDoc } from '../store/store.ts';
import { normalizeSerialNumber } from '../../protocols/pki/ocsp.ts';
import type { ParticipantDefinition } from '../host/participant.ts';
import { v2gRootInterface } from '../../protocols/catalogue/v2g-root.ts';
import { PncError } from '../../protocols/errors.ts';
import { issueFromCsr } from '../../protocols/pki/issue.ts';
/** A domain Sub-CA 1 request: the domain and its PKCS#10 DER, base64. */
interface SubCaInput {
  readonly domain: 'cpo' | 'cps';
  readonly csr: string;
}
import { derOf, loadOrMakeAuthorities, makeAuthority, ocspUrlOf, queueServer } from './authority.ts';
import { recordIssuance } from './issuance-log.ts';
import { Revocations, serveOcsp } from './revocation.ts';
import { unsubscribeAll } from '../bus/bus.ts';
import { callerOf } from '../bus/identity.ts';
import { requireRole } from '../../protocols/catalogue/caller.ts';

/** A Sub-CA 1 certificate this CA issued; only those can be revoked here. */
interface IssuedDoc extends StoredDoc {
  readonly domain: 'cpo' | 'cps';
  readonly subject: string;
  readonly issuedAt: string;
}

export const v2gRootParticipant: ParticipantDefinition = {
  name: 'v2g-root',
  summary: 'V2G root CA: issues CPO and CPS Sub-CA 1 certificates, revokes, serves OCSP',
  async start({ bus, store, config, log, kek }) {
    const organization = config.organization ?? 'Open Plug&Charge';
    const { root } = await loadOrMakeAuthorities({ store, kek }, 'v2g-root', async () => ({
      root: { ...(await makeAuthority({ role: 'v2gRoot', subject: { commonName: config.commonName ?? 'V2G Root CA', organization, country: 'DE' } })), ocspUrl: ocspUrlOf('v2g-root', config.ocspBaseUrl) },
    }));
    const revocations = new Revocations(store, 'v2g-root');
    const serve = queueServer(bus, 'v2g-root');
    const issued = store.collection<IssuedDoc>('v2g-root.issued');
    // Sub-CA issuance answers at once and keeps nothing in flight: a plain function, not a machine (issue 9).
    const subCa = {
        checkCsr: async (input: SubCaInput) => {
          let csr: x509.Pkcs10CertificateRequest;
          try {
            csr = new x509.Pkcs10CertificateRequest(Buffer.from(input.csr, 'base64'));
          } catch (error) {
            throw new PncError('CsrInvalid', `not a PKCS#10 request: ${error instanceof Error ? error.message : String(error)}`);
          }
          if (!(await csr.verify().catch(() => false))) throw new PncError('CsrInvalid', 'the CSR signature does not verify');
          if (!csr.subjectName.getField('CN')[0]) throw new PncError('CsrInvalid', 'the CSR subject has no common name');
        },
        issueSubCa: async (input: SubCaInput) => {
          try {
            const role = input.domain === 'cpo' ? 'cpoSubCa1' : 'cpsSubCa1';
            const certificate = await issueFromCsr({ role, csr: Buffer.from(input.csr, 'base64'), issuer: root });
            await recordIssuance(store, 'v2g-root', role, certificate);
            await issued.insert({ _id: normalizeSerialNumber(certificate.serialNumber), domain: input.domain, subject: certificate.subject, issuedAt: new Date().toISOString() });
            return derOf(certificate);
          } catch (error) {
            throw new PncError('CsrInvalid', error instanceof Error ? error.message : String(error), { cause: error });
          }
        },
    };
    const subscriptions = await Promise.all([
      serve(v2gRootInterface.requests.ca, () => ({ certificates: [derOf(root.certificate)] })),
      serve(v2gRootInterface.requests.issueSubCa, async (request, delivery) => {
        // [S1] a domain's Sub-CA 1 only for that domain's own authenticated participant.
        requireRole(callerOf(delivery), request.domain);
        await subCa.checkCsr(request);
        const certificate = await subCa.issueSubCa(request);
        log.info('subca.issued', { domain: request.domain });
        return { certificate };
      }),
      serve(v2gRootInterface.requests.revoke, async ({ serialNumber }, delivery) => {
        requireRole(callerOf(delivery), 'admin');
        if (!(await issued.get(normalizeSerialNumber(serialNumber)))) throw new PncError('UnknownCertificate', `this CA issued no certificate with serial ${serialNumber}`);
        return revocations.revoke(serialNumber, 'cACompromise');
      }),
      serveOcsp(bus, 'v2g-root', root, revocations, config.ocspHttpPort, log),
    ]);
    return { stop: async () => { await unsubscribeAll(subscriptions); } };
  },
};
