// The progress bars of `pop3 fetch` on a terminal (see progress.ts).

import cliProgress from 'cli-progress';
import type { Progress } from '../fetch/index.js';
import { humanSize } from './output.js';
import type { ProgressView } from './progress.js';

export function progressBars(): ProgressView {
  const multi = new cliProgress.MultiBar(
    {
      format: ' {account} [{bar}] {value}/{total} msgs | {bytes} of {totalBytes} | {rate}/s',
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      barsize: 24,
      fps: 8,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, { bar: cliProgress.SingleBar; started: number }>();
  const width = (name: string) =>
    name.padEnd(Math.min(24, Math.max(...[...bars.keys(), name].map((n) => n.length))));
  const payload = (account: string, p: Progress, started: number) => {
    const seconds = Math.max(0.001, (Date.now() - started) / 1000);
    return {
      account: width(account),
      bytes: humanSize(p.bytes),
      totalBytes: humanSize(p.totalBytes),
      rate: humanSize(Math.round(p.bytes / seconds)),
    };
  };
  return {
    update(account, p) {
      let entry = bars.get(account);
      if (!entry) {
        const started = Date.now();
        entry = { bar: multi.create(Math.max(p.totalMessages, 0), 0, payload(account, p, started)), started };
        bars.set(account, entry);
      }
      entry.bar.setTotal(Math.max(p.totalMessages, 0));
      entry.bar.update(p.messages, payload(account, p, entry.started));
    },
    done(account) {
      bars.get(account)?.bar.render();
    },
    log(line) {
      multi.log(`${line}\n`);
    },
    stop() {
      multi.update(); // writes lines still in its log buffer; stop() alone would drop them
      multi.stop();
    },
  };
}
