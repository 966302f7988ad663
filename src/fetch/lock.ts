// One fetcher per account: an O_EXCL lock file holding the holder's pid (the mail store's lock
// files: a lock whose process is dead, or that was not refreshed for staleMs, is broken).

import { promises as fs } from 'node:fs';
import { acquireLockFile, type HeldLock } from '../mailstore/lock-file.js';
import { Pop3Error } from '../protocol/errors.js';

export type { HeldLock } from '../mailstore/lock-file.js';

/** Take the account lock or fail at once with a clear ESTATE error naming the holder's pid. */
export async function lockAccount(path: string, account: string, staleMs?: number): Promise<HeldLock> {
  const lock = await acquireLockFile(path, { waitMs: 0, ...(staleMs === undefined ? {} : { staleMs }) });
  if (lock) return lock;
  const holder = await fs.readFile(path, 'utf8').catch(() => '');
  const pid = /^(\d+) /.exec(holder)?.[1];
  throw new Pop3Error(
    `another fetch is already running for ${account}${pid ? ` (pid ${pid})` : ''}; lock file ${path}`,
    { code: 'ESTATE' },
  );
}
