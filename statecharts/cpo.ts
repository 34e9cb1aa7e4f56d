/**
 * CPO backend, OCPP 2.0.1 M01 (Get15118EVCertificate): check the EV's EXI
 * CertificateInstallationReq, forward it to the CCP, return the EXI CertificateInstallationRes.
 * Every failure ends in `Failed` with an empty exiResponse (OCPP requires the field).
 */
import { assign, setup } from 'xstate';
import { effect, failureOf, type Failure } from './effect.ts';

export interface InstallationInput {
  /** Base64 EXI of the whole V2G_Message (header + body). */
  readonly exiRequest: string;
  readonly iso15118SchemaVersion: string;
}

export interface InstallationContext extends InstallationInput {
  pcid?: string;
  exiResponse?: string;
  failure?: Failure;
}

export const installationMachine = setup({
  types: { context: {} as InstallationContext, input: {} as InstallationInput, output: {} as InstallationContext },
  actions: {
    recordFailure: assign({ failure: ({ event }) => failureOf((event as { error?: unknown }).error) }),
  },
  actors: {
    checkRequest: effect<{ pcid: string }, InstallationInput>('checkRequest'),
    forwardToCcp: effect<{ exiResponse: string }, InstallationInput>('forwardToCcp'),
  },
}).createMachine({
  id: 'cpo-installation',
  context: ({ input }) => ({ ...input }),
  initial: 'checking',
  states: {
    checking: {
      invoke: {
        src: 'checkRequest',
        input: ({ context }) => ({ exiRequest: context.exiRequest, iso15118SchemaVersion: context.iso15118SchemaVersion }),
        onDone: { target: 'forwarding', actions: assign({ pcid: ({ event }) => event.output.pcid }) },
        onError: { target: 'failed', actions: 'recordFailure' },
      },
    },
    forwarding: {
      invoke: {
        src: 'forwardToCcp',
        input: ({ context }) => ({ exiRequest: context.exiRequest, iso15118SchemaVersion: context.iso15118SchemaVersion }),
        onDone: { target: 'accepted', actions: assign({ exiResponse: ({ event }) => event.output.exiResponse }) },
        onError: { target: 'failed', actions: 'recordFailure' },
      },
    },
    accepted: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) => context,
});
