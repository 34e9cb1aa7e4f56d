// A sniffer on the wire: a NATS connection as the `tap` user (subscribes to `>`, publishes nothing)
// recording every message, and the [S4] check of what it saw: no private key in any form.
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, nkeyAuthenticator, type NatsConnection } from 'nats';
import type { SecuredNats } from './creds.ts';

/** PKCS#8 of a P-256 key (RFC 5208 around RFC 5915), base64: what a private key on the wire would start with. */
export const PKCS8_P256_PREFIX = 'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg';

export interface Tap {
  /** Everything seen: subject, header lines and payload bytes, as text. */
  readonly wire: string[];
  close(): Promise<void>;
}

export async function tapEverything(nats: SecuredNats): Promise<Tap> {
  const connection: NatsConnection = await connect({ servers: nats.url, authenticator: nkeyAuthenticator(new TextEncoder().encode(nats.extraSeeds.tap)) });
  const wire: string[] = [];
  connection.subscribe('>', {
    callback: (_error, msg) => {
      const headers = msg.headers ? [...msg.headers.keys()].map((name) => `${name}: ${msg.headers!.get(name)}`).join('\n') : '';
      wire.push(`${msg.subject}\n${headers}\n${Buffer.from(msg.data).toString('latin1')}`);
    },
  });
  await connection.flush();
  return { wire, close: () => connection.close() };
}

/**
 * [S4] `text` holds no PEM private key, no PKCS#8 P-256 key, no JWK `d`, none of `secrets` (PKCS#8 DER
 * keys: the whole key and its private scalar; raw scalars as they are) in base64, hex or base64url,
 * and no nkey seed of `credsDir`.
 */
export function assertNoPrivateKeys(text: string, secrets: ReadonlyArray<readonly [string, Buffer]>, credsDir: string): void {
  assert.not.match(text, /-----BEGIN [A-Z ]*PRIVATE KEY-----/);
  assert.not.ok(text.includes(PKCS8_P256_PREFIX), 'a PKCS#8 EC private key');
  assert.not.match(text, /"d"\s*:\s*"[A-Za-z0-9_-]{40,}"/);
  for (const [what, bytes] of secrets) {
    // The private scalar sits after the 36-byte PKCS#8 header of a P-256 key.
    const pkcs8 = bytes.length > 100 && bytes.toString('base64').startsWith(PKCS8_P256_PREFIX);
    for (const [which, value] of pkcs8 ? [[what, bytes], [`${what}'s private scalar`, bytes.subarray(36, 68)]] as const : [[what, bytes]] as const) {
      for (const encoding of ['base64', 'hex', 'base64url'] as const) assert.not.ok(text.includes(value.toString(encoding)), `${which} in ${encoding}`);
    }
  }
  for (const file of readdirSync(credsDir).filter((name) => name.endsWith('.nk'))) {
    const seed = readFileSync(join(credsDir, file), 'utf8').trim();
    assert.not.ok(text.includes(seed), `the seed of ${file}`);
  }
}
