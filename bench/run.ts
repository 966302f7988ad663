// The benchmark harness (issue 5): `npm run bench -- [--only a,b --runs 3 ...]`; --help lists flags.
// Starts a private Dovecot and our `pop3 serve` on loopback, seeds the same mailboxes into both (on
// tmpfs), runs every contender in its own measured child process, alternating, checks every run,
// and prints Markdown tables (also written beside a JSON file with every run under bench/results/).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stopDovecot } from '../scripts/peers/dovecot.js';
import { clientSink, rawSocket } from './contenders/counters.js';
import { buildMda, fetchmailContender } from './contenders/fetchmail.js';
import { mpop } from './contenders/mpop.js';
import { CLI, pop3Fetch } from './contenders/pop3-fetch.js';
import { poplib } from './contenders/poplib.js';
import type { Contender } from './contenders/types.js';
import { type BenchArgs, parseArgs } from './lib/args.js';
import { buildChildren } from './lib/children.js';
import { type HarnessEnv, runWorkload, type WorkloadResult } from './lib/harness.js';
import { describeMachine } from './lib/machine.js';
import { type Expected, seedGenerated, seedHuge } from './lib/mailbox.js';
import { machineSection, sessionsTable, targets, targetsTable, workloadTable } from './lib/report.js';
import { type ServerUnderTest, startDovecotServer, startOurServer } from './lib/servers.js';
import { runSessions, type SessionsResult, sessionUser } from './lib/sessions.js';
import {
  type ContenderName,
  MAILBOXES,
  type MailboxKey,
  type ServerName,
  WORKLOADS,
  type WorkloadId,
} from './lib/workloads.js';

const run = promisify(execFile);
const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const log = (line: string) => process.stderr.write(`${line}\n`);

async function buildDist(): Promise<void> {
  log('building dist/ (tsc -p tsconfig.build.json) so pop3 fetch and pop3 serve are the current code');
  await run(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: ROOT,
      timeout: 10 * 60_000,
    },
  );
}

function mailboxesFor(only: WorkloadId[]): MailboxKey[] {
  const keys = new Set<MailboxKey>(only.map((w) => WORKLOADS[w].mailbox));
  return [...keys];
}

async function main(args: BenchArgs): Promise<void> {
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
  if (args.build || !existsSync(CLI)) await buildDist();
  await buildChildren();
  const machine = await describeMachine();
  log(
    `machine: ${machine.cpus} CPUs, load ${machine.loadAverage.join(' ')}, ${machine.node}, ${machine.dovecot}`,
  );

  const base = args.base;
  await stopDovecot(join(base, 'dovecot')).catch(() => undefined); // a leftover from an interrupted run
  await rm(base, { recursive: true, force: true });
  await mkdir(base, { recursive: true });
  const workRoot = join(base, 'work');
  const deliverRoot = join(base, 'deliver');
  const oursRoot = join(base, 'ours');
  await mkdir(join(oursRoot, 'mail'), { recursive: true });

  const servers: Partial<Record<ServerName, ServerUnderTest>> = {};
  const stops: (() => Promise<void>)[] = [];
  try {
    const users = Object.values(MAILBOXES).map((m) => m.user);
    log('starting Dovecot');
    const { server: dovecot, peer } = await startDovecotServer(join(base, 'dovecot'), users);
    servers.dovecot = dovecot;
    stops.push(() => dovecot.stop());

    const expected: Partial<Record<MailboxKey, Expected>> = {};
    for (const key of mailboxesFor(args.only)) {
      const spec = MAILBOXES[key];
      log(`seeding ${spec.count} x ${spec.size} octets for ${spec.user} into both servers' Maildirs`);
      const dirs = [peer.maildir(spec.user), join(oursRoot, 'mail', spec.user)];
      expected[key] = key === 'huge' ? await seedHuge(spec, dirs) : await seedGenerated(spec, dirs);
    }

    const passwords = new Map(peer.users.map((u) => [u.user, u.pass]));
    const oursUsers = new Map(passwords);
    const sessionPass = randomBytes(12).toString('base64url');
    if (args.only.includes('e'))
      for (let n = 1; n <= args.sessions; n++) oursUsers.set(sessionUser(n), sessionPass);
    log('starting our server (pop3 serve)');
    const ours = await startOurServer({
      dir: oursRoot,
      maildirRoot: join(oursRoot, 'mail'),
      users: oursUsers,
      tlsKey: join(peer.dir, 'tls', 'key.pem'),
      tlsCert: join(peer.dir, 'tls', 'cert.pem'),
      caFile: dovecot.caFile,
      maxConnections: args.sessions + 1000,
    });
    servers.ours = ours;
    stops.unshift(() => ours.stop());

    const mda = await buildMda(join(workRoot, 'mda'));
    log(`fetchmail MDA: ${mda.kind === 'c' ? 'compiled C' : 'shell script (no C compiler)'}`);
    const contenders: Record<ContenderName, Contender> = {
      mpop,
      'pop3-fetch': pop3Fetch,
      fetchmail: fetchmailContender(mda.path),
      poplib,
      'raw-socket': rawSocket,
      'client-sink': clientSink,
    };
    const env: HarnessEnv = {
      contenders,
      servers: servers as Record<ServerName, ServerUnderTest>,
      expected,
      passwords,
      tls: args.tls,
      workRoot,
      deliverRoot,
      log,
    };

    const results: WorkloadResult[] = [];
    let sessions: SessionsResult | undefined;
    for (const id of args.only) {
      const w = WORKLOADS[id];
      if (id === 'e') {
        log(`workload ${w.title}`);
        const lanes = (['pop3-fetch', 'mpop'] as const)
          .filter((c) => args.contenders.includes(c))
          .map((contender) => ({ contender, server: 'ours' as const }));
        sessions = await runSessions(env, ours, args.sessions, sessionPass, lanes);
        continue;
      }
      const lanes = w.lanes.filter(
        (l) => args.contenders.includes(l.contender) && args.servers.includes(l.server),
      );
      if (lanes.length === 0) continue;
      const runs = args.runs ?? w.runs;
      log(`workload ${w.title}: ${lanes.length} lanes x ${runs} runs`);
      results.push(await runWorkload(env, w, runs, lanes));
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
    await writeFile(
      out,
      `${JSON.stringify({ command, machine, tls: args.tls, results, sessions }, null, 2)}\n`,
    );
    await writeFile(out.replace(/\.json$/, '.md'), `${md}\n`);
    log(`results: ${out}`);
  } finally {
    for (const stop of stops) await stop().catch((err: unknown) => log(`stopping a server: ${err}`));
    if (!args.keep) await rm(base, { recursive: true, force: true });
  }
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
