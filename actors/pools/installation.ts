/**
 * The EXI edge of the CCP: reading an EV's CertificateInstallationReq or CertificateUpdateReq and
 * writing the CertificateInstallationRes / CertificateUpdateRes it gets back, under the request's
 * SessionID [V2G2-553 ff.]. Both responses carry the same signed content (pki-and-crypto.md §11.2).
 */
import { encodeExi, exiCodecs, type ExiJson, type Iso2Document } from '../../protocols/exi/index.ts';
import { PncError } from '../../protocols/errors.ts';
import { hexOfBytes } from '../../protocols/bytes.ts';
import type { UpdateResponseCode } from '../../protocols/catalogue/ccp.ts';

/** One entry of the EV's ListOfRootCertificateIDs: the V2G roots it trusts (max 20). */
export interface RootCertificateId {
  readonly issuerName: string;
  /** X509SerialNumber, as an exact decimal. */
  readonly serialNumber: bigint;
}

export interface InstallationRequest {
  /** The whole decoded `{ V2G_Message }` as the typed codec gives it, for verifyDecodedMessageSignature. */
  readonly message: Iso2Document;
  /** Header SessionID, lowercase hex. */
  readonly sessionId: string;
  /** DER of OEMProvisioningCert. */
  readonly provisioningCertificate: Uint8Array;
  readonly rootCertificateIds: readonly RootCertificateId[];
}

type Obj = Record<string, unknown>;

/**
 * Decodes one request of `name` with the typed codec (no JSON form: the CCP reads a few fields and
 * verifies the signature on the typed values); anything else is `ExiInvalid`.
 */
function readRequest<N extends 'CertificateInstallationReq' | 'CertificateUpdateReq'>(exi: Uint8Array, name: N): { document: Iso2Document; sessionId: string; body: NonNullable<Iso2Document['V2G_Message']['Body'][N]>; rootCertificateIds: RootCertificateId[] } {
  let document: Iso2Document;
  try {
    document = exiCodecs.iso2.decode(exi);
  } catch (error) {
    throw new PncError('ExiInvalid', 'EXI format is invalid!', { cause: error, data: { detail: (error as Error).message } });
  }
  // The grammar requires Header (with SessionID) and Body; only the Body element can be another.
  const message = document.V2G_Message;
  const body = message?.Body?.[name] as Iso2Document['V2G_Message']['Body'][N] | undefined;
  if (!message?.Header || !(message.Header.SessionID instanceof Uint8Array) || !body) throw new PncError('ExiInvalid', `the EXI message is not a ${name}`);
  const rootCertificateIds = body.ListOfRootCertificateIDs.RootCertificateID.map((id) => ({
    issuerName: id.X509IssuerName,
    serialNumber: BigInt(id.X509SerialNumber),
  }));
  return { document, sessionId: hexOfBytes(message.Header.SessionID), body, rootCertificateIds };
}

/**
 * Decodes and checks the shape of a CertificateInstallationReq; anything else is `ExiInvalid`.
 * `certificateOf` turns OEMProvisioningCert's hex into DER (a pool passes its DerCache, so a vehicle
 * that comes again yields the same bytes object and what is cached on it).
 */
export function readInstallationRequest(exi: Uint8Array, certificateOf: (hex: string) => Uint8Array = (hex) => new Uint8Array(Buffer.from(hex, 'hex'))): InstallationRequest {
  const { document, sessionId, body, rootCertificateIds } = readRequest(exi, 'CertificateInstallationReq');
  return { message: document, sessionId, provisioningCertificate: certificateOf(hexOfBytes(body.OEMProvisioningCert)), rootCertificateIds };
}

export interface UpdateRequest {
  /** The whole decoded `{ V2G_Message }` (typed), for signature verification with the contract key [V2G2-…, pki-and-crypto.md §11.2]. */
  readonly message: Iso2Document;
  /** Header SessionID, lowercase hex. */
  readonly sessionId: string;
  /** ContractSignatureCertChain: the current contract certificate first, then its Sub-CAs (DER). */
  readonly contractChain: readonly Uint8Array[];
  /** The eMAID the EV names. */
  readonly emaid: string;
  readonly rootCertificateIds: readonly RootCertificateId[];
}

/** Decodes and checks the shape of a CertificateUpdateReq; anything else is `ExiInvalid`. */
export function readUpdateRequest(exi: Uint8Array): UpdateRequest {
  const { document, sessionId, body, rootCertificateIds } = readRequest(exi, 'CertificateUpdateReq');
  const chain = body.ContractSignatureCertChain;
  // Copies: the decoded bytes are views into the request.
  const contractChain = [chain.Certificate, ...(chain.SubCertificates?.Certificate ?? [])].map((c) => new Uint8Array(c));
  return { message: document, sessionId, contractChain, emaid: body.eMAID, rootCertificateIds };
}

/** The signed parts a contract contributes: the CertificateInstallationRes content without ResponseCode, and the header Signature. */
export interface SignedContract {
  readonly body: Obj;
  readonly signature: Obj;
}

/** Placeholders for the elements the XSD requires even in a failed response (lengths as the types fix them). */
const FAILED_CONTENT: Obj = {
  SAProvisioningCertificateChain: { Certificate: '00' },
  ContractSignatureCertChain: { Id: 'id1', Certificate: '00' },
  ContractSignatureEncryptedPrivateKey: { Id: 'id2', CONTENT: '00'.repeat(48) },
  DHpublickey: { Id: 'id3', CONTENT: '04' + '00'.repeat(64) },
  eMAID: { Id: 'id4', CONTENT: '00000000000000' },
};

export type ContractResponseName = 'CertificateInstallationRes' | 'CertificateUpdateRes';

/** The CertificateInstallationRes (or CertificateUpdateRes) V2G_Message as EXI JSON: the contract's signed content with OK, or a failure code. */
export function installationResponseMessage(sessionId: string, outcome: { code: 'OK'; contract: SignedContract } | { code: Exclude<UpdateResponseCode, 'OK'> }, name: ContractResponseName = 'CertificateInstallationRes'): ExiJson {
  const header: Obj = { SessionID: sessionId };
  let body: Obj;
  if (outcome.code === 'OK') {
    header.Signature = outcome.contract.signature;
    body = { ResponseCode: 'OK', ...withoutResponseCode(outcome.contract.body) };
  } else {
    body = { ResponseCode: outcome.code, ...FAILED_CONTENT };
  }
  return { V2G_Message: { Header: header, Body: { [name]: body } } } as ExiJson;
}

function withoutResponseCode(body: Obj): Obj {
  const { ResponseCode, ...rest } = body;
  void ResponseCode;
  return rest;
}

/** Encodes {@link installationResponseMessage} as ISO 15118-2 EXI. */
export function encodeInstallationResponse(...args: Parameters<typeof installationResponseMessage>): Uint8Array {
  return encodeExi('iso2', installationResponseMessage(...args));
}

/** Templates kept by {@link InstallationResponses}: contracts × SessionID lengths. */
const TEMPLATES_KEPT = 1024;

interface ResponseTemplate {
  /** The response encoded with SessionID 00…00 of this length. */
  readonly exi: Uint8Array;
  /** Bit offset of the SessionID's first byte in `exi`. */
  readonly sessionBit: number;
}

const bitAt = (bytes: Uint8Array, bit: number): number => (bytes[bit >> 3] >> (7 - (bit & 7))) & 1;

/**
 * Where the SessionID's bytes sit in the response, found by encoding it with 00…00 and ff…ff: the two
 * must differ in exactly 8 × length consecutive bits (the hexBinary bytes after their length), else
 * undefined and the caller encodes each response whole.
 */
function templateOf(length: number, contract: SignedContract): ResponseTemplate | undefined {
  const zeros = encodeInstallationResponse('00'.repeat(length), { code: 'OK', contract });
  const ones = encodeInstallationResponse('ff'.repeat(length), { code: 'OK', contract });
  if (zeros.length !== ones.length) return undefined;
  // Only the bytes between the first and the last that differ need a look bit by bit (the SessionID's
  // length plus one): a 4.6 KB response compared bit by bit was a third of a first installation's CPU.
  let from = 0;
  while (from < zeros.length && zeros[from] === ones[from]) from++;
  let to = zeros.length;
  while (to > from && zeros[to - 1] === ones[to - 1]) to--;
  let first = -1;
  let last = -1;
  for (let bit = from * 8; bit < to * 8; bit++) {
    if (bitAt(zeros, bit) === bitAt(ones, bit)) continue;
    if (first < 0) first = bit;
    else if (bit !== last + 1) return undefined;
    last = bit;
  }
  return first >= 0 && last - first + 1 === length * 8 ? { exi: zeros, sessionBit: first } : undefined;
}

/**
 * The CCP's OK responses without encoding the contract on every request: a stored contract's
 * CertificateInstallationRes differs between sessions only in the SessionID bytes, so it is encoded
 * once per contract and SessionID length and each session's bytes are written into a copy. Byte for
 * byte what {@link encodeInstallationResponse} gives (test/pools/installation-response.test.ts).
 */
export class InstallationResponses {
  private readonly templates = new Map<string, ResponseTemplate | null>();

  /** `contractKey` must name the contract's content: a changed contract needs a new key. */
  encode(sessionId: string, contractKey: string, contract: SignedContract): Uint8Array {
    const session = Buffer.from(sessionId, 'hex');
    if (session.length * 2 !== sessionId.length) return encodeInstallationResponse(sessionId, { code: 'OK', contract });
    const key = `${session.length}|${contractKey}`;
    let template = this.templates.get(key);
    if (template === undefined) {
      if (this.templates.size >= TEMPLATES_KEPT) this.templates.delete(this.templates.keys().next().value!);
      template = templateOf(session.length, contract) ?? null;
      this.templates.set(key, template);
    }
    if (template === null) return encodeInstallationResponse(sessionId, { code: 'OK', contract });
    return withSession(template, session);
  }

  /**
   * The response from the template already kept for this contract and SessionID length, else undefined
   * (then {@link encode} with the contract): a caller with a warm template need not read the contract.
   */
  cached(sessionId: string, contractKey: string): Uint8Array | undefined {
    const session = Buffer.from(sessionId, 'hex');
    if (session.length * 2 !== sessionId.length) return undefined;
    const template = this.templates.get(`${session.length}|${contractKey}`);
    return template ? withSession(template, session) : undefined;
  }
}

/** A copy of the template with the session's bytes written over its 00…00 SessionID. */
function withSession(template: ResponseTemplate, session: Uint8Array): Uint8Array {
  const exi = new Uint8Array(template.exi);
  for (let i = 0; i < session.length * 8; i++) {
    const bit = template.sessionBit + i;
    const mask = 0x80 >> (bit & 7);
    if ((session[i >> 3] >> (7 - (i & 7))) & 1) exi[bit >> 3] |= mask;
  }
  return exi;
}

/** The SessionID to answer an unreadable request with: none is known, so all zeros. */
export const UNKNOWN_SESSION_ID = '0000000000000000';
