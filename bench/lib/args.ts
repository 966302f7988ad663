// Command-line flags of `npm run bench -- ...`.
import {
  CONTENDER_NAMES,
  type ContenderName,
  SERVER_NAMES,
  type ServerName,
  WORKLOAD_IDS,
  type WorkloadId,
} from './workloads.js';

export interface BenchArgs {
  only: WorkloadId[];
  /** Runs per lane for every workload; undefined: each workload's default (5 small, 3 big). */
  runs?: number;
  /** Unmeasured rounds before the measured ones (every lane once per round). */
  warmup: number;
  contenders: ContenderName[];
  servers: ServerName[];
  tls: boolean;
  sessions: number;
  base: string;
  out?: string;
  build: boolean;
  keep: boolean;
}

export const USAGE = `usage: npm run bench -- [options]

  npm run bench -- --only a,b,c --runs 3    the quick way: the three fetch targets, 3 runs per lane
  npm run bench                             everything (workloads a b c0 c d e; about an hour on 2 cores)

  --only a,b,c0,c,d,e     workloads to run (default: all)
  --runs N                runs per lane (default: 10 for a; 5 for c0, c; 3 for b, d; e runs once)
  --warmup N              rounds run first, checked and reported apart, not summarised
                          (default 1: the servers' first session after start; 0 for none)
  --contenders LIST       ${CONTENDER_NAMES.join(',')} (default: all)
  --servers LIST          ${SERVER_NAMES.join(',')} (default: all; floor answers from memory,
                          the least time any server could give mpop)
  --transport tls|plain   implicit TLS (default) or cleartext, for every contender alike
  --sessions N            sessions held in workload e (default 5000)
  --base DIR              scratch folder on tmpfs (default /dev/shm/pop3kit-bench)
  --out FILE              results JSON (default bench/results/<time>.json, table beside it as .md)
  --no-build              use dist/ as it is instead of rebuilding it first
  --keep                  keep the scratch folder afterwards`;

function list<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T[] {
  const items = (value ?? '').split(',').filter(Boolean);
  const bad = items.filter((x) => !allowed.includes(x as T));
  if (items.length === 0 || bad.length > 0) throw new Error(`${flag}: expected some of ${allowed.join(',')}`);
  return items as T[];
}

function count(flag: string, value: string | undefined, max: number, min = 1): number {
  const n = Number(value);
  if (!value || !/^\d+$/.test(value) || n < min || n > max)
    throw new Error(`${flag}: expected ${min}..${max}`);
  return n;
}

export function parseArgs(argv: string[]): BenchArgs {
  const args: BenchArgs = {
    only: [...WORKLOAD_IDS],
    contenders: [...CONTENDER_NAMES],
    servers: [...SERVER_NAMES],
    warmup: 1,
    tls: true,
    sessions: 5000,
    base: '/dev/shm/pop3kit-bench',
    build: true,
    keep: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => argv[++i];
    if (flag === '--only') args.only = list(flag, value(), WORKLOAD_IDS);
    else if (flag === '--runs') args.runs = count(flag, value(), 100);
    else if (flag === '--warmup') args.warmup = count(flag, value(), 10, 0);
    else if (flag === '--contenders') args.contenders = list(flag, value(), CONTENDER_NAMES);
    else if (flag === '--servers') args.servers = list(flag, value(), SERVER_NAMES);
    else if (flag === '--transport') {
      const t = value();
      if (t !== 'tls' && t !== 'plain') throw new Error('--transport: tls or plain');
      args.tls = t === 'tls';
    } else if (flag === '--sessions') args.sessions = count(flag, value(), 20_000);
    else if (flag === '--base') args.base = value() ?? '';
    else if (flag === '--out') args.out = value();
    else if (flag === '--no-build') args.build = false;
    else if (flag === '--keep') args.keep = true;
    else if (flag === '--help' || flag === '-h') throw new Error(USAGE);
    else throw new Error(`unknown flag ${flag}\n${USAGE}`);
  }
  if (!args.base.startsWith('/')) throw new Error('--base must be an absolute path');
  return args;
}
