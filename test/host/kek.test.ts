// CA keys at rest: sealed under the host's key-encryption key (KEK). The store holds no private key
// in clear, the same KEK opens them after a restart, another KEK or a moved blob does not, and a KEK
// that is named but unreadable stops `openpnc run` before anything starts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyEncryptionKey, resolveKek } from '../../actors/host/kek.ts';
import { loadOrMakeAuthorities, makeAuthority } from '../../actors/participants/authority.ts';
import { openEmbeddedStore } from '../../actors/store/index.ts';
import { EMBEDDED_STORE_FILE } from '../../actors/store/embedded.ts';
import { PncError } from '../../protocols/errors.ts';
import { exportPkcs8 } from '../../protocols/pki/index.ts';
import { openpnc } from '../helpers/cli.ts';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'openpnc-kek-'));
  dirs.push(dir);
  return dir;
};
test.after(() => { for (const dir of dirs) rmSync(dir, { recursive: true, force: true }); });

test('CA keys are sealed in the store, open again under the same KEK, and not under another', async () => {
  const dir = tempDir();
  const kek = resolveKek({ dataDir: dir, env: {} });
  assert.is(statSync(join(dir, 'kek')).mode & 0o777, 0o600);
  const make = async () => ({ root: await makeAuthority({ role: 'v2gRoot', subject: { commonName: 'KEK Test Root', organization: 'Open Plug&Charge' } }) });
  let store = await openEmbeddedStore(join(dir, 'store'));
  const first = await loadOrMakeAuthorities({ store, kek }, 'v2g-root', make);
  const scalar = Buffer.from(await exportPkcs8(first.root.privateKey)).subarray(36, 68);
  await store.close();
  // What is on disk: no PKCS#8, no scalar, in any encoding.
  const files = [EMBEDDED_STORE_FILE, `${EMBEDDED_STORE_FILE}-wal`].map((name) => { try { return readFileSync(join(dir, 'store', name)).toString('latin1'); } catch { return ''; } }).join('');
  assert.ok(files.includes('sealedKey'), 'the store file holds the sealed authorities');
  for (const encoding of ['base64', 'hex'] as const) assert.not.ok(files.includes(scalar.toString(encoding)), `scalar in ${encoding}`);
  assert.not.ok(files.includes('MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg'));

  store = await openEmbeddedStore(join(dir, 'store'));
  const again = await loadOrMakeAuthorities({ store, kek: resolveKek({ dataDir: dir, env: {} }) }, 'v2g-root', make);
  assert.equal(Buffer.from(await exportPkcs8(again.root.privateKey)), Buffer.from(await exportPkcs8(first.root.privateKey)));
  const wrong = await loadOrMakeAuthorities({ store, kek: KeyEncryptionKey.generate() }, 'v2g-root', make).catch((error) => error);
  assert.ok(PncError.is(wrong, 'KekMismatch'), String(wrong));
  await store.close();
});

test('a sealed key opens only as what it was sealed as', () => {
  const kek = KeyEncryptionKey.generate();
  const sealed = kek.seal(new Uint8Array([1, 2, 3]), 'mo/root');
  assert.equal([...kek.open(sealed, 'mo/root')], [1, 2, 3]);
  assert.throws(() => kek.open(sealed, 'cps/sub2'), (error: unknown) => PncError.is(error, 'KekMismatch'));
  assert.throws(() => kek.open({ ...sealed, tag: Buffer.alloc(16).toString('base64') }, 'mo/root'), (error: unknown) => PncError.is(error, 'KekMismatch'));
});

test('the KEK comes from OPENPNC_KEK or a file; a named but unreadable or short one is refused', async () => {
  const dir = tempDir();
  const key = Buffer.alloc(32, 7).toString('base64');
  assert.is(resolveKek({ dataDir: dir, env: { OPENPNC_KEK: key } }).id, new KeyEncryptionKey(Buffer.alloc(32, 7)).id);
  writeFileSync(join(dir, 'kek.b64'), key);
  assert.is(resolveKek({ dataDir: dir, env: { OPENPNC_KEK_FILE: join(dir, 'kek.b64') } }).id, new KeyEncryptionKey(Buffer.alloc(32, 7)).id);
  assert.throws(() => resolveKek({ dataDir: dir, env: { OPENPNC_KEK: 'c2hvcnQ=' } }), (error: unknown) => PncError.is(error, 'KekInvalid'));
  assert.throws(() => resolveKek({ dataDir: dir, file: join(dir, 'missing'), env: {} }), /cannot read the key-encryption key .*ENOENT/);
  const run = await openpnc(['run', 'v2g-root', '--data', dir, '--kek', join(dir, 'missing')]);
  assert.is(run.code, 1);
  assert.match(run.stderr, /^openpnc: cannot read the key-encryption key .*missing: ENOENT\n$/);
});

test.run();
