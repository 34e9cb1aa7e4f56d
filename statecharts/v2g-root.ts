/**
 * V2G root CA: issuing a domain Sub-CA 1 (CPO or CPS) from a CSR. The CSR is checked (signature,
 * subject), then the certificate is issued under the root; a bad CSR is rejected with its code.
 */
import { assign, setup } from 'xstate';
import { effect, failureOf, type Failure } from './effect.ts';

export interface SubCaInput {
  readonly domain: 'cpo' | 'cps';
  /** PKCS#10 DER, base64. */
  readonly csr: string;
}

export interface SubCaContext extends SubCaInput {
  certificate?: string;
  failure?: Failure;
}

export const subCaMachine = setup({
  types: { context: {} as SubCaContext, input: {} as SubCaInput, output: {} as SubCaContext },
  actions: {
    recordFailure: assign({ failure: ({ event }) => failureOf((event as { error?: unknown }).error) }),
  },
  actors: {
    checkCsr: effect<void, SubCaInput>('checkCsr'),
    issueSubCa: effect<string, SubCaInput>('issueSubCa'),
  },
}).createMachine({
  id: 'v2g-root-subca',
  context: ({ input }) => ({ ...input }),
  initial: 'checking',
  states: {
    checking: {
      invoke: {
        src: 'checkCsr',
        input: ({ context }) => ({ domain: context.domain, csr: context.csr }),
        onDone: 'issuing',
        onError: { target: 'rejected', actions: 'recordFailure' },
      },
    },
    issuing: {
      invoke: {
        src: 'issueSubCa',
        input: ({ context }) => ({ domain: context.domain, csr: context.csr }),
        onDone: { target: 'issued', actions: assign({ certificate: ({ event }) => event.output }) },
        onError: { target: 'rejected', actions: 'recordFailure' },
      },
    },
    issued: { type: 'final' },
    rejected: { type: 'final' },
  },
  output: ({ context }) => context,
});
