// Worker side of fuzz.test.ts: runs the fuzzer and posts its report.
import { parentPort, workerData } from 'node:worker_threads';
import { fuzz } from './fuzz-engine.ts';

const { seeds, iterations, seed, watch } = workerData as { seeds: Uint8Array[]; iterations: number; seed: number; watch: SharedArrayBuffer };
parentPort!.postMessage(fuzz(seeds, { iterations, seed, watch }));
