/**
 * OEM vehicle lifecycle (VDE "production of vehicles and storing provisioning certificate"):
 * issue the provisioning key and certificate for a PCID, upload the chain to the PCP; deleting
 * the vehicle removes it from the PCP, which cascades to its CCP contracts.
 *
 * Failures route on `retryable` (statecharts/retry.ts): an RCP or PCP outage waits with a back-off
 * deadline and tries again by itself (issue 9 D2); a chain the PCP refuses fails the vehicle.
 */
import { assign, setup } from 'xstate';
import type { VehicleRecordJson } from '../protocols/catalogue/oem.ts';
import { effect } from './effect.ts';
import type { Deadlines } from './deadlines.ts';
import { retrying, routeFailure, waitToRetry, type Failure } from './retry.ts';

export interface VehicleInput {
  readonly pcid: string;
  /** The vehicle's PKCS#10 request (DER, base64): its key stays in the vehicle. */
  readonly csr: string;
}

export interface VehicleContext extends VehicleInput {
  vehicle?: VehicleRecordJson;
  failure?: Failure;
  attempts?: number;
  deadlines?: Deadlines;
}

export type VehicleEvent = { type: 'RETRY' } | { type: 'DELETE' } | { type: 'deadline.retry'; at: number };

const retry = retrying<VehicleContext, VehicleEvent>();

export const vehicleMachine = setup({
  types: { context: {} as VehicleContext, events: {} as VehicleEvent, input: {} as VehicleInput },
  guards: { ...retry.guards },
  actions: { ...retry.actions },
  actors: {
    issueProvisioning: effect<VehicleRecordJson, VehicleInput>('issueProvisioning'),
    uploadToPcp: effect<void, VehicleRecordJson>('uploadToPcp'),
    deleteFromPcp: effect<void, { pcid: string }>('deleteFromPcp'),
  },
}).createMachine({
  id: 'oem-vehicle',
  version: '2',
  context: ({ input }) => ({ ...input }),
  initial: 'issuing',
  states: {
    issuing: {
      invoke: {
        src: 'issueProvisioning',
        input: ({ context }) => ({ pcid: context.pcid, csr: context.csr }),
        onDone: { target: 'uploading', actions: [assign({ vehicle: ({ event }) => event.output }), 'clearFailure'] },
        onError: routeFailure('issueWaiting', 'failed'),
      },
    },
    issueWaiting: waitToRetry('issuing'),
    uploading: {
      invoke: {
        src: 'uploadToPcp',
        input: ({ context }) => context.vehicle!,
        onDone: { target: 'produced', actions: 'clearFailure' },
        onError: routeFailure('uploadWaiting', 'failed'),
      },
    },
    uploadWaiting: { ...waitToRetry('uploading'), on: { ...waitToRetry('uploading').on, DELETE: { target: 'deleting', actions: 'clearRetryDeadline' } } },
    produced: { tags: ['settled'], on: { DELETE: 'deleting' } },
    deleting: {
      invoke: {
        src: 'deleteFromPcp',
        input: ({ context }) => ({ pcid: context.pcid }),
        onDone: { target: 'deleted', actions: 'clearFailure' },
        onError: routeFailure('deleteWaiting', 'produced'),
      },
    },
    deleteWaiting: waitToRetry('deleting'),
    deleted: { type: 'final', tags: ['settled'] },
    failed: { type: 'final', tags: ['settled', 'failed'] },
  },
});
