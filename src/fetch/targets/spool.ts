// Spool files: a message written whole (and fsynced) into the state folder before it is handed
// on, so the next step works from complete, known bytes (the mbox append and its recovery; an
// MDA's stdin, which then cannot end early if the fetcher dies).
import { randomBytes } from 'node:crypto';
import { type MessageSource, NewFileWriter, writeMessage } from '../../mailstore/io.js';
import type { DeliveryContext } from './target.js';

/** A fresh spool path under `prefix` (the account's spool prefix; compaction removes leftovers). */
export function spoolPath(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/**
 * Write ctx.head and then `source` to a new file at `path` (0600), line ends as given or CRLF
 * turned into LF, and fsync it; returns its size. Nothing is left on failure.
 */
export async function writeSpool(
  path: string,
  source: MessageSource,
  ctx: Pick<DeliveryContext, 'head' | 'onBytes'> = {},
  lineEnds: 'lf' | 'keep' = 'keep',
): Promise<number> {
  const written = await writeMessage(new NewFileWriter(path), source, {
    lineEnds,
    ...(ctx.head ? { head: ctx.head } : {}),
    ...(ctx.onBytes ? { onBytes: ctx.onBytes } : {}),
  });
  return written.bytes;
}
