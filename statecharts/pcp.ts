/**
 * PCP statechart: the purge schedule of the Provisioning Certificate Pool. A provisioning chain leaves
 * the pool when its leaf (or a sub-CA) expires; each purge emits `pcp.chain.purged` and cascades to the CCP.
 */
import { purgeScheduleMachine } from './pool-purge.ts';

export const pcpMachine = purgeScheduleMachine('pcp');
