// The EVCC's V2GTP client: TLS 1.2 with the pinned suite and group against the V2G roots it
// trusts, then its own check of the SECC leaf ([V2G2-925]: DC=CPO) and of the OCSP response the SECC
// stapled for it (RFC 6066 status_request), or plain TCP for EIM.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import type { Duplex } from 'node:stream';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import type { IpPort } from '../link/port.ts';
import { derOfPem, stapledOcspVerdict, validateChain, type ChainValidationResult } from '../../protocols/pki/index.ts';
import { TransportError } from './errors.ts';
import { socketIpPort } from './ip-socket.ts';
import { V2G_TLS12_CIPHER_STANDARD_NAME, V2G_TLS12_GROUP, evccTlsOptions, keyLogWriter } from './tls.ts';
import { V2gtpConnection } from './v2gtp-connection.ts';

/**
 * V2G_EVCC_CommunicationSetup_Timeout (EcoG-io timeouts.py, RISE-V2G) bounds the EVCC's whole setup,
 * SDP through SupportedAppProtocolRes; this client bounds its own part (connect, handshake, leaf check) by it.
 */
export const EVCC_COMMUNICATION_SETUP_MS = 20_000;

export interface V2gtpClientOptions {
  /** The link to connect over (the in-memory line or a host interface); default: node:net. */
  readonly ip?: IpPort;
  /** A loopback address, or `fe80::…%if` from SDP. */
  readonly host: string;
  readonly port: number;
  /** `at`: the EVCC's clock for the leaf's validity and the staple's thisUpdate/nextUpdate (tests move it). */
  readonly security: { readonly kind: 'tls'; readonly v2gRoots: readonly string[]; readonly keyLogFile?: string; readonly at?: Date } | { readonly kind: 'tcp' };
  /** Bounds TCP connect, handshake and the SECC leaf check. */
  readonly setupTimeoutMs?: number;
  readonly maxPayloadLength?: number;
}

export interface SecureSession {
  readonly protocol: string;
  readonly cipher: string;
  readonly group: string;
  /** The SECC leaf's subject as the EVCC checked it. */
  readonly seccSubject: string;
  /** What the SECC stapled for its leaf: a verified `good` status, or nothing (refused otherwise). */
  readonly ocsp: 'good' | 'absent';
}

export interface V2gtpClientConnection {
  readonly connection: V2gtpConnection;
  /** Absent on plain TCP. */
  readonly tls?: SecureSession;
}

/**
 * Connects to the SECC; every failure is a TransportError (TlsHandshakeFailed, SeccCertificateRejected,
 * SeccOcspRejected, …). A refusal after the handshake closes with close_notify before any V2G message.
 */
export async function connectV2gtp(options: V2gtpClientOptions): Promise<V2gtpClientConnection> {
  const timeoutMs = options.setupTimeoutMs ?? EVCC_COMMUNICATION_SETUP_MS;
  const { security } = options;
  const ip = options.ip ?? socketIpPort({ host: '::' });
  let socket: Duplex | undefined;
  let secure: TLSSocket | undefined;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TransportError('CommunicationSetupTimeout', `no V2GTP connection to [${options.host}]:${options.port} within ${timeoutMs} ms`, { retryable: true })), timeoutMs);
  });
  try {
    const established = (async (): Promise<V2gtpClientConnection> => {
      const raw = await ip.connect(options.host, options.port);
      socket = raw;
      if (security.kind === 'tcp') return { connection: new V2gtpConnection(raw, { maxPayloadLength: options.maxPayloadLength }) };
      const tlsSocket = connectTls({ socket: raw, ...evccTlsOptions(security.v2gRoots) });
      socket = tlsSocket;
      if (security.keyLogFile) tlsSocket.on('keylog', keyLogWriter(security.keyLogFile));
      // Emitted during the handshake, before 'secureConnect'; Node lets the handshake go on whatever it
      // holds, so the decision comes after it, with the chain, in stapledOcspVerdict.
      let staple: Uint8Array | undefined;
      tlsSocket.once('OCSPResponse', (response: Buffer | null) => (staple = response ?? undefined));
      await secured(tlsSocket);
      secure = tlsSocket;
      const session = await checkSession(tlsSocket, security.v2gRoots, security.at, staple);
      return { connection: new V2gtpConnection(tlsSocket, { maxPayloadLength: options.maxPayloadLength }), tls: session };
    })();
    established.catch(() => undefined); // after a timeout its late failure is no longer anyone's to handle
    return await Promise.race([established, timeout]);
  } catch (error) {
    if (secure && !secure.destroyed) closeAfterRefusal(secure);
    else socket?.destroy();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

function secured(socket: TLSSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error & { code?: string }) =>
      reject(new TransportError('TlsHandshakeFailed', `cannot connect: ${error.message}`, { retryable: true, data: { cause: error.code }, cause: error }));
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

/** A clean end to a secured connection the EVCC refuses: close_notify, then the socket goes. */
function closeAfterRefusal(socket: TLSSocket): void {
  socket.on('error', () => undefined); // the SECC may reset first; the refusal is already the caller's
  socket.end(() => socket.destroy());
}

/**
 * After the handshake: the suite and group must be the pinned ones, the SECC leaf must pass the -2
 * profile check, and a stapled OCSP response must say `good` for it (stapledOcspVerdict).
 */
async function checkSession(socket: TLSSocket, v2gRoots: readonly string[], at: Date | undefined, staple: Uint8Array | undefined): Promise<SecureSession> {
  const cipher = socket.getCipher();
  const group = socket.getEphemeralKeyInfo();
  const name = cipher.standardName ?? cipher.name;
  const groupName = group && 'name' in group ? String(group.name) : '';
  if (name !== V2G_TLS12_CIPHER_STANDARD_NAME || groupName !== V2G_TLS12_GROUP) {
    throw new TransportError('TlsParametersRejected', `negotiated ${name} with group ${groupName || 'none'}; ISO 15118-2 needs ${V2G_TLS12_CIPHER_STANDARD_NAME} over secp256r1`);
  }
  const chain = peerChain(socket);
  // [V2G2-925]: the EVCC checks that the SECC leaf carries DC=CPO; validateChain also checks the
  // rest of the SECC profile (keyUsage, sizes, sub-CA count) and the validity period.
  const verdict: ChainValidationResult = await validateChain(chain, { purpose: 'secc', roots: { v2g: v2gRoots.map(derOfPem) }, at });
  if (!verdict.valid) {
    throw new TransportError('SeccCertificateRejected', `the SECC certificate is not acceptable: ${verdict.reason}`, {
      data: { defect: verdict.defect, position: verdict.position, iso15118: verdict.iso15118 },
    });
  }
  // validateChain accepted the chain, so chain[1] is the leaf's issuer (CPO Sub-CA 2).
  const ocsp = stapledOcspVerdict(staple, { leaf: new x509.X509Certificate(chain[0]), issuer: new x509.X509Certificate(chain[1]), at: at ?? new Date() });
  if (!ocsp.accept) {
    const why = ocsp.ocsp === 'invalid' ? `${ocsp.code}: ${ocsp.message}` : ocsp.ocsp === 'revoked' ? `revoked at ${ocsp.revokedAt.toISOString()}` : 'unknown to its CA';
    throw new TransportError('SeccOcspRejected', `the OCSP response the SECC stapled for its leaf is not acceptable: ${why}`, {
      data: { ocsp: ocsp.ocsp, ...(ocsp.ocsp === 'invalid' ? { ocspError: ocsp.code } : {}) },
    });
  }
  return { protocol: socket.getProtocol() ?? '', cipher: name, group: groupName, seccSubject: (socket.getPeerX509Certificate()?.subject ?? '').replace(/\n/g, ', '), ocsp: ocsp.ocsp };
}

/** The chain the SECC sent, leaf first, without the self-signed root. */
function peerChain(socket: TLSSocket): Uint8Array[] {
  const chain: Uint8Array[] = [];
  let certificate = socket.getPeerCertificate(true);
  const seen = new Set<string>();
  while (certificate && certificate.raw && !seen.has(certificate.fingerprint256)) {
    seen.add(certificate.fingerprint256);
    const selfSigned = certificate.issuerCertificate === certificate || certificate.issuerCertificate?.fingerprint256 === certificate.fingerprint256;
    if (selfSigned) break;
    chain.push(new Uint8Array(certificate.raw));
    certificate = certificate.issuerCertificate;
  }
  return chain;
}
