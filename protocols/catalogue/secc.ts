/**
 * SECC (charging station): serves ISO 15118-2 / DIN 70121 sessions to EVs over V2GTP; on the bus it
 * only reports. Its own requests go to the CPO backend (cpo.certificate.install, cpo.contract.validate,
 * cpo.secc.sign, cpo.roots.get). Session failures reach the EV as ISO 15118-2 ResponseCodes, not bus errors.
 */
import { z } from 'zod';
import { participantInterface, requestSubject } from './define.ts';

export const seccInterface = participantInterface({
  participant: 'secc',
  summary: 'SECC: charging sessions with EVs, Plug&Charge through the CPO backend',
  requests: {
    status: requestSubject({
      subject: 'secc.status',
      summary: 'the station: EVSEID, sessions served now, paused sessions and signed receipts kept, days until the SECC leaf expires',
      request: z.object({}),
      reply: z.object({ evseId: z.string(), activeSessions: z.number().int(), pausedSessions: z.number().int(), receipts: z.number().int(), leafExpiryDays: z.number().int() }),
      errors: [] as const,
    }),
  },
});
