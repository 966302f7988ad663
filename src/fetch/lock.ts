// One fetcher per account: an O_EXCL lock file holding the holder's pid (the mail store's lock
// files: a lock whose process is dead, or that was not refreshed for staleMs, is broken).

import { promises as fs } from 'node:fs';
import { acquireLockFile, type HeldLock } from '../mailstore/lock-file.js';
import { Pop3Error } from '../protocol/errors.js';

export type { HeldLock } from '../mailstore/lock-file.js';

/**
 * A held lock is refreshed every staleMs/4; one untouched for this long is abandoned (it matters
 * only for a lock without a readable live pid, e.g. one whose writer was killed mid-creation).
 */
const STALE_MS = 2 * 60_000;

/**
 * Take the account lock or fail at once with a clear ESTATE error naming the holder's pid. A lock
 * or breaker file left by a killed fetcher is broken at once (its pid is dead).
 */
export async function lockAccount(path: string, account: string, staleMs = STALE_MS): Promise<HeldLock> {
  const lock = await acquireLockFile(path, { waitMs: 0, staleMs });
  if (lock) return lock;
  const pid = /^(\d+) /.exec(await fs.readFile(path, 'utf8').catch(() => ''))?.[1];
  throw new Pop3Error(
    `another fetch is already running for ${account}${pid ? ` (pid ${pid})` : ''}; lock file ${path}`,
    { code: 'ESTATE' },
  );
}
