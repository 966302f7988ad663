// Append one message to an mbox file in the mboxrd format: a `From sender date` separator,
// the message with LF line ends and every line matching /^>*From / given one more `>`,
// then a blank line. Writers are serialised by a `<file>.lock` dotlock (O_EXCL, stale
// recovery, bounded wait); a failed append is truncated away so no half message stays.

import { promises as fs, constants as fsc } from 'node:fs';
import { dirname } from 'node:path';
import { Pop3Error } from '../protocol/errors.js';
import { chunksOf, crlfToLf, fsyncDir, isCode, isMissing, type MessageSource, writeAll } from './io.js';
import { acquireLockFile } from './lock-file.js';

export interface MboxAppendOptions {
  /** Envelope sender for the separator line; anything not 1-256 printable ASCII becomes MAILER-DAEMON. */
  from?: string;
  /** Delivery date for the separator line (default now), written in UTC. */
  date?: Date;
  /** Refuse messages larger than this many bytes (default 1 GiB): error ELIMIT, file unchanged. */
  maxBytes?: number;
  /** How long to wait for another writer's lock (default 10 s): then error ETIMEDOUT. */
  lockWaitMs?: number;
  /** A dotlock not refreshed for this long is taken as abandoned (default 5 minutes). */
  staleLockMs?: number;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const LF = 0x0a;
const GT = 0x3e;
const FROM_ = Buffer.from('From ', 'latin1');

/** asctime() form, as mbox separators use it: `Thu Nov 24 18:22:48 1986`. */
export function mboxDate(date: Date): string {
  const d = Number.isNaN(date.getTime()) ? new Date() : date;
  const p2 = (n: number) => String(n).padStart(2, '0');
  return (
    `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ` +
    `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} ${d.getUTCFullYear()}`
  );
}

/** The separator line, newline included. */
export function mboxSeparator(from: string | undefined, date: Date): string {
  const sender = from !== undefined && /^[\x21-\x7e]{1,256}$/.test(from) ? from : 'MAILER-DAEMON';
  return `From ${sender} ${mboxDate(date)}\n`;
}

/**
 * mboxrd quoting over LF-terminated lines, safe across chunk boundaries: a line that is a run of
 * `>` followed by `From ` gets one more `>` (placed after the run, which is the same bytes).
 * At most four bytes of a possible `From ` are held back between chunks.
 */
export async function* mboxrdQuote(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  // -1: inside a line; 0: at line start or after only '>'; 1..4: that many bytes of "From " held.
  let state = 0;
  for await (const chunk of source) {
    if (chunk.length === 0) continue;
    const out = Buffer.allocUnsafe(chunk.length * 2 + 8);
    let n = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (state >= 0) {
        if (state === 0 && b === GT) {
          out[n++] = b;
          continue;
        }
        if (b === FROM_[state]) {
          state++;
          if (state === 5) {
            out[n++] = GT;
            n += FROM_.copy(out, n);
            state = -1;
          }
          continue;
        }
        n += FROM_.copy(out, n, 0, state); // a partial match that failed: release it
        state = -1;
      }
      out[n++] = b;
      if (b === LF) state = 0;
    }
    if (n > 0) yield out.subarray(0, n);
  }
  if (state > 0) yield Buffer.from(FROM_.subarray(0, state));
}

/** Append one message to the mbox at `file` (created 0600 if missing). Returns where it starts and its length. */
export async function appendToMbox(
  file: string,
  source: MessageSource,
  opts: MboxAppendOptions = {},
): Promise<{ offset: number; bytes: number }> {
  const maxBytes = opts.maxBytes ?? 1024 ** 3;
  const lock = await acquireLockFile(`${file}.lock`, {
    waitMs: opts.lockWaitMs ?? 10_000,
    staleMs: opts.staleLockMs ?? 5 * 60_000,
  });
  if (!lock) throw new Pop3Error('mbox is locked by another writer', { code: 'ETIMEDOUT' });
  try {
    // O_APPEND: every write lands at the end even if another (non-locking) writer appended.
    const { fh, created } = await openForAppend(file);
    let start = -1;
    try {
      start = (await fh.stat()).size;
      let written = 0;
      const put = async (buf: Buffer) => {
        written += buf.length;
        await writeAll(fh, buf);
      };
      // A separator must follow an empty line; repair a file that lacks one.
      if (start > 0) {
        const tail = Buffer.alloc(2);
        const { bytesRead } = await fh.read(tail, 0, Math.min(2, start), Math.max(0, start - 2));
        const t = tail.subarray(0, bytesRead);
        if (t[t.length - 1] !== LF) await put(Buffer.from('\n\n'));
        else if (t.length < 2 || t[0] !== LF) await put(Buffer.from('\n'));
      }
      await put(Buffer.from(mboxSeparator(opts.from, opts.date ?? new Date()), 'latin1'));
      let body = 0;
      let last = LF;
      for await (const chunk of mboxrdQuote(crlfToLf(chunksOf(source)))) {
        body += chunk.length;
        if (body > maxBytes) {
          throw new Pop3Error(`message exceeds the delivery limit of ${maxBytes} bytes`, { code: 'ELIMIT' });
        }
        last = chunk[chunk.length - 1]!;
        await put(chunk);
      }
      await put(Buffer.from(last === LF ? '\n' : '\n\n'));
      await fh.sync();
      // A new file's name survives a crash only once its folder is fsynced too.
      if (created) await fsyncDir(dirname(file));
      return { offset: start, bytes: written };
    } catch (err) {
      if (start >= 0) {
        await fh.truncate(start).catch(() => {});
        await fh.sync().catch(() => {});
      }
      throw err;
    } finally {
      await fh.close();
    }
  } finally {
    await lock.release();
  }
}

/** Open `file` read-write for appending; create it (0600) if missing, and say whether we did. */
async function openForAppend(file: string): Promise<{ fh: fs.FileHandle; created: boolean }> {
  const flags = fsc.O_RDWR | fsc.O_APPEND;
  try {
    return { fh: await fs.open(file, flags), created: false };
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
  try {
    return { fh: await fs.open(file, flags | fsc.O_CREAT | fsc.O_EXCL, 0o600), created: true };
  } catch (err) {
    if (!isCode(err, 'EEXIST')) throw err; // another writer created it meanwhile
    return { fh: await fs.open(file, flags), created: false };
  }
}
