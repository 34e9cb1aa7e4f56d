/**
 * RCP statechart: the purge schedule of the Root Certificate Pool. Expired roots and roots an admin
 * revoked leave the pool at the deadline; each purge emits `rcp.root.purged` (done by the provided effect).
 */
import { purgeScheduleMachine } from './pool-purge.ts';

export const rcpMachine = purgeScheduleMachine('rcp');
