// Property: every ISO-2, DIN and handshake message type, generated at random from the schema model
// (lists up to their maxOccurs, unbounded DIN lists beyond 2 items), survives encode → decode → equal,
// through the typed API and through the JSON API to the same bytes.
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeExi, encodeExi, exiCodecs, exiSchemaModel, listMessageTypes, type ExiSchemaId } from '../../protocols/exi/index.ts';
import { toJson } from '../../protocols/exi/json.ts';
import { ModelArbitraries } from './arbitraries.ts';

const RUNS = Number(process.env.EXI_ROUNDTRIP_RUNS ?? 25);
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

function bodyArbitrary(schema: 'iso2' | 'din', arbs: ModelArbitraries, message: string): fc.Arbitrary<Record<string, unknown>> {
  const model = exiSchemaModel(schema)[0];
  const body = model.types.BodyType.content;
  if (body.kind !== 'particle') throw new Error('BodyType has no particle');
  const find = (p: any): any => (p.k === 'el' && p.name === message ? p : p.items?.map(find).find(Boolean));
  const element = find(body.particle);
  const header = arbs.type('MessageHeaderType');
  return fc.tuple(header, arbs.type(element.type)).map(([Header, content]) => ({ V2G_Message: { Header, Body: { [message]: content } } }));
}

function roundTrip(schema: ExiSchemaId, document: Record<string, unknown>): void {
  const codec = exiCodecs[schema] as { encode(d: unknown): Uint8Array; decode(b: Uint8Array): unknown };
  const bytes = codec.encode(document);
  const decoded = codec.decode(bytes);
  assert.equal(decoded, document);
  const json = toJson(structuredClone(document)) as Record<string, unknown>;
  assert.is(toHex(encodeExi(schema, JSON.parse(JSON.stringify(json)))), toHex(bytes));
  assert.equal(decodeExi(schema, bytes).document, json);
}

for (const schema of ['iso2', 'din'] as const) {
  const arbs = new ModelArbitraries(exiSchemaModel(schema));
  for (const message of listMessageTypes(schema)) {
    test(`${schema} ${message}: encode → decode → equal`, () => {
      fc.assert(fc.property(bodyArbitrary(schema, arbs, message), (doc) => roundTrip(schema, doc)), { numRuns: RUNS });
    });
  }
}

test('app handshake supportedAppProtocolReq/Res: encode → decode → equal', () => {
  const arbs = new ModelArbitraries(exiSchemaModel('app'));
  const req = arbs.type('supportedAppProtocolReqType').map((v) => ({ supportedAppProtocolReq: v }));
  const res = arbs.type('supportedAppProtocolResType').map((v) => ({ supportedAppProtocolRes: v }));
  fc.assert(fc.property(fc.oneof(req, res), (doc) => roundTrip('app', doc)), { numRuns: RUNS * 8 });
});

test('iso2 MsgDef fragments and xmldsig SignedInfo: encode → decode → equal', () => {
  const arbs = new ModelArbitraries(exiSchemaModel('iso2-frag'));
  const fragments = ['AuthorizationReq', 'CertificateInstallationReq', 'CertificateUpdateReq', 'MeteringReceiptReq', 'ContractSignatureCertChain', 'ContractSignatureEncryptedPrivateKey', 'DHpublickey'];
  const typeOf: Record<string, string> = {
    AuthorizationReq: 'AuthorizationReqType',
    CertificateInstallationReq: 'CertificateInstallationReqType',
    CertificateUpdateReq: 'CertificateUpdateReqType',
    MeteringReceiptReq: 'MeteringReceiptReqType',
    ContractSignatureCertChain: 'CertificateChainType',
    ContractSignatureEncryptedPrivateKey: 'ContractSignatureEncryptedPrivateKeyType',
    DHpublickey: 'DiffieHellmanPublickeyType',
  };
  const fragment = fc.oneof(...fragments.map((name) => arbs.type(typeOf[name]).map((v) => ({ [name]: v }))));
  fc.assert(fc.property(fragment, (doc) => roundTrip('iso2-frag', doc)), { numRuns: RUNS * 8 });
  const signed = new ModelArbitraries(exiSchemaModel('iso2-xmldsig')).type('SignedInfoType').map((v) => ({ SignedInfo: v }));
  fc.assert(fc.property(signed, (doc) => roundTrip('iso2-xmldsig', doc)), { numRuns: RUNS * 8 });
});

test.run();
