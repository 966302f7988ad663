import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { type FuzzReport, runFuzz } from './targets.js';

/** What scripts/fuzz.ts hands the worker. */
export interface WorkerInput {
  iterations: number;
  seed: number;
  start: number;
  /** Int32Array over a SharedArrayBuffer: [0] = index of the input being run. */
  heartbeat: SharedArrayBuffer;
}

export interface WorkerOutput {
  report: FuzzReport;
  heapStart: number;
  heapEnd: number;
}

// A full collection before each heap reading, so the comparison shows retained memory, not garbage.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapUsed = () => {
  gc();
  return process.memoryUsage().heapUsed;
};

const input = workerData as WorkerInput;
const beat = new Int32Array(input.heartbeat);
const heapStart = heapUsed();
const report = runFuzz({
  iterations: input.iterations,
  seed: input.seed,
  start: input.start,
  onInput: (index) => Atomics.store(beat, 0, index),
});
const output: WorkerOutput = { report, heapStart, heapEnd: heapUsed() };
parentPort?.postMessage(output);
