// The benchmark harness (issue 5). Quick run: `npm run bench -- --only a,b,c --runs 3`; --help lists flags.
// Starts a private Dovecot and our `pop3 serve` on loopback, seeds the same mailboxes into both (on
// tmpfs), runs every contender in its own measured child process, alternating, checks every run,
// and prints Markdown tables (also written beside a JSON file with every run under bench/results/).
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type BenchArgs, parseArgs, USAGE } from './lib/args.js';
import { runWorkload, type WorkloadResult } from './lib/harness.js';
import { describeMachine } from './lib/machine.js';
import { machineSection, sessionsTable, targets, targetsTable, workloadTable } from './lib/report.js';
import { runSessions, type SessionsResult } from './lib/sessions.js';
import { ROOT, requireTools, setupBench } from './lib/setup.js';
import { type MailboxKey, WORKLOADS } from './lib/workloads.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(args: BenchArgs): Promise<void> {
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
  const tools = [
    'dovecot',
    'python3',
    'openssl',
    ...args.contenders.filter((c) => c === 'mpop' || c === 'fetchmail'),
  ];
  await requireTools(tools);
  const machine = await describeMachine();
  log(
    `machine: ${machine.cpus} CPUs, load ${machine.loadAverage.join(' ')}, ${machine.node}, ${machine.dovecot}`,
  );
  const bench = await setupBench({
    base: args.base,
    build: args.build,
    tls: args.tls,
    mailboxes: [...new Set<MailboxKey>(args.only.map((w) => WORKLOADS[w].mailbox))],
    sessions: args.only.includes('e') ? args.sessions : 0,
    log,
  });
  log(`fetchmail MDA: ${bench.mdaKind === 'c' ? 'compiled C' : 'shell script (no C compiler)'}`);
  try {
    const results: WorkloadResult[] = [];
    let sessions: SessionsResult | undefined;
    for (const id of args.only) {
      const w = WORKLOADS[id];
      if (id === 'e') {
        log(`workload ${w.title}`);
        const lanes = (['pop3-fetch', 'mpop'] as const)
          .filter((c) => args.contenders.includes(c))
          .map((contender) => ({ contender, server: 'ours' as const }));
        sessions = await runSessions(bench.env, bench.ours, args.sessions, bench.sessionPass, lanes);
        continue;
      }
      const lanes = w.lanes.filter(
        (l) => args.contenders.includes(l.contender) && args.servers.includes(l.server),
      );
      if (lanes.length === 0) continue;
      const runs = args.runs ?? w.runs;
      log(`workload ${w.title}: ${lanes.length} lanes x (${args.warmup} warm-up + ${runs}) runs`);
      results.push(await runWorkload(bench.env, w, runs, lanes, args.warmup));
    }

    const md = [
      machineSection(machine, args.tls ? 'implicit TLS' : 'cleartext', command),
      ...results.map(workloadTable),
      ...(sessions ? [sessionsTable(sessions)] : []),
      `### Targets (issue 5)\n\n${targetsTable(targets(results, sessions))}`,
    ].join('\n\n');
    process.stdout.write(`${md}\n`);
    const out = args.out ?? join(ROOT, 'bench', 'results', `${machine.date.replace(/[:.]/g, '-')}.json`);
    await mkdir(dirname(out), { recursive: true });
    const json = { command, machine, tls: args.tls, fetchmailMda: bench.mdaKind, results, sessions };
    await writeFile(out, `${JSON.stringify(json, null, 2)}\n`);
    await writeFile(out.replace(/\.json$/, '.md'), `${md}\n`);
    log(`results: ${out}`);
  } finally {
    await bench.teardown(args.keep);
  }
}

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
let parsed: BenchArgs;
try {
  parsed = parseArgs(process.argv.slice(2));
} catch (err) {
  log(err instanceof Error ? err.message : String(err));
  process.exit(2);
}
main(parsed).then(
  () => process.exit(0),
  (err: unknown) => {
    log(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
