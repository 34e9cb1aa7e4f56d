// verifyDecodedMessageSignature (typed codec values) against verifyMessageSignature (exi.md JSON) on
// the signed CertificateInstallationReq / CertificateUpdateReq / …Res of the corpus: the same result
// when they verify, and the same error (class and message) for each tampering, both forms decoded
// from the same bytes.
import 'reflect-metadata'; // @peculiar/x509 resolves its services through tsyringe
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate } from '@peculiar/x509';
import { decodeExi, exiCodecs, type Iso2Document } from '../../protocols/exi/index.ts';
import { verifyDecodedMessageSignature, verifyMessageSignature } from '../../protocols/xmldsig/index.ts';
import { loadCorpus } from '../helpers/exi-corpus.ts';

type Any = Record<string, any>;

// The messages signed with a certificate they carry themselves.
const SIGNER: Record<string, (body: Any) => string> = {
  CertificateInstallationReq: (body) => body.OEMProvisioningCert,
  CertificateUpdateReq: (body) => body.ContractSignatureCertChain.Certificate,
  CertificateInstallationRes: (body) => body.SAProvisioningCertificateChain.Certificate,
  CertificateUpdateRes: (body) => body.SAProvisioningCertificateChain.Certificate,
};

const rows = loadCorpus().filter((row) => row.schema === 'iso2' && row.source.includes('PnC') && row.message in SIGNER);

function keyOf(bytes: Uint8Array, message: string): X509Certificate {
  const body = (decodeExi('iso2', bytes).document as Any).V2G_Message.Body[message];
  return new X509Certificate(Buffer.from(SIGNER[message](body), 'hex'));
}

/** The outcome of one verification: what it checked, or the error it threw. */
function outcome(verify: () => { references: readonly { uri: string; digest: string }[]; signedInfoExi: Uint8Array }): string {
  try {
    const { references, signedInfoExi } = verify();
    return `ok ${JSON.stringify(references)} ${Buffer.from(signedInfoExi).toString('hex')}`;
  } catch (error) {
    return `${(error as Error).constructor.name}: ${(error as Error).message}`;
  }
}

/** Both forms of `bytes`, verified with `key`. */
function both(bytes: Uint8Array, key: X509Certificate): { json: string; typed: string } {
  const json = decodeExi('iso2', bytes).document;
  const typed = exiCodecs.iso2.decode(bytes);
  return { json: outcome(() => verifyMessageSignature(json, key)), typed: outcome(() => verifyDecodedMessageSignature(typed, key)) };
}

/** Tamperings of the typed message (false: does not apply to it), each re-encoded so both forms see the same bytes. */
const TAMPERINGS: Record<string, (doc: Iso2Document, message: string) => void | false> = {
  'a DigestValue byte': (doc) => void (doc.V2G_Message.Header.Signature!.SignedInfo.Reference[0].DigestValue[0] ^= 1),
  'a SignatureValue byte': (doc) => void (doc.V2G_Message.Header.Signature!.SignatureValue.CONTENT[5] ^= 1),
  'a short SignatureValue': (doc) => void (doc.V2G_Message.Header.Signature!.SignatureValue.CONTENT = new Uint8Array(63)),
  'a short DigestValue': (doc) => void (doc.V2G_Message.Header.Signature!.SignedInfo.Reference[0].DigestValue = new Uint8Array(31)),
  'a signed element': (doc, message) => {
    const body = (doc.V2G_Message.Body as Any)[message];
    if (body.ListOfRootCertificateIDs) body.ListOfRootCertificateIDs.RootCertificateID[0].X509IssuerName += 'x';
    else body.eMAID.CONTENT = body.eMAID.CONTENT.replace(/.$/, (c: string) => (c === 'A' ? 'B' : 'A'));
  },
  'a Reference to an unknown Id': (doc) => void (doc.V2G_Message.Header.Signature!.SignedInfo.Reference[0].URI = '#nowhere'),
  // A request signs one element; the grammar needs at least one Reference.
  'a missing Reference': (doc) => doc.V2G_Message.Header.Signature!.SignedInfo.Reference.length > 1 && void doc.V2G_Message.Header.Signature!.SignedInfo.Reference.pop(),
  'a KeyInfo': (doc) => void (doc.V2G_Message.Header.Signature!.KeyInfo = { KeyName: ['k'] }),
  'another digest algorithm': (doc) => void (doc.V2G_Message.Header.Signature!.SignedInfo.Reference[0].DigestMethod.Algorithm = 'http://www.w3.org/2000/09/xmldsig#sha1'),
  'a second Transform': (doc) => void doc.V2G_Message.Header.Signature!.SignedInfo.Reference[0].Transforms!.Transform.push({ Algorithm: 'x' }),
  'an XPath in the Transform': (doc) => void (doc.V2G_Message.Header.Signature!.SignedInfo.Reference[0].Transforms!.Transform[0].XPath = ['/']),
  'a SignedInfo Id': (doc) => void (doc.V2G_Message.Header.Signature!.SignedInfo.Id = 'si'),
  'no Signature': (doc) => void delete doc.V2G_Message.Header.Signature,
};

test('the corpus holds signed certificate requests and responses of each kind', () => {
  assert.equal(new Set(rows.map((row) => row.message)), new Set(Object.keys(SIGNER)));
});

for (const row of rows) {
  test(`#${row.id} ${row.message}: both forms verify alike`, () => {
    const key = keyOf(row.bytes, row.message);
    const { json, typed } = both(row.bytes, key);
    assert.ok(json.startsWith('ok '), json);
    assert.is(typed, json);
  });

  test(`#${row.id} ${row.message}: both forms refuse each tampering alike`, () => {
    const key = keyOf(row.bytes, row.message);
    for (const [name, tamper] of Object.entries(TAMPERINGS)) {
      const doc = exiCodecs.iso2.decode(new Uint8Array(row.bytes));
      if (tamper(doc, row.message) === false) continue;
      const bytes = exiCodecs.iso2.encode(doc);
      const { json, typed } = both(bytes, key);
      assert.not.ok(json.startsWith('ok '), `${name}: ${json}`);
      assert.is(typed, json, name);
    }
  });
}

test.run();
