/**
 * PncError → OCPP-J CALLERROR (OCPP 2.0.1 Part 4 §4.3). Failures of a CPO request become
 * InternalError (the station may retry); a payload the CPO's catalogue refuses though the OCA schema
 * let it through becomes PropertyConstraintViolation; an RPC error already made passes unchanged.
 */
import { createRPCError } from 'ocpp-rpc';
import { toPncError } from '../../protocols/errors.ts';

export function rpcErrorOf(error: unknown): unknown {
  // ocpp-rpc's RPC errors carry their OCPP-J code.
  if (error instanceof Error && 'rpcErrorCode' in error) return error;
  const failure = toPncError(error);
  const code = failure.code === 'InvalidPayload' ? 'PropertyConstraintViolation' : failure.code === 'Forbidden' ? 'SecurityError' : 'InternalError';
  return createRPCError(code, `${failure.code}: ${failure.message}`);
}
