// mbox target. The message is first spooled to a file in the state folder (fsynced), so its exact
// bytes are known before the append starts; the journal then records the spool, the mbox length
// and the separator date; commit appends the spool with appendToMbox (mboxrd, dotlocked, fsynced).
//
// Recovery of an intent, under the mbox's dotlock: look at the file from the recorded length on
// (another writer may have appended before us, so our message can start later) for the exact
// bytes appendToMbox writes for this spool: separator, quoted body, trailer.
//   complete copy found         -> delivered
//   a prefix of it ends the file -> our append was cut: truncate it away; fetch again
//   nothing                      -> never appended; fetch again
// A cut copy that another writer appended after (the lock of a killed process is broken as stale)
// cannot be removed safely; it is left in place with a warning. A user rewriting the mbox between
// a crash and the next run (moving our complete copy) can cause one duplicate; both are documented.

import { createReadStream, promises as fs } from 'node:fs';
import { chunksOf, crlfToLf, isMissing, type MessageSource } from '../../mailstore/io.js';
import { acquireLockFile } from '../../mailstore/lock-file.js';
import { appendToMbox, mboxrdQuote, mboxSeparator } from '../../mailstore/mbox-deliver.js';
import { Pop3Error } from '../../protocol/errors.js';
import type { IntentTarget } from '../journal.js';
import { spoolPath, writeSpool } from './spool.js';
import type { DeliveryContext, PreparedDelivery, Target } from './target.js';

type MboxIntent = Extract<IntentTarget, { kind: 'mbox' }>;

const LF = 0x0a;
const BLOCK = 64 * 1024;
const LOCK_WAIT_MS = 10_000;

export function mboxTarget(file: string, spoolPrefix: string): Target {
  return {
    keepsState: true,
    maildirs: [],
    async prepare(source: MessageSource, ctx: DeliveryContext): Promise<PreparedDelivery> {
      const spool = spoolPath(spoolPrefix);
      const bytes = await writeSpool(spool, source, ctx);
      const offset = await fs.stat(file).then(
        (st) => st.size,
        (err) => {
          if (isMissing(err)) return 0;
          throw err;
        },
      );
      const remove = () => fs.rm(spool, { force: true });
      return {
        intent: { kind: 'mbox', file, offset, date: ctx.at, spool, bytes },
        failureIsCertain: false,
        async commit() {
          await appendToMbox(file, createReadStream(spool), {
            date: new Date(ctx.at),
            maxBytes: Number.MAX_SAFE_INTEGER,
          });
        },
        discard: remove,
        cleanup: remove,
      };
    },
  };
}

/** The bytes appendToMbox writes for this message after any blank-line repair: separator, body, trailer. */
export async function* expectedMboxBytes(spool: string, date: number): AsyncGenerator<Buffer> {
  yield Buffer.from(mboxSeparator(undefined, new Date(date)), 'latin1');
  let last = LF;
  for await (const chunk of mboxrdQuote(crlfToLf(chunksOf(createReadStream(spool))))) {
    if (chunk.length === 0) continue;
    last = chunk[chunk.length - 1]!;
    yield chunk;
  }
  yield Buffer.from(last === LF ? '\n' : '\n\n');
}

export interface MboxRecovery {
  delivered: boolean;
  warning?: string;
}

/** Resolve an mbox intent after a crash (see the file comment). */
export async function recoverMboxIntent(intent: MboxIntent, uid: string): Promise<MboxRecovery> {
  try {
    await fs.access(intent.spool);
  } catch {
    // The spool goes only after the outcome was folded into the state file: nothing to learn here.
    return { delivered: false };
  }
  const lock = await acquireLockFile(`${intent.file}.lock`, { waitMs: LOCK_WAIT_MS });
  if (!lock) throw new Pop3Error(`mbox ${intent.file} is locked by another writer`, { code: 'ETIMEDOUT' });
  try {
    let fh: fs.FileHandle;
    try {
      fh = await fs.open(intent.file, 'r+');
    } catch (err) {
      if (isMissing(err)) return { delivered: false };
      throw err;
    }
    try {
      const separator = Buffer.from(mboxSeparator(undefined, new Date(intent.date)), 'latin1');
      let partialAt: number | undefined;
      for (const at of await findSeparators(fh, intent.offset, separator)) {
        const cmp = await compareAt(fh, at, expectedMboxBytes(intent.spool, intent.date));
        if (cmp.kind === 'full') return { delivered: true };
        if (cmp.kind === 'eof') {
          await fh.truncate(at);
          await fh.sync();
          return { delivered: false };
        }
        // Our copy cut short, then another writer's message (after its blank-line repair).
        if (cmp.matched > separator.length && (await startsMessage(fh, at + cmp.matched))) partialAt ??= at;
      }
      // Cut inside the separator line itself: the file ends with a prefix of it.
      const tail = await lastLineIfShort(fh, intent.offset, separator.length);
      if (tail !== undefined && separator.subarray(0, tail.length).equals(tail.bytes)) {
        await fh.truncate(tail.at);
        await fh.sync();
        return { delivered: false };
      }
      if (partialAt !== undefined) {
        return {
          delivered: false,
          warning:
            `mbox ${intent.file} may hold an incomplete copy of message ${uid} at byte ${partialAt} ` +
            '(a run was interrupted, then another program appended); it will be delivered again',
        };
      }
      return { delivered: false };
    } finally {
      await fh.close();
    }
  } finally {
    await lock.release();
  }
}

/** Offsets >= from where a line equal to `separator` starts. */
async function findSeparators(fh: fs.FileHandle, from: number, separator: Buffer): Promise<number[]> {
  const found: number[] = [];
  const { size } = await fh.stat();
  // Keep one byte before each block to check that a match starts a line.
  let pos = Math.max(0, from - 1);
  let carry = Buffer.alloc(0);
  let carryStart = pos;
  while (pos < size && found.length < 1000) {
    const buf = Buffer.alloc(Math.min(BLOCK, size - pos));
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
    if (bytesRead === 0) break;
    const hay = Buffer.concat([carry, buf.subarray(0, bytesRead)]);
    let i = hay.indexOf(separator);
    while (i !== -1) {
      const abs = carryStart + i;
      if (abs >= from && (abs === 0 || (i > 0 && hay[i - 1] === LF)) && !found.includes(abs)) found.push(abs);
      i = hay.indexOf(separator, i + 1);
    }
    pos += bytesRead;
    const keep = Math.min(hay.length, separator.length);
    carry = hay.subarray(hay.length - keep);
    carryStart = pos - keep;
  }
  return found;
}

/** The file's last line (no newline after it) when it starts at or after `from` and is shorter than `max`. */
async function lastLineIfShort(
  fh: fs.FileHandle,
  from: number,
  max: number,
): Promise<{ at: number; length: number; bytes: Buffer } | undefined> {
  const { size } = await fh.stat();
  const start = Math.max(0, size - max);
  const buf = Buffer.alloc(size - start);
  const { bytesRead } = await fh.read(buf, 0, buf.length, start);
  const got = buf.subarray(0, bytesRead);
  const lf = got.lastIndexOf(LF);
  if (lf === -1 && start > 0) return undefined; // the line is longer than max
  const at = start + lf + 1;
  if (at >= size || at < from) return undefined;
  const bytes = got.subarray(lf + 1);
  return { at, length: bytes.length, bytes };
}

/** Does a message separator start at `pos`, or after one or two newlines (a blank-line repair)? */
async function startsMessage(fh: fs.FileHandle, pos: number): Promise<boolean> {
  const buf = Buffer.alloc(8);
  const from = Math.max(0, pos - 1);
  const { bytesRead } = await fh.read(buf, 0, buf.length, from);
  const text = buf.subarray(0, bytesRead).toString('latin1');
  const before = pos === 0 ? '\n' : text[0];
  const at = pos === 0 ? text : text.slice(1);
  return /^\n{1,2}From /.test(at) || (before === '\n' && at.startsWith('From '));
}

type Comparison = { kind: 'full' } | { kind: 'eof'; matched: number } | { kind: 'mismatch'; matched: number };

/** Compare the file from `at` with the expected chunks. */
async function compareAt(
  fh: fs.FileHandle,
  at: number,
  expected: AsyncIterable<Buffer>,
): Promise<Comparison> {
  let pos = at;
  let matched = 0;
  for await (const want of expected) {
    let off = 0;
    while (off < want.length) {
      const n = Math.min(BLOCK, want.length - off);
      const buf = Buffer.alloc(n);
      const { bytesRead } = await fh.read(buf, 0, n, pos);
      for (let i = 0; i < bytesRead; i++) {
        if (buf[i] !== want[off + i]) return { kind: 'mismatch', matched: matched + i };
      }
      matched += bytesRead;
      pos += bytesRead;
      off += bytesRead;
      if (bytesRead < n) return { kind: 'eof', matched };
    }
  }
  return { kind: 'full' };
}
