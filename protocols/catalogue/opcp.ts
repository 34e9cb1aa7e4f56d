/**
 * OPCP gateway — what the gateway serves on the bus besides its REST API: registration of OAuth2
 * clients, so `openpnc opcp client add --nats URL` registers a client in the store of the gateway
 * running on that bus. The secret is generated and hashed by the gateway; it leaves only in the reply.
 */
import { z } from 'zod';
import { participantInterface, requestSubject } from './define.ts';

/** Roles an OAuth2 client can have (the caller roles except the internal `pool`). */
export const opcpClientRoles = ['admin', 'oem', 'mo', 'cpo', 'cps'] as const;

export const opcpErrorCodes = ['InvalidClient'] as const;
/** What `POST /oauth/token` refuses with: RFC 6749 §5.2 names as they are, and 429 (RFC 6585 §4) for too many failed requests. */
export const opcpTokenErrorCodes = ['invalid_client', 'unsupported_grant_type', 'TooManyRequests'] as const;
export type OpcpTokenErrorCode = (typeof opcpTokenErrorCodes)[number];

export const opcpInterface = participantInterface({
  participant: 'opcp',
  summary: 'OPCP gateway: OAuth2 client registration in the store the gateway issues tokens from',
  requests: {
    addClient: requestSubject({
      subject: 'opcp.client.add',
      summary: 'registers an OAuth2 client; the reply carries its secret, the only place it ever appears',
      request: z.object({
        role: z.enum(opcpClientRoles),
        /** OEM: WMIs (3 characters); MO: EMAID prefixes (5 characters); none for the other roles. Checked per role by the gateway. */
        prefixes: z.array(z.string().max(16)).max(100).default([]),
      }),
      reply: z.object({
        clientId: z.string(),
        clientSecret: z.string(),
        role: z.enum(opcpClientRoles),
        prefixes: z.array(z.string()),
      }),
      errors: ['InvalidClient'] as const,
    }),
  },
});
