/**
 * OEM vehicle lifecycle (VDE "production of vehicles and storing provisioning certificate"):
 * issue the provisioning key and certificate for a PCID, upload the chain to the PCP; deleting
 * the vehicle removes it from the PCP, which cascades to its CCP contracts.
 */
import { assign, setup } from 'xstate';
import type { VehicleRecordJson } from '../protocols/catalogue/oem.ts';
import { effect, failureOf, type Failure } from './effect.ts';

export interface VehicleInput {
  readonly pcid: string;
  /** The vehicle's PKCS#10 request (DER, base64): its key stays in the vehicle. */
  readonly csr: string;
}

export interface VehicleContext extends VehicleInput {
  vehicle?: VehicleRecordJson;
  failure?: Failure;
}

export type VehicleEvent = { type: 'RETRY' } | { type: 'DELETE' };

export const vehicleMachine = setup({
  types: { context: {} as VehicleContext, events: {} as VehicleEvent, input: {} as VehicleInput },
  actions: {
    recordFailure: assign({ failure: ({ event }) => failureOf((event as { error?: unknown }).error) }),
  },
  actors: {
    issueProvisioning: effect<VehicleRecordJson, VehicleInput>('issueProvisioning'),
    uploadToPcp: effect<void, VehicleRecordJson>('uploadToPcp'),
    deleteFromPcp: effect<void, { pcid: string }>('deleteFromPcp'),
  },
}).createMachine({
  id: 'oem-vehicle',
  context: ({ input }) => ({ ...input }),
  initial: 'issuing',
  states: {
    issuing: {
      invoke: {
        src: 'issueProvisioning',
        input: ({ context }) => ({ pcid: context.pcid, csr: context.csr }),
        onDone: { target: 'uploading', actions: assign({ vehicle: ({ event }) => event.output }) },
        onError: { target: 'failed', actions: 'recordFailure' },
      },
    },
    uploading: {
      invoke: {
        src: 'uploadToPcp',
        input: ({ context }) => context.vehicle!,
        onDone: { target: 'produced', actions: assign({ failure: undefined }) },
        onError: { target: 'uploadFailed', actions: 'recordFailure' },
      },
    },
    uploadFailed: { on: { RETRY: 'uploading', DELETE: 'deleting' } },
    produced: { on: { DELETE: 'deleting' } },
    deleting: {
      invoke: {
        src: 'deleteFromPcp',
        input: ({ context }) => ({ pcid: context.pcid }),
        onDone: 'deleted',
        onError: { target: 'produced', actions: 'recordFailure' },
      },
    },
    deleted: { type: 'final' },
    failed: { type: 'final' },
  },
});
