/**
 * Certificates for NATS TLS between the hosts of a topology: one private cluster CA and, per host, a
 * P-256 certificate for its address (DNS or IP subjectAltName) usable as TLS server and client, so the
 * same pair secures client connections to the node and the node's mutually verified cluster routes.
 * These are transport certificates, not ISO 15118 ones (protocols/pki builds those).
 */
import 'reflect-metadata'; // @peculiar/x509 resolves its services through tsyringe
import * as x509 from '@peculiar/x509';
import { mkdirSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { buildCertificate, exportPkcs8, generateKeyPair, randomSerialNumber, type CryptoKeyPair } from '../protocols/pki/index.ts';
import type { Topology, TopologyHost } from './topology.ts';

const CA_DAYS = 3650;
const HOST_DAYS = 825;
const DAY_MS = 86_400_000;

/** File names inside the topology's `tls.dir` on every host. */
export const tlsFiles = {
  ca: 'ca.pem',
  certificate: (host: string) => `${host}.pem`,
  key: (host: string) => `${host}.key`,
};

/** The cluster CA certificate every host and client trusts, or undefined when the topology has no TLS. */
export function clusterCaFile(topology: Topology): string | undefined {
  return topology.tls ? join(topology.tls.dir, tlsFiles.ca) : undefined;
}

/** Where a host finds its TLS files (`tls.dir`), or undefined when the topology has no TLS. */
export function tlsPaths(topology: Topology, host: TopologyHost): { ca: string; certificate: string; key: string } | undefined {
  if (!topology.tls) return undefined;
  return { ca: clusterCaFile(topology)!, certificate: join(topology.tls.dir, tlsFiles.certificate(host.name)), key: join(topology.tls.dir, tlsFiles.key(host.name)) };
}

function pem(label: string, der: Uint8Array | ArrayBuffer): string {
  const base64 = Buffer.from(der instanceof Uint8Array ? der : new Uint8Array(der)).toString('base64');
  return `-----BEGIN ${label}-----\n${base64.match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
}

async function keyIds(keys: CryptoKeyPair) {
  return x509.SubjectKeyIdentifierExtension.create(keys.publicKey);
}

/**
 * A cluster CA and one certificate per host, as `{ file name: PEM }`: `ca.pem`, `ca.key` (keep it off
 * the hosts) and `<host>.pem` / `<host>.key` for each host.
 */
export async function issueClusterCertificates(topology: Topology, now = new Date()): Promise<Record<string, string>> {
  const caKeys = await generateKeyPair();
  const caName = new x509.Name([{ CN: [`${topology.cluster} NATS cluster CA`] }, { O: [`Open Plug&Charge ${topology.name}`] }]);
  const caKeyId = await keyIds(caKeys);
  const ca = await buildCertificate({
    subject: caName, publicKey: caKeys.publicKey, signingKey: caKeys.privateKey, serialNumber: randomSerialNumber(),
    notBefore: now, notAfter: new Date(now.getTime() + CA_DAYS * DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      caKeyId,
      new x509.AuthorityKeyIdentifierExtension(caKeyId.keyId),
    ],
  });
  const files: Record<string, string> = { [tlsFiles.ca]: ca.toString('pem') + '\n', 'ca.key': pem('PRIVATE KEY', await exportPkcs8(caKeys.privateKey)) };
  for (const host of topology.hosts) {
    const keys = await generateKeyPair();
    const certificate = await buildCertificate({
      subject: new x509.Name([{ CN: [host.address] }, { O: [`Open Plug&Charge ${topology.name}`] }]),
      issuerName: caName, publicKey: keys.publicKey, signingKey: caKeys.privateKey, serialNumber: randomSerialNumber(),
      notBefore: now, notAfter: new Date(now.getTime() + HOST_DAYS * DAY_MS),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: isIP(host.address) ? 'ip' : 'dns', value: host.address }]),
        await keyIds(keys),
        new x509.AuthorityKeyIdentifierExtension(caKeyId.keyId),
      ],
    });
    files[tlsFiles.certificate(host.name)] = certificate.toString('pem') + '\n';
    files[tlsFiles.key(host.name)] = pem('PRIVATE KEY', await exportPkcs8(keys.privateKey));
  }
  return files;
}

/** Writes {@link issueClusterCertificates}' files into `dir` (keys readable by the owner only); returns their paths. */
export async function writeClusterCertificates(topology: Topology, dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  return Object.entries(await issueClusterCertificates(topology)).map(([name, text]) => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: name.endsWith('.key') ? 0o600 : 0o644 });
    return path;
  });
}
