import { PncError } from '../errors.ts';

/**
 * Why a V2G XML signature was refused. Each maps to ISO 15118-2 `FAILED_SignatureError` at the SECC/EVCC
 * edge; the code says which check failed.
 */
export type XmlSignatureErrorCode =
  | 'SignatureDigestMismatch'
  | 'SignatureInvalid'
  | 'SignatureReferenceMissing'
  | 'SignatureCoverageIncomplete'
  | 'SignatureMalformed'
  | 'SignatureKeyUnsupported';

export class XmlSignatureError extends PncError {
  override readonly name: string = 'XmlSignatureError';
  constructor(code: XmlSignatureErrorCode, message: string, data?: Record<string, unknown>, cause?: unknown) {
    super(code, message, { data, cause });
  }
}

/** A Reference's DigestValue differs from SHA-256 over the referenced element's EXI fragment. */
export class SignatureDigestMismatch extends XmlSignatureError {
  override readonly name = 'SignatureDigestMismatch';
  constructor(readonly uri: string, readonly expected: string, readonly actual: string) {
    super('SignatureDigestMismatch', `digest of ${uri} is ${actual}, the signature says ${expected}`, { uri, expected, actual });
  }
}

/** The ECDSA signature does not verify over the SignedInfo EXI with the given key. */
export class SignatureInvalid extends XmlSignatureError {
  override readonly name = 'SignatureInvalid';
  constructor(message = 'the SignatureValue does not verify over SignedInfo with this key') {
    super('SignatureInvalid', message);
  }
}

/** A Reference points at an Id that is neither in the message body nor among the fragments given. */
export class SignatureReferenceMissing extends XmlSignatureError {
  override readonly name = 'SignatureReferenceMissing';
  constructor(readonly uri: string) {
    super('SignatureReferenceMissing', `no element with Id '${uri.replace(/^#/, '')}' for Reference ${uri}`, { uri });
  }
}

/** The message carries an element that must be signed (pki-and-crypto.md §11.2) but no Reference names it. */
export class SignatureCoverageIncomplete extends XmlSignatureError {
  override readonly name = 'SignatureCoverageIncomplete';
  constructor(readonly element: string, readonly id: string | undefined) {
    super(
      'SignatureCoverageIncomplete',
      id === undefined ? `${element} has no Id, so the signature cannot cover it` : `the signature does not reference ${element} (#${id})`,
      { element, id },
    );
  }
}

/** The Signature is absent or breaks [V2G2-771] (other algorithms, extra parts, a SignatureValue that is not 64 bytes). */
export class SignatureMalformed extends XmlSignatureError {
  override readonly name = 'SignatureMalformed';
  constructor(message: string, cause?: unknown) {
    super('SignatureMalformed', message, undefined, cause);
  }
}

/** The key is not a P-256 key in one of the accepted forms. */
export class XmlSignatureKeyError extends XmlSignatureError {
  override readonly name = 'XmlSignatureKeyError';
  constructor(message: string, cause?: unknown) {
    super('SignatureKeyUnsupported', message, undefined, cause);
  }
}
