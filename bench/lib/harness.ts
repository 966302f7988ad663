// Runs one workload: every lane once per round, rounds repeated (A B C ... A B C ...), each run
// measured in its own child process and checked (exit 0, every message byte-exact, the server's
// log agrees), with the server's CPU time and peak RSS taken around it.
import { spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Contender, Endpoint, RunContext } from '../contenders/types.js';
import { childPath } from './children.js';
import { emptyMaildir } from './fsutil.js';
import type { Expected } from './mailbox.js';
import { runMeasured } from './measure.js';
import type { ServerUnderTest } from './servers.js';
import {
  type ContenderName,
  type LaneSpec,
  laneId,
  MAILBOXES,
  type ServerName,
  type Workload,
} from './workloads.js';

export interface RunRecord {
  run: number;
  wallMs: number;
  /** user + sys of the client and its waited-for children. */
  cpuMs: number;
  maxRssKb: number;
  serverCpuMs: number;
  serverPeakRssKb?: number;
  /** Set when the run failed or did not verify; such runs are left out of the summaries. */
  problem?: string;
}

export interface LaneResult {
  id: string;
  contender: ContenderName;
  server: ServerName;
  ref?: string;
  durability: string;
  /** Warm-up rounds, run first: checked like the others, reported apart, never summarised. */
  warmup: RunRecord[];
  runs: RunRecord[];
}

export interface WorkloadResult {
  id: string;
  title: string;
  relayDelayMs?: number;
  messages: number;
  wireOctets: number;
  seconds: number;
  lanes: LaneResult[];
}

export interface HarnessEnv {
  contenders: Record<ContenderName, Contender>;
  servers: Record<ServerName, ServerUnderTest>;
  expected: Partial<Record<'small' | 'big' | 'huge', Expected>>;
  passwords: Map<string, string>;
  tls: boolean;
  /** Contender folders and per-run output (may be on disk). */
  workRoot: string;
  /** Where Maildirs are delivered: tmpfs. */
  deliverRoot: string;
  log: (line: string) => void;
  /** Extra node flags for contenders that are Node programs (e.g. --cpu-prof for bench/profile.ts). */
  nodeFlags?: string[];
}

export function endpointOf(server: ServerUnderTest, tls: boolean, port?: number): Endpoint {
  return {
    host: '127.0.0.1',
    port: port ?? (tls ? server.tlsPort : server.plainPort),
    tls,
    caFile: server.caFile,
    servername: 'localhost',
  };
}

/** The delay relay in a child process, in front of `target`; stops itself after maxSeconds. */
export async function startRelay(targetPort: number, delayMs: number, maxSeconds: number) {
  const child = spawn(
    process.execPath,
    [childPath('delay-relay'), JSON.stringify({ targetHost: '127.0.0.1', targetPort, delayMs, maxSeconds })],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error('relay did not start within 10 s')), 10_000);
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolvePort((JSON.parse(line) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`relay exited (${code})`)));
  });
  return {
    port,
    stop() {
      process.removeListener('exit', killOnExit);
      child.stdin!.end(); // the relay exits when its stdin closes
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
    },
  };
}

export async function runOnce(
  env: HarnessEnv,
  lane: LaneSpec,
  endpoint: Endpoint,
  expected: Expected,
  user: string,
  timeoutMs: number,
  label: string,
): Promise<Omit<RunRecord, 'run'>> {
  const id = laneId(lane);
  const contender = env.contenders[lane.contender];
  const server = env.servers[lane.server];
  const workDir = join(env.workRoot, label, id);
  const maildir = join(env.deliverRoot, `${label}-${id}`);
  await emptyMaildir(maildir);
  const ctx: RunContext = {
    endpoint,
    user,
    pass: env.passwords.get(user)!,
    expected,
    workDir,
    maildir,
    timeoutMs,
  };
  const prepared = await contender.prepare(ctx);
  const node = prepared.argv.indexOf(process.execPath);
  if (env.nodeFlags && node >= 0) prepared.argv.splice(node + 1, 0, ...env.nodeFlags);
  const runDir = join(env.workRoot, label, `${id}.run`);
  await mkdir(runDir, { recursive: true });
  const mark = await server.logMark();
  server.resetPeak();
  const cpu0 = server.cpuMs();
  const m = await runMeasured({ argv: prepared.argv, env: prepared.env, timeoutMs, dir: runDir });
  const serverCpuMs = server.cpuMs() - cpu0;
  const serverPeakRssKb = server.peakRssKb();
  let problem: string | undefined;
  if (m.timedOut) problem = `timed out after ${timeoutMs} ms`;
  else if (m.exitCode !== 0) problem = `exit ${m.exitCode}: ${m.stderrTail.trim().slice(-300)}`;
  else problem = (await contender.verify(ctx, m)) ?? (await server.checkLog(mark, user, expected.count));
  await rm(maildir, { recursive: true, force: true }); // tmpfs is memory
  return {
    wallMs: m.wallMs,
    cpuMs: m.userMs + m.sysMs,
    maxRssKb: m.maxRssKb,
    serverCpuMs,
    ...(serverPeakRssKb === undefined ? {} : { serverPeakRssKb }),
    ...(problem ? { problem } : {}),
  };
}

export async function runWorkload(
  env: HarnessEnv,
  w: Workload,
  runs: number,
  lanes: LaneSpec[],
  warmup = 0,
): Promise<WorkloadResult> {
  const started = performance.now();
  const spec = MAILBOXES[w.mailbox];
  const expected = env.expected[w.mailbox];
  if (!expected) throw new Error(`mailbox ${w.mailbox} was not seeded`);
  const relays = new Map<ServerName, Awaited<ReturnType<typeof startRelay>>>();
  const endpoints = new Map<ServerName, Endpoint>();
  try {
    for (const name of new Set(lanes.map((l) => l.server))) {
      const server = env.servers[name];
      if (w.relayDelayMs === undefined) endpoints.set(name, endpointOf(server, env.tls));
      else {
        const target = env.tls ? server.tlsPort : server.plainPort;
        const maxSeconds = Math.ceil((runs * lanes.length * w.timeoutMs) / 1000) + 60;
        const relay = await startRelay(target, w.relayDelayMs, maxSeconds);
        relays.set(name, relay);
        endpoints.set(name, endpointOf(server, env.tls, relay.port));
      }
    }
    const results: LaneResult[] = lanes.map((l) => ({
      id: laneId(l),
      contender: l.contender,
      server: l.server,
      ...(l.ref ? { ref: l.ref } : {}),
      durability: env.contenders[l.contender].durability,
      warmup: [],
      runs: [],
    }));
    for (let round = 0; round < warmup + runs; round++) {
      const warming = round < warmup;
      const run = warming ? round : round - warmup;
      for (const [i, lane] of lanes.entries()) {
        const rec = await runOnce(
          env,
          lane,
          endpoints.get(lane.server)!,
          expected,
          spec.user,
          w.timeoutMs,
          w.id,
        );
        (warming ? results[i]!.warmup : results[i]!.runs).push({ run, ...rec });
        const which = warming ? `warm-up ${run + 1}/${warmup}` : `run ${run + 1}/${runs}`;
        env.log(
          `  ${w.id} ${which} ${laneId(lane).padEnd(24)} wall ${(rec.wallMs / 1000).toFixed(2)} s, ` +
            `cpu ${(rec.cpuMs / 1000).toFixed(2)} s, rss ${(rec.maxRssKb / 1024).toFixed(0)} MB, ` +
            `server cpu ${(rec.serverCpuMs / 1000).toFixed(2)} s${rec.problem ? `  FAILED: ${rec.problem}` : ''}`,
        );
      }
    }
    return {
      id: w.id,
      title: w.title,
      ...(w.relayDelayMs === undefined ? {} : { relayDelayMs: w.relayDelayMs }),
      messages: expected.count,
      wireOctets: expected.wireOctets,
      seconds: (performance.now() - started) / 1000,
      lanes: results,
    };
  } finally {
    for (const r of relays.values()) r.stop();
  }
}
