// MDA target: run a command with the message on stdin; exit status 0 means delivered.
// Exactly-once cannot be promised for a program we do not control: if the fetcher dies after the
// MDA delivered but before the journal says `done`, the next run delivers again (at-least-once;
// the journal narrows the window to that gap). The MDA gets POP3KIT_UID in its environment, so an
// idempotent MDA can drop the repeat and make it exactly-once.
// If the message stream breaks, the MDA's process group is killed before its stdin closes, so it
// never sees a clean end of input for a truncated message.
import { spawn } from 'node:child_process';
import { crlfToLf } from '../../mailstore/io.js';
import { Pop3Error, printable } from '../../protocol/errors.js';
import type { DeliveryContext, PreparedDelivery, Target } from './target.js';
import { DeliveryError } from './target.js';

export interface MdaTargetOptions {
  lineEnds?: 'lf' | 'keep';
  timeoutMs?: number;
  /** Extra environment for the MDA (e.g. POP3KIT_ACCOUNT). */
  env?: Record<string, string>;
}

const DEFAULT_TIMEOUT_MS = 5 * 60_000;
const STDERR_KEEP = 2048;

export function mdaTarget(command: string[] | string, opts: MdaTargetOptions = {}): Target {
  const argv = typeof command === 'string' ? ['/bin/sh', '-c', command] : command;
  if (argv.length === 0 || !argv[0]) throw new Pop3Error('MDA command is empty', { code: 'EARGUMENT' });
  return {
    keepsState: true,
    maildirs: [],
    async prepare(source: AsyncIterable<Buffer>, ctx: DeliveryContext): Promise<PreparedDelivery> {
      return {
        intent: { kind: 'pipe' },
        failureIsCertain: true,
        commit: () =>
          runMda(argv, opts.lineEnds === 'keep' ? source : crlfToLf(source), {
            timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
            env: { ...process.env, ...opts.env, POP3KIT_UID: ctx.uid },
          }),
        async discard() {},
        async cleanup() {},
      };
    },
  };
}

/** Stream `source` into the command; resolve on exit 0, else throw DeliveryError. Source errors are rethrown. */
export async function runMda(
  argv: string[],
  source: AsyncIterable<Buffer>,
  opts: { timeoutMs: number; env: NodeJS.ProcessEnv },
): Promise<void> {
  // Its own process group, so a shell's children die with it.
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: ['pipe', 'ignore', 'pipe'],
    detached: true,
    env: opts.env,
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-STDERR_KEEP);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>(
    (resolve) => {
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
      child.once('close', (code, signal) => resolve({ code, signal }));
    },
  );
  const killGroup = () => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  };
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, opts.timeoutMs);
  child.stdin.on('error', () => {}); // EPIPE when the MDA stops reading: its exit status decides
  try {
    try {
      for await (const chunk of source) {
        if (child.stdin.destroyed || child.exitCode !== null) continue; // it quit early: drain the source
        if (!child.stdin.write(chunk)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              child.stdin.off('drain', done);
              child.stdin.off('close', done);
              resolve();
            };
            child.stdin.on('drain', done);
            child.stdin.on('close', done);
          });
        }
      }
    } catch (err) {
      killGroup(); // before stdin closes: no clean EOF for a truncated message
      child.stdin.destroy();
      await exited;
      throw err;
    }
    child.stdin.end();
    const result = await exited;
    if (result.error) throw new DeliveryError(`MDA could not be started: ${printable(result.error.message)}`);
    if (timedOut) throw new DeliveryError(`MDA did not finish within ${opts.timeoutMs} ms`);
    if (result.code !== 0) {
      const how = result.signal ? `was killed by ${result.signal}` : `exited with status ${result.code}`;
      const said = stderr.trim() ? `: ${printable(stderr.trim(), 300)}` : '';
      throw new DeliveryError(`MDA ${how}${said}`);
    }
  } finally {
    clearTimeout(timer);
  }
}
