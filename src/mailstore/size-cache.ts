// Wire sizes of a Maildir's messages, computed once and kept in `<maildir>/pop3kit-sizes`
// (the way Courier keeps `courierpop3dsizelist`). We keep a side file rather than renaming
// messages to add `,W=` (Dovecot's way) because a rename under other Maildir readers, such as
// an IMAP server or a mail client, makes their cached path fail. Maildir messages never
// change, so an entry stays right while the stored size matches; a wrong or lost file only
// costs a recount. Format: a header line, then `<hex of base> <bytes> <octets>` per line.

import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { isMissing, replaceFileAtomic } from './io.js';

export const SIZE_CACHE_FILE = 'pop3kit-sizes';
const HEADER = 'pop3kit-sizes 1';
/** Past this the file is ignored (and rewritten): a bound on what one open reads. */
const MAX_CACHE_BYTES = 64 * 1024 * 1024;

export interface SizeEntry {
  bytes: number;
  octets: number;
}

/** Read the cache: base (latin1) -> sizes. A missing, oversized or foreign file reads as empty. */
export async function readSizeCache(maildir: string): Promise<Map<string, SizeEntry>> {
  const map = new Map<string, SizeEntry>();
  let text: string;
  try {
    const path = join(maildir, SIZE_CACHE_FILE);
    const st = await fs.stat(path);
    if (!st.isFile() || st.size > MAX_CACHE_BYTES) return map;
    text = await fs.readFile(path, 'latin1');
  } catch (err) {
    if (isMissing(err)) return map;
    throw err;
  }
  const lines = text.split('\n');
  if (lines[0] !== HEADER) return map;
  // The last piece has no newline after it: a torn final line is never trusted.
  for (const line of lines.slice(1, -1)) {
    const m = /^([0-9a-f]{2,1024}) (\d{1,15}) (\d{1,15})$/.exec(line);
    if (!m || m[1]!.length % 2 !== 0) continue;
    map.set(Buffer.from(m[1]!, 'hex').toString('latin1'), { bytes: Number(m[2]), octets: Number(m[3]) });
  }
  return map;
}

/** Replace the cache atomically (temp file, fsync, rename). */
export async function writeSizeCache(
  maildir: string,
  entries: ReadonlyMap<string, SizeEntry>,
): Promise<void> {
  const lines = [HEADER];
  for (const [base, e] of entries)
    lines.push(`${Buffer.from(base, 'latin1').toString('hex')} ${e.bytes} ${e.octets}`);
  const path = join(maildir, SIZE_CACHE_FILE);
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  // No directory fsync: a cache lost in a crash only costs a recount.
  await replaceFileAtomic(path, Buffer.from(`${lines.join('\n')}\n`, 'latin1'), { tmp });
}
