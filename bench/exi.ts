// EXI codec throughput on one core: decode and encode msg/s for a real ISO-2 CurrentDemandReq and a
// real CertificateInstallationRes from the corpus, median of several runs, with a same-run baseline
// (Buffer.from(hex) and JSON.parse of the same message) to judge machine noise.
//
//   npm run bench:exi [-- --runs=7 --ms=300]
import { decodeExi, encodeExi, exiCodecs, type ExiJson, type Iso2Document } from '../protocols/exi/index.ts';
import { loadCorpus } from '../test/helpers/exi-corpus.ts';
import { flag, median } from './stats.ts';

const RUNS = flag('runs', 7);
const RUN_MS = flag('ms', 300);

interface Vector {
  readonly label: string;
  readonly id: number;
  readonly hex: string;
  readonly bytes: Uint8Array;
  readonly document: ExiJson;
  readonly typed: Iso2Document;
  readonly json: string;
}

/** The first ISO-2 corpus row carrying `message`. */
function loadVector(message: string): Vector {
  const row = loadCorpus().find((r) => r.schema === 'iso2' && r.message === message);
  if (!row) throw new Error(`no ISO-2 ${message} in the corpus`);
  const { document } = decodeExi('iso2', row.bytes);
  const typed = exiCodecs.iso2.decode(row.bytes);
  return { label: message, id: row.id, hex: row.hex, bytes: row.bytes, document, typed, json: JSON.stringify(document) };
}

let sink = 0;

/** Calls `fn` repeatedly for about RUN_MS and returns calls per second. */
function rate(fn: () => number): number {
  let batch = 1;
  for (;;) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) sink += fn();
    const ns = Number(process.hrtime.bigint() - start);
    if (ns >= RUN_MS * 1e6) return (batch * 1e9) / ns;
    batch = ns < 1e6 ? batch * 10 : Math.ceil((batch * RUN_MS * 1e6) / ns);
  }
}

interface Case {
  readonly name: string;
  readonly fn: () => number;
  readonly target?: number;
  readonly reference?: string;
}

function cases(currentDemand: Vector, certificateInstallation: Vector): Case[] {
  const both = (v: Vector, decodeTarget: number | undefined, encodeTarget: number | undefined, decodeC: string, encodeC: string): Case[] => [
    // The typed codec (byte fields as Uint8Array) is what the C figures compare with: structs in, bytes out.
    { name: `${v.label} decode (typed)`, fn: () => (exiCodecs.iso2.decode(v.bytes) === null ? 0 : 1), target: decodeTarget, reference: decodeC },
    { name: `${v.label} encode (typed)`, fn: () => exiCodecs.iso2.encode(v.typed).length, target: encodeTarget, reference: encodeC },
    { name: `${v.label} decodeExi (JSON, hex strings)`, fn: () => decodeExi('iso2', v.bytes).paddingBytes + 1 },
    { name: `${v.label} encodeExi (JSON, hex strings)`, fn: () => encodeExi('iso2', v.document).length },
    { name: `${v.label} baseline Buffer.from(hex)`, fn: () => Buffer.from(v.hex, 'hex').length },
    { name: `${v.label} baseline JSON.parse`, fn: () => (JSON.parse(v.json) === null ? 0 : 1) },
  ];
  return [
    ...both(currentDemand, 1_000_000, 1_000_000, '~2,000,000', '~2,200,000'),
    ...both(certificateInstallation, 25_000, undefined, '~22,000', '~33,700'),
  ];
}

function format(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

const currentDemand = loadVector('CurrentDemandReq');
const certificateInstallation = loadVector('CertificateInstallationRes');
for (const v of [currentDemand, certificateInstallation]) {
  const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
  if (hex(encodeExi('iso2', v.document)) !== v.hex || hex(exiCodecs.iso2.encode(v.typed)) !== v.hex) throw new Error(`${v.label} does not round-trip`);
}

const all = cases(currentDemand, certificateInstallation);
const samples = new Map<string, number[]>(all.map((c) => [c.name, []]));
for (const c of all) rate(c.fn); // warm up every path before measuring any
for (let run = 0; run < RUNS; run++) {
  // Interleave the cases so a burst of load from other processes hits all of them alike.
  for (const c of all) samples.get(c.name)!.push(rate(c.fn));
}

console.log(`EXI codec, one core, Node ${process.version}; median of ${RUNS} runs of ~${RUN_MS} ms`);
console.log(`messages: corpus #${currentDemand.id} CurrentDemandReq (${currentDemand.bytes.length} B), #${certificateInstallation.id} CertificateInstallationRes (${certificateInstallation.bytes.length} B)`);
console.log('');
console.log(`${'case'.padEnd(58)} ${'median msg/s'.padStart(13)} ${'min–max'.padStart(23)} ${'target'.padStart(11)}  ${'C libcbv2g'.padStart(11)}`);
const medians = new Map<string, number>();
for (const c of all) {
  const values = samples.get(c.name)!;
  const m = median(values);
  medians.set(c.name, m);
  const spread = `${format(Math.min(...values))}–${format(Math.max(...values))}`;
  const target = c.target === undefined ? '' : `≥${format(c.target)}`;
  const verdict = c.target === undefined ? '' : m >= c.target ? ' met' : ' BELOW';
  console.log(`${c.name.padEnd(58)} ${format(m).padStart(13)} ${spread.padStart(23)} ${target.padStart(11)}  ${(c.reference ?? '').padStart(11)}${verdict}`);
}
console.log('');
for (const v of [currentDemand, certificateInstallation]) {
  const baseline = medians.get(`${v.label} baseline JSON.parse`)!;
  const decode = medians.get(`${v.label} decode (typed)`)!;
  const encode = medians.get(`${v.label} encode (typed)`)!;
  console.log(`${v.label}: typed decode ${(decode / baseline).toFixed(2)}× and encode ${(encode / baseline).toFixed(2)}× the JSON.parse rate of the same message (a ratio that load on the machine affects less)`);
}
if (sink === 0) console.log('');
