import { PncError } from '../errors.ts';

/** Malformed or unsupported EXI input. `bitPosition` is where the decoder stood when it gave up. */
export class ExiDecodeError extends PncError {
  override readonly name = 'ExiDecodeError';
  readonly bitPosition: number;

  constructor(message: string, bitPosition: number) {
    super('ExiDecodeError', `${message} (at bit ${bitPosition})`, { data: { bitPosition } });
    this.bitPosition = bitPosition;
  }
}

/** A document that the schema does not allow; `path` names the element, e.g. `V2G_Message.Body.CurrentDemandReq.EVTargetCurrent.Value`. */
export class ExiEncodeError extends PncError {
  override readonly name = 'ExiEncodeError';
  readonly path: string;
  /** What is wrong, without the path in front. */
  readonly detail: string;

  constructor(path: string, detail: string) {
    super('ExiEncodeError', `${path}: ${detail}`, { data: { path } });
    this.path = path;
    this.detail = detail;
  }
}
