// Lock files created with O_EXCL: the Maildir session lock and the mbox dotlock.
// A lock holds "pid host time token". It is stale when its holder is a dead process on this
// host, or when it has not been refreshed (mtime) for staleMs. Holders refresh it on a timer.
// Breaking a stale lock happens under a short-lived second lock (`<path>.break`) and only
// after re-checking that the same lock file (inode and content) is still there and stale,
// so two breakers cannot remove a lock a third process has just taken. A breaker file follows
// the same rule (dead pid here, or old), so one left by a killed breaker blocks nobody.

import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { isCode } from './io.js';

export interface LockOptions {
  /** A lock not refreshed for this long counts as abandoned (default 5 minutes). */
  staleMs?: number;
  /** How long to keep trying while another live holder has it (default 0: one attempt). */
  waitMs?: number;
  /** Refresh period while held (default staleMs / 4). */
  refreshMs?: number;
}

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

function isStale(info: LockInfo, staleMs: number): boolean {
  if (Date.now() - info.mtimeMs > staleMs) return true;
  const [pidText, host] = info.content.split(' ');
  const pid = Number(pidText);
  return host === hostname() && /^\d+$/.test(pidText ?? '') && processIsDead(pid);
}

/** Same-file check before a removal: the file judged stale in `seen` has not been replaced since. */
function sameFile(now: LockInfo | null, seen: LockInfo): now is LockInfo {
  return now !== null && now.ino === seen.ino && now.content === seen.content;
}

async function tryCreate(path: string, content: string): Promise<boolean> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(path, 'wx', 0o600);
  } catch (err) {
    if (isCode(err, 'EEXIST')) return false;
    throw err;
  }
  try {
    await fh.writeFile(content);
  } finally {
    await fh.close();
  }
  return true;
}

/**
 * Remove `path` if it is still the very lock judged stale in `seen`. True when the caller may try
 * again at once (the lock was dealt with, or an abandoned breaker file was cleared); false when
 * another live breaker is busy.
 */
async function breakStale(path: string, seen: LockInfo, staleMs: number): Promise<boolean> {
  const breaker = `${path}.break`;
  if (!(await tryCreate(breaker, `${process.pid} ${hostname()} ${Date.now()}\n`))) {
    // Another breaker at work, or one killed at work: the latter is abandoned once its pid is dead.
    const b = await inspect(breaker);
    if (b === null) return true;
    if (!isStale(b, BREAKER_STALE_MS)) return false;
    if (sameFile(await inspect(breaker), b)) await fs.rm(breaker, { force: true });
    return true;
  }
  try {
    const now = await inspect(path);
    if (sameFile(now, seen) && isStale(now, staleMs)) await fs.rm(path, { force: true });
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
  const deadline = Date.now() + (opts.waitMs ?? 0);
  const token = randomBytes(8).toString('hex');
  const content = `${process.pid} ${hostname()} ${Date.now()} ${token}\n`;
  let delay = 10;
  let quickRetries = 0;
  for (;;) {
    if (await tryCreate(path, content)) return holdLock(path, content, opts.refreshMs ?? staleMs / 4);
    const seen = await inspect(path);
    // Gone since our attempt, or stale and just broken: try again at once (a bounded number of times).
    const retryNow = seen === null || (isStale(seen, staleMs) && (await breakStale(path, seen, staleMs)));
    if (retryNow && quickRetries++ < 20) continue;
    if (Date.now() >= deadline) return null;
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(1, deadline - Date.now()))));
    delay = Math.min(delay * 2, 200);
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
    },
  };
}
