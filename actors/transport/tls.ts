// TLS 1.2 as ISO 15118-2 asks it (link-layer.md §3): one suite, one group, server authentication
// only, and what both ends need to be configured with.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { appendFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer, type ConnectionOptions, type Server, type TlsOptions } from 'node:tls';
import { exportPkcs8, normalizeSerialNumber, type TestCertificate } from '../../protocols/pki/index.ts';
import type { CryptoKey } from '../../protocols/pki/keys.ts';

/**
 * TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 (0xC023) only. ISO 15118-2 also lists static-ECDH
 * TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256 (0xC025), which OpenSSL ≥ 1.1 no longer has: a client
 * offering only that gets a handshake_failure alert (a documented deviation, link-layer.md §3.2).
 */
export const V2G_TLS12_CIPHERS = 'ECDHE-ECDSA-AES128-SHA256';
export const V2G_TLS12_CIPHER_STANDARD_NAME = 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256';
/** secp256r1 only, pinned: some EVCCs list x25519 first (charging-session.md §3), which -2 does not allow. */
export const V2G_TLS12_GROUP = 'prime256v1';
/** ecdsa-with-SHA256 over secp256r1, as the certificates are signed [V2G2-006/007]. */
export const V2G_TLS12_SIGALGS = 'ecdsa_secp256r1_sha256';

const pinned = {
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.2',
  ciphers: V2G_TLS12_CIPHERS,
  ecdhCurve: V2G_TLS12_GROUP,
  sigalgs: V2G_TLS12_SIGALGS,
} as const;

/** The SECC's TLS identity: PKCS#8 key and the chain in wire order (leaf, CPO Sub-CA 2, Sub-CA 1; no root). */
export interface SeccTlsCredentials {
  readonly key: string;
  readonly chain: string;
}

/** Server options: pinned suite/group, TLS 1.2 only, no client certificate (-2 authenticates the server only). */
export function seccTlsOptions(credentials: SeccTlsCredentials): TlsOptions {
  return { ...pinned, key: credentials.key, cert: credentials.chain, honorCipherOrder: true, requestCert: false };
}

/**
 * Client options: the V2G roots it trusts; the host name check is off (the SECC's CN is an ID, not an
 * address) and replaced by the DC=CPO check. It asks for the SECC leaf's OCSP status (RFC 6066 §8
 * status_request), which `stapledOcspVerdict` decides on after the handshake.
 */
export function evccTlsOptions(v2gRoots: readonly string[]): ConnectionOptions & { readonly requestOCSP: true } {
  // tls.connect passes requestOCSP on to its TLSSocket; @types/node lists it on TLSSocketOptions only.
  return { ...pinned, ca: [...v2gRoots], rejectUnauthorized: true, checkServerIdentity: () => undefined, requestOCSP: true };
}

/**
 * The DER OCSP response to staple for the SECC leaf the server presents, by its serial number
 * (lowercase hex, no leading zeros), or undefined when none is fresh (evse_security's OCSP cache).
 */
export type OcspStapleSource = (leafSerialNumber: string) => Promise<Uint8Array | undefined>;

/**
 * A never-listening tls.Server that answers status_request for server-side TLSSockets given it as
 * `server` (Node emits 'OCSPRequest' only on a socket's server). Whatever the source does — throw,
 * reject, find nothing — the handshake goes on, without a staple then: a missing OCSP response must
 * never cost the EV its session. OpenSSL parses the extension; a client repeating it or sending
 * garbage in it reaches this handler at most once per handshake, or not at all.
 */
export function ocspStapler(credentials: SeccTlsCredentials, source: OcspStapleSource): Server {
  const stapler = createServer(seccTlsOptions(credentials));
  // The leaf this server presents, not whatever the store holds now: after a renewal a server still
  // running on the old leaf must staple that leaf's response or nothing, never the new leaf's.
  // (A PEM bundle reads as its first certificate: the leaf, in wire order.)
  const leafSerialNumber = normalizeSerialNumber(new x509.X509Certificate(credentials.chain).serialNumber);
  stapler.on('OCSPRequest', (_certificate, _issuer, callback: (error: null, response: Buffer | null) => void) => {
    let answered = false;
    const answer = (der: Uint8Array | undefined) => {
      if (answered) return;
      answered = true;
      callback(null, der && der.length > 0 ? Buffer.from(der) : null);
    };
    try {
      source(leafSerialNumber).then(answer, () => answer(undefined));
    } catch {
      answer(undefined);
    }
  });
  return stapler;
}

/** PEM credentials from a chain in wire order and its leaf's key (e.g. `SeccSecurity.leaf()`). */
export async function tlsCredentialsOf(chain: readonly x509.X509Certificate[], privateKey: CryptoKey): Promise<SeccTlsCredentials> {
  const key = x509.PemConverter.encode(new Uint8Array(await exportPkcs8(privateKey)).slice().buffer, 'PRIVATE KEY');
  return { key, chain: chain.map((c) => c.toString('pem')).join('\n') };
}

/** PEM credentials from a test-PKI certificate (its key and chain). */
export function credentialsOf(certificate: TestCertificate): Promise<SeccTlsCredentials> {
  return tlsCredentialsOf(certificate.chain, certificate.keys.privateKey);
}

/** Reads the SECC credentials written by `openpnc pki init --out DIR` (secc.key.pem, secc.chain.pem). */
export async function readSeccCredentials(pkiDirectory: string): Promise<SeccTlsCredentials> {
  return { key: await readFile(join(pkiDirectory, 'secc.key.pem'), 'utf8'), chain: await readFile(join(pkiDirectory, 'secc.chain.pem'), 'utf8') };
}

/** Reads the V2G root written by `openpnc pki init --out DIR`. */
export async function readV2gRoots(pkiDirectory: string): Promise<string[]> {
  return [await readFile(join(pkiDirectory, 'v2g-root.pem'), 'utf8')];
}

/**
 * A `keylog` listener appending NSS key log lines (CLIENT_RANDOM …) to a file, for
 * `tshark -o tls.keylog_file:FILE`. Synchronous so a capture read right after the session finds every line.
 */
export function keyLogWriter(file: string): (line: Buffer) => void {
  return (line) => appendFileSync(file, line);
}
