// Runs one real-client process with a hard deadline and bounded output capture. The child gets its
// own process group so a timeout also ends whatever it started (fetchmail's MDA shells).
import { spawn } from 'node:child_process';

export interface ChildResult {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the deadline passed and the process group was killed. */
  timedOut: boolean;
  elapsedMs: number;
}

export interface RunChildOptions {
  /** Hard deadline: SIGKILL to the whole process group after this. */
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Bytes of stdout and of stderr kept (each); the rest is dropped. Default 1 MiB. */
  maxOutputBytes?: number;
}

/** A minimal environment: PATH and locale only, HOME pointed at `home` so no user config is read. */
export function isolatedEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LC_ALL: 'C', TZ: 'UTC', ...extra };
}

export function runChild(cmd: string, args: readonly string[], opts: RunChildOptions): Promise<ChildResult> {
  const max = opts.maxOutputBytes ?? 1024 * 1024;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const out = { stdout: [] as Buffer[], stderr: [] as Buffer[], sizes: { stdout: 0, stderr: 0 } };
    for (const name of ['stdout', 'stderr'] as const) {
      child[name].on('data', (chunk: Buffer) => {
        const room = max - out.sizes[name];
        if (room <= 0) return;
        out[name].push(chunk.subarray(0, room));
        out.sizes[name] += Math.min(room, chunk.length);
      });
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, opts.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out.stdout).toString('utf8'),
        stderr: Buffer.concat(out.stderr).toString('utf8'),
        timedOut,
        elapsedMs: Date.now() - started,
      });
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is already gone
  }
}

/**
 * Quote a value for mpoprc / fetchmailrc. Their escape rules differ, so values that would need
 * escaping (`"`, backslash, line breaks, NUL) are refused rather than escaped.
 */
export function rcQuote(value: string): string {
  if (/["\\\r\n\0]/.test(value)) {
    throw new TypeError('configuration values cannot contain ", \\, CR, LF or NUL');
  }
  return `"${value}"`;
}
