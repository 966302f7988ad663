// Markdown for docs/benchmarks.md: one table per workload, then the issue's targets, each
// marked met or not from the same numbers.
import type { LaneResult, RunRecord, WorkloadResult } from './harness.js';
import type { Machine } from './machine.js';
import type { SessionsResult } from './sessions.js';
import { pairRatios, type Spread, spread } from './stats.js';

const ok = (r: RunRecord) => r.problem === undefined;

function fmt(s: Spread | undefined, digits = 2, scale = 1): string {
  if (!s) return '–';
  const f = (x: number) => (x / scale).toFixed(digits);
  return s.n === 1 ? f(s.median) : `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}

/** Per-run values of a lane, undefined where the run failed (so pairs stay aligned by run). */
function series(lane: LaneResult, pick: (r: RunRecord) => number | undefined): (number | undefined)[] {
  return lane.runs.map((r) => (ok(r) ? pick(r) : undefined));
}

function defined(xs: (number | undefined)[]): number[] {
  return xs.filter((x): x is number => x !== undefined);
}

export function laneSummary(w: WorkloadResult, lane: LaneResult) {
  const ref = lane.ref ? w.lanes.find((l) => l.id === lane.ref) : undefined;
  const wall = series(lane, (r) => r.wallMs);
  const cpu = series(lane, (r) => r.cpuMs);
  const sCpu = series(lane, (r) => r.serverCpuMs);
  return {
    okRuns: lane.runs.filter(ok).length,
    runs: lane.runs.length,
    wall: spread(defined(wall)),
    cpu: spread(defined(cpu)),
    rss: spread(defined(series(lane, (r) => r.maxRssKb))),
    serverCpu: spread(defined(sCpu)),
    serverRss: spread(defined(series(lane, (r) => r.serverPeakRssKb))),
    wallRatio: ref
      ? spread(
          pairRatios(
            wall,
            series(ref, (r) => r.wallMs),
          ),
        )
      : undefined,
    cpuRatio: ref
      ? spread(
          pairRatios(
            cpu,
            series(ref, (r) => r.cpuMs),
          ),
        )
      : undefined,
    serverCpuRatio:
      ref && ref.server !== lane.server
        ? spread(
            pairRatios(
              sCpu,
              series(ref, (r) => r.serverCpuMs),
            ),
          )
        : undefined,
  };
}

export function workloadTable(w: WorkloadResult): string {
  const warmups = w.lanes[0]?.warmup.length ?? 0;
  const head = [
    `### ${w.title}`,
    '',
    `${w.messages} messages, ${(w.wireOctets / 2 ** 20).toFixed(1)} MiB on the wire; ` +
      `${w.lanes[0]?.runs.length ?? 0} alternating runs per lane` +
      (warmups ? ` after ${warmups} warm-up round${warmups > 1 ? 's' : ''}` : '') +
      `; took ${Math.round(w.seconds)} s.`,
    '',
    '| lane | ok | wall s | × ref | CPU s | × ref | peak RSS MB | server CPU s | × ref | server peak RSS MB |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  const rows = w.lanes.map((lane) => {
    const s = laneSummary(w, lane);
    const hasRef = lane.ref !== undefined && w.lanes.some((l) => l.id === lane.ref);
    const ref = hasRef ? ` (vs ${lane.ref})` : ' (ref)';
    return (
      `| ${lane.id}${ref} | ${s.okRuns}/${s.runs} | ${fmt(s.wall, 2, 1000)} | ${fmt(s.wallRatio)} | ` +
      `${fmt(s.cpu, 2, 1000)} | ${fmt(s.cpuRatio)} | ${fmt(s.rss, 0, 1024)} | ${fmt(s.serverCpu, 2, 1000)} | ` +
      `${fmt(s.serverCpuRatio)} | ${fmt(s.serverRss, 0, 1024)} |`
    );
  });
  const failures = w.lanes.flatMap((l) =>
    l.runs.filter((r) => !ok(r)).map((r) => `- ${l.id} run ${r.run + 1}: ${r.problem}`),
  );
  return [
    ...head,
    ...rows,
    ...(failures.length ? ['', 'Failed runs (left out above):', ...failures] : []),
    ...(warmups ? ['', ...warmupLines(w)] : []),
  ].join('\n');
}

/**
 * The warm-up rounds, apart from the table: the first is the first session each server process
 * serves (ours compiles its hot paths then), a cost paid once per server start.
 */
function warmupLines(w: WorkloadResult): string[] {
  const s = (ms: number) => (ms / 1000).toFixed(2);
  return [
    'Warm-up (run first, checked, not in the table above):',
    ...w.lanes.flatMap((l) =>
      l.warmup.map(
        (r) =>
          `- ${l.id} warm-up ${r.run + 1}: ` +
          (r.problem
            ? `FAILED: ${r.problem}`
            : `wall ${s(r.wallMs)} s, CPU ${s(r.cpuMs)} s, server CPU ${s(r.serverCpuMs)} s`),
      ),
    ),
  ];
}

export function sessionsTable(e: SessionsResult): string {
  const mb = (kb: number | undefined) => (kb === undefined ? '–' : (kb / 1024).toFixed(0));
  return [
    `### (e) ${e.sessions} concurrent logged-in sessions on our server`,
    '',
    '| measure | value |',
    '|---|---|',
    `| sessions logged in / errors | ${e.ready} / ${e.loginErrors}${e.firstErrors.length ? ` (${e.firstErrors.join('; ')})` : ''} |`,
    `| time to log all in (${e.concurrency} logins at a time) | ${(e.loginMs / 1000).toFixed(1)} s |`,
    `| server RSS idle → with all sessions held | ${mb(e.serverRssIdleKb)} MB → ${mb(e.serverRssHeldKb)} MB |`,
    `| server RSS per held session | ${e.ready > 0 ? (((e.serverRssHeldKb - e.serverRssIdleKb) / e.ready) * 1.024).toFixed(1) : '–'} kB |`,
    `| server peak RSS over the whole workload | ${mb(e.serverPeakRssKb)} MB |`,
    `| server CPU to accept and log in all sessions | ${(e.serverLoginCpuMs / 1000).toFixed(2)} s |`,
    ...e.fetches.map(
      (f) =>
        `| ${f.lane} of workload a while they are held | ${f.problem ? `FAILED: ${f.problem}` : `${(f.wallMs / 1000).toFixed(2)} s wall, ${(f.cpuMs / 1000).toFixed(2)} s CPU, verified`} |`,
    ),
    `| sessions dropped while held / QUIT answered +OK | ${e.droppedWhileHeld} / ${e.quitOk} of ${e.ready} |`,
    `| warnings or errors in the server log | ${e.serverLogProblems} |`,
    `| open-files limit (server process) | ${e.openFilesLimit} |`,
  ].join('\n');
}

export function machineSection(m: Machine, transport: string, command: string): string {
  return [
    `Run on ${m.date} with \`${command}\` (transport: ${transport}).`,
    '',
    '| machine | |',
    '|---|---|',
    `| CPUs | ${m.cpus} × ${m.cpuModel} |`,
    `| memory | ${m.memoryGiB} GiB; Maildirs on tmpfs (/dev/shm) |`,
    `| kernel | ${m.kernel} |`,
    `| load average at start | ${m.loadAverage.join(', ')} (a shared machine) |`,
    `| node | ${m.node} |`,
    `| dovecot | ${m.dovecot} |`,
    `| mpop | ${m.mpop} |`,
    `| fetchmail | ${m.fetchmail} |`,
    `| python | ${m.python} |`,
    `| pop3kit | ${m.commit}${m.dirty.length ? ` + uncommitted changes in ${m.dirty.length} file(s) (${m.dirty.slice(0, 6).join(', ')}${m.dirty.length > 6 ? ', …' : ''})` : ''} |`,
    `| open files limit | ${m.openFilesLimit} |`,
  ].join('\n');
}

interface Target {
  text: string;
  status: 'met' | 'NOT met' | 'not measured';
  detail: string;
}

export function targets(results: WorkloadResult[], e: SessionsResult | undefined): Target[] {
  const find = (w: string, lane: string) => {
    const wr = results.find((r) => r.id === w);
    const lr = wr?.lanes.find((l) => l.id === lane);
    return wr && lr ? laneSummary(wr, lr) : undefined;
  };
  const out: Target[] = [];
  for (const w of ['a', 'b', 'c']) {
    const s = find(w, 'pop3-fetch@dovecot');
    const r = s?.wallRatio;
    out.push({
      text: `(${w}) pop3 fetch wall time ≤ 0.8 × mpop's`,
      status: !r ? 'not measured' : r.median <= 0.8 ? 'met' : 'NOT met',
      detail: r ? `median ratio ${fmt(r)}` : '',
    });
  }
  const d = find('d', 'pop3-fetch@dovecot');
  out.push({
    text: '(d) pop3 fetch peak RSS < 100 MB for one 1 GiB message',
    status: !d?.rss ? 'not measured' : d.rss.max / 1024 < 100 ? 'met' : 'NOT met',
    detail: d?.rss ? `peak RSS ${fmt(d.rss, 0, 1024)} MB (largest of the runs counts)` : '',
  });
  for (const w of ['a', 'b']) {
    const s = find(w, 'mpop@ours');
    // What no server could beat, beside it: mpop from the floor server over mpop from Dovecot.
    const floor = find(w, 'mpop@floor')?.wallRatio;
    out.push({
      text: `(${w}) mpop from our server no slower than from Dovecot`,
      status: !s?.wallRatio ? 'not measured' : s.wallRatio.median <= 1 ? 'met' : 'NOT met',
      detail: s?.wallRatio
        ? `median wall ratio ${fmt(s.wallRatio)}${floor ? `; from the floor server ${fmt(floor)}` : ''}`
        : '',
    });
    out.push({
      text: `(${w}) our server's CPU time ≤ Dovecot's (client mpop)`,
      status: !s?.serverCpuRatio ? 'not measured' : s.serverCpuRatio.median <= 1 ? 'met' : 'NOT met',
      detail: s?.serverCpuRatio ? `median server CPU ratio ${fmt(s.serverCpuRatio)}` : '',
    });
  }
  out.push({
    text: '(e) our server holds 5,000 sessions with no error',
    status: !e ? 'not measured' : e.sessions >= 5000 && e.errorsTotal === 0 ? 'met' : 'NOT met',
    detail: e ? `${e.ready}/${e.sessions} logged in, ${e.errorsTotal} error(s) in total` : '',
  });
  return out;
}

export function targetsTable(ts: Target[]): string {
  return [
    '| target | status | measured |',
    '|---|---|---|',
    ...ts.map((t) => `| ${t.text} | ${t.status} | ${t.detail} |`),
  ].join('\n');
}
