// Spool files: a message written whole (and fsynced) into the state folder before it is handed
// on, so the next step works from complete, known bytes (the mbox append and its recovery; an
// MDA's stdin, which then cannot end early if the fetcher dies).
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { writeAll } from '../../mailstore/io.js';

/** A fresh spool path under `prefix` (the account's spool prefix; compaction removes leftovers). */
export function spoolPath(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** Write `source` to a new file at `path` (0600) and fsync it; returns its size. Nothing is left on failure. */
export async function writeSpool(path: string, source: AsyncIterable<Buffer>): Promise<number> {
  const fh = await fs.open(path, 'wx', 0o600);
  let bytes = 0;
  try {
    for await (const chunk of source) {
      await writeAll(fh, chunk);
      bytes += chunk.length;
    }
    await fh.sync();
    await fh.close();
  } catch (err) {
    await fh.close().catch(() => {});
    await fs.rm(path, { force: true });
    throw err;
  }
  return bytes;
}
