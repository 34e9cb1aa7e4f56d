// Signed contract data as XML (OPCP `signedData`, `signedContractDataXML`): the RISE-V2G signed
// CertificateInstallationRes reads into EXI JSON whose four digests and signature verify with the
// published CPS leaf; what we write reads back unchanged; malformed XML is a typed error.
import 'reflect-metadata';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import * as x509 from '@peculiar/x509';
import { verifyMessageSignature } from '../../protocols/xmldsig/index.ts';
import { createTestPki } from '../../protocols/pki/index.ts';
import { readSignedContractXml, signedContractXml } from '../../actors/opcp/signed-xml.ts';
import { signContract } from '../pools/fixtures.ts';

const RISE = '../shared/vectors/crypto/rise-certificate-installation/';
const read = (name: string) => readFileSync(new URL(`../../${RISE}${name}`, import.meta.url), 'utf8');
const message = (parsed: ReturnType<typeof readSignedContractXml>) => ({ V2G_Message: { Header: { SessionID: parsed.sessionId, Signature: parsed.signature }, Body: { CertificateInstallationRes: { ResponseCode: 'OK', ...parsed.body } } } });

test('the RISE-V2G signed CertificateInstallationRes reads into EXI JSON that verifies', () => {
  const parsed = readSignedContractXml(read('CertificateInstallationRes-MsgBody-namespace.xml'));
  assert.is(parsed.sessionId, 'd3765e2a1842af1b');
  assert.equal(parsed.body.eMAID, { Id: 'id4', CONTENT: 'DEABCC123ABC56' });
  const verified = verifyMessageSignature(message(parsed), new x509.X509Certificate(read('cpsLeafCert.pem')));
  assert.equal(verified.references.map((r) => r.uri), ['#id2', '#id1', '#id4', '#id3']);
  assert.is(verified.references.find((r) => r.uri === '#id4')!.digest, '939af54f14396ec0d827f753c896ac0762ae1e00acab57e19af100243cdd5a6b');
  const roundTrip = readSignedContractXml(signedContractXml(parsed.body, parsed.signature, parsed.sessionId));
  assert.equal(roundTrip, parsed);
});

test('what the pools write reads back and still verifies; a changed value does not', async () => {
  const pki = await createTestPki();
  const signed = await signContract(pki, pki.contracts[0], pki.provisioning[0]);
  const xml = signedContractXml(signed.body, signed.signature);
  assert.match(xml, /^<\?xml version="1\.0" encoding="UTF-8" standalone="yes"\?><v2g:V2G_Message xmlns:v2g="urn:iso:15118:2:2013:MsgDef"/);
  const parsed = readSignedContractXml(xml);
  assert.equal(parsed.body, signed.body);
  verifyMessageSignature(message(parsed), pki.cps.certificate);
  const tampered = readSignedContractXml(xml.replace(pki.contracts[0].identifier!, 'DEOPNC99999999'));
  assert.throws(() => verifyMessageSignature(message(tampered), pki.cps.certificate));
});

test('malformed or foreign XML is XmlInvalid', () => {
  for (const xml of ['<a><b></a>', 'not xml', '<V2G_Message><Header/></V2G_Message>', '<x:Other xmlns:x="u"/>']) {
    assert.throws(() => readSignedContractXml(xml), (error: { code?: string }) => error.code === 'XmlInvalid', xml);
  }
});

test.run();
