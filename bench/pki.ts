// PKI throughput on one core, median of several runs, each run measuring every case in turn so machine
// noise hits them alike: ISO 15118-2 chain validation (3 ECDSA verifications per chain), contract-key
// encryption, leaf issuance, beside raw node:crypto P-256 sign and verify measured in the same run.
// Target: chain validation ≥ 1/3 of the raw verify rate. A chain is three verifications, so 1/3 is
// also the ceiling: the ratio shows how little the rest of the validation costs. A never-seen chain
// adds its parses and issuer-key imports, measured on their own lines.
//
//   npm run bench:pki [-- --runs=5 --ms=400]
import { createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { parseCertificateDer } from '../protocols/pki/der.ts';
import { createTestPki, encryptContractKey, issueCertificate, validateChain } from '../protocols/pki/index.ts';

function flag(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  const value = arg ? Number(arg.slice(name.length + 3)) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}
const RUNS = flag('runs', 5);
const RUN_MS = flag('ms', 400);

/** Calls `fn` repeatedly for about RUN_MS and returns calls per second. */
async function rate(fn: () => unknown): Promise<number> {
  let calls = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(RUN_MS * 1e6);
  while (process.hrtime.bigint() < deadline) {
    await fn();
    calls++;
  }
  return (calls * 1e9) / Number(process.hrtime.bigint() - start);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const pki = await createTestPki();
const roots = pki.trustAnchors;
const chain = pki.contracts[0].chain;
const chainDer = chain.map((c) => new Uint8Array(c.rawData));
const mo2 = pki.authorities['mo-sub-ca-2'];

// The raw baseline signs and verifies a message the size of a contract certificate's TBS.
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const tbsSized = randomBytes(chainDer[0].length - 80);
const signature = sign('sha256', tbsSized, privateKey);

const spki = Buffer.from(parseCertificateDer(chainDer[1]).spki);

let failures = 0;
const cases: { name: string; fn: () => unknown }[] = [
  { name: 'raw P-256 verify (node:crypto)', fn: () => verify('sha256', tbsSized, publicKey, signature) || failures++ },
  { name: 'raw P-256 sign (node:crypto)', fn: () => sign('sha256', tbsSized, privateKey) },
  {
    name: 'chain validation, parsed once (3 verifies)',
    fn: async () => (await validateChain(chain, { purpose: 'contract', roots })).valid || failures++,
  },
  {
    name: 'chain validation, DER bytes (known content)',
    fn: async () => (await validateChain(chainDer.map((d) => d.slice()), { purpose: 'contract', roots })).valid || failures++,
  },
  { name: 'certificate parse (DER reader)', fn: () => parseCertificateDer(chainDer[0]) },
  { name: 'issuer key import (SPKI to KeyObject)', fn: () => createPublicKey({ key: spki, format: 'der', type: 'spki' }) },
  { name: 'contract-key encryption', fn: () => encryptContractKey(pki.contracts[0].keys.privateKey, pki.provisioning[0].certificate) },
  { name: 'leaf issuance (fresh key + sign)', fn: () => issueCertificate({ role: 'contract', subject: { commonName: 'DEOPNC00000019' }, issuer: mo2 }) },
];

const samples = new Map(cases.map((c) => [c.name, [] as number[]]));
for (const c of cases) await rate(c.fn); // warm up
for (let run = 0; run < RUNS; run++) for (const c of cases) samples.get(c.name)!.push(await rate(c.fn));
if (failures) throw new Error(`${failures} validations or verifications failed during the benchmark`);

const medians = new Map([...samples].map(([name, values]) => [name, median(values)]));
console.log(`PKI benchmark: median of ${RUNS} runs × ${RUN_MS} ms, one core (node ${process.version})`);
for (const [name, value] of medians) console.log(`  ${name.padEnd(46)} ${value.toFixed(0).padStart(8)} /s`);
const rawVerify = medians.get('raw P-256 verify (node:crypto)')!;
for (const name of ['chain validation, parsed once (3 verifies)', 'chain validation, DER bytes (known content)']) {
  const ratio = medians.get(name)! / rawVerify;
  console.log(`  ${name} / raw verify = ${ratio.toFixed(3)} (target and ceiling 0.333)`);
}
