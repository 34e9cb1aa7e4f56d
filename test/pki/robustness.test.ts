// Shorter chains, and bytes that are not certificates: the validator answers, it never throws.
import 'reflect-metadata';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  buildCertificate, CertificateParseError, createTestPki, generateKeyPair, parseCertificateDer, profileExtensions, profiles, randomSerialNumber, validateChain,
} from '../../protocols/pki/index.ts';
import { oids } from '../../protocols/pki/der.ts';
import { dropExtension, forge, type ForgedLevel } from './forge.ts';

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

/** A Sub-CA 2 with `sub2`'s name and profile under `sub1`, but a key (and so a subjectKeyIdentifier) of its own. */
async function impostorOf(sub2: ForgedLevel, sub1: ForgedLevel) {
  const keys = await generateKeyPair();
  return buildCertificate({
    subject: sub2.certificate.subjectName,
    issuerName: sub1.certificate.subjectName,
    publicKey: keys.publicKey,
    signingKey: sub1.keys.privateKey,
    serialNumber: randomSerialNumber(),
    notBefore: sub2.certificate.notBefore,
    notAfter: sub2.certificate.notAfter,
    extensions: await profileExtensions(profiles.moSubCa2, keys.publicKey, { role: 'moSubCa1', certificate: sub1.certificate, privateKey: sub1.keys.privateKey }),
  });
}

test('a remembered signature check does not carry over to another issuer with the same name', async () => {
  // The leaf has no AKI, so only its signature tells the real Sub-CA 2 from an impostor with the same name.
  const [root, sub1, sub2, leaf] = await forge([{ role: 'moRoot' }, { role: 'moSubCa1' }, { role: 'moSubCa2' }, { role: 'contract', extensions: (e) => dropExtension(e, oids.authorityKeyIdentifier) }]);
  const roots = [root.certificate];
  const real = await validateChain([leaf.certificate, sub2.certificate, sub1.certificate], { purpose: 'contract', roots });
  assert.is(real.iso15118, 'OK', real.reason); // the leaf's signature under the real Sub-CA 2 is now remembered
  const impostor = await impostorOf(sub2, sub1);
  const result = await validateChain([leaf.certificate, impostor, sub1.certificate], { purpose: 'contract', roots });
  assert.equal([result.defect, result.position], ['LeafSignature', 0], result.reason);
  assert.is((await validateChain([leaf.certificate, sub2.certificate, sub1.certificate], { purpose: 'contract', roots })).iso15118, 'OK');
});

test('a remembered name and key-identifier match does not carry over to another issuer with the same name', async () => {
  const [root, sub1, sub2, leaf] = await forge([{ role: 'moRoot' }, { role: 'moSubCa1' }, { role: 'moSubCa2' }, { role: 'contract' }]);
  const options = { purpose: 'contract' as const, roots: [root.certificate], leafRepeats: true };
  const chain = [leaf, sub2, sub1].map((c) => new Uint8Array(c.certificate.rawData));
  for (let i = 0; i < 3; i++) assert.is((await validateChain(chain, options)).iso15118, 'OK'); // the pairs are now remembered
  const impostor = await impostorOf(sub2, sub1);
  const result = await validateChain([chain[0], new Uint8Array(impostor.rawData), chain[2]], options);
  assert.equal([result.defect, result.position], ['KeyIdentifier', 0], result.reason);
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

test('a sub-CA changed in place after one, two or three validations is read anew (nothing remembered is a view of the caller\'s bytes)', async () => {
  for (const sightings of [1, 2, 3]) {
    const chain = pki.contracts[0].chain.map((c) => new Uint8Array(c.rawData).slice()); // copies: rawData is the test PKI's own
    for (let i = 0; i < sightings; i++) {
      const ok = await validateChain(chain, { purpose: 'contract', roots: pki.trustAnchors });
      assert.is(ok.iso15118, 'OK', `sighting ${i + 1} of ${sightings}: ${ok.reason}`);
    }
    chain[1][chain[1].length - 40] ^= 1; // inside Sub-CA 2's signature
    const result = await validateChain(chain, { purpose: 'contract', roots: pki.trustAnchors });
    assert.equal([result.defect, result.position], ['Signature', 1], `after ${sightings}: ${result.reason}`);
  }
});

/** One element of a DER tree: where its header and content are, and its path of child indexes from the certificate. */
interface Node {
  readonly path: string;
  readonly start: number;
  /** Offset of the first length octet. */
  readonly lengthAt: number;
  readonly contentStart: number;
  readonly end: number;
}

/** Every element of a certificate the reader walks (constructed ones opened, but not the version [0]'s content). */
function elementsOf(der: Uint8Array, start = 0, limit = der.length, path = 'c'): Node[] {
  const nodes: Node[] = [];
  for (let at = start, index = 0; at < limit; index++) {
    let length = der[at + 1];
    let contentStart = at + 2;
    if (length & 0x80) {
      const count = length & 0x7f;
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + der[contentStart + i];
      contentStart += count;
    }
    const node = { path: start === 0 && path === 'c' ? 'c' : `${path}.${index}`, start: at, lengthAt: at + 1, contentStart, end: contentStart + length };
    nodes.push(node);
    if (der[at] & 0x20 && der[at] !== 0xa0) nodes.push(...elementsOf(der, contentStart, node.end, node.path));
    at = node.end;
  }
  return nodes;
}

/** Parses `bytes` expecting a CertificateParseError, and checks the validator's verdict for it as a leaf. */
async function refused(bytes: Uint8Array, what: string): Promise<void> {
  try {
    parseCertificateDer(bytes);
    assert.unreachable(`${what}: read as a certificate`);
  } catch (error) {
    assert.instance(error, CertificateParseError, what);
  }
  const result = await validateChain([bytes, ...pki.contracts[0].chain.slice(1)], { purpose: 'contract', roots: pki.trustAnchors });
  assert.equal([result.defect, result.position, result.iso15118, result.evseSecurity], ['Malformed', 0, 'FAILED_CertChainError', 'InvalidChain'], `${what}: ${result.reason}`);
}

test('malformed framing anywhere in a leaf is a CertificateParseError: truncated, lengths past the end, indefinite lengths, wrong tags', async () => {
  const leaf = new Uint8Array(pki.contracts[0].chain[0].rawData);
  parseCertificateDer(leaf);
  const nodes = elementsOf(leaf);
  assert.ok(nodes.length > 60, `${nodes.length} elements`);
  // Truncated: at every length, including inside length octets.
  for (let length = 0; length < leaf.length; length++) await refused(leaf.subarray(0, length), `cut to ${length} bytes`);
  // Long-form length octets that run past their container.
  await refused(Uint8Array.of(0x30, 0x82, 0x01), 'two length octets announced, one present');
  await refused(Uint8Array.of(0x30, 0x84, 0, 0, 0, 1, 0), 'four length octets');
  let pastTheEnd = 0;
  for (const node of nodes) {
    const containerEnd = node.path === 'c' ? leaf.length : nodes.find((n) => node.path.startsWith(`${n.path}.`) && n.path.split('.').length === node.path.split('.').length - 1)!.end;
    // A length one past the container's end, in as many length octets as the element has.
    const octets = node.contentStart - node.lengthAt;
    const past = containerEnd - node.contentStart + 1;
    const bytes = leaf.slice();
    // Elements whose length form cannot say that (a short form in a long container) are left as they are.
    const fits = (octets === 1 && past < 0x80) || (octets === 2 && past < 0x100) || (octets === 3 && past < 0x10000);
    if (octets === 1) bytes[node.lengthAt] = past;
    else if (octets === 2) bytes[node.lengthAt + 1] = past;
    else bytes.set([past >> 8, past & 0xff], node.lengthAt + 1);
    if (fits) {
      await refused(bytes, `element ${node.path} runs past its container`);
      pastTheEnd++;
    }
    // BER's indefinite length (0x80) is not DER.
    const indefinite = leaf.slice();
    indefinite[node.lengthAt] = 0x80;
    await refused(indefinite, `element ${node.path} with an indefinite length`);
  }
  assert.ok(pastTheEnd > 50, `${pastTheEnd} elements made to run past their container`);
  // Wrong tags on every element whose tag the reader checks (not algorithm parameters, attribute values, the key's BIT STRING, or [3] itself).
  const loose = /^c\.0\.(2|6\.0)\.[1-9]$|^c\.1\.[1-9]$|^c\.0\.(3|5)\.\d+\.\d+\.1$|^c\.0\.6\.1$|^c\.0\.7$/;
  const strict = nodes.filter((n) => !loose.test(n.path));
  assert.ok(strict.length > 40, `${strict.length} strict elements`);
  for (const node of strict) {
    const bytes = leaf.slice();
    bytes[node.start] = bytes[node.start] === 0x05 ? 0x04 : 0x05;
    await refused(bytes, `element ${node.path} with tag ${bytes[node.start]} instead of ${leaf[node.start]}`);
  }
});

test('validity times read as Date.UTC reads them: any digits, in UTCTime and in GeneralizedTime', async () => {
  const leaf = new Uint8Array(pki.contracts[0].chain[0].rawData);
  // The notBefore UTCTime: tag 0x17, length 13, YYMMDDHHMMSSZ.
  const at = leaf.findIndex((byte, i) => byte === 0x17 && leaf[i + 1] === 13) + 2;
  assert.ok(at > 2);
  const digits = fc.array(fc.integer({ min: 0, max: 99 }), { minLength: 6, maxLength: 6 });
  fc.assert(
    fc.property(digits, ([year, month, day, hour, minute, second]) => {
      const bytes = leaf.slice();
      bytes.set(Buffer.from(`${[year, month, day, hour, minute, second].map((n) => String(n).padStart(2, '0')).join('')}Z`, 'latin1'), at);
      const expected = Date.UTC(year < 50 ? 2000 + year : 1900 + year, month - 1, day, hour, minute, second);
      assert.is(parseCertificateDer(bytes).notBefore, expected, `${year} ${month} ${day} ${hour}:${minute}:${second}`);
    }),
    { numRuns: 2000 },
  );
  // @peculiar/x509 writes dates from 2050 as GeneralizedTime (YYYYMMDDHHMMSSZ); Date.UTC reads years 0–99 as 1900–1999.
  for (const date of ['2050-01-01T00:00:00Z', '2100-02-28T23:59:59Z', '2400-02-29T00:00:00Z', '9999-12-31T23:59:59Z']) {
    const notAfter = new Date(date);
    const [, issued] = await forge([{ role: 'v2gRoot' }, { role: 'secc', notBefore: new Date('2026-01-01T00:00:00Z'), notAfter }]);
    const der = new Uint8Array(issued.certificate.rawData);
    assert.is(parseCertificateDer(der).notAfter, notAfter.getTime(), date);
    const generalized = der.findIndex((byte, i) => byte === 0x18 && der[i + 1] === 15) + 2;
    assert.ok(generalized > 2);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9999 }), digits, (year, [month, day, hour, minute, second]) => {
        const bytes = der.slice();
        bytes.set(Buffer.from(`${String(year).padStart(4, '0')}${[month, day, hour, minute, second].map((n) => String(n).padStart(2, '0')).join('')}Z`, 'latin1'), generalized);
        assert.is(parseCertificateDer(bytes).notAfter, Date.UTC(year, month - 1, day, hour, minute, second), `${year} ${month} ${day} ${hour}:${minute}:${second}`);
      }),
      { numRuns: 500 },
    );
  }
});

test('key identifiers and names are compared as octets: the hex strings agree with the comparisons', async () => {
  const [root, sub1, sub2, leaf] = (await forge([{ role: 'moRoot' }, { role: 'moSubCa1' }, { role: 'moSubCa2' }, { role: 'contract' }])).map((c) => parseCertificateDer(new Uint8Array(c.certificate.rawData)));
  const noAki = parseCertificateDer(new Uint8Array((await forge([{ role: 'moRoot' }, { role: 'contract', extensions: (e) => dropExtension(e, oids.authorityKeyIdentifier) }]))[1].certificate.rawData));
  for (const [below, above] of [[leaf, sub2], [sub2, sub1], [sub1, root], [leaf, sub1], [sub2, root], [root, leaf]]) {
    assert.is(below.keyIdentifierMatches(above), below.authorityKeyIdentifier === above.subjectKeyIdentifier);
    assert.is(below.namesAsIssuer(above), Buffer.from(below.issuerDer).equals(above.subjectDer));
  }
  assert.ok(leaf.keyIdentifierMatches(sub2) && !leaf.keyIdentifierMatches(sub1) && leaf.namesAsIssuer(sub2) && !leaf.namesAsIssuer(sub1));
  assert.is(noAki.authorityKeyIdentifier, undefined);
  assert.ok(noAki.keyIdentifierMatches(sub1), 'without an AKI there is nothing to compare');
  assert.ok(leaf.hasSubjectKeyIdentifier && leaf.subjectKeyIdentifier!.length === 40);
});

test.run();
