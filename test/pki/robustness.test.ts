// Shorter chains, and bytes that are not certificates: the validator answers, it never throws.
import 'reflect-metadata';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  buildCertificate, CertificateParseError, createTestPki, generateKeyPair, parseCertificateDer, profileExtensions, profiles, randomSerialNumber, validateChain,
} from '../../protocols/pki/index.ts';
import { oids } from '../../protocols/pki/der.ts';
import { dropExtension, forge } from './forge.ts';

const pki = await createTestPki();

test('a leaf under one sub-CA, or directly under the root (private environment), validates', async () => {
  const one = await forge([{ role: 'moRoot' }, { role: 'moSubCa1' }, { role: 'contract' }]);
  const oneResult = await validateChain([one[2].certificate, one[1].certificate], { purpose: 'contract', roots: [one[0].certificate] });
  assert.is(oneResult.iso15118, 'OK', oneResult.reason);
  const direct = await forge([{ role: 'v2gRoot' }, { role: 'secc' }]);
  const directResult = await validateChain([direct[1].certificate], { purpose: 'secc', roots: [direct[0].certificate] });
  assert.is(directResult.iso15118, 'OK', directResult.reason);
});

test('the result names the trust anchor the chain ends at', async () => {
  const result = await validateChain(pki.v2gContract.chain, { purpose: 'contract', roots: pki.trustAnchors });
  assert.is(result.root, pki.trustAnchors.v2g[0]);
});

test('a remembered signature check does not carry over to another issuer with the same name', async () => {
  // The leaf has no AKI, so only its signature tells the real Sub-CA 2 from an impostor with the same name.
  const [root, sub1, sub2, leaf] = await forge([{ role: 'moRoot' }, { role: 'moSubCa1' }, { role: 'moSubCa2' }, { role: 'contract', extensions: (e) => dropExtension(e, oids.authorityKeyIdentifier) }]);
  const roots = [root.certificate];
  const real = await validateChain([leaf.certificate, sub2.certificate, sub1.certificate], { purpose: 'contract', roots });
  assert.is(real.iso15118, 'OK', real.reason); // the leaf's signature under the real Sub-CA 2 is now remembered
  const impostorKeys = await generateKeyPair();
  const impostor = await buildCertificate({
    subject: sub2.certificate.subjectName,
    issuerName: sub1.certificate.subjectName,
    publicKey: impostorKeys.publicKey,
    signingKey: sub1.keys.privateKey,
    serialNumber: randomSerialNumber(),
    notBefore: sub2.certificate.notBefore,
    notAfter: sub2.certificate.notAfter,
    extensions: await profileExtensions(profiles.moSubCa2, impostorKeys.publicKey, { role: 'moSubCa1', certificate: sub1.certificate, privateKey: sub1.keys.privateKey }),
  });
  const result = await validateChain([leaf.certificate, impostor, sub1.certificate], { purpose: 'contract', roots });
  assert.equal([result.defect, result.position], ['LeafSignature', 0], result.reason);
  assert.is((await validateChain([leaf.certificate, sub2.certificate, sub1.certificate], { purpose: 'contract', roots })).iso15118, 'OK');
});

test('leafRepeats: a remembered leaf passes again, and any byte changed in it still fails', async () => {
  const chain = pki.secc.chain.map((c) => new Uint8Array(c.rawData));
  const options = { purpose: 'secc' as const, roots: pki.trustAnchors, leafRepeats: true };
  assert.is((await validateChain(chain, options)).iso15118, 'OK'); // the leaf and its signature are now remembered
  assert.is((await validateChain(chain.map((c) => c.slice()), options)).iso15118, 'OK', 'the same content, other bytes objects');
  await fc.assert(
    fc.asyncProperty(fc.nat(), fc.integer({ min: 1, max: 255 }), async (offset, flip) => {
      const leaf = chain[0].slice();
      leaf[offset % leaf.length] ^= flip;
      const result = await validateChain([leaf, ...chain.slice(1)], options);
      assert.is(result.valid, false, `byte ${offset % leaf.length} of the leaf ^ ${flip}`);
    }),
    { numRuns: 200 },
  );
});

test('random bytes are either a certificate or a CertificateParseError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 900 }), (bytes) => {
      try {
        parseCertificateDer(bytes);
      } catch (error) {
        assert.instance(error, CertificateParseError);
      }
    }),
    { numRuns: 3000 },
  );
});

test('any single-byte change to a chain is answered with a failed result, never a throw', async () => {
  const chain = pki.secc.chain.map((c) => new Uint8Array(c.rawData));
  const roots = pki.trustAnchors;
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 2 }), fc.nat(), fc.integer({ min: 1, max: 255 }), async (index, offset, flip) => {
      const mutated = chain.map((c) => c.slice());
      const target = mutated[index];
      target[offset % target.length] ^= flip;
      const result = await validateChain(mutated, { purpose: 'secc', roots });
      // Every byte is framing (checked by the reader), the signed TBS, the algorithm (compared with the
      // TBS copy) or the signature (strict DER, checked by OpenSSL): no change may pass.
      assert.is(result.valid, false, `byte ${offset % target.length} of certificate ${index} ^ ${flip}`);
      assert.ok(result.reason.length > 0);
    }),
    { numRuns: 400 },
  );
});

test('a DER buffer the caller reuses after validation does not change what the validator remembered', async () => {
  const [root, sub1, sub2, leaf] = await forge([{ role: 'moRoot' }, { role: 'moSubCa1' }, { role: 'moSubCa2' }, { role: 'contract' }]);
  const ders = [leaf, sub2, sub1].map((c) => new Uint8Array(c.certificate.rawData));
  const wire = ders.map((der) => Buffer.from(der)); // copies
  const first = await validateChain(wire, { purpose: 'contract', roots: [root.certificate] });
  assert.is(first.iso15118, 'OK', first.reason);
  for (const buffer of wire) buffer.fill(0); // a receive buffer taken back for the next frame
  const serials: string[] = [];
  const again = await validateChain(ders, {
    purpose: 'contract',
    roots: [root.certificate],
    revocation: async (certificate) => (serials.push(certificate.serialNumber), 'good'),
  });
  assert.is(again.iso15118, 'OK', again.reason);
  assert.equal(serials, [leaf, sub2, sub1].map((c) => c.certificate.serialNumber));
});

test.run();
