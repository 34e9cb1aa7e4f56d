/**
 * EV: a vehicle produced by the OEM (provisioning certificate), with a battery and a contract
 * store, charging at SECCs over V2GTP. On the bus it only reports.
 */
import { z } from 'zod';
import { participantInterface, requestSubject } from './define.ts';
import { pcid } from './fields.ts';

export const evInterface = participantInterface({
  participant: 'ev',
  summary: 'EV: charges at SECCs with Plug&Charge or EIM',
  requests: {
    status: requestSubject({
      subject: 'ev.status',
      summary: 'the vehicle: PCID, state of charge, the eMAID of its valid contract if any',
      request: z.object({}),
      reply: z.object({ pcid, soc: z.number(), emaid: z.string().optional() }),
      errors: [] as const,
    }),
  },
});
