/**
 * V2G root CA participant: holds the V2G root, issues CPO and CPS Sub-CA 1 certificates from
 * CSRs (statecharts/v2g-root.ts), revokes what it issued and answers OCSP for it.
 */
import { createActor, fromPromise, toPromise } from 'xstate';
import type { ParticipantDefinition } from '../host/participant.ts';
import { v2gRootInterface } from '../../protocols/catalogue/v2g-root.ts';
import { PncError } from '../../protocols/errors.ts';
import { issueFromCsr } from '../../protocols/pki/issue.ts';
import { subCaMachine } from '../../statecharts/v2g-root.ts';
import { derOf, loadOrMakeAuthorities, makeAuthority, ocspUrlOf, queueServer } from './authority.ts';
import { Revocations, serveOcsp } from './revocation.ts';

export const v2gRootParticipant: ParticipantDefinition = {
  name: 'v2g-root',
  summary: 'V2G root CA: issues CPO and CPS Sub-CA 1 certificates, revokes, serves OCSP',
  async start({ bus, store, config, log }) {
    const organization = config.organization ?? 'Open Plug&Charge';
    const { root } = await loadOrMakeAuthorities(store, 'v2g-root', async () => ({
      root: { ...(await makeAuthority({ role: 'v2gRoot', subject: { commonName: config.commonName ?? 'V2G Root CA', organization, country: 'DE' } })), ocspUrl: ocspUrlOf('v2g-root', config.ocspBaseUrl) },
    }));
    const revocations = new Revocations(store, 'v2g-root');
  const serve = queueServer(bus, 'v2g-root');
    const subCa = subCaMachine.provide({
      actors: {
        checkCsr: fromPromise(async ({ input }) => {
          if (!input.csr) throw new PncError('CsrInvalid', 'empty CSR');
        }),
        issueSubCa: fromPromise(async ({ input }) => {
          try {
            const certificate = await issueFromCsr({ role: input.domain === 'cpo' ? 'cpoSubCa1' : 'cpsSubCa1', csr: Buffer.from(input.csr, 'base64'), issuer: root });
            return derOf(certificate);
          } catch (error) {
            throw new PncError('CsrInvalid', error instanceof Error ? error.message : String(error), { cause: error });
          }
        }),
      },
    });
    const subscriptions = await Promise.all([
      serve(v2gRootInterface.requests.ca, () => ({ certificates: [derOf(root.certificate)] })),
      serve(v2gRootInterface.requests.issueSubCa, async (request) => {
        const outcome = await toPromise(createActor(subCa, { input: request }).start());
        if (!outcome.certificate) throw new PncError(outcome.failure?.code ?? 'CsrInvalid', outcome.failure?.message ?? 'not issued');
        log.info('subca.issued', { domain: request.domain });
        return { certificate: outcome.certificate };
      }),
      serve(v2gRootInterface.requests.revoke, ({ serialNumber }) => revocations.revoke(serialNumber, 'cACompromise')),
      serveOcsp(bus, 'v2g-root', root, revocations, config.ocspHttpPort),
    ]);
    return { stop: async () => { await Promise.all(subscriptions.map((s) => s.unsubscribe())); } };
  },
};
