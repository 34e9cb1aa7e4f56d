// The CCP's CertificateInstallationRes from a template (actors/pools/installation.ts InstallationResponses):
// byte for byte what encoding the whole response gives, for every SessionID length and for random
// SessionIDs, and a changed contract under a new key gets its own template.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { createTestPki } from '../../protocols/pki/index.ts';
import { decodeExi } from '../../protocols/exi/index.ts';
import { InstallationResponses, encodeInstallationResponse } from '../../actors/pools/installation.ts';
import { signContract } from './fixtures.ts';

const pki = await createTestPki({ vehicles: 2, contracts: 2 });
const [first, second] = await Promise.all([signContract(pki, pki.contracts[0], pki.provisioning[0]), signContract(pki, pki.contracts[1], pki.provisioning[1])]);

test('every SessionID length and 200 random SessionIDs give the bytes of a whole encoding', () => {
  const responses = new InstallationResponses();
  for (let length = 1; length <= 8; length++) {
    for (let round = 0; round < 25; round++) {
      const sessionId = randomBytes(length).toString('hex');
      const expected = encodeInstallationResponse(sessionId, { code: 'OK', contract: first });
      assert.equal(Buffer.from(responses.encode(sessionId, 'first', first)).toString('hex'), Buffer.from(expected).toString('hex'), `SessionID ${sessionId}`);
    }
  }
  const sessionId = 'ffffffffffffffff';
  const decoded = decodeExi('iso2', responses.encode(sessionId, 'first', first)).document as { V2G_Message: { Header: { SessionID: string } } };
  assert.is(decoded.V2G_Message.Header.SessionID.toLowerCase(), sessionId);
});

test('a template is per contract key: another contract under another key is encoded from its own', () => {
  const responses = new InstallationResponses();
  const sessionId = randomBytes(8).toString('hex');
  responses.encode(sessionId, 'first', first);
  const expected = encodeInstallationResponse(sessionId, { code: 'OK', contract: second });
  assert.equal(Buffer.from(responses.encode(sessionId, 'second', second)).toString('hex'), Buffer.from(expected).toString('hex'));
});

test('cached: nothing before the contract was encoded once for that SessionID length, then the same bytes without the contract', () => {
  const responses = new InstallationResponses();
  const sessionId = randomBytes(8).toString('hex');
  assert.is(responses.cached(sessionId, 'first'), undefined);
  responses.encode(randomBytes(8).toString('hex'), 'first', first);
  const expected = encodeInstallationResponse(sessionId, { code: 'OK', contract: first });
  assert.equal(Buffer.from(responses.cached(sessionId, 'first')!).toString('hex'), Buffer.from(expected).toString('hex'));
  assert.is(responses.cached(randomBytes(4).toString('hex'), 'first'), undefined, 'another SessionID length has no template yet');
  assert.is(responses.cached(sessionId, 'second'), undefined);
  assert.is(responses.cached('abc', 'first'), undefined);
});

test('a SessionID that is not whole bytes of hex is encoded (and refused) as before', () => {
  const responses = new InstallationResponses();
  assert.throws(() => responses.encode('abc', 'first', first));
  assert.throws(() => encodeInstallationResponse('abc', { code: 'OK', contract: first }));
});

test.run();
