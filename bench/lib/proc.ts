// Server-side accounting from /proc (Linux): CPU time of a process tree and peak RSS of one process.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux this runs on. */
const TICK_MS = 10;

interface StatFields {
  ppid: number;
  /** utime + stime + cutime + cstime, in ticks: the process and the children it has reaped. */
  ticks: number;
}

function readStat(pid: number): StatFields | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised name, which may hold spaces: state ppid ... utime(14) stime cutime cstime.
    const f = line.slice(line.lastIndexOf(')') + 2).split(' ');
    const n = (i: number) => Number(f[i - 3]);
    return { ppid: n(4), ticks: n(14) + n(15) + n(16) + n(17) };
  } catch {
    return undefined; // ended while we looked
  }
}

/**
 * CPU time (ms) used so far by `root` and all its descendants, including descendants that have
 * exited and were reaped inside the tree (Dovecot forks a pop3 process per session; its time lands
 * in the master's cutime when it ends). Take the difference of two readings.
 */
export function treeCpuMs(root: number): number {
  const all = new Map<number, StatFields>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const st = readStat(Number(entry));
    if (st) all.set(Number(entry), st);
  }
  const children = new Map<number, number[]>();
  for (const [pid, st] of all) {
    const list = children.get(st.ppid) ?? [];
    list.push(pid);
    children.set(st.ppid, list);
  }
  let ticks = 0;
  const stack = [root];
  const seen = new Set<number>();
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    ticks += all.get(pid)?.ticks ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return ticks * TICK_MS;
}

function statusField(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  if (!m) throw new Error(`no ${field} for pid ${pid}`);
  return Number(m[1]);
}

/** Peak resident set (KiB) since start or since the last resetPeakRss(). */
export function peakRssKb(pid: number): number {
  return statusField(pid, 'VmHWM');
}

export function rssKb(pid: number): number {
  return statusField(pid, 'VmRSS');
}

/** Resets VmHWM to the current RSS (Linux >= 4.0; needs to own the process or be root). */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * CPU time (ms) of the threads of `pid`: the main (event loop) thread apart, the others summed by
 * name (Node 20 leaves libuv's threadpool and V8's helper threads all named `node`).
 */
export function threadCpuMs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const name = Number(tid) === pid ? 'main thread (event loop, JS)' : `other threads named ${comm}`;
      const line = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = line.slice(line.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(f[11]) + Number(f[12]); // utime, stime
      out.set(name, (out.get(name) ?? 0) + ticks * TICK_MS);
    } catch {
      // thread ended
    }
  }
  return out;
}
