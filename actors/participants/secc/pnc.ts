/**
 * The SECC's Plug&Charge checks (pki-and-crypto.md §8.2): the contract chain and eMAID of
 * PaymentDetailsReq, the EV's signature over AuthorizationReq and MeteringReceiptReq with the
 * contract key, and the mapping of the backend's C07 verdict to ISO 15118-2 response codes.
 * Decisions about what happens next stay in the session machine; these only check.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { sameEmaid } from '../../../protocols/identifiers/index.ts';
import { validateChain } from '../../../protocols/pki/index.ts';
import { verifyMessageSignature } from '../../../protocols/xmldsig/index.ts';
import type { PresentedContract } from '../../../statecharts/secc-session.ts';
import type { Body, ResponseCode } from '../../../statecharts/secc/messages.ts';
import type { ContractCertificateStatus } from './backend.ts';

type Obj = Record<string, unknown>;

const certificateOfHex = (hex: string): x509.X509Certificate => new x509.X509Certificate(Buffer.from(hex, 'hex'));
export const pemOfHex = (hex: string): string => certificateOfHex(hex).toString('pem');

/**
 * PaymentDetailsReq: eMAID in certificate and request must match (else FAILED_CertChainError),
 * and the chain must lead to an installed MO or V2G root (else the chain verdict's code, with
 * FAILED_CertificateNotAllowedAtThisEVSE for an unknown root). OK comes with a fresh 16-byte GenChallenge.
 */
export async function checkPaymentDetails(body: Body, roots: { v2g: x509.X509Certificate[]; mo: x509.X509Certificate[] }, at: Date): Promise<{ code: ResponseCode; contract?: PresentedContract; genChallenge?: string }> {
  const chain = body.ContractSignatureCertChain as Obj | undefined;
  const emaid = typeof body.eMAID === 'string' ? body.eMAID : '';
  if (!chain || typeof chain.Certificate !== 'string') return { code: 'FAILED_NoCertificateAvailable' };
  const subs = ((chain.SubCertificates as Obj | undefined)?.Certificate ?? []) as string[];
  let certificates: x509.X509Certificate[];
  try {
    certificates = [chain.Certificate, ...subs].map(certificateOfHex);
  } catch {
    return { code: 'FAILED_CertChainError' };
  }
  const leafEmaid = certificates[0].subjectName.getField('CN')[0] ?? '';
  if (!emaid || !sameEmaid(leafEmaid, emaid)) return { code: 'FAILED_CertChainError' };
  const verdict = await validateChain(certificates, { purpose: 'contract', roots: { v2g: roots.v2g, mo: roots.mo }, at });
  if (!verdict.valid) return { code: verdict.iso15118 };
  return {
    code: 'OK',
    contract: { emaid, certificate: chain.Certificate, subCertificates: subs },
    genChallenge: randomBytes(16).toString('hex'),
  };
}

/** The EV's signature over a request with the contract key; false when it does not verify. */
export function contractSignatureValid(contract: PresentedContract | undefined, header: { Signature?: unknown }, body: Body, element: string): boolean {
  if (!contract || header.Signature === undefined) return false;
  try {
    verifyMessageSignature({ Header: header, Body: { [element]: body } }, certificateOfHex(contract.certificate));
    return true;
  } catch {
    return false;
  }
}

/** The contract chain as the backend takes it for C07: PEM, leaf first. */
export function contractChainPem(contract: PresentedContract): string {
  return [contract.certificate, ...contract.subCertificates].map(pemOfHex).join('');
}

/** C07 verdict → the AuthorizationRes ResponseCode of the same name (pki-and-crypto.md §8.3). */
export function authorizationCodeOf(status: ContractCertificateStatus): ResponseCode {
  switch (status) {
    case 'Accepted': return 'OK';
    case 'SignatureError': return 'FAILED_SignatureError';
    case 'CertificateExpired': return 'FAILED_CertificateExpired';
    case 'CertificateRevoked': return 'FAILED_CertificateRevoked';
    case 'NoCertificateAvailable': return 'FAILED_NoCertificateAvailable';
    case 'ContractCancelled': return 'FAILED_ContractCanceled';
    default: return 'FAILED_CertChainError';
  }
}
