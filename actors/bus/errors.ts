/**
 * The typed errors the bus itself raises, identical on both adapters.
 * Retryable ones (`Timeout`, `NoResponders`, `BusUnavailable`) may succeed when tried again.
 */
import { PncError } from '../../protocols/errors.ts';

export function timeoutError(subject: string, timeoutMs: number): PncError {
  return new PncError('Timeout', `no reply on ${subject} within ${timeoutMs} ms`, { retryable: true, data: { subject, timeoutMs } });
}

export function noRespondersError(subject: string): PncError {
  return new PncError('NoResponders', `nothing serves ${subject}`, { retryable: true, data: { subject } });
}

export function busClosedError(): PncError {
  return new PncError('BusClosed', 'the bus is closed');
}

export function busUnavailableError(servers: readonly string[], cause: unknown): PncError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new PncError('BusUnavailable', `cannot reach NATS at ${servers.join(', ')}: ${reason}`, { retryable: true, data: { servers }, cause });
}

export function notSerializableError(what: string, cause: unknown): PncError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new PncError('InvalidPayload', `${what} is not JSON-serializable: ${reason}`, { cause });
}
