// Worker side of fuzz.test.ts: runs the fuzzer and posts its report. `decoderModule` swaps in another
// decodeExi (the watchdog's own test uses one that hangs).
import { parentPort, workerData } from 'node:worker_threads';
import { fuzz } from './fuzz-engine.ts';

const { seeds, iterations, seed, watch, decoderModule } = workerData as {
  seeds: Uint8Array[];
  iterations: number;
  seed: number;
  watch: SharedArrayBuffer;
  decoderModule?: string;
};
const decode = decoderModule === undefined ? undefined : (await import(decoderModule)).decodeExi;
parentPort!.postMessage(fuzz(seeds, { iterations, seed, watch, decode }));
