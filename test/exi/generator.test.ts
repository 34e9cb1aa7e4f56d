// The committed generated codecs are exactly what the generator makes from the committed XSDs.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateAll, GENERATED_DIR, SCHEMA_DIR } from '../../protocols/exi/generator/generate.ts';
import { buildTypeGrammar } from '../../protocols/exi/generator/grammar.ts';
import { loadSchemaSet } from '../../protocols/exi/generator/model.ts';
import { listMessageTypes } from '../../protocols/exi/index.ts';

test('regenerating protocols/exi/generated reproduces every file byte for byte', () => {
  const generated = generateAll();
  const committed = readdirSync(GENERATED_DIR).filter((f) => f.endsWith('.ts')).sort();
  assert.equal([...generated.keys()].sort(), committed);
  for (const [file, text] of generated) assert.ok(readFileSync(join(GENERATED_DIR, file), 'utf8') === text, `${file} differs: run npm run gen:exi`);
});

test('the generator is deterministic', () => {
  const a = generateAll();
  const b = generateAll();
  for (const [file, text] of a) assert.ok(b.get(file) === text, file);
});

test('message types: 34 ISO-2 and 34 DIN body elements', () => {
  const iso2 = listMessageTypes('iso2');
  const din = listMessageTypes('din');
  assert.ok(iso2.includes('CurrentDemandReq') && iso2.includes('CertificateInstallationRes'));
  assert.ok(din.includes('ContractAuthenticationReq') && !din.includes('AuthorizationReq'));
  assert.is(iso2.length, 34);
  assert.is(din.length, 34);
  assert.not.ok(iso2.includes('BodyElement'));
  assert.equal(listMessageTypes('app'), ['supportedAppProtocolReq', 'supportedAppProtocolRes']);
});


/** Productions of each reachable state as "event:width", e.g. ["SE(Service)/1", "SE(Service) EE/2", …]. */
function shape(set: string[], typeName: string): string[] {
  const schema = loadSchemaSet(SCHEMA_DIR, set);
  const type = schema.complexTypes.find((t) => t.name === typeName)!;
  const g = buildTypeGrammar(type);
  return g.states.map((s) => `${s.productions.map((p) => (p.event.kind === 'SE' ? `SE(${(p.event.pos as { field: string }).field})` : p.event.kind)).join(' ')}/${s.width}`);
}

const ISO = ['iso2/V2G_CI_MsgDef.xsd', 'iso2/V2G_CI_MsgHeader.xsd', 'iso2/V2G_CI_MsgBody.xsd', 'iso2/V2G_CI_MsgDataTypes.xsd', 'xmldsig-core-schema.xsd'];
const DIN = ['din/V2G_CI_MsgDef.xsd', 'din/V2G_CI_MsgHeader.xsd', 'din/V2G_CI_MsgBody.xsd', 'din/V2G_CI_MsgDataTypes.xsd', 'xmldsig-core-schema.xsd'];

test('a bounded list has no SE after maxOccurs (ISO ServiceList, 1..8 Service)', () => {
  // start: only SE(Service); after 1..7: SE(Service) or EE (2 productions + escape = 2 bits); after 8: only EE.
  assert.equal(shape(ISO, 'ServiceListType'), ['SE(Service)/1', 'SE(Service) EE/2', 'EE/1']);
  assert.equal(shape(ISO, 'PaymentOptionListType'), ['SE(PaymentOption)/1', 'SE(PaymentOption) EE/2', 'EE/1']);
});

test('an unbounded DIN list loops (ServiceTagList Service 1..unbounded)', () => {
  assert.equal(shape(DIN, 'ServiceTagListType'), ['SE(Service)/1', 'SE(Service) EE/2']);
  assert.equal(shape(DIN, 'SubCertificatesType'), ['SE(Certificate)/1', 'SE(Certificate) EE/2']);
});

test('ISO SubCertificates 1..4: after the fourth Certificate only EE', () => {
  assert.equal(shape(ISO, 'SubCertificatesType'), ['SE(Certificate)/1', 'SE(Certificate) EE/2', 'EE/1']);
});

test.run();
