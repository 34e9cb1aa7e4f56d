/**
 * PCP vehicle deletion (OPCP `DELETE /v1/oem/provCerts/{pcid}`): mark the chain as being deleted (it is
 * no longer served), hand the cascade to the CCP as durable work (`ccp.vehicle.deleted`, de-duplicated
 * per deletion), then remove the chain and announce it. Each step is idempotent, so a crash anywhere
 * resumes where it stopped; an outage (the store, the bus) waits with a back-off (statecharts/retry.ts).
 */
import { setup } from 'xstate';
import { effect } from './effect.ts';
import type { Deadlines } from './deadlines.ts';
import { retrying, routeFailure, waitToRetry, type Failure } from './retry.ts';

export interface VehicleDeletionInput {
  readonly pcid: string;
  /** ISO 8601: when the deletion began; names it (work id, event) on every replay. */
  readonly deletingSince: string;
}

export interface VehicleDeletionContext extends VehicleDeletionInput {
  failure?: Failure;
  attempts?: number;
  deadlines?: Deadlines;
}

export type VehicleDeletionEvent = { type: 'RETRY' } | { type: 'deadline.retry'; at: number };

const retry = retrying<VehicleDeletionContext, VehicleDeletionEvent>();

export const vehicleDeletionMachine = setup({
  types: { context: {} as VehicleDeletionContext, events: {} as VehicleDeletionEvent, input: {} as VehicleDeletionInput },
  guards: { ...retry.guards },
  actions: { ...retry.actions },
  actors: {
    markDeleting: effect<void, VehicleDeletionInput>('markDeleting'),
    cascadeToCcp: effect<void, VehicleDeletionInput>('cascadeToCcp'),
    removeChain: effect<void, VehicleDeletionInput>('removeChain'),
  },
}).createMachine({
  id: 'pcp-vehicle-deletion',
  version: '1',
  context: ({ input }) => ({ ...input }),
  initial: 'marking',
  states: {
    marking: {
      invoke: { src: 'markDeleting', input: ({ context }) => ({ pcid: context.pcid, deletingSince: context.deletingSince }), onDone: { target: 'cascading', actions: 'clearFailure' }, onError: routeFailure('markWaiting', 'failed') },
    },
    markWaiting: waitToRetry('marking'),
    cascading: {
      invoke: { src: 'cascadeToCcp', input: ({ context }) => ({ pcid: context.pcid, deletingSince: context.deletingSince }), onDone: { target: 'removing', actions: 'clearFailure' }, onError: routeFailure('cascadeWaiting', 'failed') },
    },
    cascadeWaiting: waitToRetry('cascading'),
    removing: {
      invoke: { src: 'removeChain', input: ({ context }) => ({ pcid: context.pcid, deletingSince: context.deletingSince }), onDone: { target: 'deleted', actions: 'clearFailure' }, onError: routeFailure('removeWaiting', 'failed') },
    },
    removeWaiting: waitToRetry('removing'),
    deleted: { type: 'final', tags: ['settled', 'deleted'] },
    failed: { type: 'final', tags: ['settled', 'failed'] },
  },
});
