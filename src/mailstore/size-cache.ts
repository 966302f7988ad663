// What a Maildir's messages measure, computed once and kept in `<maildir>/pop3kit-sizes`
// (the way Courier keeps `courierpop3dsizelist`). We keep a side file rather than renaming
// messages to add `,W=` (Dovecot's way) because a rename under other Maildir readers, such as
// an IMAP server or a mail client, makes their cached path fail. A Maildir message never
// changes under its name (its unique base), so an entry is trusted without looking at the file:
// that is what lets a login skip an lstat per message. A wrong or lost file only costs a
// recount; a message that did change is caught when it is read (its size differs from `bytes`).
// Format: a header line, then `<hex of base> <bytes> <octets or -> <mtime ms>` per line (version
// 1 lines, without the mtime, are still read: their entries are checked against an lstat).

import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { isMissing, replaceFileAtomic } from './io.js';
import { processIsDead } from './lock-file.js';
import { WeighedLru } from './weighed-lru.js';

export const SIZE_CACHE_FILE = 'pop3kit-sizes';
const HEADER_V1 = 'pop3kit-sizes 1';
const HEADER = 'pop3kit-sizes 2';
/** Past this the file is ignored (and rewritten): a bound on what one open reads. */
const MAX_CACHE_BYTES = 64 * 1024 * 1024;
/** A temp file of a writer that may still be running is left alone for this long. */
export const SIZE_CACHE_TMP_STALE_MS = 60_000;
const TMP_NAME = /^pop3kit-sizes\.(\d{1,10})\.[0-9a-f]{8}\.tmp$/;

export interface SizeEntry {
  /** Stored size of the file. */
  bytes: number;
  /** Wire size (RFC 1939 octets), or -1 when not counted yet. */
  octets: number;
  /** The file's mtime (its delivery order), when known (version 1 entries lack it). */
  mtimeMs?: number;
}

/**
 * Parses kept between logins, by Maildir: a login that reads the same text as the last one takes
 * the parse it made then (comparing the text costs far less than parsing it again; a stamp such
 * as the mtime could not tell apart two writes within one clock tick). Bounded by the entries held
 * in all, the least recently used dropped first.
 */
const memo = new WeighedLru<string, { text: string; map: ReadonlyMap<string, SizeEntry> }>(200_000);

/**
 * Read the cache: base (latin1) -> sizes. A missing, oversized or foreign file reads as empty.
 * The map may be shared with other callers: read it, never change it.
 */
export async function readSizeCache(maildir: string): Promise<ReadonlyMap<string, SizeEntry>> {
  let text: string;
  try {
    const path = join(maildir, SIZE_CACHE_FILE);
    const st = await fs.stat(path);
    if (!st.isFile() || st.size > MAX_CACHE_BYTES) return new Map();
    text = await fs.readFile(path, 'latin1');
  } catch (err) {
    if (isMissing(err)) return new Map();
    throw err;
  }
  const seen = memo.get(maildir);
  if (seen !== undefined && seen.text === text) return seen.map;
  const map = parseSizeCache(text);
  memo.set(maildir, { text, map }, map.size);
  return map;
}

function parseSizeCache(text: string): Map<string, SizeEntry> {
  const map = new Map<string, SizeEntry>();
  const lines = text.split('\n');
  const v2 = lines[0] === HEADER;
  if (!v2 && lines[0] !== HEADER_V1) return map;
  const line = v2
    ? /^([0-9a-f]{2,1024}) (\d{1,15}) (\d{1,15}|-) (\d{1,15}(?:\.\d{1,9})?)$/
    : /^([0-9a-f]{2,1024}) (\d{1,15}) (\d{1,15})$/;
  // The last piece has no newline after it: a torn final line is never trusted.
  for (let i = 1; i < lines.length - 1; i++) {
    const m = line.exec(lines[i]!);
    if (!m || m[1]!.length % 2 !== 0) continue;
    const entry: SizeEntry = { bytes: Number(m[2]), octets: m[3] === '-' ? -1 : Number(m[3]) };
    if (v2) entry.mtimeMs = Number(m[4]);
    map.set(Buffer.from(m[1]!, 'hex').toString('latin1'), entry);
  }
  return map;
}

/** Replace the cache atomically (temp file, fsync, rename). */
export async function writeSizeCache(
  maildir: string,
  entries: ReadonlyMap<string, SizeEntry>,
): Promise<void> {
  const lines = [HEADER];
  for (const [base, e] of entries) {
    if (e.mtimeMs === undefined || !Number.isFinite(e.mtimeMs) || e.mtimeMs < 0) continue;
    const octets = e.octets < 0 ? '-' : String(e.octets);
    lines.push(`${Buffer.from(base, 'latin1').toString('hex')} ${e.bytes} ${octets} ${e.mtimeMs}`);
  }
  const path = join(maildir, SIZE_CACHE_FILE);
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  // No directory fsync: a cache lost in a crash only costs a recount.
  await replaceFileAtomic(path, Buffer.from(`${lines.join('\n')}\n`, 'latin1'), { tmp });
}

/** True for the name of a cache temp file (`pop3kit-sizes.<pid>.<hex>.tmp`). */
export function isSizeCacheTemp(name: string): boolean {
  return TMP_NAME.test(name);
}

/**
 * Remove cache temp files a killed writer left in `maildir` (`names`: its entries, already
 * listed). A file is left alone while its writer may still be at work: its pid is alive on this
 * host and it is younger than SIZE_CACHE_TMP_STALE_MS. Returns how many were removed; failures
 * are ignored (the next open tries again).
 */
export async function sweepSizeCacheTemps(
  maildir: string,
  names: readonly string[],
  now = Date.now(),
): Promise<number> {
  let removed = 0;
  for (const name of names) {
    const m = TMP_NAME.exec(name);
    if (!m) continue;
    const path = join(maildir, name);
    try {
      const st = await fs.lstat(path);
      if (!st.isFile()) continue;
      if (!processIsDead(Number(m[1])) && now - st.mtimeMs < SIZE_CACHE_TMP_STALE_MS) continue;
      await fs.unlink(path);
      removed++;
    } catch {
      // Gone meanwhile, or not ours to remove: nothing to do.
    }
  }
  return removed;
}
