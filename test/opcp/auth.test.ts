// OAuth2 client credentials: secrets kept only as scrypt hashes, Hubject-style claims (role, WMI,
// EMAID prefix under a namespace), prefixes checked per role, tokens that fail closed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeJwt } from 'jose';
import { OAuthService, serveClientRegistration, type OAuthClientDoc } from '../../actors/opcp/auth.ts';
import { requestSubjectReply } from '../../actors/bus/typed.ts';
import { opcpInterface } from '../../protocols/catalogue/opcp.ts';
import { openEmbedded } from '../pools/helpers.ts';

test('the secret is stored only as an scrypt hash, and the token carries role and prefixes', async () => {
  const env = await openEmbedded();
  const oauth = new OAuthService(env.store);
  const oem = await oauth.addClient('oem', ['wmi', 'ABC', 'WMI']);
  assert.equal(oem.prefixes, ['WMI', 'ABC'], 'upper case, without repeats');
  const stored = await env.store.collection<OAuthClientDoc>('opcp.clients').get(oem.client_id);
  assert.match(stored!.secretHash, /^scrypt\$16384\$8\$1\$/);
  assert.not.ok(JSON.stringify(stored).includes(oem.client_secret));
  const issued = await oauth.issueToken({ client_id: oem.client_id, client_secret: oem.client_secret, audience: 'https://pools.example' });
  const claims = decodeJwt(issued.access_token);
  assert.equal(claims[`${oauth.claimNamespace}role`], ['OEM']);
  assert.equal(claims[`${oauth.claimNamespace}pcid`], ['WMI', 'ABC']);
  assert.is(claims.aud, 'https://pools.example');
  assert.is((claims.exp as number) - (claims.iat as number), 86_400);
  assert.equal(await oauth.verifyToken(issued.access_token), { role: 'oem', prefixes: ['WMI', 'ABC'], clientId: oem.client_id });
  await env.close();
});

test('prefixes are checked per role; bad credentials and forged tokens are refused', async () => {
  const env = await openEmbedded();
  const oauth = new OAuthService(env.store);
  for (const [role, prefixes, pattern] of [
    ['oem', [], /needs --prefix/],
    ['oem', ['WMIX'], /not 3 letters or digits/],
    ['mo', ['DE-AB'], /not 5 letters or digits/],
    ['cpo', ['ABC'], /takes no prefix/],
    ['pool', [], /role must be one of/],
  ] as const) {
    await oauth.addClient(role as never, prefixes).then(() => assert.unreachable(role), (error) => assert.match(error.message, pattern));
  }
  const mo = await oauth.addClient('mo', ['DEABC']);
  await oauth.issueToken({ client_id: mo.client_id, client_secret: `${mo.client_secret}x` }).then(() => assert.unreachable(), (error) => assert.is(error.code, 'invalid_client'));
  await oauth.issueToken({ ...mo, grant_type: 'password' }).then(() => assert.unreachable(), (error) => assert.is(error.code, 'unsupported_grant_type'));
  const { access_token } = await oauth.issueToken(mo);
  const [header, , signature] = access_token.split('.');
  const forged = `${header}.${Buffer.from(JSON.stringify({ ...decodeJwt(access_token), [`${oauth.claimNamespace}role`]: ['ADMIN'] })).toString('base64url')}.${signature}`;
  await oauth.verifyToken(forged).then(() => assert.unreachable(), (error) => assert.is(error.code, 'Unauthorized'));
  // Another issuer (another deployment's key) is not trusted.
  const otherEnv = await openEmbedded();
  const other = new OAuthService(otherEnv.store, { issuer: 'urn:other' });
  const foreign = await other.issueToken(await other.addClient('admin', []));
  await oauth.verifyToken(foreign.access_token).then(() => assert.unreachable(), (error) => assert.is(error.code, 'Unauthorized'));
  await otherEnv.close();
  await env.close();
});

test('two services on one store share the signing key', async () => {
  const env = await openEmbedded();
  const [a, b] = [new OAuthService(env.store), new OAuthService(env.store)];
  const [jwksA, jwksB] = await Promise.all([a.jwks(), b.jwks()]);
  assert.equal(jwksA, jwksB);
  const cpo = await a.addClient('cpo', []);
  assert.is((await b.verifyToken((await a.issueToken(cpo)).access_token)).role, 'cpo');
  await env.close();
});

test('opcp.client.add registers through the same service: the reply carries the only copy of the secret; bad input is a typed error', async () => {
  const env = await openEmbedded();
  const oauth = new OAuthService(env.store);
  const registration = await serveClientRegistration(env.gatewayBus, oauth, env.log);
  // Only the operator registers clients; anyone else, a pool or an MO, is refused.
  for (const who of [{ role: 'pool', prefixes: [] }, { role: 'mo', prefixes: ['DEABC'] }] as const) {
    await requestSubjectReply(env.as({ ...who, prefixes: [...who.prefixes] }), opcpInterface.requests.addClient, { role: 'oem', prefixes: ['wmi'] }).then(
      () => assert.unreachable(who.role),
      (error) => assert.is(error.code, 'Forbidden'),
    );
  }
  const operator = env.as({ role: 'admin', prefixes: [] });
  const added = await requestSubjectReply(operator, opcpInterface.requests.addClient, { role: 'oem', prefixes: ['wmi'] });
  assert.match(added.clientId, /^oem-[0-9a-f]{16}$/);
  assert.equal(added.prefixes, ['WMI']);
  const stored = await env.store.collection<OAuthClientDoc>('opcp.clients').get(added.clientId);
  assert.match(stored!.secretHash, /^scrypt\$/);
  assert.not.ok(JSON.stringify(stored).includes(added.clientSecret));
  assert.not.ok(JSON.stringify(env.log.lines).includes(added.clientSecret), 'the secret is not logged');
  const token = await oauth.issueToken({ client_id: added.clientId, client_secret: added.clientSecret });
  assert.equal(await oauth.verifyToken(token.access_token), { role: 'oem', prefixes: ['WMI'], clientId: added.clientId });
  for (const [request, code, pattern] of [
    [{ role: 'oem', prefixes: ['TOOLONG'] }, 'InvalidClient', /prefix TOOLONG is not 3 letters or digits/],
    [{ role: 'cpo', prefixes: ['ABC'] }, 'InvalidClient', /takes no prefix/],
    [{ role: 'pool', prefixes: [] }, 'InvalidPayload', /role/],
  ] as const) {
    await operator.request(opcpInterface.requests.addClient.subject, request).then(
      () => assert.unreachable(JSON.stringify(request)),
      (error) => {
        assert.is(error.code, code);
        assert.match(error.message, pattern);
      },
    );
  }
  assert.is((await env.store.collection<OAuthClientDoc>('opcp.clients').find({})).length, 1, 'nothing half-written by refused requests');
  await registration.unsubscribe();
  await env.close();
});

test.run();
