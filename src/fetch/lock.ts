// One fetcher per account: an O_EXCL lock file holding the holder's pid (the mail store's lock
// files: a lock whose process is dead, or that was not refreshed for staleMs, is broken).

import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { acquireLockFile, type HeldLock, processIsDead } from '../mailstore/lock-file.js';
import { Pop3Error } from '../protocol/errors.js';

export type { HeldLock } from '../mailstore/lock-file.js';

/**
 * A held lock is refreshed every staleMs/4; one untouched for this long is abandoned (it matters
 * only for a lock without a readable live pid, e.g. one whose writer was killed mid-creation).
 */
const STALE_MS = 2 * 60_000;
/**
 * When the holder is dead but the lock could not be broken at once, another process was killed
 * while breaking it and left its short-lived breaker file, which the mail store's lock code takes
 * as abandoned after 30 s. Waiting that out is slower but never wrong.
 */
const DEAD_HOLDER_WAIT_MS = 35_000;

/** Take the account lock or fail at once with a clear ESTATE error naming the holder's pid. */
export async function lockAccount(path: string, account: string, staleMs = STALE_MS): Promise<HeldLock> {
  const lock =
    (await acquireLockFile(path, { waitMs: 0, staleMs })) ??
    ((await holderIsDead(path))
      ? await acquireLockFile(path, { waitMs: DEAD_HOLDER_WAIT_MS, staleMs })
      : null);
  if (lock) return lock;
  const pid = /^(\d+) /.exec(await fs.readFile(path, 'utf8').catch(() => ''))?.[1];
  throw new Pop3Error(
    `another fetch is already running for ${account}${pid ? ` (pid ${pid})` : ''}; lock file ${path}`,
    { code: 'ESTATE' },
  );
}

async function holderIsDead(path: string): Promise<boolean> {
  const content = await fs.readFile(path, 'utf8').catch(() => '');
  const [pid, host] = content.split(' ');
  return host === hostname() && /^\d+$/.test(pid ?? '') && processIsDead(Number(pid));
}
