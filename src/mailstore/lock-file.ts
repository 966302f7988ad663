// Lock files: the Maildir session lock, the mbox dotlock, the fetcher's account lock.
// A lock holds "pid host time token". It is written to a temp file (fsynced) and hard-linked
// into place, so it appears whole or not at all: EEXIST means another holder has it, and a
// process killed while creating it leaves no lock, only a temp file that later holders sweep.
// A lock is stale when its holder is a dead process on this host, or when it has not been
// refreshed (mtime) for staleMs; holders refresh it on a timer. An empty or foreign lock (no
// readable holder: an older pop3kit's, or another program's dotlock) is stale after
// unreadableStaleMs. Breaking a stale lock happens under a short-lived second lock
// (`<path>.break`) and only after re-checking that the same lock file (inode and content) is
// still there and stale, so two breakers cannot remove a lock a third process has just taken.
// A breaker file follows the same rule (dead pid here, or old), so one left by a killed breaker
// blocks nobody. Needs a file system with hard links (as NFS-safe dotlocks do).

import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { isCode, pathExists, writeNewFileSynced } from './io.js';

export interface LockOptions {
  /** A lock not refreshed for this long counts as abandoned (default 5 minutes). */
  staleMs?: number;
  /** How long to keep trying while another live holder has it (default 0: one attempt). */
  waitMs?: number;
  /** Refresh period while held (default staleMs / 4). */
  refreshMs?: number;
  /**
   * An empty or unparseable lock (no holder to check) counts as abandoned once this old (default
   * staleMs). Shorten it (PRIVATE_LOCK_UNREADABLE_STALE_MS) only for a lock no other program
   * takes: an mbox dotlock made by a mail client may well be empty and held.
   */
  unreadableStaleMs?: number;
  /**
   * Only pop3kit takes this lock: one naming this process (pid and host) that this process does not
   * hold was left by an earlier process that had the same pid (a container's PID 1 after a restart),
   * and is stale at once rather than after staleMs.
   */
  privateLock?: boolean;
}

/**
 * For a lock only pop3kit takes: an empty one is an older pop3kit's (which created the file and
 * wrote it in a second step), mid-write for microseconds, or left by a kill between the two.
 */
export const PRIVATE_LOCK_UNREADABLE_STALE_MS = 5_000;

export interface HeldLock {
  readonly path: string;
  /** Remove the lock if it is still ours. Idempotent. */
  release(): Promise<void>;
}

const DEFAULT_STALE_MS = 5 * 60_000;
/**
 * A breaker lock lives for microseconds; one older than this was left by a killed process (the
 * rule for a breaker whose pid cannot be checked: another host's, or a reused pid).
 */
const BREAKER_STALE_MS = 30_000;
/** A sweep for leftover temp files looks at this many directory entries at most (big mbox directories). */
const SWEEP_MAX_ENTRIES = 4096;

interface LockInfo {
  content: string;
  ino: number;
  mtimeMs: number;
}

async function inspect(path: string): Promise<LockInfo | null> {
  try {
    const fh = await fs.open(path, 'r');
    try {
      const st = await fh.stat();
      const buf = Buffer.alloc(256);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      return { content: buf.subarray(0, bytesRead).toString('utf8'), ino: st.ino, mtimeMs: st.mtimeMs };
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (isCode(err, 'ENOENT')) return null;
    throw err;
  }
}

/** True when pid names no live process here (EPERM means it lives under another user). */
export function processIsDead(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return isCode(err, 'ESRCH');
  }
}

/** The holder of a lock or breaker written here ("pid host time ..."); null for anything else. */
function holderOf(content: string): { pid: number; host: string } | null {
  const m = /^(\d{1,10}) (\S+) \d+/.exec(content);
  return m ? { pid: Number(m[1]), host: m[2]! } : null;
}

/**
 * Contents of the private locks this process holds or is taking (see LockOptions.privateLock); on
 * globalThis, so two copies of this module in one process (a bundle beside the library) share it.
 */
const HELD_KEY = Symbol.for('pop3kit.heldPrivateLocks');
const shared = globalThis as Record<symbol, Set<string> | undefined>;
shared[HELD_KEY] ??= new Set<string>();
const heldHere: Set<string> = shared[HELD_KEY];

function isStale(info: LockInfo, staleMs: number, unreadableStaleMs: number, privateLock = false): boolean {
  const age = Date.now() - info.mtimeMs;
  if (age > staleMs) return true;
  const holder = holderOf(info.content);
  if (holder === null) return age > unreadableStaleMs;
  if (holder.host !== hostname()) return false;
  // Our pid is alive (it is us): only our own record tells whether we hold this lock.
  if (privateLock && holder.pid === process.pid) return !heldHere.has(info.content);
  return processIsDead(holder.pid);
}

/** Same-file check before a removal: the file judged stale in `seen` has not been replaced since. */
function sameFile(now: LockInfo | null, seen: LockInfo): now is LockInfo {
  return now !== null && now.ino === seen.ino && now.content === seen.content;
}

/** A short tag of this host's name: temp names tell our own leftovers from another host's. */
function hostTag(): string {
  return createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
}

/** `<lock>.<host tag>.<pid>.<random>.tmp`: where a lock (or breaker) is written before it is linked. */
export function lockTempPath(path: string, pid = process.pid): string {
  return `${path}.${hostTag()}.${pid}.${randomBytes(6).toString('hex')}.tmp`;
}

const TEMP_NAME = /^(?:break\.)?([0-9a-f]{8})\.(\d{1,10})\.[0-9a-f]{12}\.tmp$/;

/** Create `path` holding `content`, whole or not at all; false when it already exists. */
async function tryCreate(path: string, content: string): Promise<boolean> {
  // A cheap look first, so that waiting on a held lock does not write and fsync a file per attempt.
  if (await pathExists(path)) return false;
  const tmp = lockTempPath(path);
  await writeNewFileSynced(tmp, Buffer.from(content, 'utf8'));
  try {
    await fs.link(tmp, path);
    return true;
  } catch (err) {
    if (!isCode(err, 'EEXIST')) throw err;
    // NFS may answer a retransmitted LINK with EEXIST although it worked: then the temp has two links.
    return (await fs.stat(tmp)).nlink === 2;
  } finally {
    await fs.rm(tmp, { force: true }).catch(() => {});
  }
}

/**
 * Remove temp files of `path` (and of its breaker) that a process killed between writing and
 * linking left: this host's with a dead pid at once, any other once older than staleMs.
 */
async function sweepTemps(path: string, staleMs: number): Promise<void> {
  const dir = dirname(path);
  const prefix = `${basename(path)}.`;
  const tag = hostTag();
  let looked = 0;
  for await (const entry of await fs.opendir(dir)) {
    if (++looked > SWEEP_MAX_ENTRIES) break;
    const m = entry.name.startsWith(prefix) ? TEMP_NAME.exec(entry.name.slice(prefix.length)) : null;
    if (!m) continue;
    const pid = Number(m[2]);
    const file = join(dir, entry.name);
    const deadHere = m[1] === tag && pid !== process.pid && processIsDead(pid);
    if (deadHere || Date.now() - (await fs.lstat(file)).mtimeMs > staleMs) await fs.rm(file, { force: true });
  }
}

/**
 * Remove `path` if it is still the very lock judged stale in `seen`. True when the caller may try
 * again at once (the lock was dealt with, or an abandoned breaker file was cleared); false when
 * another live breaker is busy.
 */
async function breakStale(
  path: string,
  seen: LockInfo,
  staleMs: number,
  unreadableStaleMs: number,
  privateLock: boolean,
): Promise<boolean> {
  const breaker = `${path}.break`;
  if (!(await tryCreate(breaker, `${process.pid} ${hostname()} ${Date.now()}\n`))) {
    // Another breaker at work, or one killed at work: the latter is abandoned once its pid is dead.
    const b = await inspect(breaker);
    if (b === null) return true;
    if (!isStale(b, BREAKER_STALE_MS, PRIVATE_LOCK_UNREADABLE_STALE_MS)) return false;
    if (sameFile(await inspect(breaker), b)) await fs.rm(breaker, { force: true });
    return true;
  }
  try {
    const now = await inspect(path);
    if (sameFile(now, seen) && isStale(now, staleMs, unreadableStaleMs, privateLock))
      await fs.rm(path, { force: true });
    return true;
  } finally {
    await fs.rm(breaker, { force: true });
  }
}

/**
 * Take the lock at `path`, or return null when a live holder keeps it past `waitMs`.
 * Errors other than "someone else has it" (no such directory, permissions) are thrown.
 */
export async function acquireLockFile(path: string, opts: LockOptions = {}): Promise<HeldLock | null> {
  const staleMs = opts.staleMs ?? DEFAULT_STALE_MS;
  const unreadableStaleMs = opts.unreadableStaleMs ?? staleMs;
  const deadline = Date.now() + (opts.waitMs ?? 0);
  const token = randomBytes(8).toString('hex');
  const content = `${process.pid} ${hostname()} ${Date.now()} ${token}\n`;
  const privateLock = opts.privateLock ?? false;
  // Recorded before the file can exist, so another acquirer in this process never takes it as stale.
  if (privateLock) heldHere.add(content);
  let delay = 10;
  let quickRetries = 0;
  try {
    for (;;) {
      if (await tryCreate(path, content)) {
        await sweepTemps(path, staleMs).catch(() => {}); // only tidies: never worth failing the lock for
        return holdLock(path, content, opts.refreshMs ?? staleMs / 4);
      }
      const seen = await inspect(path);
      // Gone since our attempt, or stale and just broken: try again at once (a bounded number of times).
      const retryNow =
        seen === null ||
        (isStale(seen, staleMs, unreadableStaleMs, privateLock) &&
          (await breakStale(path, seen, staleMs, unreadableStaleMs, privateLock)));
      if (retryNow && quickRetries++ < 20) continue;
      if (Date.now() >= deadline) {
        heldHere.delete(content);
        return null;
      }
      await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(1, deadline - Date.now()))));
      delay = Math.min(delay * 2, 200);
    }
  } catch (err) {
    heldHere.delete(content);
    throw err;
  }
}

function holdLock(path: string, content: string, refreshMs: number): HeldLock {
  let released = false;
  const timer = setInterval(
    () => {
      const now = new Date();
      fs.utimes(path, now, now).catch(() => {});
    },
    Math.max(100, refreshMs),
  );
  timer.unref();
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      const now = await inspect(path).catch(() => null);
      // Someone broke it as stale and took it: it is theirs now, leave it.
      if (now?.content === content) await fs.rm(path, { force: true });
      heldHere.delete(content);
    },
  };
}
