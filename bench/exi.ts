// EXI codec throughput on one core: decode and encode msg/s for a real ISO-2 CurrentDemandReq and a
// real CertificateInstallationRes from the corpus, per CPU-second (see cpuSeconds), median of several runs, with a same-run baseline
// (Buffer.from(hex) and JSON.parse of the same message) to judge machine noise.
// Targets (issue 14): typed CurrentDemandReq encode ≥ 6× and decode ≥ 8× the same-run JSON.parse rate
// of the message's JSON form (on a quiet machine that is about libcbv2g's rate); the absolute column
// is the quiet-machine rate.
//
//   npm run bench:exi [-- --runs=7 --ms=300]
import { availableParallelism } from 'node:os';
import { decodeExi, encodeExi, exiCodecs, type ExiJson, type Iso2Document } from '../protocols/exi/index.ts';
import { loadCorpus } from '../test/helpers/exi-corpus.ts';
import { cpuSeconds, flag, machineLoad, median, printSummary } from './stats.ts';

const RUNS = flag('runs', 7);
const RUN_MS = flag('ms', 300);
const loadStart = machineLoad();

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

/** Calls `fn` repeatedly for about RUN_MS of CPU time and returns calls per CPU-second. */
function rate(fn: () => number): number {
  let batch = 1;
  for (;;) {
    const start = cpuSeconds();
    for (let i = 0; i < batch; i++) sink += fn();
    const seconds = cpuSeconds() - start;
    if (seconds >= RUN_MS / 1000) return batch / seconds;
    batch = seconds < 0.005 ? batch * 10 : Math.ceil((batch * RUN_MS) / 1000 / seconds);
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

console.log(`EXI codec, one core, Node ${process.version}; median of ${RUNS} runs of ~${RUN_MS} ms of CPU time; rates are per CPU-second`);
console.log(`messages: corpus #${currentDemand.id} CurrentDemandReq (${currentDemand.bytes.length} B), #${certificateInstallation.id} CertificateInstallationRes (${certificateInstallation.bytes.length} B)`);
console.log('');
console.log(`${'case'.padEnd(58)} ${'median msg/s'.padStart(13)} ${'min–max'.padStart(23)} ${'quiet target'.padStart(12)}  ${'C libcbv2g'.padStart(11)}`);
const medians = new Map<string, number>();
for (const c of all) {
  const values = samples.get(c.name)!;
  const m = median(values);
  medians.set(c.name, m);
  const spread = `${format(Math.min(...values))}–${format(Math.max(...values))}`;
  const target = c.target === undefined ? '' : `≥${format(c.target)}`;
  const verdict = c.target === undefined ? '' : m >= c.target ? ' met' : ' BELOW';
  console.log(`${c.name.padEnd(58)} ${format(m).padStart(13)} ${spread.padStart(23)} ${target.padStart(12)}  ${(c.reference ?? '').padStart(11)}${verdict}`);
}
console.log('');
const loadEnd = machineLoad();
console.log(`load average ${loadStart.toFixed(1)} at the start, ${loadEnd.toFixed(1)} at the end (${availableParallelism()} cores)`);
/** The typed rate over the JSON.parse rate of the same round (both measured within a second), per round. */
const ratios = (v: Vector, direction: 'decode' | 'encode'): number[] => {
  const typed = samples.get(`${v.label} ${direction} (typed)`)!;
  const baseline = samples.get(`${v.label} baseline JSON.parse`)!;
  return typed.map((value, round) => value / baseline[round]);
};
const ratioTargets = { decode: 8, encode: 6 } as const;
for (const v of [currentDemand, certificateInstallation]) {
  const baseline = medians.get(`${v.label} baseline JSON.parse`)!;
  for (const direction of ['decode', 'encode'] as const) {
    const perRound = ratios(v, direction);
    const value = medians.get(`${v.label} ${direction} (typed)`)! / baseline;
    if (v !== currentDemand) {
      console.log(`${v.label}: typed ${direction} ${value.toFixed(2)}× the JSON.parse rate of the same message (no target)`);
      continue;
    }
    printSummary({
      path: `EXI ${v.label} ${direction} (typed), × JSON.parse`,
      value,
      unit: '×',
      min: Math.min(...perRound),
      max: Math.max(...perRound),
      target: ratioTargets[direction],
      baseline: `JSON.parse of its ${v.json.length}-byte JSON form ${format(baseline)}/s; typed ${format(medians.get(`${v.label} ${direction} (typed)`)!)}/s`,
      loadStart,
      loadEnd,
    });
  }
}
if (sink === 0) console.log('');
