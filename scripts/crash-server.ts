// Crash test for the server: our Pop3Server runs in a child process over a MaildirStore and is
// SIGKILLed at random moments while our client runs sessions that DELE random messages and QUIT
// (half the kills at a random time, half a random few hundred microseconds after a QUIT went out,
// to land inside UPDATE). After every kill, with the server dead, the Maildirs are checked against
// a ledger of what the sessions were told:
// - every message not named by a QUIT is still there, byte for byte (none lost, none changed);
// - every message named by a QUIT that got +OK is gone (and stays gone);
// - a QUIT whose +OK was not seen may have removed any part of its own set, nothing else;
// - no file appears that was never delivered; a stale lock never blocks the next run ([IN-USE]).
// At the end one clean session per user must list exactly the surviving messages, byte-identical.
//
//   node --import tsx scripts/crash-server.ts [--runs 50] [--seed N] [--users 3] [--keep-dir]
import { type ChildProcess, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pop3Client } from '../src/client/client.js';
import { LOCK_FILE, MaildirStore } from '../src/mailstore/maildir-store.js';
import { SIZE_CACHE_FILE } from '../src/mailstore/size-cache.js';
import type { MailStore } from '../src/mailstore/types.js';
import { Pop3Error } from '../src/protocol/errors.js';
import { Pop3Server } from '../src/server/server.js';
import { generateMessages, toWireForm, writeMaildir } from '../test/fixtures/mail-generator.js';

const PASS = 'crash-test-password';
const SCRIPT = fileURLToPath(import.meta.url);
const REPO = resolve(SCRIPT, '../..');
const STARTUP_TIMEOUT_MS = 30_000;

export interface CrashOptions {
  runs: number;
  seed?: number;
  /** Users (Maildirs), each driven by its own sequence of sessions. Default 3. */
  users?: number;
  /** Messages each Maildir is topped up to before every run. Default 60. */
  mailboxSize?: number;
  /** Folder for the store (default: a new temporary folder, removed at the end unless keepDir). */
  dir?: string;
  keepDir?: boolean;
  log?: (line: string) => void;
  /**
   * Self-check of the checker: 'extra-delete' makes the server's store also remove one message the
   * QUIT did not name, which the run must report as a violation.
   */
  fault?: 'extra-delete';
}

export interface CrashReport {
  runs: number;
  seed: number;
  killsTimed: number;
  killsAfterQuit: number;
  /** What each user's session was doing at the kill: phase -> count. */
  phaseAtKill: Record<string, number>;
  sessions: number;
  quitConfirmed: number;
  deletedConfirmed: number;
  droppedWithoutQuit: number;
  quitUnanswered: number;
  unansweredRemovedAll: number;
  unansweredRemovedNone: number;
  unansweredRemovedPart: number;
  retrChecked: number;
  staleLocksAfterKill: number;
  breakerFilesAfterKill: number;
  /** After the final clean session: size-cache temp files that kills left (nothing sweeps them). */
  leftoverSizeCacheTemps: number;
  /** After the final clean session: lock temp files and breaker files still in the Maildirs. */
  leftoverLockFiles: number;
  inUseRefusals: number;
  finalMessages: number;
  violations: string[];
}

type Phase = 'idle' | 'connect' | 'uidl' | 'retr' | 'dele' | 'quit';

interface Box {
  user: string;
  dir: string;
  /** uid -> stored bytes of every message that should be in the Maildir. */
  live: Map<string, Buffer>;
  /** uids removed by a QUIT that got +OK (or found removed after an unanswered one). */
  gone: Set<string>;
  /** For each QUIT whose +OK was not seen since the last check: the uids it named. */
  unanswered: string[][];
  nextIndex: number;
  phase: Phase;
  /** A stale lock refused a login in this run (reported once per run). */
  blocked: boolean;
}

interface Run {
  port: number;
  killed: boolean;
  stopped: boolean;
  onQuitSent: () => void;
}

/** mulberry32: reproducible choices for a seed (kill timing still depends on the machine). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

// ---- the server child ------------------------------------------------------------------------

/** A store whose commit also removes the first message that was not marked (for the self-check). */
function extraDeleteStore(inner: MailStore): MailStore {
  return {
    async openMailbox(user) {
      const box = await inner.openMailbox(user);
      const commit = (deleted: readonly string[]) => {
        const extra = box.messages.find((m) => !deleted.includes(m.uid));
        return box.commit(extra ? [...deleted, extra.uid] : deleted);
      };
      return { messages: box.messages, open: (uid) => box.open(uid), commit, release: () => box.release() };
    },
  };
}

async function childMain(root: string, fault: string | undefined): Promise<void> {
  const maildirs = new MaildirStore({ root });
  const server = new Pop3Server({
    store: fault === 'extra-delete' ? extraDeleteStore(maildirs) : maildirs,
    authenticate: ({ pass }) => pass === PASS,
    allowInsecureAuth: true,
    limits: { failedLoginDelayMs: 0 },
  });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  // The parent holds our stdin: when it goes away, so do we (no orphaned servers).
  process.stdin.on('end', () => process.exit(0)).resume();
}

async function startServer(root: string, fault?: string): Promise<{ child: ChildProcess; port: number }> {
  const args = ['--import', 'tsx', SCRIPT, '--child', root, ...(fault ? [fault] : [])];
  const child = spawn(process.execPath, args, {
    cwd: REPO,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < 16_384) stderr += d.toString('utf8');
  });
  return new Promise((resolvePort, reject) => {
    let out = '';
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`server child ${why}\n${stderr}`));
    };
    const timer = setTimeout(() => fail('did not start in time'), STARTUP_TIMEOUT_MS);
    child.once('exit', (code, signal) => fail(`exited early (${code ?? signal})`));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolvePort({ child, port: (JSON.parse(line) as { port: number }).port });
      }
    });
  });
}

function killNow(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGKILL');
  return exited;
}

// ---- mail and ledger -------------------------------------------------------------------------

async function topUp(box: Box, target: number, rand: () => number, withEdgeCases: boolean): Promise<void> {
  const count = target - box.live.size;
  if (count <= 0) return;
  const msgs = withEdgeCases
    ? generateMessages({ preset: 'mixed', smallCount: Math.max(0, count - 15) })
    : generateMessages({
        preset: 'sized',
        count,
        size: 512 + Math.floor(rand() * 16_000),
        lineEnding: rand() < 0.3 ? 'crlf' : 'lf',
        seed: Math.floor(rand() * 2 ** 31),
      });
  const written = await writeMaildir(box.dir, msgs, {
    folder: rand() < 0.5 ? 'new' : 'cur',
    firstIndex: box.nextIndex,
  });
  box.nextIndex += msgs.length;
  for (const [i, w] of written.entries()) box.live.set(w.uid, msgs[i]!.bytes);
}

/** Maildir base name -> bytes, for new/ and cur/; a base present twice is a violation. */
async function readMaildir(box: Box, violations: string[]): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const sub of ['new', 'cur']) {
    for (const name of await fs.readdir(join(box.dir, sub))) {
      const uid = name.split(':')[0]!;
      if (files.has(uid)) violations.push(`${box.user}: ${uid} present twice`);
      files.set(uid, await fs.readFile(join(box.dir, sub, name)));
    }
  }
  return files;
}

/** What a lock file and its breaker say, for reports: content shape and whether the pid lives. */
async function describeLock(dir: string): Promise<string> {
  const describe = async (name: string) => {
    const text = await fs.readFile(join(dir, name), 'utf8').catch(() => null);
    if (text === null) return `no ${name}`;
    const pid = Number(text.split(' ')[0]);
    if (text === '' || !Number.isSafeInteger(pid) || pid <= 0) return `${name} holds ${JSON.stringify(text)}`;
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    return `${name} of ${alive ? 'live' : 'dead'} pid ${pid}`;
  };
  return `${await describe(LOCK_FILE)}, ${await describe(`${LOCK_FILE}.break`)}`;
}

/** The checks after a kill (server dead). Resolves unanswered QUITs into the ledger. */
async function checkAfterKill(box: Box, report: CrashReport): Promise<void> {
  const v = report.violations;
  const files = await readMaildir(box, v);
  for (const [uid, bytes] of files) {
    const want = box.live.get(uid);
    if (box.gone.has(uid)) v.push(`${box.user}: ${uid} was removed by a completed QUIT but is back`);
    else if (!want) v.push(`${box.user}: unknown file ${uid}`);
    else if (!bytes.equals(want)) v.push(`${box.user}: ${uid} changed on disk`);
  }
  const inDoubt = new Set(box.unanswered.flat());
  for (const uid of box.live.keys()) {
    if (!files.has(uid) && !inDoubt.has(uid)) v.push(`${box.user}: ${uid} lost (no QUIT named it)`);
  }
  for (const set of box.unanswered) {
    const removed = set.filter((uid) => !files.has(uid));
    if (removed.length === 0) report.unansweredRemovedNone++;
    else if (removed.length === set.length) report.unansweredRemovedAll++;
    else report.unansweredRemovedPart++;
    for (const uid of removed) {
      box.live.delete(uid);
      box.gone.add(uid);
    }
  }
  box.unanswered = [];
  const names = await fs.readdir(box.dir);
  if (names.includes(LOCK_FILE)) report.staleLocksAfterKill++;
  if (names.includes(`${LOCK_FILE}.break`)) report.breakerFilesAfterKill++;
}

// ---- the client side -------------------------------------------------------------------------

/**
 * A session this harness dropped (close() without QUIT) holds its lock until the server has seen
 * the close, so the next login may meet [IN-USE] for a moment: retry for up to 2 s. A lock left
 * by a killed server is broken at once by the next one (its pid is dead), so a refusal that
 * outlasts this is the stale lock the test hunts.
 */
async function connectPatiently(box: Box, port: number): Promise<Pop3Client> {
  for (let tries = 1; ; tries++) {
    try {
      return await connect(box, port);
    } catch (err) {
      if (!(err instanceof Pop3Error && err.responseCode === 'IN-USE') || tries >= 20) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function connect(box: Box, port: number): Promise<Pop3Client> {
  return Pop3Client.connect({
    host: '127.0.0.1',
    port,
    tls: 'none',
    allowInsecureAuth: true,
    auth: { user: box.user, pass: PASS, mechanism: 'USER' },
    timeouts: { connect: 5000, greeting: 5000, command: 10_000, idle: 10_000 },
  });
}

/** One session: UIDL, maybe RETR one (checked), DELE a few (maybe RSET, maybe drop), QUIT. */
async function session(box: Box, run: Run, rand: () => number, report: CrashReport): Promise<void> {
  const v = report.violations;
  box.phase = 'connect';
  let client: Pop3Client;
  try {
    client = await connectPatiently(box, run.port);
  } catch (err) {
    if (err instanceof Pop3Error && err.responseCode === 'IN-USE') {
      // No other session of this user exists, so a lock left by a killed server is in the way.
      report.inUseRefusals++;
      if (!box.blocked)
        v.push(`${box.user}: login refused [IN-USE] by a stale lock: ${await describeLock(box.dir)}`);
      box.blocked = true;
      await new Promise((r) => setTimeout(r, 100));
    } else if (!run.killed) v.push(`${box.user}: login failed while the server was up: ${String(err)}`);
    return;
  }
  report.sessions++;
  try {
    box.phase = 'uidl';
    const list = await client.uidl();
    for (const { uid } of list) if (!box.live.has(uid)) v.push(`${box.user}: UIDL lists unknown ${uid}`);
    if (list.length !== box.live.size)
      v.push(`${box.user}: UIDL lists ${list.length}, ledger ${box.live.size}`);
    if (list.length === 0) return client.close();
    if (rand() < 0.4) {
      box.phase = 'retr';
      const m = list[Math.floor(rand() * list.length)]!;
      const body = await client.retrBuffer(m.n);
      if (!body.equals(toWireForm(box.live.get(m.uid)!))) v.push(`${box.user}: RETR of ${m.uid} differs`);
      report.retrChecked++;
    }
    box.phase = 'dele';
    const pool = [...list];
    let chosen = Array.from({ length: 1 + Math.floor(rand() * Math.min(8, pool.length)) }, () =>
      pool.splice(Math.floor(rand() * pool.length), 1),
    ).flat();
    await Promise.all(chosen.map((m) => client.dele(m.n)));
    if (rand() < 0.15) {
      await client.rset();
      chosen = chosen.slice(0, Math.ceil(chosen.length / 2));
      await Promise.all(chosen.map((m) => client.dele(m.n)));
    }
    if (rand() < 0.1) {
      report.droppedWithoutQuit++; // nothing may be removed: checked like any unnamed message
      return client.close();
    }
    box.phase = 'quit';
    const named = chosen.map((m) => m.uid);
    const quitting = client.quit();
    run.onQuitSent();
    try {
      await quitting;
      report.quitConfirmed++;
      report.deletedConfirmed += named.length;
      for (const uid of named) {
        box.live.delete(uid);
        box.gone.add(uid);
      }
    } catch {
      report.quitUnanswered++;
      box.unanswered.push(named);
    }
  } catch (err) {
    if (!run.killed) v.push(`${box.user}: session failed while the server was up: ${String(err)}`);
    client.close();
  } finally {
    box.phase = 'idle';
  }
}

async function drive(box: Box, run: Run, rand: () => number, report: CrashReport): Promise<void> {
  while (!run.stopped) await session(box, run, rand, report);
}

// ---- one run, and the whole test -------------------------------------------------------------

async function oneRun(
  root: string,
  boxes: Box[],
  rand: () => number,
  report: CrashReport,
  fault: string | undefined,
): Promise<void> {
  const { child, port } = await startServer(root, fault);
  for (const b of boxes) b.blocked = false;
  const afterQuit = rand() < 0.5;
  const run: Run = { port, killed: false, stopped: false, onQuitSent: () => {} };
  let kill!: () => void;
  const killed = new Promise<void>((r) => {
    kill = () => {
      if (run.killed) return;
      run.killed = true;
      child.kill('SIGKILL'); // first, synchronously: the phases below are those at the kill
      for (const b of boxes) report.phaseAtKill[b.phase] = (report.phaseAtKill[b.phase] ?? 0) + 1;
      r();
    };
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let timer: NodeJS.Timeout;
  if (afterQuit) {
    report.killsAfterQuit++;
    let quitsLeft = 1 + Math.floor(rand() * 12);
    run.onQuitSent = () => {
      if (--quitsLeft !== 0) return;
      // Spin, not a timer, so the kill lands within microseconds: QUIT, UPDATE and +OK take ~1 ms.
      const until = process.hrtime.bigint() + BigInt(Math.floor(rand() * 1500)) * 1000n;
      while (process.hrtime.bigint() < until);
      kill();
    };
    timer = setTimeout(kill, 5000); // a backstop; sessions send QUITs far sooner
  } else {
    report.killsTimed++;
    timer = setTimeout(kill, Math.floor(rand() * 1200));
  }
  const drivers = boxes.map((b) => drive(b, run, rand, report));
  await killed;
  clearTimeout(timer);
  await exited;
  run.stopped = true;
  await Promise.all(drivers);
  for (const b of boxes) await checkAfterKill(b, report);
}

/** One clean session per user with a fresh server: exactly the surviving messages, byte-identical. */
async function finalCheck(root: string, boxes: Box[], report: CrashReport): Promise<void> {
  const v = report.violations;
  const { child, port } = await startServer(root);
  try {
    for (const box of boxes) {
      try {
        const client = await connect(box, port);
        const list = await client.uidl();
        const listed = new Set(list.map((m) => m.uid));
        for (const uid of box.live.keys()) if (!listed.has(uid)) v.push(`final: ${uid} missing`);
        for (const m of list) {
          const want = box.live.get(m.uid);
          if (!want) v.push(`final: unknown ${m.uid}`);
          else if (!(await client.retrBuffer(m.n)).equals(toWireForm(want)))
            v.push(`final: ${m.uid} differs`);
          else report.finalMessages++;
        }
        await client.quit();
      } catch (err) {
        v.push(`final: ${box.user}: ${String(err)}; ${await describeLock(box.dir)}`);
      }
    }
  } finally {
    await killNow(child);
  }
}

export async function runServerCrash(opts: CrashOptions): Promise<CrashReport> {
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  const rand = rng(seed);
  const log = opts.log ?? (() => {});
  const root = opts.dir ?? (await fs.mkdtemp(join(tmpdir(), 'pop3kit-server-crash-')));
  const report: CrashReport = {
    runs: 0,
    seed,
    killsTimed: 0,
    killsAfterQuit: 0,
    phaseAtKill: {},
    sessions: 0,
    quitConfirmed: 0,
    deletedConfirmed: 0,
    droppedWithoutQuit: 0,
    quitUnanswered: 0,
    unansweredRemovedAll: 0,
    unansweredRemovedNone: 0,
    unansweredRemovedPart: 0,
    retrChecked: 0,
    staleLocksAfterKill: 0,
    breakerFilesAfterKill: 0,
    leftoverSizeCacheTemps: 0,
    leftoverLockFiles: 0,
    inUseRefusals: 0,
    finalMessages: 0,
    violations: [],
  };
  const boxes: Box[] = Array.from({ length: opts.users ?? 3 }, (_, i) => ({
    user: `user${i + 1}`,
    dir: join(root, `user${i + 1}`),
    live: new Map(),
    gone: new Set(),
    unanswered: [],
    nextIndex: 0,
    phase: 'idle',
    blocked: false,
  }));
  try {
    for (const [i, box] of boxes.entries()) await topUp(box, opts.mailboxSize ?? 60, rand, i === 0);
    for (let r = 0; r < opts.runs; r++) {
      for (const box of boxes) await topUp(box, opts.mailboxSize ?? 60, rand, false);
      const before = report.violations.length;
      await oneRun(root, boxes, rand, report, opts.fault);
      report.runs++;
      log(
        `run ${r + 1}/${opts.runs}: ${report.sessions} sessions so far, ` +
          `violations ${before}->${report.violations.length}`,
      );
    }
    // Sessions may have emptied a mailbox in the last run; new mail makes the final check bite.
    for (const box of boxes) await topUp(box, opts.mailboxSize ?? 60, rand, false);
    await finalCheck(root, boxes, report);
    for (const box of boxes) {
      const names = await fs.readdir(box.dir);
      report.leftoverSizeCacheTemps += names.filter((n) => n.startsWith(`${SIZE_CACHE_FILE}.`)).length;
      report.leftoverLockFiles += names.filter((n) => n.startsWith(`${LOCK_FILE}.`)).length;
    }
  } finally {
    if (!opts.dir && !opts.keepDir) await fs.rm(root, { recursive: true, force: true });
    else log(`store kept in ${root}`);
  }
  return report;
}

export function formatReport(r: CrashReport): string {
  const phases = Object.entries(r.phaseAtKill)
    .map(([p, n]) => `${p} ${n}`)
    .join(', ');
  const v = r.violations;
  return [
    `server crash test: ${r.runs} SIGKILLs (seed ${r.seed}): ` +
      `${r.killsTimed} at a random time, ${r.killsAfterQuit} just after a QUIT`,
    `  session phase at the kill (per user): ${phases}`,
    `  sessions ${r.sessions}; RETRs checked ${r.retrChecked}; dropped without QUIT ${r.droppedWithoutQuit}`,
    `  QUIT +OK ${r.quitConfirmed} (${r.deletedConfirmed} messages deleted)`,
    `  QUIT unanswered ${r.quitUnanswered}: removed all ${r.unansweredRemovedAll}, ` +
      `none ${r.unansweredRemovedNone}, part ${r.unansweredRemovedPart}`,
    `  stale locks left by kills ${r.staleLocksAfterKill}, breaker files ${r.breakerFilesAfterKill}; ` +
      `[IN-USE] refusals ${r.inUseRefusals}`,
    `  left in the Maildirs: size-cache temp files ${r.leftoverSizeCacheTemps}, ` +
      `lock temp/breaker files ${r.leftoverLockFiles}; ` +
      `final check: ${r.finalMessages} messages listed and byte-identical`,
    `  violations ${v.length}${v.length ? `:\n    ${v.slice(0, 50).join('\n    ')}` : ''}`,
  ].join('\n');
}

function argValue(argv: string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === '--child') {
    await childMain(argv[1]!, argv[2]);
    return -1; // keeps running until killed
  }
  const runs = Number(argValue(argv, '--runs') ?? 50);
  const seedArg = argValue(argv, '--seed');
  const users = Number(argValue(argv, '--users') ?? 3);
  if (!Number.isSafeInteger(runs) || runs < 1 || !Number.isSafeInteger(users) || users < 1) {
    throw new Error('--runs and --users need positive integers');
  }
  const report = await runServerCrash({
    runs,
    users,
    seed: seedArg === undefined ? undefined : Number(seedArg),
    keepDir: argv.includes('--keep-dir'),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${formatReport(report)}\n`);
  return report.violations.length === 0 ? 0 : 1;
}

if (process.argv[1] && resolve(process.argv[1]) === SCRIPT) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exit(code);
    },
    (err: unknown) => {
      process.stderr.write(`crash-server: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(2);
    },
  );
}
