import { PncError } from '../../protocols/errors.ts';
import type { TransportErrorCode } from '../../protocols/catalogue/transport.ts';

/** A transport failure with a code from the catalogue (protocols/catalogue/transport.ts). */
export class TransportError extends PncError {
  override readonly name = 'TransportError';
  declare readonly code: TransportErrorCode;

  constructor(code: TransportErrorCode, message: string, options: { retryable?: boolean; data?: unknown; cause?: unknown } = {}) {
    super(code, message, options);
  }
}
