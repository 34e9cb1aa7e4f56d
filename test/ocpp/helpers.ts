// Shared by the OCPP tests: the back office of the story with our CSMS edge in front of it, and an
// independent test charging station on ocpp-rpc's strict RPCClient. The test station shares nothing
// with our CSMS but the OCA schemas: its CSRs, hash data and TLS options are made here, with
// @peculiar/x509 and node:crypto directly.
import 'reflect-metadata';
import { createHash, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { RPCClient } from 'ocpp-rpc';
import { runStory, type StoryResult } from '../../actors/story/index.ts';
import { startCsms, type Csms } from '../../actors/ocpp/csms.ts';
import { createLogger } from '../../actors/host/log.ts';
import { requestSubjectReply } from '../../actors/bus/typed.ts';
import { moInterface } from '../../protocols/catalogue/mo.ts';
import type { Vehicle } from '../../actors/story/vehicle.ts';
import { storyParticipants } from '../partners/helpers.ts';

x509.cryptoProvider.set(webcrypto);

export interface BackOffice {
  readonly story: StoryResult;
  readonly csms: Csms;
  /** The story's vehicle, with the provisioning key it made itself. */
  readonly vehicle: Vehicle;
  /** PEM contract chain: contract certificate, MO Sub-CA 2, MO Sub-CA 1. */
  readonly contractChainPem: string;
  readonly contractChain: x509.X509Certificate[];
  readonly moRoot: x509.X509Certificate;
  stop(): Promise<void>;
}

const pemOfDer = (der: string) => new x509.X509Certificate(Buffer.from(der, 'base64'));

export async function startBackOffice(options: { maxFrameBytes?: number } = {}): Promise<BackOffice> {
  const story = await runStory({ participants: storyParticipants(), print: () => {} });
  let csms: Csms | undefined;
  try {
    csms = await startCsms({ bus: story.bus, store: story.store, log: createLogger({ write: () => {} }), port: 0, ...(options.maxFrameBytes ? { maxFrameBytes: options.maxFrameBytes } : {}) });
    const { certificates: moCa } = await requestSubjectReply(story.bus, moInterface.requests.ca, {});
    const contractChain = [story.contract.contractCertificate!, moCa[0], moCa[1]].map(pemOfDer);
    const vehicle = story.vehicle;
    const running = csms;
    return {
      story, csms: running, vehicle, contractChain,
      contractChainPem: contractChain.map((c) => c.toString('pem')).join('\n'),
      moRoot: pemOfDer(moCa[moCa.length - 1]),
      async stop() { await running.close(); await story.stop(); },
    };
  } catch (error) {
    await csms?.close().catch(() => {});
    await story.stop();
    throw error;
  }
}

export interface TestStationOptions {
  readonly url: string;
  readonly ca: string;
  readonly identity: string;
  readonly password?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly protocol?: 'ocpp2.0.1' | 'ocpp1.6';
  readonly strict?: boolean;
}

/** An independent OCPP-J station: ocpp-rpc's strict client, no reconnect. */
export function testStation(options: TestStationOptions): RPCClient {
  return new RPCClient({
    endpoint: options.url,
    identity: options.identity,
    password: options.password ?? null,
    protocols: [options.protocol ?? 'ocpp2.0.1'],
    strictMode: options.strict ?? true,
    reconnect: false,
    callTimeoutMs: 10_000,
    pingIntervalMs: 0,
    wsOpts: { ca: options.ca, ...(options.cert ? { cert: options.cert, key: options.key } : {}) },
  } as ConstructorParameters<typeof RPCClient>[0]);
}

/** A P-256 key and a PEM CSR for `subject` (e.g. `CN=CS001, O=Test`). */
export async function makeTestCsr(subject: string): Promise<{ csr: string; keyPem: string; keys: webcrypto.CryptoKeyPair }> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: subject, keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  return { csr: csr.toString('pem'), keys, keyPem: `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n` };
}

/** OCPP OCSPRequestDataType of `certificate` issued by `issuer` (SHA-256 of the issuer's name DER and key bits). */
export function hashDataOf(certificate: x509.X509Certificate, issuer: x509.X509Certificate, responderURL: string) {
  const spki = new Uint8Array(issuer.publicKey.rawData);
  return {
    hashAlgorithm: 'SHA256' as const,
    issuerNameHash: createHash('sha256').update(new Uint8Array(issuer.subjectName.toArrayBuffer())).digest('hex'),
    issuerKeyHash: createHash('sha256').update(spki.subarray(spki.length - 65)).digest('hex'),
    serialNumber: certificate.serialNumber.replace(/^0+/, '').toLowerCase(),
    responderURL,
  };
}

export const bootRequest = { reason: 'PowerUp', chargingStation: { model: 'TestBox', vendorName: 'Open Plug&Charge tests' } };

/** Resolves when `predicate` holds, polling; rejects after `timeoutMs`. */
export async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
