// The ISO 15118-2 Plug&Charge PKI: role profiles, issuance, chain validation and the test PKI.
export { profiles, leafRoleOf, MAX_CERTIFICATE_BYTES, MAX_SUB_CAS, type RoleName, type ChainPurpose, type CertificateProfile, type DomainComponent, type ProfileKind } from './profiles.ts';
export { generateKeyPair, signingAlgorithm, exportPkcs8, importPkcs8, publicKeyFromSpki, type CryptoKey, type CryptoKeyPair } from './keys.ts';
export {
  issueCertificate,
  issueFromCsr,
  revocationRecord,
  buildCertificate,
  profileExtensions,
  subjectName,
  randomSerialNumber,
  IssuanceError,
  type CertificateAuthority,
  type SubjectFields,
  type IssueOptions,
  type IssueFromCsrOptions,
  type IssuedCertificate,
  type CertificateSpec,
  type RevocationRecord,
  type RevocationReason,
  ISSUE_BACKDATE_MS,
} from './issue.ts';
export {
  validateChain,
  type CertificateInput,
  type TrustAnchors,
  type RevocationChecker,
  type RevocationStatus,
  type ValidateChainOptions,
  type ChainValidationResult,
  type Iso15118ChainResult,
  type EvseSecurityResult,
  type ChainDefect,
} from './validate.ts';
export { parseCertificateDer, derOfPem, CertificateParseError, type ParsedCertificate } from './der.ts';
export { createTestPki, type TestPki, type TestPkiOptions, type TestCertificate } from './test-pki.ts';
export { createOcspResponder, statusFromRecords, buildOcspRequest, verifyOcspResponse, ocspStatusForHashData, ocspRevocationChecker, certificateHashData, certificateHashDataOf, normalizeCertificateHashData, normalizeSerialNumber, crlReasons, ocspResponseStatuses, DEFAULT_OCSP_VALIDITY_SECONDS, OcspError, type OcspErrorCode, type OcspResponder, type OcspResponderOptions, type SerialStatus, type OcspRequest, type OcspRequestData, type CertificateHashData, type OcspHashAlgorithm, type OcspCertificateStatus, type VerifyOcspResponseOptions, type OcspTransport, type OcspResponseStatus } from './ocsp.ts';
export { stapledOcspVerdict, nextOcspRefreshAt, OCSP_REFRESH_INTERVAL_MS, OCSP_REFRESH_MARGIN_MS, OCSP_RETRY_MS, type StapledOcsp, type StapledOcspVerdict, type StapleCheck } from './ocsp-staple.ts';
export { encryptContractKey, decryptContractKey, ContractKeyError, type ContractKeyErrorCode, type EncryptedContractKey, type ContractKey, type PrivateKeyInput, type PublicKeyInput } from './contract-key.ts';
