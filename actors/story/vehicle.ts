/**
 * The vehicle's side of contract installation, as the story and the end-to-end tests play it
 * until the EV participant takes over: build and sign the CertificateInstallationReq with the
 * provisioning key, and check the CertificateInstallationRes the way an EVCC does
 * (pki-and-crypto.md §8.1): signature with the CPS leaf, CPS chain to a V2G root, contract key
 * decrypted with the provisioning key and matching the contract certificate [V2G2-823].
 */
import 'reflect-metadata';
import { randomBytes, type KeyObject } from 'node:crypto';
import { X509Certificate } from '@peculiar/x509';
import { oemInterface, type VehicleRecordJson } from '../../protocols/catalogue/oem.ts';
import type { Bus } from '../bus/bus.ts';
import { requestSubjectReply } from '../bus/typed.ts';
import { PncError } from '../../protocols/errors.ts';
import { decodeExi, encodeExi } from '../../protocols/exi/index.ts';
import { decryptContractKey, type PrivateKeyInput } from '../../protocols/pki/contract-key.ts';
import { validateChain } from '../../protocols/pki/index.ts';
import type { CryptoKey } from '../../protocols/pki/keys.ts';
import { base64Of, makeCsr } from '../participants/authority.ts';
import { signFragments, verifyMessageSignature } from '../../protocols/xmldsig/index.ts';

const hexOf = (base64: string): string => Buffer.from(base64, 'base64').toString('hex');
const bytesOfHex = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'));

/** A vehicle: what the OEM wrote into it, and the provisioning key it made itself and never sends anywhere [S4]. */
export interface Vehicle extends VehicleRecordJson {
  readonly provisioningKey: CryptoKey;
}

/**
 * Vehicle production as the vehicle sees it: it makes its provisioning key pair, sends the OEM a CSR
 * (`oem.vehicle.produce`) and keeps the key; the OEM signs the CSR and names the vehicle by its PCID.
 */
export async function produceVehicle(bus: Bus, vehicleId?: string): Promise<Vehicle> {
  const { csr, keys } = await makeCsr({ commonName: 'vehicle', organization: 'Open Plug&Charge' });
  const record = await requestSubjectReply(bus, oemInterface.requests.produceVehicle, { csr: base64Of(csr), ...(vehicleId ? { vehicleId } : {}) });
  return { ...record, provisioningKey: keys.privateKey };
}

/** X509IssuerSerial of each V2G root in the vehicle ([V2G2-…] ListOfRootCertificateIDs, at most 20). */
function rootCertificateIds(vehicle: VehicleRecordJson) {
  return vehicle.v2gRoots.slice(0, 20).map((der) => {
    const root = new X509Certificate(Buffer.from(der, 'base64'));
    const serial = BigInt(`0x${root.serialNumber}`);
    return { X509IssuerName: root.issuer, X509SerialNumber: serial <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(serial) : serial.toString() };
  });
}

/**
 * The EXI CertificateInstallationReq (whole V2G_Message) the vehicle sends, signed with its
 * provisioning key over the CertificateInstallationReq element [V2G2-…]; a fresh SessionID.
 */
export async function buildInstallationRequest(vehicle: Vehicle, sessionId = randomBytes(8).toString('hex')): Promise<Uint8Array> {
  const { body, signature } = await installationRequestParts(vehicle);
  return encodeExi('iso2', { V2G_Message: { Header: { SessionID: sessionId, Signature: signature }, Body: { CertificateInstallationReq: body } } });
}

/** The CertificateInstallationReq body and the header Signature over it (provisioning key). */
export async function installationRequestParts(vehicle: Vehicle): Promise<{ body: Record<string, unknown>; signature: Record<string, unknown> }> {
  const body = {
    Id: 'ID1',
    OEMProvisioningCert: hexOf(vehicle.provisioningChain.certificate),
    ListOfRootCertificateIDs: { RootCertificateID: rootCertificateIds(vehicle) },
  };
  const signature = await signFragments([{ id: 'ID1', fragment: { CertificateInstallationReq: body } }], vehicle.provisioningKey);
  return { body, signature: signature as unknown as Record<string, unknown> };
}

/**
 * The CertificateUpdateReq body and the header Signature over it: the current contract chain and its
 * eMAID, the V2G roots the vehicle trusts, signed with the current contract key (pki-and-crypto.md §11.2).
 */
export async function updateRequestParts(vehicle: VehicleRecordJson, contract: { readonly emaid: string; readonly certificate: string; readonly subCertificates: readonly string[] }, contractKey: CryptoKey | KeyObject): Promise<{ body: Record<string, unknown>; signature: Record<string, unknown> }> {
  const body = {
    Id: 'ID1',
    ContractSignatureCertChain: { Certificate: contract.certificate, ...(contract.subCertificates.length ? { SubCertificates: { Certificate: [...contract.subCertificates] } } : {}) },
    eMAID: contract.emaid,
    ListOfRootCertificateIDs: { RootCertificateID: rootCertificateIds(vehicle) },
  };
  const signature = await signFragments([{ id: 'ID1', fragment: { CertificateUpdateReq: body } }], contractKey);
  return { body, signature: signature as unknown as Record<string, unknown> };
}

export interface InstallationCheck {
  readonly responseCode: string;
  readonly sessionId: string;
  readonly emaid: string;
  readonly contractCertificate: X509Certificate;
  /** ContractSignatureCertChain as received: leaf and Sub-CAs, hex DER. */
  readonly contractChainHex: { readonly certificate: string; readonly subCertificates: readonly string[] };
  readonly cpsLeaf: X509Certificate;
  /** The 32-byte contract private key the vehicle recovered. */
  readonly contractKeyScalar: Uint8Array;
}

type Json = Record<string, unknown>;

function chainOf(element: Json | undefined, what: string): X509Certificate[] {
  if (!element || typeof element.Certificate !== 'string') throw new PncError('InstallationResInvalid', `${what} has no Certificate`);
  const subs = (element.SubCertificates as Json | undefined)?.Certificate;
  const subList = Array.isArray(subs) ? (subs as string[]) : [];
  return [element.Certificate, ...subList].map((hex) => new X509Certificate(Buffer.from(hex, 'hex')));
}

function chainHexOf(element: Json): { certificate: string; subCertificates: string[] } {
  const subs = (element.SubCertificates as Json | undefined)?.Certificate;
  return { certificate: String(element.Certificate), subCertificates: Array.isArray(subs) ? (subs as string[]) : [] };
}

/**
 * Checks a CertificateInstallationRes as the vehicle does and returns what it recovered.
 * @throws PncError `InstallationResInvalid`, `InstallationFailed`, `CpsChainInvalid`, or the
 *   xmldsig / contract-key error codes.
 */
export function checkInstallationResponse(exi: Uint8Array, vehicle: Vehicle): Promise<InstallationCheck> {
  return checkContractResponse(exi, vehicle, 'CertificateInstallationRes', vehicle.provisioningKey);
}

/**
 * Checks a CertificateInstallationRes or CertificateUpdateRes as the vehicle does (pki-and-crypto.md
 * §8.1): the ECDH static key is the provisioning key for an installation and the current contract key
 * for an update (§10.1 [V2G2-820/821]); the new key must match the new contract certificate [V2G2-823].
 */
export async function checkContractResponse(exi: Uint8Array, vehicle: VehicleRecordJson, name: 'CertificateInstallationRes' | 'CertificateUpdateRes', receiverKey: PrivateKeyInput): Promise<InstallationCheck> {
  const { document } = decodeExi('iso2', exi);
  const message = (document as Json).V2G_Message as Json | undefined;
  const res = ((message?.Body as Json | undefined)?.[name]) as Json | undefined;
  if (!message || !res) throw new PncError('InstallationResInvalid', `not a ${name}`);
  if (res.ResponseCode !== 'OK') throw new PncError('InstallationFailed', `ResponseCode ${String(res.ResponseCode)}`);
  const cpsChain = chainOf(res.SAProvisioningCertificateChain as Json, 'SAProvisioningCertificateChain');
  await verifyMessageSignature(message, cpsChain[0]);
  const roots = vehicle.v2gRoots.map((der) => new X509Certificate(Buffer.from(der, 'base64')));
  const verdict = await validateChain(cpsChain, { purpose: 'cps', roots });
  if (!verdict.valid) throw new PncError('CpsChainInvalid', `CPS chain does not lead to a V2G root of the vehicle: ${verdict.reason ?? verdict.iso15118}`);
  const contractChain = chainOf(res.ContractSignatureCertChain as Json, 'ContractSignatureCertChain');
  const contentOf = (name: string): string => String(((res[name] as Json | undefined)?.CONTENT) ?? '');
  const key = await decryptContractKey(
    { encryptedPrivateKey: bytesOfHex(contentOf('ContractSignatureEncryptedPrivateKey')), dhPublicKey: bytesOfHex(contentOf('DHpublickey')) },
    receiverKey,
    contractChain[0],
  );
  return {
    responseCode: String(res.ResponseCode),
    sessionId: String((message.Header as Json).SessionID),
    emaid: contentOf('eMAID'),
    contractCertificate: contractChain[0],
    contractChainHex: chainHexOf(res.ContractSignatureCertChain as Json),
    cpsLeaf: cpsChain[0],
    contractKeyScalar: key.scalar,
  };
}
