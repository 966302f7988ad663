import { performance } from 'node:perf_hooks';
import { Capabilities, MAX_CAPA_LINES } from '../../src/protocol/capabilities.js';
import { encodeCommand, MAX_COMMAND_LINE } from '../../src/protocol/command.js';
import { DotDecoder, type DotDecoderLimits } from '../../src/protocol/dot-decoder.js';
import { DotEncoder } from '../../src/protocol/dot-encoder.js';
import { Pop3Error, type Pop3ErrorCode } from '../../src/protocol/errors.js';
import { LineReader } from '../../src/protocol/line-reader.js';
import { parseStatusLine } from '../../src/protocol/response.js';
import { wireOctets } from '../../src/protocol/wire-size.js';
import { randomChunks } from './chunks.js';
import { bodyBytes, capaLines, lineStream, mixed, mutate, statusLine, wireBody } from './generators.js';
import {
  decodeReference,
  encodeReference,
  isStatusLineReference,
  linesReference,
  wireForm,
} from './reference.js';
import { Rng } from './rng.js';

/**
 * Fuzz targets for the wire codec, shared by `scripts/fuzz.ts` and the unit-test smoke run.
 * Each target builds one input from its Rng, runs the codec on it and checks the result
 * against a reference model. A Pop3Error with an allowed code is a correct rejection; any
 * other exception, or a result that differs from the model, is a failure.
 */

/** An oracle said no: the codec's result is wrong for this input. */
export class FuzzFailure extends Error {
  override name = 'FuzzFailure';
}

export interface Target {
  name: string;
  /** Relative share of the inputs. */
  weight: number;
  /** Pop3Error codes that are correct rejections for this target. */
  allowed: readonly Pop3ErrorCode[];
  /** Run one input; throws FuzzFailure when an oracle says the codec got it wrong. */
  run(rng: Rng): Outcome;
}

export interface Outcome {
  /** Input octets fed to the codec. */
  octets: number;
  /** The codec's rejection of the input, if it rejected it. */
  rejected?: Pop3Error | undefined;
}

function check(cond: boolean, message: string): asserts cond {
  if (!cond) throw new FuzzFailure(message);
}

const show = (buf: Buffer) => JSON.stringify(buf.subarray(0, 120).toString('latin1'));

/** Runs `fn` and returns the Pop3Error it threw (other errors propagate), or undefined. */
function rejection(fn: () => void): Pop3Error | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof Pop3Error) return err;
    throw err;
  }
}

const RESP_CODE_GRAMMAR = /^[A-Za-z0-9-]{1,40}(\/[A-Za-z0-9-]{1,40}){0,4}$/;

const statusLineTarget: Target = {
  name: 'status-line',
  weight: 20,
  allowed: ['EPROTOCOL'],
  run(rng) {
    const line = mixed(rng, statusLine, 1024);
    const responseCodes = rng.bool();
    const valid = isStatusLineReference(line);
    let parsed: ReturnType<typeof parseStatusLine> | undefined;
    const err = rejection(() => {
      parsed = parseStatusLine(line, { responseCodes });
    });
    if (err) {
      check(!valid, `valid status line rejected: ${show(line)}`);
      check(!/[\x00-\x1f\x7f]/.test(err.message), `control bytes in error message: ${show(line)}`);
      check(err.message.length < 200, `unbounded error message for ${show(line)}`);
      return { octets: line.length, rejected: err };
    }
    check(valid && parsed !== undefined, `invalid status line accepted: ${show(line)}`);
    check(parsed.ok === (line[0] === 0x2b), `wrong ok flag for ${show(line)}`);
    // Model of RFC 2449 §8: with codes on, "[atom *(/atom)]" right after the status word is a code.
    const rest = line.subarray(parsed.ok ? 4 : 5).toString('utf8');
    const bracket = /^\[([^\]]*)\]/.exec(rest);
    if (responseCodes && bracket && RESP_CODE_GRAMMAR.test(bracket[1]!)) {
      check(parsed.code === bracket[1]!.toUpperCase(), `code ${parsed.code} for ${show(line)}`);
      check(parsed.text === rest.slice(bracket[0].length).trimStart(), `text after code for ${show(line)}`);
    } else {
      check(parsed.code === undefined, `code ${parsed.code} parsed from ${show(line)}`);
      check(parsed.text === rest, `text altered without a code: ${show(line)}`);
    }
    return { octets: line.length };
  },
};

const lineReaderTarget: Target = {
  name: 'line-reader',
  weight: 20,
  allowed: ['ELIMIT'],
  run(rng) {
    const input = mixed(rng, lineStream, 4096);
    const max = rng.pick([1, 2, 3, 16, 64, 512, 512, 512, 1024, rng.range(1, 2048)]);
    const ref = linesReference(input, max);
    const reader = new LineReader(max);
    const lines: Buffer[] = [];
    const err = rejection(() => {
      for (const chunk of randomChunks(input, rng)) {
        reader.push(chunk);
        for (let line = reader.next(); line !== undefined; line = reader.next()) lines.push(line);
        check(reader.buffered < max, `buffered ${reader.buffered} octets with a cap of ${max}`);
      }
    });
    check(lines.length === ref.lines.length, `got ${lines.length} lines, want ${ref.lines.length}`);
    for (let i = 0; i < lines.length; i++) check(lines[i]!.equals(ref.lines[i]!), `line ${i} differs`);
    check(!!err === ref.limit, `limit ${ref.limit} but error ${err?.code} for ${show(input)} (max ${max})`);
    if (!err) check(reader.take().equals(ref.rest), 'take() differs from the unread bytes');
    return { octets: input.length, rejected: err };
  },
};

function decodeLimits(rng: Rng): DotDecoderLimits {
  switch (rng.int(4)) {
    case 0:
      return {};
    case 1:
      return { maxLineLength: rng.range(3, 600) };
    case 2:
      return { maxBytes: rng.int(2000) };
    default:
      return { maxLineLength: rng.range(3, 600), maxBytes: rng.int(2000) };
  }
}

/** Feed chunks to a DotDecoder the way a client does: body parts, then the bytes after the end. */
function decodeChunks(chunks: readonly Buffer[], limits: DotDecoderLimits = {}) {
  const decoder = new DotDecoder(limits);
  const body: Buffer[] = [];
  const rest: Buffer[] = [];
  for (const chunk of chunks) {
    const wasDone = decoder.done;
    const r = decoder.push(chunk);
    check(!wasDone || (r.parts.length === 0 && r.rest === chunk), 'push after the end must return the chunk');
    body.push(...r.parts);
    rest.push(r.rest);
    check(r.done === decoder.done, 'result.done and decoder.done disagree');
  }
  const out = Buffer.concat(body);
  check(decoder.bytes === out.length, `bytes ${decoder.bytes} but ${out.length} octets emitted`);
  return { body: out, done: decoder.done, rest: Buffer.concat(rest) };
}

const dotDecoderTarget: Target = {
  name: 'dot-decoder',
  weight: 20,
  allowed: ['ELIMIT'],
  run(rng) {
    const input = mixed(rng, wireBody);
    const limits = decodeLimits(rng);
    const ref = decodeReference(input, limits);
    let got: ReturnType<typeof decodeChunks> | undefined;
    const err = rejection(() => {
      got = decodeChunks(randomChunks(input, rng), limits);
    });
    check(!!err === ref.limit, `limit ${ref.limit} but error ${err?.code} for ${show(input)}`);
    if (got) {
      check(got.done === ref.done, `done ${got.done}, want ${ref.done}: ${show(input)}`);
      check(got.body.equals(ref.body), `body differs for ${show(input)}`);
      check(got.rest.equals(ref.rest), `rest differs for ${show(input)}`);
    }
    return { octets: input.length, rejected: err };
  },
};

const roundTripTarget: Target = {
  name: 'round-trip',
  weight: 20,
  allowed: [],
  run(rng) {
    const message = mixed(rng, bodyBytes);
    const encoder = new DotEncoder();
    const encodedParts: Buffer[] = [];
    for (const chunk of randomChunks(message, rng)) encodedParts.push(...encoder.push(chunk));
    encodedParts.push(encoder.end());
    const encoded = Buffer.concat(encodedParts);
    const wire = wireForm(message);
    check(encoded.equals(encodeReference(message)), `encoding differs for ${show(message)}`);
    check(encoder.octets === wire.length, `octets ${encoder.octets}, want ${wire.length}`);
    check(wireOctets(message) === wire.length, 'wireOctets differs from the wire form length');
    const tail = rng.bool(0.3) ? mutate(rng, Buffer.from('+OK 1 2\r\n')) : Buffer.alloc(0);
    const got = decodeChunks(randomChunks(Buffer.concat([encoded, tail]), rng));
    check(got.done, `terminator not found for ${show(message)}`);
    check(got.body.equals(wire), `round trip differs for ${show(message)}`);
    check(got.rest.equals(tail), 'bytes after the terminator were not returned');
    return { octets: message.length };
  },
};

const capabilitiesTarget: Target = {
  name: 'capabilities',
  weight: 10,
  allowed: ['ELIMIT'],
  run(rng) {
    const lines = capaLines(rng);
    let caps: Capabilities | undefined;
    const err = rejection(() => {
      caps = new Capabilities(lines);
    });
    check(!!err === lines.length > MAX_CAPA_LINES, `${lines.length} lines, error ${err?.code}`);
    if (caps) {
      for (const name of caps.names) {
        check(name === name.toUpperCase() && caps.has(name.toLowerCase()), `name ${name}`);
      }
      for (const m of caps.sasl) check(/^[A-Z0-9_-]{1,20}$/.test(m), `SASL name ${JSON.stringify(m)}`);
      const delay = caps.loginDelay;
      check(delay === undefined || (Number.isSafeInteger(delay) && delay >= 0), `LOGIN-DELAY ${delay}`);
      const expire = caps.expire;
      check(expire === undefined || expire === 'NEVER' || Number.isSafeInteger(expire), `EXPIRE ${expire}`);
      JSON.stringify(caps);
    }
    return { octets: lines.reduce((n, l) => n + l.length, 0), rejected: err };
  },
};

const KEYWORDS = [
  'USER',
  'PASS',
  'APOP',
  'AUTH',
  'RETR',
  'top',
  'Dele',
  'CAPA',
  'XY',
  'ABCDE',
  'US R',
  'ÜSER',
  '',
];
const SECRET_MARK = 'Zq9';

const commandTarget: Target = {
  name: 'command',
  weight: 10,
  allowed: ['EARGUMENT'],
  run(rng) {
    const keyword = rng.bool(0.8) ? rng.pick(KEYWORDS.slice(0, 8)) : rng.pick(KEYWORDS);
    const args: string[] = [];
    const nargs = rng.int(4);
    const plain = (r: Rng) =>
      Buffer.from(r.pick(['bob', 'a b', '1', 'p@ss wörd', 'x'.repeat(r.range(1, 260))]));
    for (let i = 0; i < nargs; i++) {
      const raw = rng.bool() ? plain(rng) : mixed(rng, (r) => mutate(r, plain(r)), 300);
      const arg = rng.bool() ? raw.toString('latin1') : raw.toString('utf8');
      // Secret arguments (PASS's, APOP's digest, AUTH's initial response) carry a mark, so a leak shows.
      const secret = /^PASS$/i.test(keyword) || (/^(APOP|AUTH)$/i.test(keyword) && i > 0);
      args.push(secret ? `${SECRET_MARK}${arg}` : arg);
    }
    let line: Buffer | undefined;
    const err = rejection(() => {
      line = encodeCommand(keyword, args);
    });
    const expectValid =
      /^[A-Za-z]{3,4}$/.test(keyword) &&
      args.every((a) => a.length > 0 && !/[\r\n\0]/.test(a)) &&
      Buffer.byteLength(`${[keyword, ...args].join(' ')}\r\n`) <= MAX_COMMAND_LINE;
    if (err) {
      check(!expectValid, `valid command rejected: ${keyword} ${args.length} args`);
      for (const shown of [err.message, err.command ?? '']) {
        check(!shown.includes(SECRET_MARK), `secret argument in the error: ${JSON.stringify(shown)}`);
        check(!/[\r\n\0]/.test(shown), `CR, LF or NUL in the error: ${JSON.stringify(shown)}`);
      }
      return { octets: args.length, rejected: err };
    }
    check(
      expectValid && line !== undefined,
      `invalid command accepted: ${JSON.stringify([keyword, ...args])}`,
    );
    check(line.length <= MAX_COMMAND_LINE, 'command longer than 255 octets');
    check(line.indexOf('\r\n') === line.length - 2, 'command line has an inner CR or LF');
    check(line.indexOf(0x0a) === line.length - 1 && line.indexOf(0) < 0, 'LF or NUL inside the command');
    return { octets: line.length };
  },
};

export const targets: readonly Target[] = [
  statusLineTarget,
  lineReaderTarget,
  dotDecoderTarget,
  roundTripTarget,
  capabilitiesTarget,
  commandTarget,
];

export interface TargetStats {
  inputs: number;
  /** Inputs rejected with an allowed Pop3Error. */
  rejected: number;
  octets: number;
}

export interface FuzzFailureRecord {
  index: number;
  target: string;
  message: string;
}

export interface FuzzReport {
  seed: number;
  inputs: number;
  octets: number;
  elapsedMs: number;
  perTarget: Record<string, TargetStats>;
  failures: FuzzFailureRecord[];
  /** Failures beyond the ones kept in `failures`. */
  moreFailures: number;
  slowest: { ms: number; target: string; index: number };
}

export interface FuzzOptions {
  iterations: number;
  seed: number;
  /** First input index (to replay one input: its index and iterations 1). */
  start?: number;
  targets?: readonly Target[];
  /** Called before each input, e.g. for a watchdog heartbeat. */
  onInput?: (index: number) => void;
  /** Failures kept in the report. */
  keepFailures?: number;
}

/** Pick a target by weight, from the input's own Rng so an index alone reproduces the input. */
function pickTarget(list: readonly Target[], rng: Rng): Target {
  const total = list.reduce((n, t) => n + t.weight, 0);
  let r = rng.int(total);
  for (const t of list) {
    if (r < t.weight) return t;
    r -= t.weight;
  }
  return list[list.length - 1]!;
}

export function runFuzz(opts: FuzzOptions): FuzzReport {
  const list = opts.targets ?? targets;
  const keep = opts.keepFailures ?? 20;
  const start = opts.start ?? 0;
  const perTarget: Record<string, TargetStats> = {};
  for (const t of list) perTarget[t.name] = { inputs: 0, rejected: 0, octets: 0 };
  const report: FuzzReport = {
    seed: opts.seed,
    inputs: 0,
    octets: 0,
    elapsedMs: 0,
    perTarget,
    failures: [],
    moreFailures: 0,
    slowest: { ms: 0, target: '', index: -1 },
  };
  const began = performance.now();
  for (let index = start; index < start + opts.iterations; index++) {
    opts.onInput?.(index);
    const rng = new Rng(opts.seed, index);
    const target = pickTarget(list, rng);
    const stats = perTarget[target.name]!;
    const t0 = performance.now();
    let failure: string | undefined;
    try {
      const outcome = target.run(rng);
      stats.octets += outcome.octets;
      report.octets += outcome.octets;
      if (outcome.rejected) {
        if (target.allowed.includes(outcome.rejected.code)) stats.rejected++;
        else failure = `rejected with ${outcome.rejected.code}: ${outcome.rejected.message}`;
      }
    } catch (err) {
      failure =
        err instanceof FuzzFailure
          ? err.message
          : `escaped ${err instanceof Error ? `${err.name} (${(err as Pop3Error).code ?? ''}): ${err.message}` : String(err)}`;
    }
    if (failure !== undefined) {
      if (report.failures.length < keep)
        report.failures.push({ index, target: target.name, message: failure });
      else report.moreFailures++;
    }
    const ms = performance.now() - t0;
    if (ms > report.slowest.ms) report.slowest = { ms, target: target.name, index };
    stats.inputs++;
    report.inputs++;
  }
  report.elapsedMs = performance.now() - began;
  return report;
}

/** One line for logs: counts per target, failures, throughput, the slowest input. */
export function summarize(r: FuzzReport): string {
  const per = Object.entries(r.perTarget)
    .map(([name, s]) => `${name} ${s.inputs} (${s.rejected} rejected)`)
    .join(', ');
  const secs = r.elapsedMs / 1000;
  const failures = r.failures.length + r.moreFailures;
  return (
    `fuzz seed ${r.seed}: ${r.inputs} inputs, ${failures} failures, ` +
    `${(r.octets / 1048576).toFixed(1)} MiB in ${secs.toFixed(1)} s, ` +
    `${Math.round(r.inputs / Math.max(secs, 1e-9))} inputs/s, ` +
    `slowest ${r.slowest.ms.toFixed(1)} ms (${r.slowest.target} #${r.slowest.index}); ${per}`
  );
}
