// Where the time goes, for the targets the benchmark does not meet:
//   node --import tsx bench/profile.ts [--mailbox small|big|huge] [--transport tls|plain] [--perf] [--no-build]
// Runs `pop3 fetch` against Dovecot and mpop against our server once each, the Node process of
// each (the client, then the server) under --cpu-prof, and prints self time by file and function,
// and the server's CPU time by thread. With --perf, also `perf record` of both (native code, the
// kernel and the libuv threads included, which --cpu-prof does not see).
import { execFile, spawn } from 'node:child_process';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { formatSummary, summarizeProfile } from './lib/cpuprofile.js';
import { endpointOf, runOnce } from './lib/harness.js';
import { threadCpuMs } from './lib/proc.js';
import { ROOT, setupBench } from './lib/setup.js';
import { MAILBOXES, type MailboxKey } from './lib/workloads.js';

const log = (line: string) => process.stderr.write(`${line}\n`);
const exec = promisify(execFile);

/** Self time by thread, library and symbol from a perf.data file. */
async function perfReport(title: string, data: string): Promise<string> {
  const report = async (sort: string, limit: string) =>
    (
      await exec(
        'perf',
        [
          'report',
          '-i',
          data,
          '--stdio',
          '--no-children',
          '--sort',
          sort,
          '-g',
          'none',
          '--percent-limit',
          limit,
        ],
        { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      )
    ).stdout
      .split('\n')
      .filter((l) => /^\s+\d+\.\d+%/.test(l))
      .map((l) => l.trim().split(/\s+/));
  const byDso = (await report('dso', '0.5')).map(([pct, ...dso]) => `| ${pct} | ${dso.join(' ')} |`);
  const bySym = (await report('dso,sym', '1'))
    .slice(0, 15)
    .map(([pct, dso, ...sym]) => `| ${pct} | ${dso} | ${sym.join(' ').replace(/\|/g, '/').slice(0, 100)} |`);
  return [
    `#### ${title} (perf, self time, all threads)`,
    '',
    '| share | library |',
    '|---|---|',
    ...byDso,
    '',
    '| share | library | symbol |',
    '|---|---|---|',
    ...bySym,
  ].join('\n');
}

function parse(argv: string[]) {
  let mailbox: MailboxKey = 'small';
  let tls = true;
  let build = true;
  let perf = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--mailbox') {
      const m = argv[++i];
      if (m !== 'small' && m !== 'big' && m !== 'huge') throw new Error('--mailbox small|big|huge');
      mailbox = m;
    } else if (a === '--transport') tls = argv[++i] !== 'plain';
    else if (a === '--no-build') build = false;
    else if (a === '--perf') perf = true;
    else throw new Error(`unknown flag ${a}`);
  }
  return { mailbox, tls, build, perf };
}

async function newestProfile(dir: string): Promise<string> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).sort();
  if (files.length === 0) throw new Error(`no profile written in ${dir}`);
  return join(dir, files[files.length - 1]!);
}

async function main(): Promise<void> {
  const { mailbox, tls, build, perf } = parse(process.argv.slice(2));
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
    const fetchPerf = join(outDir, 'pop3-fetch.perf.data');
    if (perf) {
      const original = bench.env.contenders['pop3-fetch'];
      bench.env.contenders['pop3-fetch'] = {
        ...original,
        async prepare(ctx) {
          const p = await original.prepare(ctx);
          return {
            ...p,
            argv: ['perf', 'record', '-q', '-F', '999', '-g', '-o', fetchPerf, '--', ...p.argv],
          };
        },
      };
    }
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
    const serverPerf = join(outDir, 'pop3-serve.perf.data');
    const recorder = perf
      ? spawn('perf', ['record', '-q', '-F', '999', '-g', '-p', String(bench.ours.pid), '-o', serverPerf], {
          stdio: 'ignore',
        })
      : undefined;
    if (recorder) await new Promise((r) => setTimeout(r, 1000)); // perf attaches
    const threads0 = threadCpuMs(bench.ours.pid);
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
    const threads = [...threadCpuMs(bench.ours.pid)]
      .map(([name, ms]) => [name, ms - (threads0.get(name) ?? 0)] as const)
      .filter(([, ms]) => ms > 0)
      .sort((a, b) => b[1] - a[1]);
    sections.push(
      [
        `#### pop3 serve: CPU time by thread while serving mpop (${(served.serverCpuMs / 1000).toFixed(2)} s in all)`,
        '',
        '| thread | ms |',
        '|---|---|',
        ...threads.map(([name, ms]) => `| ${name} | ${ms} |`),
      ].join('\n'),
    );
    if (recorder) {
      recorder.kill('SIGINT'); // perf writes its file and exits; bounded in case it does not
      const stopped = new Promise((r) => recorder.once('exit', r));
      const timer = setTimeout(() => recorder.kill('SIGKILL'), 60_000);
      await stopped;
      clearTimeout(timer);
    }
    if (perf) {
      sections.push(await perfReport(`pop3 fetch from Dovecot, mailbox ${mailbox}`, fetchPerf));
      sections.push(await perfReport(`pop3 serve serving mpop, mailbox ${mailbox}`, serverPerf));
    }
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
