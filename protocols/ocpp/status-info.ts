/**
 * PncError → OCPP 2.0.1 StatusInfoType. `reasonCode` holds at most 20 characters, so it is a word
 * from OCPP's reason-code list (OCPP 2.0.1 Part 2, Appendix "Reason codes"), chosen by table,
 * never a PncError code cut to length (issue 8: `FAILED_NoCertificate`). The full PncError code
 * travels in `additionalInfo` (≤ 512), with the message when the whole of it fits.
 */
import type { PncErrorData } from '../errors.ts';

/** The reason codes this CSMS sends. */
export type OcppReasonCode =
  | 'InternalError' | 'InvalidCertificate' | 'InvalidCSR' | 'InvalidValue' | 'InvalidURL' | 'NotEnabled' | 'NotFound'
  | 'UnsupportedParam' | 'UnsupportedRequest' | 'InvalidMessageSeq' | 'MissingParam' | 'Unspecified';

const REASON_OF_CODE: Readonly<Record<string, OcppReasonCode>> = {
  UnsupportedNamespace: 'UnsupportedParam',
  UpdateNotSupported: 'UnsupportedRequest',
  ExiInvalid: 'InvalidValue',
  ExiDecodeError: 'InvalidValue',
  InvalidPayload: 'InvalidValue',
  ContractInvalid: 'InvalidCertificate',
  ContractNotFound: 'NotFound',
  UnknownVehicle: 'NotFound',
  CsrInvalid: 'InvalidCSR',
  CsrMalformed: 'InvalidCSR',
  CsrSignatureInvalid: 'InvalidCSR',
  CsrNotAllowed: 'InvalidCSR',
  KeyNotAllowed: 'InvalidCSR',
  SubjectNotAllowed: 'InvalidCSR',
  DomainComponentNotAllowed: 'InvalidCSR',
  OcspInvalidHashData: 'InvalidValue',
  OcspResponderNotAllowed: 'InvalidURL',
  NotEnabled: 'NotEnabled',
  // The CCP's ISO 15118-2 ResponseCodes for an installation it cannot serve.
  FAILED_NoCertificateAvailable: 'NotFound',
  FAILED_CertChainError: 'InvalidCertificate',
  FAILED_CertificateExpired: 'InvalidCertificate',
  FAILED_CertificateRevoked: 'InvalidCertificate',
  FAILED_SignatureError: 'InvalidValue',
};

const MAX_ADDITIONAL_INFO = 512;

export interface StatusInfo {
  readonly reasonCode: OcppReasonCode;
  readonly additionalInfo?: string;
}

/** The StatusInfoType for a failure: reasonCode by table, the PncError code (and message when it fits) in additionalInfo. */
export function statusInfoOf(failure: Pick<PncErrorData, 'code' | 'message'>): StatusInfo {
  const reasonCode = REASON_OF_CODE[failure.code] ?? (failure.code === 'Timeout' || failure.code === 'NoResponders' || failure.code.endsWith('Unavailable') ? 'InternalError' : 'Unspecified');
  const withMessage = `${failure.code}: ${failure.message}`;
  const additionalInfo = withMessage.length <= MAX_ADDITIONAL_INFO ? withMessage : failure.code.length <= MAX_ADDITIONAL_INFO ? failure.code : undefined;
  return additionalInfo === undefined ? { reasonCode } : { reasonCode, additionalInfo };
}
