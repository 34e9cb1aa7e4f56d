/**
 * XML signatures over EXI for ISO 15118-2 (pki-and-crypto.md §11): each referenced element is digested
 * as an `iso2-frag` EXI fragment, SignedInfo is encoded with the xmldsig-only grammar and signed with
 * ECDSA-SHA256 on P-256 as raw r‖s.
 */
export {
  XmlSignatureAlgorithm,
  digestFragment,
  buildSignedInfo,
  encodeSignedInfo,
  signFragments,
  signV2gMessage,
  verifySignature,
  verifyMessageSignature,
  verifyDecodedMessageSignature,
  findById,
} from './signature.ts';
export type {
  AlgorithmJson,
  ReferenceJson,
  SignedInfoJson,
  SignatureJson,
  ReferencedFragment,
  VerifiedSignature,
  VerifyMessageOptions,
} from './signature.ts';
export {
  XmlSignatureError,
  SignatureDigestMismatch,
  SignatureInvalid,
  SignatureReferenceMissing,
  SignatureCoverageIncomplete,
  SignatureMalformed,
  XmlSignatureKeyError,
} from './errors.ts';
export type { XmlSignatureErrorCode } from './errors.ts';
export { toVerificationKey, toSigningKey } from './keys.ts';
export type { SignatureVerificationKey, SignatureSigningKey } from './keys.ts';
