/**
 * Schema-informed EXI 1.0 codecs for ISO 15118-2, DIN 70121, the application handshake, and the
 * fragments ISO 15118-2 signs (MsgDef fragments, eMAID in the element fragment form, SignedInfo in
 * the xmldsig-only grammar). Code generated from the XSDs by `npm run gen:exi`.
 *
 * Two levels: the typed codecs (`exiCodecs.iso2.encode(doc)`, byte fields as Uint8Array, fastest)
 * and the JSON level of the team contract (`encodeExi/decodeExi(schemaId, …)`, byte fields as hex).
 */
import { BitReader, BitWriter } from './runtime.ts';
import { ExiDecodeError, ExiEncodeError } from './errors.ts';
import { JsonMapper, toJson } from './json.ts';
import type { SchemaModel } from './model-types.ts';
import * as app from './generated/app.ts';
import * as din from './generated/din.ts';
import * as iso2 from './generated/iso2.ts';
import * as xmldsig from './generated/xmldsig.ts';

export { ExiDecodeError, ExiEncodeError };
export type { SchemaModel } from './model-types.ts';
export type * as Iso2 from './generated/iso2.ts';
export type * as Din from './generated/din.ts';
export type * as App from './generated/app.ts';
export type * as XmlDsig from './generated/xmldsig.ts';

export type ExiSchemaId = 'app' | 'iso2' | 'din' | 'iso2-frag' | 'iso2-xmldsig';
export const EXI_SCHEMA_IDS: readonly ExiSchemaId[] = ['app', 'iso2', 'din', 'iso2-frag', 'iso2-xmldsig'];

/** The JSON shape of exi.md: `{ <root element>: { … } }`. */
export type ExiJson = Record<string, unknown>;

export type Iso2Document = { V2G_Message: iso2.V2G_MessageType };
export type DinDocument = { V2G_Message: din.V2G_MessageType };
export type AppDocument = { supportedAppProtocolReq: app.supportedAppProtocolReqType } | { supportedAppProtocolRes: app.supportedAppProtocolResType };
/** A MsgDef fragment: one MsgBody element, e.g. `{ AuthorizationReq: {…} }`, or `{ eMAID: { Id, CONTENT } }`. */
export type Iso2Fragment = Record<string, unknown>;
export type SignedInfoFragment = { SignedInfo: xmldsig.SignedInfoType };

export interface Decoded<D> {
  readonly document: D;
  /** Zero bytes after the end of the document (accepted, as some EVs send them). */
  readonly paddingBytes: number;
}

/** Typed codec for one EXI document type. Decoded byte fields are views into the input when byte-aligned. */
export interface ExiCodec<D> {
  readonly schemaId: ExiSchemaId;
  encode(document: D): Uint8Array;
  decode(bytes: Uint8Array): D;
  decodeWithPadding(bytes: Uint8Array): Decoded<D>;
}

const writer = new BitWriter();
const { hasOwnProperty } = Object.prototype;

type Encoder = (w: BitWriter, name: string, value: unknown) => void;
type Decoder = (r: BitReader) => Record<string, unknown>;

function encodeWith(encode: Encoder, document: unknown): Uint8Array {
  if (typeof document !== 'object' || document === null) throw new ExiEncodeError('', 'expected a document object with one root element');
  // The root's name without Object.keys(): no array per encode.
  let root: string | undefined;
  let count = 0;
  for (const key in document) {
    // Not Object.hasOwn: V8 optimises this form inside for-in (about 6 ns of an encode's 400).
    if (!hasOwnProperty.call(document, key)) continue;
    root = key;
    count++;
  }
  if (count !== 1) throw new ExiEncodeError('', `a document has exactly one root element, got ${count}`);
  writer.reset();
  writer.bits(0x80, 8);
  encode(writer, root!, (document as Record<string, unknown>)[root!]);
  return writer.finish();
}

/** EXI header (5.1): optional "$EXI" cookie, distinguishing bits 10, no options, final version 1. */
function readHeader(r: BitReader): void {
  const b = r.bytes;
  if (b.length >= 4 && b[0] === 0x24 && b[1] === 0x45 && b[2] === 0x58 && b[3] === 0x49) r.pos = 32;
  const at = r.pos;
  const header = r.bits(8);
  if (header >>> 6 !== 2) r.fail('not an EXI stream (distinguishing bits are not 10)', at);
  if (header & 0x20) r.fail('EXI options in the header are not supported (V2G streams carry none)', at);
  if (header & 0x1f) r.fail('not EXI version 1 (final)', at);
}

function readerOf(bytes: Uint8Array): BitReader {
  if (!(bytes instanceof Uint8Array)) throw new ExiDecodeError('input is not a Uint8Array', 0);
  return new BitReader(bytes);
}

/** Header, document, and the check that only zero bytes follow; the reader ends at the document's last bit. */
function readDocument(decode: Decoder, r: BitReader): Record<string, unknown> {
  const bytes = r.bytes;
  readHeader(r);
  const document = decode(r);
  const end = (r.pos + 7) >>> 3;
  for (let i = end; i < bytes.length; i++) if (bytes[i] !== 0) throw new ExiDecodeError(`non-zero byte after the end of the document (${bytes.length - end} trailing bytes)`, i * 8);
  return document;
}

function codec<D>(schemaId: ExiSchemaId, encode: Encoder, decode: Decoder): ExiCodec<D> {
  return {
    schemaId,
    encode: (document) => encodeWith(encode, document),
    // No result wrapper on the hot path: a small message decodes in a few hundred nanoseconds.
    decode: (bytes) => readDocument(decode, readerOf(bytes)) as D,
    decodeWithPadding: (bytes) => {
      const r = readerOf(bytes);
      const document = readDocument(decode, r) as D;
      return { document, paddingBytes: bytes.length - ((r.pos + 7) >>> 3) };
    },
  };
}

/** The typed codecs, one per EXI schema id. */
export const exiCodecs: {
  readonly app: ExiCodec<AppDocument>;
  readonly iso2: ExiCodec<Iso2Document>;
  readonly din: ExiCodec<DinDocument>;
  readonly 'iso2-frag': ExiCodec<Iso2Fragment>;
  readonly 'iso2-xmldsig': ExiCodec<SignedInfoFragment>;
} = {
  app: codec('app', app.encodeDocument, app.decodeDocument),
  iso2: codec('iso2', iso2.encodeDocument, iso2.decodeDocument),
  din: codec('din', din.encodeDocument, din.decodeDocument),
  'iso2-frag': codec('iso2-frag', iso2.encodeFragment, iso2.decodeFragment),
  'iso2-xmldsig': codec('iso2-xmldsig', xmldsig.encodeFragment, xmldsig.decodeFragment),
};

const models: Record<ExiSchemaId, SchemaModel[]> = {
  app: [app.model],
  iso2: [iso2.model, xmldsig.model],
  din: [din.model, xmldsig.model],
  'iso2-frag': [iso2.model, xmldsig.model],
  'iso2-xmldsig': [xmldsig.model],
};

/** The schema model of a schema id (types and global elements), as the generator saw it. */
export function exiSchemaModel(schema: ExiSchemaId): readonly SchemaModel[] {
  return models[schema];
}

const mappers = new Map<ExiSchemaId, JsonMapper>();

const isSchemaId = (schema: unknown): schema is ExiSchemaId => EXI_SCHEMA_IDS.includes(schema as ExiSchemaId);
const unknownSchema = (schema: unknown): string => `unknown EXI schema id ${String(schema)} (one of ${EXI_SCHEMA_IDS.join(', ')})`;

/** JSON (exi.md shape) → EXI bytes. Throws ExiEncodeError naming the element path on any schema violation. */
export function encodeExi(schema: ExiSchemaId, document: ExiJson): Uint8Array {
  if (!isSchemaId(schema)) throw new ExiEncodeError('', unknownSchema(schema));
  const id = schema;
  if (typeof document !== 'object' || document === null || Array.isArray(document)) throw new ExiEncodeError('', 'expected a document object with one root element');
  const keys = Object.keys(document);
  if (keys.length !== 1) throw new ExiEncodeError('', `a document has exactly one root element, got ${keys.length}`);
  const root = keys[0];
  let mapper = mappers.get(id);
  if (!mapper) mappers.set(id, (mapper = new JsonMapper(models[id])));
  const spec = rootSpec(id, root);
  const typed = spec === 'elementFragment' ? document[root] : mapper.fromJson(document[root], spec, root);
  return exiCodecs[id].encode({ [root]: typed } as never);
}

function rootSpec(id: ExiSchemaId, root: string): { type?: string; value?: SchemaModel['roots'][number]['value'] } | 'elementFragment' {
  if (id === 'iso2-frag' && iso2.elementFragmentNames.includes(root)) return 'elementFragment';
  if (id === 'iso2-frag' || id === 'iso2-xmldsig') {
    const spec = (id === 'iso2-frag' ? iso2 : xmldsig).fragmentElementTypes[root];
    if (!spec) throw new ExiEncodeError(root, `not an element of the ${id === 'iso2-frag' ? 'ISO 15118-2 MsgDef' : 'xmldsig'} schema`);
    return spec;
  }
  const found = models[id][0].roots.find((r) => r.name === root);
  if (found) return found;
  throw new ExiEncodeError(root, `not a global element of schema ${id}`);
}

/**
 * EXI bytes → JSON (exi.md shape). Throws ExiDecodeError (with the bit position) on malformed input.
 * Integers beyond 2^53 are decimal strings, or bigints with `exactIntegers` (see exact-json.ts).
 */
export function decodeExi(schema: ExiSchemaId, bytes: Uint8Array, options: { exactIntegers?: boolean } = {}): { document: ExiJson; paddingBytes: number } {
  if (!isSchemaId(schema)) throw new ExiDecodeError(unknownSchema(schema), 0);
  const { document, paddingBytes } = exiCodecs[schema].decodeWithPadding(bytes);
  return { document: toJson(document, options.exactIntegers) as ExiJson, paddingBytes };
}

/** The order `auto` tries: the handshake decides, then the two V2G_Message grammars of a session. */
export const AUTO_SCHEMA_ORDER: readonly ExiSchemaId[] = ['app', 'iso2', 'din'];

/**
 * Decodes with the first schema of AUTO_SCHEMA_ORDER that accepts the bytes. Throws ExiDecodeError
 * naming each schema's failure when none does.
 */
export function decodeExiAuto(bytes: Uint8Array, options: { exactIntegers?: boolean } = {}): { schema: ExiSchemaId; document: ExiJson; paddingBytes: number } {
  const failures: string[] = [];
  for (const schema of AUTO_SCHEMA_ORDER) {
    try {
      return { schema, ...decodeExi(schema, bytes, options) };
    } catch (error) {
      if (!(error instanceof ExiDecodeError)) throw error;
      failures.push(`${schema}: ${error.message.split('\n')[0]}`);
    }
  }
  throw new ExiDecodeError(`no schema matched (${failures.join('; ')})`, 0);
}

/** Body element names (ISO-2, DIN), root elements (app), or fragment elements that a schema id can carry. */
export function listMessageTypes(schema: ExiSchemaId): readonly string[] {
  switch (schema) {
    case 'app':
      return ['supportedAppProtocolReq', 'supportedAppProtocolRes'];
    case 'iso2':
      return bodyElements(iso2.model);
    case 'din':
      return bodyElements(din.model);
    case 'iso2-frag':
      return [...new Set(iso2.fragmentElements)];
    case 'iso2-xmldsig':
      return ['SignedInfo'];
  }
}

function bodyElements(model: SchemaModel): string[] {
  const body = model.types.BodyType.content;
  if (body.kind !== 'particle') return [];
  const names: string[] = [];
  const walk = (p: import('./model-types.ts').ModelParticle): void => {
    // The abstract head BodyElement has a grammar production but is never a message.
    if (p.k === 'el') {
      if (p.name !== 'BodyElement') names.push(p.name);
    } else if (p.k !== 'any') p.items.forEach(walk);
  };
  walk(body.particle);
  return names;
}
