/**
 * CCP statechart: the purge schedule of the Contract Certificate Pool. A contract leaves the pool when
 * its contract certificate expires (OPCP "Data Cleansing in the CCP"); each purge emits `ccp.contract.deleted`.
 */
import { purgeScheduleMachine } from './pool-purge.ts';

export const ccpMachine = purgeScheduleMachine('ccp');
