/**
 * Fuzz the wire codec (src/protocol): random bytes and mutated valid inputs into the
 * status-line parser, LineReader, DotDecoder (random chunkings), the DotEncoder→DotDecoder
 * round trip, Capabilities and the command encoder; see scripts/fuzz/targets.ts.
 *
 *   node --import tsx scripts/fuzz.ts [--iterations N] [--seed S] [--start I]
 *                                     [--max-input-ms MS] [--max-heap-growth-mb MB]
 *
 * The fuzzing runs in a worker; this thread is a watchdog that reports an input that runs
 * longer than --max-input-ms (a hang) with its index, which `--start I --iterations 1`
 * replays. Exit status 1 on any failure, a hang, a slow input or heap growth past the bound.
 */
import { parseArgs } from 'node:util';
import { intOption as intOptionOf } from './fuzz/options.js';
import { summarize } from './fuzz/targets.js';
import { startTsxWorker } from './fuzz/tsx-worker.js';
import type { WorkerInput, WorkerOutput } from './fuzz/worker.js';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '1000000' },
    seed: { type: 'string' },
    start: { type: 'string', default: '0' },
    'max-input-ms': { type: 'string', default: '2000' },
    'max-heap-growth-mb': { type: 'string', default: '200' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(
    'usage: npm run fuzz -- [--iterations N] [--seed S] [--start I] [--max-input-ms MS] [--max-heap-growth-mb MB]',
  );
  process.exit(0);
}

const intOption = (name: string, raw: string | undefined, fallback: number) =>
  intOptionOf('fuzz', name, raw, fallback);

const iterations = intOption('iterations', values.iterations, 1_000_000);
const seed = intOption('seed', values.seed, Math.floor(Math.random() * 0x7fffffff)) >>> 0;
const start = intOption('start', values.start, 0);
const maxInputMs = intOption('max-input-ms', values['max-input-ms'], 2000);
const maxHeapGrowth = intOption('max-heap-growth-mb', values['max-heap-growth-mb'], 200) * 1048576;

const heartbeat = new SharedArrayBuffer(4);
const beat = new Int32Array(heartbeat);
Atomics.store(beat, 0, -1);
const workerInput: WorkerInput = { iterations, seed, start, heartbeat };

const worker = startTsxWorker(new URL('./fuzz/worker.ts', import.meta.url).href, workerInput);

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
let lastIndex = -1;
let lastChange = Date.now();
let lastProgress = Date.now();
const watchdog = setInterval(() => {
  const index = Atomics.load(beat, 0);
  const now = Date.now();
  if (index !== lastIndex) {
    lastIndex = index;
    lastChange = now;
  } else if (index >= 0 && now - lastChange > maxInputMs + 1000) {
    console.error(`fuzz: HANG: input #${index} (seed ${seed}) has run for over ${now - lastChange} ms`);
    console.error(`fuzz: replay with --seed ${seed} --start ${index} --iterations 1`);
    clearInterval(watchdog);
    void worker.terminate().then(() => process.exit(1));
  }
  if (now - lastProgress >= 10_000) {
    lastProgress = now;
    console.error(`fuzz: ${Math.max(0, index - start)} / ${iterations} inputs`);
  }
}, 250);

worker.on('error', (err) => {
  clearInterval(watchdog);
  console.error('fuzz: the fuzz worker crashed:', err);
  process.exit(1);
});

worker.on('message', (out: WorkerOutput) => {
  clearInterval(watchdog);
  const { report } = out;
  const growth = out.heapEnd - out.heapStart;
  console.log(
    `${summarize(report)}; heap ${mib(out.heapStart)} -> ${mib(out.heapEnd)} (${growth >= 0 ? '+' : ''}${mib(growth)})`,
  );
  let failed = false;
  for (const f of report.failures) {
    console.error(`fuzz: FAIL ${f.target} #${f.index}: ${f.message}`);
  }
  if (report.failures.length > 0) {
    failed = true;
    if (report.moreFailures > 0) console.error(`fuzz: … and ${report.moreFailures} more failures`);
    console.error(`fuzz: replay one with --seed ${seed} --start <index> --iterations 1`);
  }
  if (report.slowest.ms > maxInputMs) {
    failed = true;
    console.error(
      `fuzz: input #${report.slowest.index} took ${report.slowest.ms.toFixed(0)} ms (> ${maxInputMs})`,
    );
  }
  if (growth > maxHeapGrowth) {
    failed = true;
    console.error(`fuzz: heap grew by ${mib(growth)} (> ${mib(maxHeapGrowth)})`);
  }
  void worker.terminate().then(() => process.exit(failed ? 1 : 0));
});
