// One fetcher per account: a lock file holding the holder's pid (the mail store's lock files: a
// lock whose process is dead, or that was not refreshed for staleMs, is broken).

import { promises as fs } from 'node:fs';
import { acquireLockFile, type HeldLock, PRIVATE_LOCK_UNREADABLE_STALE_MS } from '../mailstore/lock-file.js';
import { Pop3Error } from '../protocol/errors.js';

export type { HeldLock } from '../mailstore/lock-file.js';

/**
 * Take the account lock or fail at once with a clear ESTATE error naming the holder's pid. A lock
 * or breaker file left by a killed fetcher is broken at once (its pid is dead).
 */
export async function lockAccount(path: string, account: string, staleMs?: number): Promise<HeldLock> {
  // Only pop3kit takes this lock: an empty one is an older version's, killed while creating it.
  const lock = await acquireLockFile(path, {
    waitMs: 0,
    unreadableStaleMs: PRIVATE_LOCK_UNREADABLE_STALE_MS,
    ...(staleMs === undefined ? {} : { staleMs }),
  });
  if (lock) return lock;
  const pid = /^(\d+) /.exec(await fs.readFile(path, 'utf8').catch(() => ''))?.[1];
  throw new Pop3Error(
    `another fetch is already running for ${account}${pid ? ` (pid ${pid})` : ''}; lock file ${path}`,
    { code: 'ESTATE' },
  );
}
