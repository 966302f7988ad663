// Workload (e): thousands of logged-in sessions held open on our server (one user each, since a
// maildrop is locked per session), the server's memory and errors meanwhile, and a full fetch of
// workload a through the crowd.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { childPath } from './children.js';
import { endpointOf, type HarnessEnv, runOnce } from './harness.js';
import type { ServerUnderTest } from './servers.js';
import { type LaneSpec, laneId, MAILBOXES } from './workloads.js';

export const SESSION_USER_PREFIX = 'e';
export const sessionUser = (n: number) => `${SESSION_USER_PREFIX}${String(n).padStart(5, '0')}`;

export interface SessionsResult {
  sessions: number;
  concurrency: number;
  ready: number;
  loginErrors: number;
  firstErrors: string[];
  loginMs: number;
  serverRssIdleKb: number;
  serverRssHeldKb: number;
  serverPeakRssKb: number;
  serverLoginCpuMs: number;
  fetches: { lane: string; wallMs: number; cpuMs: number; problem?: string }[];
  droppedWhileHeld: number;
  quitOk: number;
  serverLogProblems: number;
  firstLogProblems: string[];
  openFilesLimit: string;
  errorsTotal: number;
}

const CONCURRENCY = 100;
const READY_TIMEOUT_MS = 15 * 60_000;
const RELEASE_TIMEOUT_MS = 5 * 60_000;

function openFilesLimit(pid: number): string {
  try {
    const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const [soft, hard] = line?.replace('Max open files', '').trim().split(/\s+/) ?? [];
    return `soft ${soft}, hard ${hard}`;
  } catch {
    return '?';
  }
}

export async function runSessions(
  env: HarnessEnv,
  ours: ServerUnderTest,
  sessions: number,
  sessionPass: string,
  fetchLanes: LaneSpec[],
): Promise<SessionsResult> {
  const expected = env.expected.small;
  if (!expected) throw new Error('workload e fetches mailbox a, which was not seeded');
  const mark = await ours.logMark();
  const serverRssIdleKb = ours.rssKb() ?? 0;
  ours.resetPeak();
  const cpu0 = ours.cpuMs();
  const e = endpointOf(ours, env.tls);
  const holder = spawn(
    process.execPath,
    [
      childPath('session-holder'),
      JSON.stringify({
        host: e.host,
        port: e.port,
        tls: e.tls,
        caFile: e.caFile,
        servername: e.servername,
        userPrefix: SESSION_USER_PREFIX,
        sessions,
        concurrency: CONCURRENCY,
        maxSeconds: Math.ceil((READY_TIMEOUT_MS + RELEASE_TIMEOUT_MS) / 1000) + 20 * 60,
      }),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, POP3_BENCH_PASS: sessionPass } },
  );
  const killOnExit = () => holder.kill('SIGKILL');
  process.once('exit', killOnExit);
  const lines = createInterface({ input: holder.stdout! })[Symbol.asyncIterator]();
  const nextLine = async (timeoutMs: number, what: string) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`session holder: no ${what} within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      const r = await Promise.race([lines.next(), timeout]);
      if (r.done) throw new Error(`session holder exited before ${what}`);
      return JSON.parse(r.value) as Record<string, unknown>;
    } finally {
      clearTimeout(timer);
    }
  };
  try {
    env.log(`  e: logging in ${sessions} sessions, ${CONCURRENCY} at a time`);
    const ready = (await nextLine(READY_TIMEOUT_MS, 'ready report')) as {
      ready: number;
      errors: number;
      firstErrors: string[];
      ms: number;
    };
    const serverLoginCpuMs = ours.cpuMs() - cpu0;
    const serverRssHeldKb = ours.rssKb() ?? 0;
    env.log(
      `  e: ${ready.ready} held, ${ready.errors} errors, server RSS ${(serverRssHeldKb / 1024).toFixed(0)} MB`,
    );
    const fetches: SessionsResult['fetches'] = [];
    for (const lane of fetchLanes) {
      const rec = await runOnce(env, lane, e, expected, MAILBOXES.small.user, 10 * 60_000, 'e');
      fetches.push({
        lane: laneId(lane),
        wallMs: rec.wallMs,
        cpuMs: rec.cpuMs,
        ...(rec.problem ? { problem: rec.problem } : {}),
      });
      env.log(
        `  e: ${laneId(lane)} through the crowd: ${(rec.wallMs / 1000).toFixed(2)} s ${rec.problem ?? 'verified'}`,
      );
    }
    holder.stdin!.write('release\n');
    const released = (await nextLine(RELEASE_TIMEOUT_MS, 'release report')) as {
      quitOk: number;
      droppedWhileHeld: number;
    };
    const problems = await ours.logProblems(mark);
    const result: SessionsResult = {
      sessions,
      concurrency: CONCURRENCY,
      ready: ready.ready,
      loginErrors: ready.errors,
      firstErrors: ready.firstErrors,
      loginMs: ready.ms,
      serverRssIdleKb,
      serverRssHeldKb,
      serverPeakRssKb: ours.peakRssKb() ?? 0,
      serverLoginCpuMs,
      fetches,
      droppedWhileHeld: released.droppedWhileHeld,
      quitOk: released.quitOk,
      serverLogProblems: problems.length,
      firstLogProblems: problems.slice(0, 5).map((p) => p.slice(0, 200)),
      openFilesLimit: openFilesLimit(ours.pid),
      errorsTotal: 0,
    };
    result.errorsTotal =
      result.loginErrors +
      result.droppedWhileHeld +
      (result.ready - result.quitOk) +
      result.serverLogProblems +
      fetches.filter((f) => f.problem).length;
    return result;
  } finally {
    process.removeListener('exit', killOnExit);
    holder.stdin!.end();
    setTimeout(() => holder.kill('SIGKILL'), 5000).unref();
  }
}
