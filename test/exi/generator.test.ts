// The committed generated codecs are exactly what the generator makes from the committed XSDs.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateAll, GENERATED_DIR } from '../../protocols/exi/generator/generate.ts';
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

test.run();
