/**
 * Fuzz the POP3 server: sessions driven in-process through Pop3Server.handle() over a MemoryStore,
 * in every state (before login, mid-SASL, after login, under TLS after STLS), with structured,
 * pipelined and mutated commands cut into random chunks; see scripts/fuzz/server-targets.ts.
 *
 *   node --import tsx scripts/fuzz-server.ts [--commands N] [--seed S] [--start I] [--sessions K]
 *        [--concurrency C] [--deadline-ms MS] [--max-stall-ms MS] [--max-heap-growth-mb MB]
 *
 * The fuzzing runs in a worker thread; this thread is a watchdog that reports a stall (the worker's
 * event loop stopped: a CPU hang) with the sessions in flight, which `--start I --sessions 1` replays.
 * Hangs inside sessions (a server that stops answering) are caught by per-batch deadlines in the
 * worker itself. Exit status 1 on any failure, a stall, or heap growth past the bound.
 */

import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { intOption } from './fuzz/options.js';
import { runServerFuzz, type ServerFuzzReport, summarizeServer } from './fuzz/server-targets.js';
import { startTsxWorker } from './fuzz/tsx-worker.js';

interface Settings {
  commands: number;
  seed: number;
  start: number;
  sessions: number | undefined;
  concurrency: number;
  deadlineMs: number;
  heartbeat: SharedArrayBuffer;
}

interface Result {
  report: ServerFuzzReport;
  escaped: string[];
}

const SLOTS = 64;

if (isMainThread) await main();
else await work(workerData as Settings);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      commands: { type: 'string', default: '1000000' },
      seed: { type: 'string' },
      start: { type: 'string', default: '0' },
      sessions: { type: 'string' },
      concurrency: { type: 'string', default: '8' },
      'deadline-ms': { type: 'string', default: '5000' },
      'max-stall-ms': { type: 'string', default: '30000' },
      'max-heap-growth-mb': { type: 'string', default: '100' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(
      'usage: npm run fuzz:server -- [--commands N] [--seed S] [--start I] [--sessions K] [--concurrency C]\n' +
        '       [--deadline-ms MS] [--max-stall-ms MS] [--max-heap-growth-mb MB]',
    );
    process.exit(0);
  }
  const int = (name: string, raw: string | undefined, fallback: number) =>
    intOption('fuzz-server', name, raw, fallback);
  const concurrency = Math.min(SLOTS - 1, Math.max(1, int('concurrency', values.concurrency, 8)));
  const heartbeat = new SharedArrayBuffer(4 * SLOTS);
  const beat = new Int32Array(heartbeat);
  beat.fill(-1);
  const settings: Settings = {
    commands: int('commands', values.commands, 1_000_000),
    seed: int('seed', values.seed, Math.floor(Math.random() * 0x7fffffff)) >>> 0,
    start: int('start', values.start, 0),
    sessions: values.sessions === undefined ? undefined : int('sessions', values.sessions, 1),
    concurrency,
    deadlineMs: int('deadline-ms', values['deadline-ms'], 5000),
    heartbeat,
  };
  const maxStallMs = int('max-stall-ms', values['max-stall-ms'], 30_000);
  const maxHeapGrowth = int('max-heap-growth-mb', values['max-heap-growth-mb'], 100) * 1048576;

  const worker = startTsxWorker(import.meta.url, settings);

  let last = -2;
  let lastChange = Date.now();
  let lastReport = Date.now();
  const watchdog = setInterval(() => {
    const lines = Atomics.load(beat, 0);
    const now = Date.now();
    if (lines !== last) {
      last = lines;
      lastChange = now;
    } else if (now - lastChange > maxStallMs) {
      const inFlight = [...beat.subarray(1)].filter((i) => i >= 0);
      console.error(`fuzz-server: STALL: no progress for ${now - lastChange} ms (seed ${settings.seed})`);
      console.error(`fuzz-server: sessions in flight: ${inFlight.join(', ')}`);
      console.error(`fuzz-server: replay one with --seed ${settings.seed} --start <session> --sessions 1`);
      clearInterval(watchdog);
      void worker.terminate().then(() => process.exit(1));
    }
    if (now - lastReport >= 10_000) {
      lastReport = now;
      console.error(`fuzz-server: ${Math.max(0, lines)} / ${settings.commands} commands`);
    }
  }, 250);

  worker.on('error', (err) => {
    clearInterval(watchdog);
    console.error('fuzz-server: the fuzz worker crashed:', err);
    process.exit(1);
  });
  worker.on('message', ({ report, escaped }: Result) => {
    clearInterval(watchdog);
    console.log(summarizeServer(report));
    let failed = false;
    for (const f of report.failures)
      console.error(`fuzz-server: FAIL session ${f.session} (${f.server}): ${f.message}`);
    if (report.failures.length > 0) {
      failed = true;
      if (report.moreFailures > 0) console.error(`fuzz-server: ... and ${report.moreFailures} more failures`);
      console.error(`fuzz-server: replay one with --seed ${report.seed} --start <session> --sessions 1`);
    }
    for (const e of escaped) {
      failed = true;
      console.error(`fuzz-server: FAIL uncaught in the process: ${e}`);
    }
    if (report.heap && report.heap.end - report.heap.start > maxHeapGrowth) {
      failed = true;
      console.error(
        `fuzz-server: heap grew by ${((report.heap.end - report.heap.start) / 1048576).toFixed(1)} MiB`,
      );
    }
    if (report.lines < settings.commands && settings.sessions === undefined) {
      failed = true;
      console.error(`fuzz-server: only ${report.lines} of ${settings.commands} commands ran`);
    }
    void worker.terminate().then(() => process.exit(failed ? 1 : 0));
  });
}

async function work(settings: Settings): Promise<void> {
  // A full collection before each heap reading, so the numbers show retained memory, not garbage.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const heapUsed = () => {
    gc();
    return process.memoryUsage().heapUsed;
  };
  const escaped: string[] = [];
  const record = (what: string) => (err: unknown) => {
    if (escaped.length < 20)
      escaped.push(`${what}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  };
  process.on('unhandledRejection', record('unhandled rejection'));
  process.on('uncaughtException', record('uncaught exception'));
  const beat = new Int32Array(settings.heartbeat);
  const report = await runServerFuzz({
    commands: settings.commands,
    seed: settings.seed,
    start: settings.start,
    ...(settings.sessions === undefined ? {} : { sessions: settings.sessions }),
    concurrency: settings.concurrency,
    deadlineMs: settings.deadlineMs,
    heapUsed,
    // FUZZ_TRACE=all, or a comma-separated list of session numbers: print their lines and replies.
    ...(process.env.FUZZ_TRACE ? { trace: tracer(process.env.FUZZ_TRACE) } : {}),
    onProgress: (lines, inFlight) => {
      Atomics.store(beat, 0, lines);
      let slot = 1;
      for (const i of inFlight) if (slot < SLOTS) Atomics.store(beat, slot++, i);
      while (slot < SLOTS) Atomics.store(beat, slot++, -1);
    },
  });
  const result: Result = { report, escaped };
  parentPort?.postMessage(result);
}

function tracer(spec: string): (session: number, text: string) => void {
  const only = spec === 'all' ? undefined : new Set(spec.split(',').map(Number));
  return (i, t) => {
    if (!only || only.has(i)) console.error(`#${i} ${t}`);
  };
}
