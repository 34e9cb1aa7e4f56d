/**
 * Typed errors that survive a trip over the bus (moleculer's Regenerator, Temporal's ApplicationFailure).
 * Every participant declares its codes in the catalogue; edges map them to ISO 15118 ResponseCodes,
 * OCPP CALLERROR codes and OPCP `{errorMessages, traceId}` bodies.
 */
export interface PncErrorData {
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
  readonly data?: unknown;
}

export class PncError extends Error implements PncErrorData {
  override readonly name: string = 'PncError';
  readonly code: string;
  readonly retryable: boolean;
  readonly data?: unknown;

  constructor(code: string, message: string, options: { retryable?: boolean; data?: unknown; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
    if (options.data !== undefined) this.data = options.data;
  }

  /** The wire form: plain JSON, no stack. */
  toJSON(): PncErrorData {
    return { code: this.code, message: this.message, retryable: this.retryable, ...(this.data === undefined ? {} : { data: this.data }) };
  }

  /** Rebuilds an error received over the bus; anything malformed becomes a `BadErrorPayload`. */
  static fromJSON(value: unknown): PncError {
    if (isPncErrorData(value)) return new PncError(value.code, value.message, { retryable: value.retryable, data: value.data });
    return new PncError('BadErrorPayload', 'received an error that is not of the PncError shape', { data: value });
  }

  static is(value: unknown, code?: string): value is PncError {
    return value instanceof PncError && (code === undefined || value.code === code);
  }
}

export function isPncErrorData(value: unknown): value is PncErrorData {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.code === 'string' && typeof v.message === 'string' && typeof v.retryable === 'boolean';
}

/** Wraps anything thrown into a PncError, keeping an existing one as it is. */
export function toPncError(error: unknown, fallbackCode = 'Internal'): PncError {
  if (error instanceof PncError) return error;
  if (error instanceof Error) return new PncError(fallbackCode, error.message, { cause: error });
  return new PncError(fallbackCode, String(error));
}
