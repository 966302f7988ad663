// Fetch progress: on a terminal, a bar per account from cli-progress (messages, bytes, rate);
// otherwise nothing while running and a one-line summary per account at the end. The bars are
// in progress-bars.ts, imported only when they are shown.

import type { Progress } from '../fetch/index.js';

export interface ProgressView {
  update(account: string, p: Progress): void;
  /** The account finished (its bar shows the final numbers). */
  done(account: string): void;
  /** Write a line without tearing the bars. */
  log(line: string): void;
  stop(): void;
}

/** Bars on stderr when it is a terminal and nothing else writes there (no --trace); else plain lines. */
export async function createProgress(enabled: boolean): Promise<ProgressView> {
  if (!enabled || !process.stderr.isTTY) {
    return {
      update() {},
      done() {},
      log: (line) => process.stderr.write(`${line}\n`),
      stop() {},
    };
  }
  const { progressBars } = await import('./progress-bars.js');
  return progressBars();
}
