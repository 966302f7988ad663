// What the numbers were measured on: recorded with every result.
import { execFile } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { promisify } from 'node:util';
import { PYTHON } from './measure.js';

const run = promisify(execFile);

async function firstLine(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(cmd, args, { timeout: 15_000 });
    return (
      `${stdout}${stderr}`
        .split('\n')
        .find((l) => l.trim() && !/WARNING/.test(l))
        ?.trim() ?? '?'
    );
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return (
      `${e.stdout ?? ''}${e.stderr ?? ''}`
        .split('\n')
        .find((l) => /\d/.test(l) && !/WARNING/.test(l))
        ?.trim() ?? 'not found'
    );
  }
}

export interface Machine {
  date: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  dovecot: string;
  mpop: string;
  fetchmail: string;
  python: string;
  commit: string;
  /** Files other than bench/ changed in the working tree when the run started (dist/ was built from them). */
  dirty: string[];
  openFilesLimit: string;
  loadAverage: number[];
}

export async function describeMachine(): Promise<Machine> {
  const dirty = (await firstLineAll('git', ['status', '--porcelain', '--untracked-files=no']))
    .map((l) => l.slice(3))
    .filter((p) => p && !p.startsWith('bench/') && !p.startsWith('docs/benchmarks'));
  return {
    date: new Date().toISOString(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? '?',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    dovecot: await firstLine('dovecot', ['--version']),
    mpop: await firstLine('mpop', ['--version']),
    fetchmail: await firstLine('fetchmail', ['--version']),
    python: await firstLine(PYTHON, ['--version']),
    commit: (await firstLine('git', ['rev-parse', '--short', 'HEAD'])) || '?',
    dirty,
    openFilesLimit: await firstLine('bash', ['-c', 'echo "soft $(ulimit -Sn), hard $(ulimit -Hn)"']),
    loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

async function firstLineAll(cmd: string, args: string[]): Promise<string[]> {
  try {
    const { stdout } = await run(cmd, args, { timeout: 15_000 });
    return stdout.split('\n').filter(Boolean);
  } catch {
    return [];
  }
}
