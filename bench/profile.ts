// Where the time goes, for the targets the benchmark does not meet:
//   node --import tsx bench/profile.ts [--mailbox small|big|huge] [--transport tls|plain] [--no-build]
// Runs `pop3 fetch` against Dovecot and mpop against our server once each, the Node process of
// each (the client, then the server) under --cpu-prof, and prints self time by file and function.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatSummary, summarizeProfile } from './lib/cpuprofile.js';
import { endpointOf, runOnce } from './lib/harness.js';
import { ROOT, setupBench } from './lib/setup.js';
import { MAILBOXES, type MailboxKey } from './lib/workloads.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

function parse(argv: string[]) {
  let mailbox: MailboxKey = 'small';
  let tls = true;
  let build = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--mailbox') {
      const m = argv[++i];
      if (m !== 'small' && m !== 'big' && m !== 'huge') throw new Error('--mailbox small|big|huge');
      mailbox = m;
    } else if (a === '--transport') tls = argv[++i] !== 'plain';
    else if (a === '--no-build') build = false;
    else throw new Error(`unknown flag ${a}`);
  }
  return { mailbox, tls, build };
}

async function newestProfile(dir: string): Promise<string> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).sort();
  if (files.length === 0) throw new Error(`no profile written in ${dir}`);
  return join(dir, files[files.length - 1]!);
}

async function main(): Promise<void> {
  const { mailbox, tls, build } = parse(process.argv.slice(2));
  const outDir = join(ROOT, 'bench', 'results', 'profiles', mailbox);
  const clientDir = join(outDir, 'pop3-fetch');
  const serverDir = join(outDir, 'pop3-serve');
  await rm(outDir, { recursive: true, force: true });
  await mkdir(clientDir, { recursive: true });
  await mkdir(serverDir, { recursive: true });
  const bench = await setupBench({
    base: '/dev/shm/pop3kit-bench-profile',
    build,
    tls,
    mailboxes: [mailbox],
    sessions: 0,
    serverNodeFlags: ['--cpu-prof', '--cpu-prof-dir', serverDir],
    log,
  });
  const spec = MAILBOXES[mailbox];
  const expected = bench.env.expected[mailbox]!;
  const sections: string[] = [];
  try {
    bench.env.nodeFlags = ['--cpu-prof', '--cpu-prof-dir', clientDir];
    const fetch = await runOnce(
      bench.env,
      { contender: 'pop3-fetch', server: 'dovecot' },
      endpointOf(bench.dovecot, tls),
      expected,
      spec.user,
      20 * 60_000,
      'profile',
    );
    log(
      `pop3 fetch: ${(fetch.wallMs / 1000).toFixed(2)} s wall, ${(fetch.cpuMs / 1000).toFixed(2)} s CPU ${fetch.problem ?? ''}`,
    );
    sections.push(
      formatSummary(
        `pop3 fetch from Dovecot, mailbox ${mailbox}`,
        await summarizeProfile(await newestProfile(clientDir)),
      ),
    );
    bench.env.nodeFlags = undefined;
    const served = await runOnce(
      bench.env,
      { contender: 'mpop', server: 'ours' },
      endpointOf(bench.ours, tls),
      expected,
      spec.user,
      20 * 60_000,
      'profile',
    );
    log(
      `mpop from our server: ${(served.wallMs / 1000).toFixed(2)} s wall, server ${(served.serverCpuMs / 1000).toFixed(2)} s CPU ${served.problem ?? ''}`,
    );
  } finally {
    await bench.teardown(false); // stopping the server writes its profile
  }
  sections.push(
    formatSummary(
      `pop3 serve (whole process life) serving mpop, mailbox ${mailbox}`,
      await summarizeProfile(await newestProfile(serverDir)),
    ),
  );
  const md = `${sections.join('\n\n')}\n`;
  await writeFile(join(outDir, 'summary.md'), md);
  process.stdout.write(md);
  log(`profiles and summary in ${outDir}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    log(`profile failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
