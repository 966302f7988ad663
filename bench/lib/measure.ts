// Runs one contender in a child process and measures it from outside: wall time, CPU time
// (user + sys) and peak RSS of the child and its waited-for descendants, via lib/rusage.py
// (wait4). Every run has a deadline; on expiry the whole process group is killed.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const RUSAGE = join(HERE, 'rusage.py');
/** Most of a child's stdout kept in memory (the JSON a bench child prints is far smaller). */
const MAX_STDOUT = 1024 * 1024;
const STDERR_TAIL = 4096;

/** The Debian interpreter, not a pyenv shim (a shim costs about 2 s per start on this machine). */
export const PYTHON =
  process.env.BENCH_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

export interface Measured {
  wallMs: number;
  userMs: number;
  sysMs: number;
  /** Peak resident set size, KiB. */
  maxRssKb: number;
  exitCode: number;
  timedOut: boolean;
  stdout: string;
  stderrTail: string;
}

export interface RunSpec {
  argv: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs: number;
  /** Folder for this run's out/err/rusage files (created by the caller). */
  dir: string;
}

async function tail(path: string, bytes: number): Promise<string> {
  try {
    const text = await readFile(path, 'latin1');
    return text.length > bytes ? text.slice(-bytes) : text;
  } catch {
    return '';
  }
}

export async function runMeasured(spec: RunSpec): Promise<Measured> {
  const outPath = join(spec.dir, 'stdout');
  const errPath = join(spec.dir, 'stderr');
  const usagePath = join(spec.dir, 'rusage.json');
  await rm(usagePath, { force: true });
  const out = await open(outPath, 'w');
  const err = await open(errPath, 'w');
  let timedOut = false;
  try {
    const child = spawn(PYTHON, [RUSAGE, usagePath, '--', ...spec.argv], {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      stdio: ['ignore', out.fd, err.fd],
      detached: true, // own process group, so a timeout kills the contender and its children
    });
    await new Promise<void>((resolveRun, reject) => {
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(child.pid);
      }, spec.timeoutMs);
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.once('exit', () => {
        clearTimeout(timer);
        resolveRun();
      });
    });
  } finally {
    await out.close();
    await err.close();
  }
  const stdout = (await readFile(outPath, 'utf8')).slice(0, MAX_STDOUT);
  const stderrTail = await tail(errPath, STDERR_TAIL);
  if (timedOut) {
    return {
      wallMs: spec.timeoutMs,
      userMs: 0,
      sysMs: 0,
      maxRssKb: 0,
      exitCode: -1,
      timedOut,
      stdout,
      stderrTail,
    };
  }
  let usage: Omit<Measured, 'timedOut' | 'stdout' | 'stderrTail'>;
  try {
    usage = JSON.parse(await readFile(usagePath, 'utf8'));
  } catch {
    throw new Error(`rusage wrapper wrote no result for ${spec.argv[0]}: ${stderrTail}`);
  }
  return { ...usage, timedOut, stdout, stderrTail };
}

export function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
