// Spool files: a message written whole (and fsynced) into the state folder before it is handed
// on, so the next step works from complete, known bytes (the mbox append and its recovery; an
// MDA's stdin, which then cannot end early if the fetcher dies).
import { randomBytes } from 'node:crypto';
import { writeNewFileSynced } from '../../mailstore/io.js';

/** A fresh spool path under `prefix` (the account's spool prefix; compaction removes leftovers). */
export function spoolPath(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** Write `source` to a new file at `path` (0600) and fsync it; returns its size. Nothing is left on failure. */
export function writeSpool(path: string, source: AsyncIterable<Buffer>): Promise<number> {
  return writeNewFileSynced(path, source);
}
