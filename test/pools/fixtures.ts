// Test fixtures for the CCP: a contract signed the way a CPS signs it, and a CertificateInstallationReq
// built and signed the way an EV builds it (EXI + xmldsig + the provisioning key from the test PKI).
import { randomBytes } from 'node:crypto';
import type * as x509 from '@peculiar/x509';
import { encodeExi } from '../../protocols/exi/index.ts';
import { signFragments } from '../../protocols/xmldsig/index.ts';
import { encryptContractKey } from '../../protocols/pki/contract-key.ts';
import type { CryptoKey, TestCertificate, TestPki } from '../../protocols/pki/index.ts';

const hex = (c: { rawData: ArrayBuffer }) => Buffer.from(c.rawData).toString('hex');

/** The CPS's signedContractData for `contract` and `vehicle`: body content + header Signature. */
export async function signContract(pki: TestPki, contract: TestCertificate, vehicle: TestCertificate, signer: { chain: readonly x509.X509Certificate[]; privateKey: CryptoKey } = { chain: pki.cps.chain, privateKey: pki.cps.keys.privateKey }) {
  const encrypted = await encryptContractKey(contract.keys.privateKey, vehicle.certificate);
  const [leaf, ...subs] = contract.chain;
  const [cpsLeaf, ...cpsSubs] = signer.chain;
  const ContractSignatureCertChain = { Id: 'id1', Certificate: hex(leaf), SubCertificates: { Certificate: subs.map(hex) } };
  const ContractSignatureEncryptedPrivateKey = { Id: 'id2', CONTENT: Buffer.from(encrypted.encryptedPrivateKey).toString('hex') };
  const DHpublickey = { Id: 'id3', CONTENT: Buffer.from(encrypted.dhPublicKey).toString('hex') };
  const eMAID = { Id: 'id4', CONTENT: contract.identifier! };
  const signature = signFragments(
    [
      { id: 'id1', fragment: { ContractSignatureCertChain } },
      { id: 'id2', fragment: { ContractSignatureEncryptedPrivateKey } },
      { id: 'id3', fragment: { DHpublickey } },
      { id: 'id4', fragment: { eMAID } },
    ],
    signer.privateKey,
  );
  const body = {
    SAProvisioningCertificateChain: { Certificate: hex(cpsLeaf), SubCertificates: { Certificate: cpsSubs.map(hex) } },
    ContractSignatureCertChain,
    ContractSignatureEncryptedPrivateKey,
    DHpublickey,
    eMAID,
  };
  return { body, signature: signature as unknown as Record<string, unknown> };
}

/** An EV's CertificateInstallationReq as EXI, signed with `signingKey` (the provisioning key unless a test wants it wrong). */
export function installationRequest(vehicle: TestCertificate, options: { sessionId?: string; roots?: readonly x509.X509Certificate[]; signingKey?: CryptoKey; provisioningCertificate?: x509.X509Certificate } = {}): { exi: Uint8Array; sessionId: string } {
  const sessionId = options.sessionId ?? randomBytes(8).toString('hex');
  const request = {
    Id: 'id1',
    OEMProvisioningCert: hex(options.provisioningCertificate ?? vehicle.certificate),
    ListOfRootCertificateIDs: {
      RootCertificateID: (options.roots ?? []).map((root) => ({ X509IssuerName: root.issuer, X509SerialNumber: BigInt(`0x${root.serialNumber}`).toString() })),
    },
  };
  const Signature = signFragments([{ id: 'id1', fragment: { CertificateInstallationReq: request } }], options.signingKey ?? vehicle.keys.privateKey);
  const exi = encodeExi('iso2', { V2G_Message: { Header: { SessionID: sessionId, Signature }, Body: { CertificateInstallationReq: request } } });
  return { exi, sessionId };
}
