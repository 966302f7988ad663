// What each file-writing contender does to make a message durable, counted rather than assumed:
//   node --import tsx bench/durability.ts [--no-build]
// Runs each once on workload a (2000 messages) under `strace -f -c` and prints the fsync, rename
// and link calls per message, and all system calls per message (on a VM each costs a good deal).
// Needs strace; not part of `npm run bench` (strace slows the runs).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { endpointOf, runOnce } from './lib/harness.js';
import { setupBench } from './lib/setup.js';
import { type ContenderName, MAILBOXES } from './lib/workloads.js';

const log = (line: string) => process.stderr.write(`${line}\n`);
const CONTENDERS: ContenderName[] = ['pop3-fetch', 'mpop', 'fetchmail', 'poplib'];

/** `strace -c` summary lines: "% time seconds usecs/call calls [errors] syscall". */
function parseCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const name = f[f.length - 1];
    if (!name || name === 'syscall') continue;
    // The calls column is the 4th; rows with an errors column have 6 fields, the total row 5 or 6.
    const calls = Number(f[3]);
    if (Number.isInteger(calls)) counts.set(name, calls);
  }
  return counts;
}

/** The five most frequent calls, per message. */
function top(counts: Map<string, number>, messages: number): string {
  return [...counts]
    .filter(([name]) => name !== 'total')
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([name, n]) => `${name} ${(n / messages).toFixed(1)}`)
    .join(', ');
}

async function main(): Promise<void> {
  const build = !process.argv.includes('--no-build');
  const bench = await setupBench({
    base: '/dev/shm/pop3kit-bench-durability',
    build,
    tls: true,
    mailboxes: ['small'],
    sessions: 0,
    log,
  });
  const expected = bench.env.expected.small!;
  const rows: string[] = [];
  try {
    for (const name of CONTENDERS) {
      const out = join(bench.env.workRoot, `${name}.strace`);
      const original = bench.env.contenders[name];
      bench.env.contenders[name] = {
        ...original,
        async prepare(ctx) {
          const p = await original.prepare(ctx);
          return {
            ...p,
            argv: ['strace', '-f', '-c', '-o', out, ...p.argv],
          };
        },
      };
      const rec = await runOnce(
        bench.env,
        { contender: name, server: 'dovecot' },
        endpointOf(bench.dovecot, true),
        expected,
        MAILBOXES.small.user,
        30 * 60_000,
        'durability',
      );
      bench.env.contenders[name] = original;
      const counts = parseCounts(await readFile(out, 'utf8').catch(() => ''));
      const per = (names: string[]) =>
        (names.reduce((s, n) => s + (counts.get(n) ?? 0), 0) / expected.count).toFixed(2);
      rows.push(
        `| ${name} | ${per(['fsync', 'fdatasync', 'sync_file_range'])} | ${per(['rename', 'renameat', 'renameat2'])} | ` +
          `${per(['link', 'linkat'])} | ${per(['total'])} | ${top(counts, expected.count)} | ${rec.problem ?? 'verified'} |`,
      );
      log(rows[rows.length - 1]!);
    }
  } finally {
    await bench.teardown(false);
  }
  process.stdout.write(
    [
      `Per message, over ${expected.count} messages (strace -f -c):`,
      '',
      '| contender | fsync/fdatasync | rename | link | all system calls | most frequent | run |',
      '|---|---|---|---|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    log(`durability failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
