import { createHash, sign, verify } from 'node:crypto';
import { PncError } from '../errors.ts';
import { hexOfBytes } from '../bytes.ts';
import { encodeExi, exiCodecs, type ExiJson, type Iso2Fragment, type SignedInfoFragment } from '../exi/index.ts';
import { SignatureCoverageIncomplete, SignatureDigestMismatch, SignatureInvalid, SignatureMalformed, SignatureReferenceMissing } from './errors.ts';
import { toSigningKey, toVerificationKey, type SignatureSigningKey, type SignatureVerificationKey } from './keys.ts';

/** Algorithm URIs fixed by ISO 15118-2 [V2G2-771] (the same in Josev, RISE-V2G, OpenV2G and EVerest). */
export const XmlSignatureAlgorithm = {
  canonicalization: 'http://www.w3.org/TR/canonical-exi/',
  signature: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256',
  digest: 'http://www.w3.org/2001/04/xmlenc#sha256',
  transform: 'http://www.w3.org/TR/canonical-exi/',
} as const;

export interface AlgorithmJson {
  readonly Algorithm: string;
}

/** One xmldsig Reference in the ExiJson shape (exi.md): `Transform` is a single object, binary is lowercase hex. */
export interface ReferenceJson {
  readonly URI: string;
  readonly Transforms: { readonly Transform: AlgorithmJson };
  readonly DigestMethod: AlgorithmJson;
  readonly DigestValue: string;
}

export interface SignedInfoJson {
  readonly CanonicalizationMethod: AlgorithmJson;
  readonly SignatureMethod: AlgorithmJson;
  readonly Reference: readonly ReferenceJson[];
}

/** The `Signature` element of a V2G message header, in the ExiJson shape. */
export interface SignatureJson {
  readonly SignedInfo: SignedInfoJson;
  readonly SignatureValue: { readonly CONTENT: string };
}

/**
 * An element to sign: `id` is its `Id` attribute, `fragment` the element as an `iso2-frag` ExiJson
 * document, e.g. `{ AuthorizationReq: { Id: 'ID1', GenChallenge: '…' } }` or `{ eMAID: { Id: 'id4', CONTENT: '…' } }`.
 */
export interface ReferencedFragment {
  readonly id: string;
  readonly fragment: ExiJson;
}

/** What a successful verification checked. */
export interface VerifiedSignature {
  readonly references: readonly { readonly uri: string; readonly digest: string }[];
  /** The SignedInfo bytes the signature covers (xmldsig-grammar EXI fragment). */
  readonly signedInfoExi: Uint8Array;
}

const RAW_SIGNATURE_LENGTH = 64;
const DIGEST_LENGTH = 32;

/**
 * SHA-256 over the element's EXI fragment in the MsgDef grammar, namespace `urn:iso:15118:2:2013:MsgBody`
 * (pki-and-crypto.md §11.3): the DigestValue of a Reference to it.
 */
export function digestFragment(fragment: ExiJson): Uint8Array {
  return createHash('sha256').update(encodeExi('iso2-frag', fragment)).digest();
}

/** Builds SignedInfo with one Reference `#<id>` per element, in the given order [V2G2-771]. */
export function buildSignedInfo(references: readonly ReferencedFragment[]): SignedInfoJson {
  if (references.length === 0) throw new SignatureMalformed('a signature needs at least one Reference');
  return {
    CanonicalizationMethod: { Algorithm: XmlSignatureAlgorithm.canonicalization },
    SignatureMethod: { Algorithm: XmlSignatureAlgorithm.signature },
    Reference: references.map(({ id, fragment }) => {
      const elementId = idOf(fragment);
      if (elementId !== id) {
        throw new SignatureMalformed(`Reference '#${id}' names an element whose Id is ${elementId === undefined ? 'missing' : `'${elementId}'`}`);
      }
      return {
        URI: `#${id}`,
        Transforms: { Transform: { Algorithm: XmlSignatureAlgorithm.transform } },
        DigestMethod: { Algorithm: XmlSignatureAlgorithm.digest },
        DigestValue: hexOfBytes(digestFragment(fragment)),
      };
    }),
  };
}

/** The bytes ECDSA signs: SignedInfo as a fragment of the xmldsig-only grammar (starts `80 81`). */
export function encodeSignedInfo(signedInfo: SignedInfoJson): Uint8Array {
  return encodeExi('iso2-xmldsig', { SignedInfo: signedInfo } as unknown as ExiJson);
}

/**
 * Signs elements for a V2G message header: digests each fragment, builds SignedInfo and signs its
 * EXI with ECDSA-SHA256, giving the 64-byte raw r‖s SignatureValue (not DER).
 *
 * @example
 * const Signature = signFragments([{ id: 'ID1', fragment: { AuthorizationReq: body.AuthorizationReq } }], contractKey);
 */
export function signFragments(references: readonly ReferencedFragment[], privateKey: SignatureSigningKey): SignatureJson {
  const SignedInfo = buildSignedInfo(references);
  const value = sign('sha256', encodeSignedInfo(SignedInfo), { key: toSigningKey(privateKey), dsaEncoding: 'ieee-p1363' });
  return { SignedInfo, SignatureValue: { CONTENT: hexOfBytes(value) } };
}

/**
 * Verifies a Signature against the referenced elements: each Reference's DigestValue must equal
 * SHA-256 of the element's EXI fragment, then the signature must verify over the received
 * SignedInfo re-encoded as EXI. `findElement` returns the `iso2-frag` document for an Id.
 */
export function verifySignature(
  signature: unknown,
  findElement: (id: string) => ExiJson | undefined,
  publicKey: SignatureVerificationKey,
): VerifiedSignature {
  return verifyProfiled(checkSignatureProfile(signature, JSON_FORM), findElement, publicKey, JSON_FORM);
}

/**
 * How one form of a decoded message is digested and signed: the exi.md JSON (binary as hex), or the
 * typed codecs' values (binary as Uint8Array), which encode without mapping back from JSON.
 */
interface MessageForm {
  /** Whether a DigestValue or SignatureValue of `length` bytes is one in this form. */
  isBinary(value: unknown, length: number): boolean;
  toHex(value: unknown): string;
  toBytes(value: unknown): Buffer;
  encodeFragment(fragment: ExiJson): Uint8Array;
  encodeSignedInfo(signedInfo: unknown): Uint8Array;
}

const JSON_FORM: MessageForm = {
  isBinary: (value, length) => typeof value === 'string' && new RegExp(`^[0-9a-fA-F]{${2 * length}}$`).test(value),
  toHex: (value) => (value as string).toLowerCase(),
  toBytes: (value) => Buffer.from(value as string, 'hex'),
  encodeFragment: (fragment) => encodeExi('iso2-frag', fragment),
  encodeSignedInfo: (signedInfo) => encodeSignedInfo(signedInfo as SignedInfoJson),
};

const TYPED_FORM: MessageForm = {
  isBinary: (value, length) => value instanceof Uint8Array && value.length === length,
  toHex: (value) => hexOfBytes(value as Uint8Array),
  toBytes: (value) => Buffer.from((value as Uint8Array).buffer, (value as Uint8Array).byteOffset, (value as Uint8Array).byteLength),
  encodeFragment: (fragment) => exiCodecs['iso2-frag'].encode(fragment as Iso2Fragment),
  encodeSignedInfo: (signedInfo) => exiCodecs['iso2-xmldsig'].encode({ SignedInfo: signedInfo } as SignedInfoFragment),
};

function verifyProfiled(
  checked: SignatureJson,
  findElement: (id: string) => ExiJson | undefined,
  publicKey: SignatureVerificationKey,
  form: MessageForm,
): VerifiedSignature {
  const key = toVerificationKey(publicKey);
  const references = checked.SignedInfo.Reference.map((reference) => {
    const id = reference.URI.slice(1);
    const element = findElement(id);
    if (element === undefined) throw new SignatureReferenceMissing(reference.URI);
    const digest = hexOfBytes(asMalformed(`element ${reference.URI}`, () => createHash('sha256').update(form.encodeFragment(element)).digest()));
    const expected = form.toHex(reference.DigestValue);
    if (digest !== expected) throw new SignatureDigestMismatch(reference.URI, expected, digest);
    return { uri: reference.URI, digest };
  });
  const signedInfoExi = asMalformed('SignedInfo', () => form.encodeSignedInfo(checked.SignedInfo));
  const value = form.toBytes(checked.SignatureValue.CONTENT);
  if (!verify('sha256', signedInfoExi, { key, dsaEncoding: 'ieee-p1363' }, value)) throw new SignatureInvalid();
  return { references, signedInfoExi };
}

/**
 * Signs the Body elements with the given Ids and returns a copy of the message with the Signature in
 * its Header (replacing any there), e.g. the four elements of a CertificateInstallationRes
 * [V2G2-771]. Accepts `{ V2G_Message: { Header, Body } }` or the inner `{ Header, Body }` and returns
 * the same form.
 *
 * @throws SignatureReferenceMissing when an Id is not in the Body
 */
export function signV2gMessage<M extends object>(v2gMessage: M, ids: readonly string[], privateKey: SignatureSigningKey): M {
  const { message, wrapped } = innerMessage(v2gMessage);
  const references = ids.map((id) => {
    const fragment = findById(message.Body, id);
    if (!fragment) throw new SignatureReferenceMissing(`#${id}`);
    return { id, fragment };
  });
  const signed = { ...message, Header: { ...message.Header, Signature: signFragments(references, privateKey) } };
  return (wrapped ? { ...v2gMessage, V2G_Message: signed } : signed) as M;
}

export interface VerifyMessageOptions {
  /**
   * Elements signed in this header but carried elsewhere (RISE-V2G EVCCs, for example, repeat the
   * MeteringReceiptReq signature in later requests of the session). Used only for Ids the Body does not hold.
   */
  readonly fragments?: readonly ReferencedFragment[];
}

/**
 * Verifies the Signature in a V2G_Message header (`{ V2G_Message: { Header, Body } }` ExiJson or the
 * inner `{ Header, Body }`): every Reference is resolved to the Body element with that Id (or one of
 * `options.fragments`), its digest checked, then the ECDSA signature. For AuthorizationReq,
 * MeteringReceiptReq, CertificateInstallationReq/Res and CertificateUpdateReq/Res bodies, the
 * elements that must be signed have to be among the References.
 *
 * @throws SignatureMalformed, SignatureCoverageIncomplete, SignatureReferenceMissing, SignatureDigestMismatch, SignatureInvalid
 */
export function verifyMessageSignature(
  v2gMessage: unknown,
  publicKey: SignatureVerificationKey,
  options: VerifyMessageOptions = {},
): VerifiedSignature {
  return verifyInForm(v2gMessage, publicKey, options, JSON_FORM);
}

/**
 * {@link verifyMessageSignature} for a message as the typed codec decoded it (`exiCodecs.iso2.decode`:
 * binary as Uint8Array): the same checks in the same order, with the same errors, but each referenced
 * element and SignedInfo is encoded from its typed value, with no mapping to and from JSON. Given
 * `fragments` are typed values too.
 */
export function verifyDecodedMessageSignature(
  v2gMessage: unknown,
  publicKey: SignatureVerificationKey,
  options: VerifyMessageOptions = {},
): VerifiedSignature {
  return verifyInForm(v2gMessage, publicKey, options, TYPED_FORM);
}

function verifyInForm(v2gMessage: unknown, publicKey: SignatureVerificationKey, options: VerifyMessageOptions, form: MessageForm): VerifiedSignature {
  const { message } = innerMessage(v2gMessage);
  if (message.Header.Signature === undefined) throw new SignatureMalformed('the V2G_Message header carries no Signature');
  const signature = checkSignatureProfile(message.Header.Signature, form);
  const body = message.Body;
  requireCoverage(body, signature);
  // The Body wins over given fragments, so a given fragment can never stand in for a Body element.
  return verifyProfiled(signature, (id) => findById(body, id) ?? options.fragments?.find((given) => given.id === id)?.fragment, publicKey, form);
}

/**
 * The elements each signed message must reference (pki-and-crypto.md §11.2): the request element
 * itself, or the four contract elements of a CertificateInstallationRes/UpdateRes
 * (SAProvisioningCertificateChain is not signed).
 */
const SIGNED_ELEMENTS: Readonly<Record<string, 'self' | readonly string[]>> = {
  AuthorizationReq: 'self',
  MeteringReceiptReq: 'self',
  CertificateInstallationReq: 'self',
  CertificateUpdateReq: 'self',
  CertificateInstallationRes: ['ContractSignatureCertChain', 'ContractSignatureEncryptedPrivateKey', 'DHpublickey', 'eMAID'],
  CertificateUpdateRes: ['ContractSignatureCertChain', 'ContractSignatureEncryptedPrivateKey', 'DHpublickey', 'eMAID'],
};

/**
 * A signature that verifies but leaves out an element it must protect is worthless (a valid signature
 * over another element next to an unsigned AuthorizationReq, say): every such element needs an Id that
 * a Reference names.
 */
function requireCoverage(body: unknown, signature: SignatureJson): void {
  if (!isObject(body)) return;
  const uris = new Set(signature.SignedInfo.Reference.map((reference) => reference.URI));
  for (const [name, content] of Object.entries(body)) {
    const required = SIGNED_ELEMENTS[name];
    if (required === undefined || !isObject(content)) continue;
    const elements: [string, unknown][] = required === 'self' ? [[name, content]] : required.map((child) => [child, content[child]]);
    for (const [element, value] of elements) {
      if (value === undefined) continue; // absent (e.g. a failed CertificateInstallationRes): nothing to protect
      const id = isObject(value) ? value.Id : undefined;
      if (typeof id !== 'string' || !uris.has(`#${id}`)) {
        throw new SignatureCoverageIncomplete(element, typeof id === 'string' ? id : undefined);
      }
    }
  }
}

/** `{ Header, Body }` from either message form, and whether it came wrapped in `V2G_Message`. */
function innerMessage(v2gMessage: unknown): { message: JsonObject; wrapped: boolean } {
  const wrapped = isObject(v2gMessage) && isObject(v2gMessage.V2G_Message);
  const message = wrapped ? (v2gMessage as JsonObject).V2G_Message : v2gMessage;
  if (!isObject(message) || !isObject(message.Header)) throw new SignatureMalformed('not a V2G_Message: no Header');
  return { message, wrapped };
}

/**
 * Finds the element whose `Id` attribute is `id` anywhere below `node` and returns it as a fragment
 * document `{ <name>: <content> }`.
 */
export function findById(node: unknown, id: string): ExiJson | undefined {
  if (!isObject(node)) return undefined;
  for (const [name, value] of Object.entries(node)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      // Binary values of a typed message hold no elements.
      if (!isObject(item) || ArrayBuffer.isView(item)) continue;
      if (item.Id === id) return { [name]: item } as ExiJson;
      const found = findById(item, id);
      if (found) return found;
    }
  }
  return undefined;
}

/** Checks a received Signature against the ISO 15118-2 profile [V2G2-771] before anything is computed. */
function checkSignatureProfile(signature: unknown, form: MessageForm): SignatureJson {
  const where = 'Signature';
  requireKeys(signature, where, ['SignedInfo', 'SignatureValue'], ['Id']);
  requireKeys(signature.SignedInfo, `${where}/SignedInfo`, ['CanonicalizationMethod', 'SignatureMethod', 'Reference']);
  requireAlgorithm(signature.SignedInfo.CanonicalizationMethod, `${where}/SignedInfo/CanonicalizationMethod`, XmlSignatureAlgorithm.canonicalization);
  requireAlgorithm(signature.SignedInfo.SignatureMethod, `${where}/SignedInfo/SignatureMethod`, XmlSignatureAlgorithm.signature);
  const references = signature.SignedInfo.Reference;
  if (!Array.isArray(references) || references.length === 0) throw new SignatureMalformed(`${where}/SignedInfo has no Reference`);
  references.forEach((reference, index) => {
    const at = `${where}/SignedInfo/Reference[${index}]`;
    requireKeys(reference, at, ['URI', 'Transforms', 'DigestMethod', 'DigestValue'], ['Id']);
    if (typeof reference.URI !== 'string' || !/^#.+/.test(reference.URI)) throw new SignatureMalformed(`${at}@URI must be '#<Id>'`);
    requireKeys(reference.Transforms, `${at}/Transforms`, ['Transform']);
    const transforms = reference.Transforms.Transform;
    const transform = Array.isArray(transforms) && transforms.length === 1 ? transforms[0] : transforms;
    requireAlgorithm(transform, `${at}/Transforms/Transform`, XmlSignatureAlgorithm.transform);
    requireAlgorithm(reference.DigestMethod, `${at}/DigestMethod`, XmlSignatureAlgorithm.digest);
    if (!form.isBinary(reference.DigestValue, DIGEST_LENGTH)) {
      throw new SignatureMalformed(`${at}/DigestValue must be ${DIGEST_LENGTH} bytes`);
    }
  });
  requireKeys(signature.SignatureValue, `${where}/SignatureValue`, ['CONTENT']);
  const value = signature.SignatureValue.CONTENT;
  if (!form.isBinary(value, RAW_SIGNATURE_LENGTH)) {
    throw new SignatureMalformed(`${where}/SignatureValue must be ${RAW_SIGNATURE_LENGTH} bytes raw r‖s`);
  }
  return signature as unknown as SignatureJson;
}

/** A received element that does not fit its grammar cannot have been signed as it is. */
function asMalformed<T>(what: string, encode: () => T): T {
  try {
    return encode();
  } catch (error) {
    if (PncError.is(error, 'ExiEncodeError')) throw new SignatureMalformed(`${what} cannot be EXI-encoded: ${error.message}`, error);
    throw error;
  }
}

type JsonObject = Record<string, any>;

function requireKeys(value: unknown, where: string, required: readonly string[], optional: readonly string[] = []): asserts value is JsonObject {
  if (!isObject(value)) throw new SignatureMalformed(`${where} is missing`);
  for (const key of required) if (value[key] === undefined) throw new SignatureMalformed(`${where} has no ${key}`);
  for (const key of Object.keys(value)) {
    if (!required.includes(key) && !optional.includes(key)) throw new SignatureMalformed(`${where} may not carry ${key} [V2G2-771]`);
  }
}

function requireAlgorithm(value: unknown, where: string, algorithm: string): void {
  requireKeys(value, where, ['Algorithm']);
  if (value.Algorithm !== algorithm) throw new SignatureMalformed(`${where} must be ${algorithm}, got ${String(value.Algorithm)}`);
}

function idOf(fragment: ExiJson): unknown {
  const values = Object.values(fragment as JsonObject);
  return values.length === 1 && isObject(values[0]) ? values[0].Id : undefined;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

