// Every signed ISO-2 message in the real Plug&Charge captures of the corpus (dSPACE SECC against
// RISE-V2G EVCCs) decodes from its wire bytes and verifies: all References and the signature.
import 'reflect-metadata'; // @peculiar/x509 resolves its services through tsyringe
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate } from '@peculiar/x509';
import { decodeExi } from '../../protocols/exi/index.ts';
import { findById, verifyMessageSignature, type ReferencedFragment } from '../../protocols/xmldsig/index.ts';
import { loadCorpus } from '../helpers/exi-corpus.ts';

interface Decoded {
  id: number;
  message: string;
  capture: string;
  document: Record<string, any>;
}

const messages: Decoded[] = loadCorpus()
  .filter((row) => row.schema === 'iso2' && row.source.includes('PnC'))
  .map((row) => ({
    id: row.id,
    message: row.message,
    capture: row.source.split('#')[0],
    document: decodeExi('iso2', row.bytes).document as Record<string, any>,
  }));

const bodyOf = (m: Decoded) => m.document.V2G_Message.Body[m.message];
const certificate = (hex: string) => new X509Certificate(Buffer.from(hex, 'hex'));

/**
 * The key that signed `m` (pki-and-crypto.md §11.2): the certificate in the message itself, or for
 * messages signed with the contract key, the contract certificate the EVCC sent earlier in the
 * same capture in PaymentDetailsReq.
 */
function signerOf(m: Decoded, earlier: Decoded[]): X509Certificate {
  const body = bodyOf(m);
  switch (m.message) {
    case 'CertificateInstallationReq':
      return certificate(body.OEMProvisioningCert);
    case 'CertificateUpdateReq':
      return certificate(body.ContractSignatureCertChain.Certificate);
    case 'CertificateInstallationRes':
    case 'CertificateUpdateRes':
      return certificate(body.SAProvisioningCertificateChain.Certificate);
    default: {
      const payment = earlier.findLast((e) => e.message === 'PaymentDetailsReq');
      if (!payment) throw new Error(`no PaymentDetailsReq before message ${m.id}`);
      return certificate(bodyOf(payment).ContractSignatureCertChain.Certificate);
    }
  }
}

/**
 * References not in the Body: RISE-V2G EVCCs repeat the last MeteringReceiptReq signature in the
 * header of later requests, so the referenced element is the latest one of that Id in the capture.
 */
function fragmentsFrom(earlier: Decoded[]): ReferencedFragment[] {
  const fragments: ReferencedFragment[] = [];
  for (const e of earlier) {
    const id = bodyOf(e)?.Id;
    if (typeof id === 'string') fragments.unshift({ id, fragment: findById(e.document.V2G_Message.Body, id)! });
  }
  return fragments;
}

const signed = messages.filter((m) => m.document.V2G_Message.Header.Signature !== undefined);

test('the corpus holds the 18 signed PnC messages exi.md lists', () => {
  assert.is(signed.length, 18);
  const kinds = new Set(signed.map((m) => m.message));
  for (const kind of ['CertificateInstallationReq', 'CertificateInstallationRes', 'CertificateUpdateReq', 'CertificateUpdateRes', 'AuthorizationReq', 'MeteringReceiptReq']) {
    assert.ok(kinds.has(kind), kind);
  }
});

for (const m of signed) {
  test(`#${m.id} ${m.message} verifies`, () => {
    const earlier = messages.filter((e) => e.capture === m.capture && e.id < m.id);
    const own = m.document.V2G_Message.Header.Signature.SignedInfo.Reference.every((r: { URI: string }) => findById(m.document.V2G_Message.Body, r.URI.slice(1)));
    const verified = verifyMessageSignature(m.document, signerOf(m, earlier), own ? {} : { fragments: fragmentsFrom(earlier) });
    assert.is(verified.references.length, m.message.startsWith('Certificate') && m.message.endsWith('Res') ? 4 : 1);
  });
}

test.run();
