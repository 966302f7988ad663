// MDA target: run a command with the message on stdin; exit status 0 means delivered.
// The message is spooled whole first and the MDA's stdin is that file, not a pipe: a fetcher that
// dies (or a connection that breaks) can never hand the MDA a clean end of input after half a
// message. Exactly-once cannot be promised for a program we do not control: if the fetcher dies
// after the MDA delivered but before the journal says `done`, the next run delivers again
// (at-least-once; the journal narrows the window to that gap). The MDA gets POP3KIT_UID in its
// environment, so an idempotent MDA can drop the repeat and make it exactly-once.
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import type { MessageSource } from '../../mailstore/io.js';
import { Pop3Error, printable } from '../../protocol/errors.js';
import { spoolPath, writeSpool } from './spool.js';
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

export function mdaTarget(
  command: string[] | string,
  spoolPrefix: string,
  opts: MdaTargetOptions = {},
): Target {
  const argv = typeof command === 'string' ? ['/bin/sh', '-c', command] : command;
  if (argv.length === 0 || !argv[0]) throw new Pop3Error('MDA command is empty', { code: 'EARGUMENT' });
  return {
    keepsState: true,
    maildirs: [],
    async prepare(source: MessageSource, ctx: DeliveryContext): Promise<PreparedDelivery> {
      const spool = spoolPath(spoolPrefix);
      await writeSpool(spool, source, ctx, opts.lineEnds === 'keep' ? 'keep' : 'lf');
      const remove = () => fs.rm(spool, { force: true });
      return {
        intent: { kind: 'pipe' },
        failureIsCertain: true,
        commit: () =>
          runMda(argv, spool, {
            timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
            env: { ...process.env, ...opts.env, POP3KIT_UID: ctx.uid },
          }),
        discard: remove,
        cleanup: remove,
      };
    },
  };
}

/** Run the command with `file` as its stdin; resolve on exit 0, else throw DeliveryError. */
export async function runMda(
  argv: string[],
  file: string,
  opts: { timeoutMs: number; env: NodeJS.ProcessEnv },
): Promise<void> {
  const input = await fs.open(file, 'r');
  let result: { code: number | null; signal: NodeJS.Signals | null; error?: Error };
  let stderr = '';
  let timedOut = false;
  try {
    // Its own process group, so a timeout kills a shell's children too.
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: [input.fd, 'ignore', 'pipe'],
      detached: true,
      env: opts.env,
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-STDERR_KEEP);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, opts.timeoutMs);
    result = await new Promise((resolve) => {
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
      child.once('close', (code, signal) => resolve({ code, signal }));
    });
    clearTimeout(timer);
  } finally {
    await input.close();
  }
  if (result.error) throw new DeliveryError(`MDA could not be started: ${printable(result.error.message)}`);
  if (timedOut) throw new DeliveryError(`MDA did not finish within ${opts.timeoutMs} ms`);
  if (result.code !== 0) {
    const how = result.signal ? `was killed by ${result.signal}` : `exited with status ${result.code}`;
    const said = stderr.trim() ? `: ${printable(stderr.trim(), 300)}` : '';
    throw new DeliveryError(`MDA ${how}${said}`);
  }
}
