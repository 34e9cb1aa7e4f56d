import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import * as pkijs from 'pkijs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  buildOcspRequest,
  certificateHashData,
  createOcspResponder,
  crlReasons,
  normalizeCertificateHashData,
  normalizeSerialNumber,
  ocspRevocationChecker,
  OcspError,
  statusFromRecords,
  verifyOcspResponse,
  type OcspResponder,
} from '../../protocols/pki/ocsp.ts';
import 'reflect-metadata'; // @peculiar/x509 resolves its services through tsyringe
import * as x509 from '@peculiar/x509';
import { buildCertificate, createTestPki, exportPkcs8, generateKeyPair, randomSerialNumber, revocationRecord, subjectName, validateChain, type CertificateAuthority, type CryptoKey, type TestPki } from '../../protocols/pki/index.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'openpnc-ocsp-'));
const OCSP_BASE = 'http://ocsp.test';

/** A certificate and its key, whatever issued it. */
interface Holder {
  readonly certificate: x509.X509Certificate;
  readonly privateKey: CryptoKey;
}

let pki: TestPki;
let ca: CertificateAuthority; // MO Sub-CA 2: issues the contracts
let good: x509.X509Certificate;
let revoked: x509.X509Certificate; // serial 00c350: DER needs the leading zero, OCSP/OCPP forms drop it
let stranger: x509.X509Certificate; // issued by the CA but absent from its records
let delegate: Holder;
let otherCa: CertificateAuthority;
const revokedAt = new Date(Date.UTC(2026, 0, 15, 12, 0, 0));

/** A leaf or OCSP signer under `issuer`, assembled with PKI-core's low-level builder. */
async function leafUnder(issuer: CertificateAuthority, commonName: string, options: { serialNumber?: string; ocspSigning?: boolean } = {}): Promise<Holder> {
  const keys = await generateKeyPair();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
  ];
  if (options.ocspSigning) extensions.push(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.ocspSigning]));
  else if (issuer.ocspUrl) extensions.push(new x509.AuthorityInfoAccessExtension({ ocsp: [issuer.ocspUrl] }));
  const certificate = await buildCertificate({
    subject: subjectName({ commonName }),
    issuerName: issuer.certificate.subjectName,
    publicKey: keys.publicKey,
    signingKey: issuer.privateKey,
    serialNumber: options.serialNumber ?? randomSerialNumber(),
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + 30 * 86400_000),
    extensions,
  });
  return { certificate, privateKey: keys.privateKey };
}

function writePem(name: string, ...certificates: x509.X509Certificate[]): string {
  const path = join(dir, name);
  writeFileSync(path, certificates.map((c) => c.toString('pem')).join('\n'));
  return path;
}

function responderFor(issuer: CertificateAuthority, signer: Holder = issuer, now?: () => Date): OcspResponder {
  return createOcspResponder({
    issuer: issuer.certificate,
    signer: { certificate: signer.certificate, privateKey: signer.privateKey },
    lookup: statusFromRecords([good.serialNumber, 'C350'], [{ ...revocationRecord(revoked, { reason: 'keyCompromise', revokedAt }) }]),
    validitySeconds: 3600,
    ...(now ? { now } : {}),
  });
}

async function codeOf(action: () => unknown): Promise<string> {
  try {
    await action();
  } catch (error) {
    assert.instance(error, OcspError);
    return (error as OcspError).code;
  }
  throw new Error('no error');
}

test.before(async () => {
  pki = await createTestPki({ contracts: 2, ocspBaseUrl: OCSP_BASE });
  ca = pki.authorities['mo-sub-ca-2'];
  otherCa = pki.authorities['cpo-sub-ca-2'];
  good = pki.contracts[0].certificate;
  stranger = pki.contracts[1].certificate;
  revoked = (await leafUnder(ca, 'DEOPNC000000990', { serialNumber: '00c350' })).certificate;
  delegate = await leafUnder(ca, 'MO OCSP signer', { ocspSigning: true });
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

/** The CA's own chain up to the MO root, for OpenSSL's -CAfile. */
function caChainPem(): string {
  const contract = pki.contracts[0];
  return writePem('ca-chain.pem', ...contract.chain.slice(1), contract.root);
}

test('round trip: good, revoked with time and reason, unknown', async () => {
  const responder = responderFor(ca);
  for (const [certificate, expected] of [
    [good, 'good'],
    [revoked, 'revoked'],
    [stranger, 'unknown'],
  ] as const) {
    const request = buildOcspRequest({ certificate, issuer: ca.certificate });
    assert.is(request.certificateId.hashAlgorithm, 'SHA256');
    const result = verifyOcspResponse(await responder.respond(request.der), { certificate, issuer: ca.certificate, nonce: request.nonce });
    assert.is(result.status, expected, certificate.subject);
    assert.is(result.nextUpdate!.getTime() - result.thisUpdate.getTime(), 3600_000);
    if (result.status === 'revoked') {
      assert.is(result.revokedAt.toISOString(), revokedAt.toISOString());
      assert.is(result.reason, crlReasons.keyCompromise);
    }
  }
  assert.is(normalizeSerialNumber('00C350'), 'c350');
});

test('a delegated OCSP signer (id-kp-OCSPSigning, issued by the CA) is accepted', async () => {
  const request = buildOcspRequest({ certificate: revoked, issuer: ca.certificate });
  const response = await responderFor(ca, delegate).respond(request.der);
  assert.is(verifyOcspResponse(response, { certificate: revoked, issuer: ca.certificate, nonce: request.nonce }).status, 'revoked');
  // Outside the delegate's validity it no longer vouches.
  const later = new Date(delegate.certificate.notAfter.getTime() + 1000);
  assert.is(await codeOf(() => verifyOcspResponse(response, { certificate: revoked, issuer: ca.certificate, nonce: request.nonce, at: later, clockSkewSeconds: 1e9 })), 'OcspUnauthorizedResponder');
});

test('wrong signers are rejected', async () => {
  const request = buildOcspRequest({ certificate: good, issuer: ca.certificate });
  const expect = { certificate: good, issuer: ca.certificate, nonce: request.nonce };
  // Another CA answering (it does not know the CertID's issuer, so it says unknown): not the issuer.
  const foreign = await responderFor(otherCa).respond(request.der);
  assert.is(await codeOf(() => verifyOcspResponse(foreign, expect)), 'OcspUnauthorizedResponder');
  // A delegate of another CA, included in the response, is not authorised for this issuer.
  const foreignDelegate = await leafUnder(otherCa, 'CPO OCSP signer', { ocspSigning: true });
  const fromForeignDelegate = await responderFor(otherCa, foreignDelegate).respond(request.der);
  assert.is(await codeOf(() => verifyOcspResponse(fromForeignDelegate, expect)), 'OcspUnauthorizedResponder');
  // A responder cannot even be configured with a signer lacking id-kp-OCSPSigning.
  const contract = pki.contracts[0];
  assert.is(await codeOf(() => responderFor(ca, { certificate: contract.certificate, privateKey: contract.keys.privateKey })), 'OcspResponderConfiguration');
  // A broken signature: flip the last byte of s (the signature closes the DER when no certs are included).
  const tampered = (await responderFor(ca).respond(request.der)).slice();
  tampered[tampered.length - 1] ^= 0x01;
  assert.is(await codeOf(() => verifyOcspResponse(tampered, expect)), 'OcspSignatureInvalid');
});

test('nonce mismatch and missing nonce', async () => {
  const responder = responderFor(ca);
  const request = buildOcspRequest({ certificate: good, issuer: ca.certificate });
  const other = buildOcspRequest({ certificate: good, issuer: ca.certificate });
  const response = await responder.respond(request.der);
  assert.is(await codeOf(() => verifyOcspResponse(response, { certificate: good, issuer: ca.certificate, nonce: other.nonce })), 'OcspNonceMismatch');
  const withoutNonce = buildOcspRequest({ certificate: good, issuer: ca.certificate }, { nonce: false });
  assert.is(withoutNonce.nonce, undefined);
  const unNonced = await responder.respond(withoutNonce.der);
  assert.is(await codeOf(() => verifyOcspResponse(unNonced, { certificate: good, issuer: ca.certificate, nonce: request.nonce })), 'OcspNonceMismatch');
  assert.is(verifyOcspResponse(unNonced, { certificate: good, issuer: ca.certificate }).status, 'good');
});

test('stale and not-yet-valid responses', async () => {
  const producedAt = new Date(Date.now() - 86400_000);
  const responder = responderFor(ca, ca, () => producedAt);
  const request = buildOcspRequest({ certificate: good, issuer: ca.certificate });
  const response = await responder.respond(request.der);
  const check = (minutes: number) => verifyOcspResponse(response, { certificate: good, issuer: ca.certificate, nonce: request.nonce, at: new Date(producedAt.getTime() + minutes * 60_000) });
  assert.is(check(30).status, 'good');
  assert.is(check(64).status, 'good'); // within the 5-minute skew after nextUpdate (60 min)
  assert.is(await codeOf(() => check(66)), 'OcspStale');
  assert.is(await codeOf(() => check(-10)), 'OcspStale');
  assert.is(await codeOf(() => verifyOcspResponse(response, { certificate: good, issuer: ca.certificate, nonce: request.nonce })), 'OcspStale'); // now: a day old
});

test('CertID mismatch, malformed requests and responses', async () => {
  const responder = responderFor(ca);
  const request = buildOcspRequest({ certificate: good, issuer: ca.certificate });
  const response = await responder.respond(request.der);
  assert.is(await codeOf(() => verifyOcspResponse(response, { certificate: revoked, issuer: ca.certificate, nonce: request.nonce })), 'OcspCertIdMismatch');
  for (const garbage of [new Uint8Array([0x30, 0x03, 0x02, 0x01]), new Uint8Array(0), new Uint8Array([0x30, 0x02, 0x30, 0x00])]) {
    const malformed = await responder.respond(garbage);
    assert.is(Buffer.from(malformed).toString('hex'), '30030a0101'); // OCSPResponse { malformedRequest }
    try {
      verifyOcspResponse(malformed, { certificate: good, issuer: ca.certificate });
      assert.unreachable();
    } catch (error) {
      assert.instance(error, OcspError);
      assert.is((error as OcspError).code, 'OcspResponseUnsuccessful');
      assert.equal((error as OcspError).toJSON().data, { status: 'malformedRequest' });
    }
  }
  assert.is(await codeOf(() => verifyOcspResponse(new Uint8Array([1, 2, 3]), { certificate: good, issuer: ca.certificate })), 'OcspMalformedResponse');
});

test('OCPP hash data from stations is checked and normalised (hex canonical, Josev base64 tolerated)', async () => {
  // Josev's sample contract (pki-and-crypto.md §9): URL-safe base64 hashes, serial 12356 = hex 3044.
  const josev = normalizeCertificateHashData({
    hashAlgorithm: 'SHA256',
    issuerNameHash: 'flWACDgRS0Xz0-Y9TJnZV37hnheh6DdDVJNAvhDVzfw=',
    issuerKeyHash: 'XC6s3YLFxIhw03pUBTiOrdbfRR70lodzuZzZX61ZBGw=',
    serialNumber: '3044',
  });
  assert.equal(josev, {
    hashAlgorithm: 'SHA256',
    issuerNameHash: '7e55800838114b45f3d3e63d4c99d9577ee19e17a1e83743549340be10d5cdfc',
    issuerKeyHash: '5c2eacdd82c5c48870d37a5405388eadd6df451ef4968773b99cd95fad59046c',
    serialNumber: '3044',
  });
  const upper = { ...josev, issuerNameHash: josev.issuerNameHash.toUpperCase(), serialNumber: '00C350' };
  assert.equal(normalizeCertificateHashData(upper), { ...josev, serialNumber: 'c350' });
  for (const [field, broken] of [
    ['hashAlgorithm', { ...josev, hashAlgorithm: 'MD5' }],
    ['issuerNameHash', { ...josev, issuerNameHash: josev.issuerNameHash.slice(2) }],
    ['issuerKeyHash', { ...josev, issuerKeyHash: 'not a hash' }],
    ['serialNumber', { ...josev, serialNumber: '12g4' }],
    ['serialNumber', { ...josev, serialNumber: '1'.repeat(41) }],
  ] as const) {
    try {
      buildOcspRequest({ hashData: broken as never });
      assert.unreachable(field);
    } catch (error) {
      assert.instance(error, OcspError);
      assert.is((error as OcspError).code, 'OcspInvalidHashData');
      assert.is(((error as OcspError).data as { field: string }).field, field);
    }
  }
});

test('a failing record lookup gives internalError, not a guess', async () => {
  const responder = createOcspResponder({
    issuer: ca.certificate,
    signer: ca,
    lookup: async () => {
      throw new Error('store unavailable');
    },
  });
  const request = buildOcspRequest({ certificate: good, issuer: ca.certificate });
  const response = await responder.respond(request.der);
  assert.is(Buffer.from(response).toString('hex'), '30030a0102');
  try {
    verifyOcspResponse(response, { certificate: good, issuer: ca.certificate });
    assert.unreachable();
  } catch (error) {
    assert.equal((error as OcspError).toJSON().data, { status: 'internalError' });
  }
});

test('the client verifies answers of the OpenSSL responder (responder ID by name)', async () => {
  const keyPem = join(dir, 'ca.key');
  writeFileSync(keyPem, `-----BEGIN PRIVATE KEY-----\n${Buffer.from(await exportPkcs8(ca.privateKey)).toString('base64')}\n-----END PRIVATE KEY-----\n`);
  const caPem = writePem('ca.pem', ca.certificate);
  const expiry = '301231235959Z';
  const index = [
    `V\t${expiry}\t\t${good.serialNumber.toUpperCase()}\tunknown\t/CN=good`,
    `R\t${expiry}\t260115120000Z,keyCompromise\tC350\tunknown\t/CN=revoked`,
  ].join('\n');
  writeFileSync(join(dir, 'index.txt'), `${index}\n`);
  for (const [certificate, expected] of [
    [good, 'good'],
    [revoked, 'revoked'],
  ] as const) {
    const request = buildOcspRequest({ certificate, issuer: ca.certificate });
    writeFileSync(join(dir, 'req.der'), request.der);
    await run('openssl', ['ocsp', '-index', join(dir, 'index.txt'), '-rsigner', caPem, '-rkey', keyPem, '-CA', caPem, '-reqin', join(dir, 'req.der'), '-respout', join(dir, 'resp.der'), '-nmin', '5']);
    const result = verifyOcspResponse(new Uint8Array(readFileSync(join(dir, 'resp.der'))), { certificate, issuer: ca.certificate, nonce: request.nonce });
    assert.is(result.status, expected);
    if (result.status === 'revoked') {
      assert.is(result.revokedAt.toISOString(), revokedAt.toISOString());
      assert.is(result.reason, crlReasons.keyCompromise);
    }
  }
  // Without -nmin OpenSSL sends no nextUpdate: the answer then holds for maxAgeSeconds after thisUpdate.
  const request = buildOcspRequest({ certificate: good, issuer: ca.certificate });
  writeFileSync(join(dir, 'req.der'), request.der);
  await run('openssl', ['ocsp', '-index', join(dir, 'index.txt'), '-rsigner', caPem, '-rkey', keyPem, '-CA', caPem, '-reqin', join(dir, 'req.der'), '-respout', join(dir, 'resp.der')]);
  const open = new Uint8Array(readFileSync(join(dir, 'resp.der')));
  const fresh = verifyOcspResponse(open, { certificate: good, issuer: ca.certificate, nonce: request.nonce });
  assert.is(fresh.nextUpdate, undefined);
  const inTwoHours = new Date(Date.now() + 2 * 3600_000);
  assert.is(verifyOcspResponse(open, { certificate: good, issuer: ca.certificate, nonce: request.nonce, at: inTwoHours }).status, 'good');
  assert.is(await codeOf(() => verifyOcspResponse(open, { certificate: good, issuer: ca.certificate, nonce: request.nonce, at: inTwoHours, maxAgeSeconds: 3600 })), 'OcspStale');
});

test('mutated requests and responses: the responder always answers, the client only throws OcspError', async () => {
  const responder = responderFor(ca, delegate);
  const request = buildOcspRequest({ certificate: good, issuer: ca.certificate });
  const response = await responder.respond(request.der);
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.nat(), async (bytes, at) => {
      for (const original of [request.der, response]) {
        const mutated = original.slice();
        for (const [i, byte] of bytes.entries()) mutated[(at + i * 7919) % mutated.length] ^= byte || 1;
        const answer = await responder.respond(mutated);
        const status = pkijs.OCSPResponse.fromBER(answer).responseStatus.valueBlock.valueDec;
        assert.ok(status === 0 || status === 1, `status ${status}`);
        try {
          verifyOcspResponse(original === response ? mutated : answer, { certificate: good, issuer: ca.certificate, nonce: request.nonce });
        } catch (error) {
          assert.instance(error, OcspError, String(error));
        }
      }
    }),
    { numRuns: 300 },
  );
});

test('OpenSSL reads and verifies the response (-respin … -resp_text)', async () => {
  const request = buildOcspRequest({ certificate: revoked, issuer: ca.certificate });
  const path = join(dir, 'response.der');
  writeFileSync(path, await responderFor(ca, delegate).respond(request.der));
  const { stdout, stderr } = await run('openssl', ['ocsp', '-respin', path, '-resp_text', '-CAfile', caChainPem()]);
  assert.match(stdout, 'OCSP Response Status: successful (0x0)');
  assert.match(stdout, 'Serial Number: C350');
  assert.match(stdout, 'Cert Status: revoked');
  assert.match(stdout, 'Revocation Time: Jan 15 12:00:00 2026 GMT');
  assert.match(stdout, 'Revocation Reason: keyCompromise (0x1)');
  assert.match(stdout, 'OCSP Nonce');
  assert.match(stdout, 'Subject: CN=MO OCSP signer'); // the delegated signer travels in certs
  assert.match(stderr, 'Response verify OK');
});

async function serve(responder: OcspResponder): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const body = await responder.respond(new Uint8Array(Buffer.concat(chunks)));
      res.writeHead(200, { 'Content-Type': 'application/ocsp-response', 'Content-Length': body.length }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

test('openssl ocsp -url against the responder over HTTP says good / revoked / unknown', async () => {
  const caFile = caChainPem();
  const issuerPem = writePem('issuer.pem', ca.certificate);
  const certs = [
    ['good.pem', good, 'good'],
    ['revoked.pem', revoked, 'revoked'],
    ['stranger.pem', stranger, 'unknown'],
  ] as const;
  const certArgs = certs.flatMap(([name, certificate]) => ['-cert', writePem(name, certificate)]);
  for (const signer of [ca, delegate]) {
    const { server, url } = await serve(responderFor(ca, signer));
    try {
      // One request with three SHA-1 CertIDs and OpenSSL's own nonce, whose echo it checks.
      const { stdout, stderr } = await run('openssl', ['ocsp', '-issuer', issuerPem, ...certArgs, '-url', url, '-CAfile', caFile]);
      for (const [name, , expected] of certs) assert.match(stdout, `${join(dir, name)}: ${expected}`);
      assert.match(stderr, 'Response verify OK');
    } finally {
      server.close();
    }
  }
});

test('ocspRevocationChecker asks the AIA URL and verifies the answer', async () => {
  const responder = responderFor(ca);
  const asked: string[] = [];
  const checker = ocspRevocationChecker(async (requestDer, url) => {
    asked.push(url);
    return responder.respond(requestDer);
  });
  assert.is(await checker(good, ca.certificate), 'good');
  assert.is(await checker(revoked, ca.certificate), 'revoked');
  assert.is(await checker(stranger, ca.certificate), 'unknown');
  assert.equal(asked, [ca.ocspUrl, ca.ocspUrl, ca.ocspUrl]);
  // No AIA OCSP URL, or an unreachable responder: unknown.
  assert.is(await checker(delegate.certificate, ca.certificate), 'unknown');
  const offline = ocspRevocationChecker(async () => {
    throw new Error('ECONNREFUSED');
  });
  assert.is(await offline(good, ca.certificate), 'unknown');
  // A forged answer is not "unknown": it throws.
  const forged = ocspRevocationChecker(async (requestDer) => responderFor(otherCa).respond(requestDer));
  assert.is(await codeOf(() => forged(good, ca.certificate)), 'OcspUnauthorizedResponder');
});

test('validateChain with the OCSP checker: a revoked contract or sub-CA gives FAILED_CertificateRevoked', async () => {
  const revocations = new Map<string, ReturnType<typeof revocationRecord>>();
  const responders = new Map(
    Object.values(pki.authorities).map((authority) => [
      authority.ocspUrl!,
      createOcspResponder({
        issuer: authority.certificate,
        signer: authority,
        lookup: (serial) => {
          const record = revocations.get(serial);
          return record ? { status: 'revoked', revokedAt: record.revokedAt } : { status: 'good' };
        },
      }),
    ]),
  );
  const revocation = ocspRevocationChecker(async (requestDer, url) => responders.get(url)!.respond(requestDer));
  const validate = (chain: readonly x509.X509Certificate[]) => validateChain(chain, { purpose: 'contract', roots: pki.trustAnchors, revocation });
  const [first, second] = pki.contracts;
  assert.is((await validate(first.chain)).iso15118, 'OK');
  const record = revocationRecord(second.certificate, { reason: 'keyCompromise' });
  revocations.set(record.serialNumber, record);
  assert.is((await validate(second.chain)).iso15118, 'FAILED_CertificateRevoked');
  assert.is((await validate(first.chain)).iso15118, 'OK');
  // Revoking MO Sub-CA 2 (answered by MO Sub-CA 1's responder) takes every contract under it down.
  const subCa = revocationRecord(first.chain[1]);
  revocations.set(subCa.serialNumber, subCa);
  const result = await validate(first.chain);
  assert.is(result.iso15118, 'FAILED_CertificateRevoked');
  assert.is(result.valid, false);
});

test('iso15118CertificateHashData for a contract chain matches what OpenSSL puts in a request', async () => {
  const contract = pki.contracts[0];
  const chain = contract.chain; // leaf, MO Sub-CA 2, MO Sub-CA 1
  const hashData = certificateHashData(chain, pki.trustAnchors.mo);
  assert.equal(
    hashData.map((h) => [h.hashAlgorithm, h.responderURL]),
    [
      ['SHA256', `${OCSP_BASE}/mo-sub-ca-2`],
      ['SHA256', `${OCSP_BASE}/mo-sub-ca-1`],
      ['SHA256', `${OCSP_BASE}/mo-root`],
    ],
  );
  const issuers = [chain[1], chain[2], contract.root];
  for (const [index, certificate] of chain.entries()) {
    const reqout = join(dir, `req-${index}.der`);
    await run('openssl', ['ocsp', '-sha256', '-issuer', writePem(`issuer-${index}.pem`, issuers[index]), '-cert', writePem(`cert-${index}.pem`, certificate), '-no_nonce', '-reqout', reqout]);
    const { stdout } = await run('openssl', ['ocsp', '-reqin', reqout, '-req_text']);
    const field = (label: string) => new RegExp(`${label}: ([0-9A-F]+)`).exec(stdout)![1].toLowerCase();
    assert.is(hashData[index].issuerNameHash, field('Issuer Name Hash'));
    assert.is(hashData[index].issuerKeyHash, field('Issuer Key Hash'));
    assert.is(hashData[index].serialNumber, field('Serial Number').replace(/^0+/, ''));
    assert.ok(hashData[index].serialNumber.length <= 40); // OCPP serialNumber maxLength
    // A CSMS rebuilds the same request from the hash data alone (GetCertificateStatus, M06).
    const rebuilt = buildOcspRequest({ hashData: hashData[index] }, { nonce: false });
    assert.is(Buffer.from(rebuilt.der).toString('hex'), readFileSync(reqout).toString('hex'));
  }
  // The serial loses its DER sign byte: 00c350 → c350.
  const [entry] = certificateHashData([revoked, ...chain.slice(1)], pki.trustAnchors.mo);
  assert.is(entry.serialNumber, 'c350');
  // Without the root, Sub-CA 1's issuer is unknown.
  assert.is(await codeOf(() => certificateHashData(chain)), 'OcspIssuerNotFound');
  // Certificates without an OCSP URL get no entry.
  assert.equal(certificateHashData([delegate.certificate]).length, 0);
});

test.run();
