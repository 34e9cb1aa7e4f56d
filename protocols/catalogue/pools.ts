/**
 * What the three pools (RCP, PCP, CCP) share on the bus besides the caller identity: the expiry
 * hand-over between processes of one pool. Only one process drives a pool's purge schedule (the
 * actor host's lease); the others announce the expiries of what they store here, so the active one
 * arms its deadline for entries it did not store itself.
 */
import { z } from 'zod';
import { eventSubject } from './define.ts';

export function purgeExpiryEvent(participant: 'rcp' | 'pcp' | 'ccp') {
  return eventSubject({
    subject: `${participant}.purge.expiry`,
    summary: `an entry stored by a standby ${participant} process expires at \`at\` (epoch ms)`,
    payload: z.object({ at: z.number().int() }),
  });
}
