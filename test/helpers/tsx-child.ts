// A TypeScript script in a child process (node --import tsx), for tests that SIGKILL it at a moment
// of their choosing: start it, learn when it is ready (its first output on stdout), see it exit.

import { type ChildProcess, spawn } from 'node:child_process';

export interface TsxChild {
  readonly child: ChildProcess;
  /** True once the child wrote to stdout; false if it exited first or `readyMs` passed. */
  readonly ready: Promise<boolean>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Run `script` with `args`; its stderr goes to ours. */
export function startTsxChild(script: string, args: string[] = [], readyMs = 15_000): TsxChild {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: process.cwd(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let timer: NodeJS.Timeout | undefined;
  const ready = Promise.race([
    new Promise<boolean>((resolve) => child.stdout?.once('data', () => resolve(true))),
    exited.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), readyMs);
    }),
  ]).finally(() => clearTimeout(timer));
  return { child, ready, exited };
}
