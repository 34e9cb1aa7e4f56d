/**
 * The OCA OCPP 2.0.1 JSON schemas, loaded from the `ocpp-rpc` package (never copied: the OCA
 * licence allows no modified copies). Used where strict mode cannot reach: the OCPP 2.0.1 payloads
 * tunnelled through OCPP 1.6 DataTransfer (OCA whitepaper "Using ISO 15118 Plug & Charge with OCPP 1.6").
 */
import { createRequire } from 'node:module';
import { createRPCError, createValidator } from 'ocpp-rpc';

let ocpp201: ReturnType<typeof createValidator> | undefined;

/**
 * Validates an OCPP 2.0.1 request (`req`) or response (`conf`) of `action`.
 * @throws RPCError with the code ocpp-rpc's strict mode would use (FormatViolation, OccurenceConstraintViolation, …); ProtocolError for an unknown action.
 */
export function validateOcpp201(action: string, kind: 'req' | 'conf', payload: unknown): void {
  if (!/^[A-Za-z0-9]{1,64}$/.test(action)) throw createRPCError('NotImplemented', `no OCPP 2.0.1 action '${action.slice(0, 64)}'`);
  // Compiled on first use: only OCPP 1.6 stations' DataTransfer tunnel needs it.
  ocpp201 ??= createValidator('ocpp2.0.1', createRequire(import.meta.url)('ocpp-rpc/lib/schemas/ocpp2_0_1.json'));
  ocpp201.validate(`urn:${action}.${kind}`, payload);
}
