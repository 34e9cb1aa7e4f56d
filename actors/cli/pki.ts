// `openpnc pki …`: write a complete ISO 15118-2 test PKI, and check a chain the way an EV or SECC does.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { createTestPki, exportPkcs8, validateChain, type ChainPurpose, type TestCertificate } from '../../protocols/pki/index.ts';
import { CliError, parseFlags, type Command } from './command.ts';

const usage = `usage: openpnc pki init --out DIR [--vehicles N] [--contracts N] [--ocsp-url URL]
       openpnc pki verify --chain FILE --root FILE [--root FILE…] [--purpose PURPOSE] [--at ISO-DATE]

init     writes a fresh test PKI into DIR (which must not exist or be empty): the V2G root with the
         CPO and CPS branches, an OEM root with N provisioning certificates (CN = PCID), an MO root
         with N contract certificates (CN = EMAID), and a contract under an MO Sub-CA 1 issued by
         the V2G root (as at Hubject). For every certificate NAME: NAME.pem, NAME.der,
         NAME.key.pem (PKCS#8) and, below a root, NAME.chain.pem (wire order: itself, Sub-CA 2,
         Sub-CA 1; no root). manifest.json lists every file with its role and subject.
           --vehicles N     provisioning certificates (default 1)
           --contracts N    contract certificates under the MO root (default 1)
           --ocsp-url URL   base of the OCSP URLs written into AIA: URL/<ca name>
                            (default http://localhost:8080/ocsp)

verify   validates a chain by the ISO 15118-2 rules and prints the ISO 15118-2 response code, the
         evse_security result and the reason. Exit status 0 only when the chain is valid.
           --chain FILE     PEM (one or more certificates, leaf first) or one DER certificate
           --root FILE      trust anchor(s), PEM or DER; repeat for several
           --purpose P      secc | cps | contract | provisioning (default: from the leaf's DC:
                            CPO → secc, CPS → cps, OEM → provisioning, MO → contract)
           --at ISO-DATE    check validity at this time instead of now

examples:
  openpnc pki init --out ./pki --vehicles 2 --contracts 3
  openpnc pki verify --chain ./pki/secc.chain.pem --root ./pki/v2g-root.pem`;

const PURPOSES: readonly ChainPurpose[] = ['secc', 'cps', 'contract', 'provisioning'];
const PURPOSE_BY_DC: Record<string, ChainPurpose> = { CPO: 'secc', CPS: 'cps', OEM: 'provisioning', MO: 'contract' };

interface ManifestFile {
  readonly path: string;
  readonly kind: 'certificate' | 'key' | 'chain';
  readonly format: 'pem' | 'der';
  readonly name: string;
  readonly role: string;
  readonly subject: string;
  readonly serialNumber?: string;
  readonly issuer?: string;
  readonly root?: string;
  readonly identifier?: string;
  /** For chains: the certificate files in wire order. */
  readonly certificates?: readonly string[];
}

function count(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) > 1000) throw new CliError(`--${flag} must be a whole number from 0 to 1000, not '${value}'`);
  return Number(value);
}

const pemOf = (der: ArrayBuffer | Uint8Array, label: string): string => x509.PemConverter.encode(der instanceof Uint8Array ? der.slice().buffer : der, label) + '\n';

async function writePki(directory: string, entries: readonly TestCertificate[]): Promise<ManifestFile[]> {
  const nameOf = new Map(entries.map((e) => [e.certificate, e.name] as const));
  const files: ManifestFile[] = [];
  for (const entry of entries) {
    const common = { name: entry.name, role: entry.role, subject: entry.certificate.subject };
    const certificateFacts = {
      ...common,
      serialNumber: entry.certificate.serialNumber.toLowerCase(),
      issuer: nameOf.get(entry.chain[1] ?? entry.root),
      root: `${nameOf.get(entry.root)}.pem`,
      ...(entry.identifier ? { identifier: entry.identifier } : {}),
    };
    const der = new Uint8Array(entry.certificate.rawData);
    await writeFile(join(directory, `${entry.name}.pem`), pemOf(der, 'CERTIFICATE'));
    await writeFile(join(directory, `${entry.name}.der`), der);
    files.push({ path: `${entry.name}.pem`, kind: 'certificate', format: 'pem', ...certificateFacts });
    files.push({ path: `${entry.name}.der`, kind: 'certificate', format: 'der', ...certificateFacts });
    await writeFile(join(directory, `${entry.name}.key.pem`), pemOf(await exportPkcs8(entry.keys.privateKey), 'PRIVATE KEY'), { mode: 0o600 });
    files.push({ path: `${entry.name}.key.pem`, kind: 'key', format: 'pem', ...common });
    if (entry.chain.length > 0) {
      await writeFile(join(directory, `${entry.name}.chain.pem`), entry.chain.map((c) => pemOf(c.rawData, 'CERTIFICATE')).join(''));
      files.push({ path: `${entry.name}.chain.pem`, kind: 'chain', format: 'pem', ...common, root: `${nameOf.get(entry.root)}.pem`, certificates: entry.chain.map((c) => `${nameOf.get(c)}.pem`) });
    }
  }
  return files;
}

async function init(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { out: { type: 'string' }, vehicles: { type: 'string' }, contracts: { type: 'string' }, 'ocsp-url': { type: 'string' } }, false);
  if (!values.out) throw new CliError('pki init needs --out DIR');
  const out = resolve(values.out);
  if (existsSync(out) && readdirSync(out).length > 0) throw new CliError(`${values.out} is not empty; choose a new directory`);
  const pki = await createTestPki({ vehicles: count(values.vehicles, 'vehicles'), contracts: count(values.contracts, 'contracts'), ocspBaseUrl: values['ocsp-url'] });
  // Write beside the target and rename at the end, so an interrupted run leaves no half-written PKI.
  await mkdir(dirname(out), { recursive: true });
  const staging = await mkdtemp(join(dirname(out), `.${basename(out)}-`));
  try {
    const files = await writePki(staging, pki.certificates);
    const manifest = { generatedBy: 'openpnc pki init', createdAt: new Date().toISOString(), files };
    await writeFile(join(staging, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    if (existsSync(out)) await rmdir(out);
    await rename(staging, out);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  console.log(`wrote ${pki.certificates.length} certificates to ${values.out} (see manifest.json)`);
  return 0;
}

/** PEM bundle (every CERTIFICATE block) or a single DER certificate. */
async function readCertificates(path: string): Promise<Uint8Array[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new CliError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const text = bytes.toString('latin1');
  if (!text.includes('-----BEGIN')) return [new Uint8Array(bytes)];
  const blocks = [...text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)];
  if (blocks.length === 0) throw new CliError(`${path} has no PEM CERTIFICATE block`);
  return blocks.map((block) => new Uint8Array(Buffer.from(block[1].replace(/\s+/g, ''), 'base64')));
}

function purposeFromLeaf(leaf: Uint8Array): ChainPurpose {
  let dcs: string[];
  try {
    dcs = new x509.X509Certificate(leaf).subjectName.getField('DC');
  } catch {
    throw new CliError('cannot read the leaf to infer the purpose; give --purpose');
  }
  const purpose = dcs.map((dc) => PURPOSE_BY_DC[dc]).find((p) => p !== undefined);
  if (!purpose) throw new CliError(`the leaf has no DC of CPO, CPS, OEM or MO; give --purpose (${PURPOSES.join('|')})`);
  return purpose;
}

async function verify(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { chain: { type: 'string' }, root: { type: 'string', multiple: true }, purpose: { type: 'string' }, at: { type: 'string' } }, false);
  if (!values.chain) throw new CliError('pki verify needs --chain FILE');
  if (!values.root?.length) throw new CliError('pki verify needs at least one --root FILE');
  if (values.purpose !== undefined && !PURPOSES.includes(values.purpose as ChainPurpose)) throw new CliError(`--purpose must be one of ${PURPOSES.join(', ')}, not '${values.purpose}'`);
  const at = values.at === undefined ? undefined : new Date(values.at);
  if (at && Number.isNaN(at.getTime())) throw new CliError(`--at is not an ISO date: '${values.at}'`);
  const chain = await readCertificates(values.chain);
  const roots = (await Promise.all(values.root.map(readCertificates))).flat();
  const purpose = (values.purpose as ChainPurpose | undefined) ?? purposeFromLeaf(chain[0]);
  const result = await validateChain(chain, { purpose, roots, at });
  console.log(`${result.iso15118} (${result.evseSecurity}): ${result.reason}`);
  return result.valid ? 0 : 1;
}

export const pkiCommand: Command = {
  summary: 'test PKI generation and ISO 15118-2 chain verification',
  usage,
  async run(argv) {
    const [subcommand, ...rest] = argv;
    if (subcommand === 'init') return init(rest);
    if (subcommand === 'verify') return verify(rest);
    throw new CliError(subcommand === undefined ? 'pki needs a subcommand: init or verify (see openpnc pki --help)' : `unknown subcommand '${subcommand}' (see openpnc pki --help)`);
  },
};
