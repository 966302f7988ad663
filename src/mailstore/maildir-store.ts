// A MailStore over one Maildir per user (`<root>/<user>` by default). Open takes the
// session lock, then snapshots new/ and cur/ (nothing is moved: other Maildir readers see the
// messages as before). UIDL is the Maildir base name; octets come from `,W=` in the name, the
// size cache, or one pass over the file. A login lists the two folders and reads the size cache;
// it lstats only files the cache does not know (Maildir files never change under their name).
// Small messages are read synchronously in one go (readSmall), larger ones streamed in big reads.
// Commit unlinks exactly the listed messages.

import { closeSync, promises as fs, constants as fsc, lstatSync, openSync, readSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { Pop3Error, printable } from '../protocol/errors.js';
import { maxWireOctets, WireSizeCounter } from '../protocol/wire-size.js';
import { fsyncDir, isCode, isMissing } from './io.js';
import { acquireLockFile, type HeldLock, PRIVATE_LOCK_UNREADABLE_STALE_MS } from './lock-file.js';
import { ensureMaildir } from './maildir-deliver.js';
import { baseOf, derivedUid, uidForBase, wireSizeOf } from './maildir-names.js';
import {
  isSizeCacheTemp,
  readSizeCache,
  type SizeEntry,
  sweepSizeCacheTemps,
  writeSizeCache,
} from './size-cache.js';
import {
  type Mailbox,
  MailboxBusyError,
  type MailStore,
  MessageGoneError,
  type MessageInfo,
  type ReadTarget,
} from './types.js';
import { WeighedLru } from './weighed-lru.js';

export interface MaildirStoreOptions {
  /** Directory holding one Maildir per user, or a function from user name to that user's Maildir. */
  root: string | ((user: string) => string);
  /** A session lock not refreshed for this long is taken as abandoned (default 5 minutes). */
  staleLockMs?: number;
  /** At most this many messages per snapshot, the oldest first (default 100000); the rest wait, like new mail. */
  maxMessages?: number;
  /** Create a missing Maildir on open (default true); otherwise opening it fails with ENOENT. */
  create?: boolean;
}

/** The session lock's file name inside the Maildir (no leading dot: Maildir++ readers take dot-names for folders). */
export const LOCK_FILE = 'pop3kit.lock';
const SUBDIRS = ['new', 'cur'] as const;
type Sub = (typeof SUBDIRS)[number];
/**
 * Larger messages are streamed in reads of this size: 64 times fewer threadpool round trips than
 * Node's default 64 KiB, while a session still holds at most about one read (and its encoded
 * form) in memory.
 */
export const LARGE_READ_BYTES = 512 * 1024;
/** Files a login lstats (those the size cache does not know) between two turns of the event loop. */
const LSTAT_RUN = 512;

/**
 * Throws EARGUMENT unless `user` is safe as one path component: 1-255 bytes, no `/` or `\`,
 * no control characters, no lone surrogates, not starting with `.` (so never `.` or `..`), no `..`.
 */
export function validateUserName(user: string): void {
  const ok =
    typeof user === 'string' &&
    user.length > 0 &&
    Buffer.byteLength(user, 'utf8') <= 255 &&
    !/[\x00-\x1f\x7f-\x9f/\\]/.test(user) &&
    !/\p{Cs}/u.test(user) &&
    !user.startsWith('.') &&
    !user.includes('..');
  if (!ok)
    throw new Pop3Error(`invalid user name for a maildrop: ${printable(String(user), 80)}`, {
      code: 'EARGUMENT',
    });
}

/**
 * One listed message. A class, so all entries share one shape: the per-message paths (readSmall,
 * #pathOf) stay monomorphic from session to session.
 */
class Entry {
  /** Its path, once it has been read (forgotten when the file is found elsewhere). */
  path: Buffer | undefined = undefined;
  constructor(
    readonly uid: string,
    readonly base: string,
    readonly octets: number,
    public sub: Sub,
    /** The file name, latin1 (one char per byte: Maildir names are bytes, not UTF-8). */
    public name: string,
    readonly bytes: number,
    readonly mtimeMs: number,
    /** False when another file shares the base: then a moved file cannot be found again by its base. */
    readonly relocatable: boolean,
  ) {}
}

/**
 * One listing of a Maildir, with what sessions look its messages up by. The sessions that log in
 * while the Maildir stays unchanged share it (its lock lets them in one at a time), so such a login
 * makes nothing per message: no entries, paths or lists, and the server checks the frozen list
 * once (checkSnapshot). A session that finds a file moved updates its entry in place: that is
 * where the file now is, and the move changed the folders, so no later login reuses this listing.
 */
class Listing {
  readonly byUid: ReadonlyMap<string, Entry>;
  /** Frozen, the list and each message: nothing a session does can change the numbering of the next. */
  readonly messages: readonly MessageInfo[];
  constructor(readonly entries: readonly Entry[]) {
    this.byUid = new Map(entries.map((e) => [e.uid, e]));
    this.messages = Object.freeze(entries.map((e) => Object.freeze({ uid: e.uid, octets: e.octets })));
  }
}

export class MaildirStore implements MailStore {
  readonly #root: string | ((user: string) => string);
  readonly #staleMs: number;
  readonly #maxMessages: number;
  readonly #create: boolean;
  readonly #kept = new WeighedLru<string, KeptListing>(KEPT_MAX_ENTRIES);

  constructor(opts: MaildirStoreOptions) {
    this.#root = opts.root;
    this.#staleMs = opts.staleLockMs ?? 5 * 60_000;
    this.#maxMessages = opts.maxMessages ?? 100_000;
    this.#create = opts.create ?? true;
  }

  /** The user's Maildir path (after validating the name). */
  maildirOf(user: string): string {
    validateUserName(user);
    if (typeof this.#root === 'function') return this.#root(user);
    const root = resolve(this.#root);
    const dir = resolve(root, user);
    if (!dir.startsWith(root + sep))
      throw new Pop3Error('user name leaves the store root', { code: 'EARGUMENT' });
    return dir;
  }

  /** A login's snapshot: the last login's again when its folders have not changed. */
  async #listing(dir: string, paths: FilePaths): Promise<Listing> {
    const started = Date.now();
    const folders = await folderStamp(dir);
    const kept = this.#kept.get(dir);
    if (folders !== undefined && kept?.stamp === folders.stamp) return kept.listing;
    const listing = new Listing(await snapshot(dir, paths, this.#maxMessages));
    if (folders !== undefined && started - folders.changedMs >= SETTLED_MS)
      this.#kept.set(dir, { stamp: folders.stamp, listing }, listing.entries.length);
    else this.#kept.delete(dir);
    return listing;
  }

  async openMailbox(user: string): Promise<Mailbox> {
    const dir = this.maildirOf(user);
    const top = await listTop(dir);
    // One listing of the Maildir serves both: the folders exist (no mkdir needed), and which
    // cache temp files a killed writer left behind.
    if (this.#create && !top.complete) await ensureMaildir(dir);
    const lock = await acquireLockFile(join(dir, LOCK_FILE), {
      staleMs: this.#staleMs,
      // Only pop3kit takes this lock, so an empty one is a killed writer's, not another program's.
      unreadableStaleMs: PRIVATE_LOCK_UNREADABLE_STALE_MS,
      privateLock: true,
    });
    if (!lock) throw new MailboxBusyError();
    try {
      // Under the lock: no other pop3kit session writes this cache now.
      if (top.temps.length > 0) await sweepSizeCacheTemps(dir, top.temps);
      const paths = new FilePaths(dir);
      return new MaildirMailbox(dir, paths, await this.#listing(dir, paths), lock);
    } catch (err) {
      await lock.release();
      throw err;
    }
  }
}

/**
 * A listing, kept for the next login while neither new/ nor cur/ changes (Dovecot trusts
 * its index the same way): a file added, removed or renamed sets its folder's mtime (and ctime) to
 * now. A second change within the file system's clock tick after the first leaves them as they
 * were, so a listing is kept only when it began at least SETTLED_MS after the folders' mtimes.
 */
interface KeptListing {
  stamp: string;
  listing: Listing;
}
const SETTLED_MS = 2000;
/** Entries kept across all Maildirs of a store (the least recently used dropped first). */
const KEPT_MAX_ENTRIES = 200_000;

/** The state of new/ and cur/ (identity and change times), or undefined when one is missing. */
async function folderStamp(dir: string): Promise<{ stamp: string; changedMs: number } | undefined> {
  let stamp = '';
  let changedMs = 0;
  for (const sub of SUBDIRS) {
    let st: import('node:fs').Stats;
    try {
      st = await fs.stat(join(dir, sub));
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    stamp += `${st.dev}:${st.ino}:${st.mtimeMs}:${st.ctimeMs};`;
    // A change of entries sets mtime to now; while mtime is old, any such change alters it.
    changedMs = Math.max(changedMs, st.mtimeMs);
  }
  return { stamp, changedMs };
}

/** Paths (bytes) of the files in a Maildir's new/ and cur/: each folder's prefix made once. */
class FilePaths {
  readonly #prefix: Record<Sub, Buffer>;
  constructor(dir: string) {
    this.#prefix = { new: Buffer.from(join(dir, 'new') + sep), cur: Buffer.from(join(dir, 'cur') + sep) };
  }
  /** `name`: latin1, as listed. */
  of(sub: Sub, name: string): Buffer {
    const prefix = this.#prefix[sub];
    const path = Buffer.allocUnsafe(prefix.length + name.length);
    prefix.copy(path, 0);
    path.write(name, prefix.length, 'latin1');
    return path;
  }
}

/** The Maildir's own entries: whether tmp/, new/ and cur/ are all there, and cache temp files. */
async function listTop(dir: string): Promise<{ complete: boolean; temps: string[] }> {
  let dirents: import('node:fs').Dirent[];
  try {
    dirents = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isMissing(err) || isCode(err, 'ENOTDIR')) return { complete: false, temps: [] };
    throw err;
  }
  let folders = 0;
  const temps: string[] = [];
  for (const d of dirents) {
    if (d.isDirectory() && (d.name === 'tmp' || d.name === 'new' || d.name === 'cur')) folders++;
    else if (isSizeCacheTemp(d.name)) temps.push(d.name);
  }
  return { complete: folders === 3, temps };
}

/** A listed file on its way into the snapshot (one shape for all, so the loops below stay fast). */
class Found {
  bytes = -1;
  mtimeMs = -1;
  /** Octets from the size cache, -1 when unknown. */
  cachedOctets = -1;
  readonly base: string;
  /** The name's text before its `:` (latin1), read once for the base and the `,W=` field. */
  readonly text: string;
  constructor(
    readonly sub: Sub,
    readonly name: string,
  ) {
    const colon = name.indexOf(':');
    this.text = colon === -1 ? name : name.slice(0, colon);
    this.base = baseOf(this.text);
  }
}

/**
 * Regular, non-dot files of new/ and cur/ (symlinks and the rest are skipped; the directory
 * entry's type says which, so no lstat is needed for that), without their stat data.
 */
async function listFiles(dir: string): Promise<Found[]> {
  const found: Found[] = [];
  for (const sub of SUBDIRS) {
    let dirents: import('node:fs').Dirent[];
    try {
      // latin1 names: one char per byte, so any name round-trips (see FilePaths.of).
      dirents = await fs.readdir(join(dir, sub), { encoding: 'latin1', withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) continue;
      throw err;
    }
    for (const d of dirents) if (!d.name.startsWith('.') && d.isFile()) found.push(new Found(sub, d.name));
  }
  return found;
}

/** lstat a listed file: its size and mtime, or null when it is gone or no longer a regular file. */
function statFile(
  paths: FilePaths,
  f: { sub: Sub; name: string },
): { bytes: number; mtimeMs: number } | null {
  // undefined: moved or removed meanwhile, so not in this snapshot.
  const st = lstatSync(paths.of(f.sub, f.name), { throwIfNoEntry: false });
  return st?.isFile() ? { bytes: st.size, mtimeMs: st.mtimeMs } : null;
}

/** Open a message file for reading, refusing symlinks swapped in after the scan. */
function openNoFollow(path: Buffer): Promise<fs.FileHandle> {
  return fs.open(path, fsc.O_RDONLY | fsc.O_NOFOLLOW);
}

async function snapshot(dir: string, paths: FilePaths, maxMessages: number): Promise<Entry[]> {
  const listed = await listFiles(dir);
  const cache: ReadonlyMap<string, SizeEntry> = await readSizeCache(dir).catch(() => new Map());

  const baseCount = new Map<string, number>();
  for (const f of listed) baseCount.set(f.base, (baseCount.get(f.base) ?? 0) + 1);
  // Sizes and delivery times: from the cache for the files it knows (a Maildir file never changes
  // under its base name), from one lstat for the others. Two files sharing a base are always
  // looked at: the cache cannot tell them apart.
  let changed = false;
  const found: Found[] = [];
  const unknown: Found[] = [];
  for (const f of listed) {
    const hit = cache.get(f.base);
    if (hit?.mtimeMs !== undefined && baseCount.get(f.base) === 1) {
      f.bytes = hit.bytes;
      f.mtimeMs = hit.mtimeMs;
      f.cachedOctets = hit.octets;
      found.push(f);
    } else unknown.push(f);
  }
  for (let i = 0; i < unknown.length; i++) {
    // Synchronous lstats of a local folder take microseconds each; other sessions get a turn between runs.
    if (i > 0 && i % LSTAT_RUN === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const f = unknown[i]!;
    const st = statFile(paths, f);
    if (!st) continue;
    const hit = cache.get(f.base);
    f.bytes = st.bytes;
    f.mtimeMs = st.mtimeMs;
    // An entry without an mtime (version 1) or for a shared base counts only if the size agrees.
    if (hit && hit.bytes === st.bytes) f.cachedOctets = hit.octets;
    found.push(f);
    changed = true;
  }
  // Delivery order; the name (byte order, as latin1 compares) breaks ties.
  found.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const fresh = new Map<string, SizeEntry>();
  const used = new Set<string>();
  const entries: Entry[] = [];
  for (let index = 0; index < found.length; index++) {
    const f = found[index]!;
    // A size from the name or the cache is used only if it can be this file's wire size; anything
    // else is a wrong name or cache entry, and the file is counted instead.
    const fromName = wireSizeOf(f.text);
    let octets = plausibleOctets(fromName, f.bytes) ?? plausibleOctets(f.cachedOctets, f.bytes) ?? -1;
    if (index < maxMessages) {
      let uid = uidForBase(f.base);
      // Two files with one base (a copy left in new/ and cur/): the later one gets an id from its full name.
      if (used.has(uid)) uid = derivedUid(`dup\0${f.sub}/${f.name}`);
      if (!used.has(uid)) {
        used.add(uid);
        if (octets < 0) {
          const counted = await countFile(paths.of(f.sub, f.name), f.bytes);
          if (counted === null) continue; // gone since the listing
          octets = counted;
          changed = true;
        }
        const relocatable = baseCount.get(f.base) === 1;
        entries.push(new Entry(uid, f.base, octets, f.sub, f.name, f.bytes, f.mtimeMs, relocatable));
      }
    }
    // Every listed file is remembered, also those past the cap (their octets when counted).
    fresh.set(f.base, { bytes: f.bytes, octets, mtimeMs: f.mtimeMs });
  }
  if (changed || fresh.size !== cache.size) {
    // The cache only saves work: a read-only or full Maildir just recounts next time.
    await writeSizeCache(dir, fresh).catch(() => {});
  }
  return entries;
}

/** `octets` when a file of `bytes` stored octets can have that wire size (RFC 1939 §11), else undefined. */
function plausibleOctets(octets: number | undefined, bytes: number): number | undefined {
  return octets !== undefined && octets >= bytes && octets <= maxWireOctets(bytes) ? octets : undefined;
}

/** Files up to this size are counted with synchronous reads (as readSmall reads them). */
const SYNC_COUNT_BYTES = 256 * 1024;
/** Read size for counting larger files (asynchronous reads, one buffer per count). */
const COUNT_READ_BYTES = 1024 * 1024;
/** The read buffer of synchronous counts (used only within one synchronous call, so one serves all). */
let countBuffer: Buffer | undefined;

/** Wire octets of a message file, or null when it is gone. `bytes`: its size as listed. */
async function countFile(path: Buffer, bytes: number): Promise<number | null> {
  if (bytes <= SYNC_COUNT_BYTES) {
    let fd: number;
    try {
      fd = openSync(path, fsc.O_RDONLY | fsc.O_NOFOLLOW);
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
    try {
      // Counted as it is now; a read that finds another size fails later (readSmall / open).
      // One buffer for every count: a login that counts 2000 files allocates none per file.
      countBuffer ??= Buffer.allocUnsafeSlow(64 * 1024);
      const buf = countBuffer;
      const counter = new WireSizeCounter();
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        counter.push(buf.subarray(0, n));
      }
      return counter.octets;
    } finally {
      closeSync(fd);
    }
  }
  let fh: fs.FileHandle;
  try {
    fh = await openNoFollow(path);
  } catch (err) {
    if (isMissing(err)) return null;
    throw err;
  }
  try {
    // Large reads into one buffer: through the threadpool every read is a round trip, and a
    // stream's 64 KiB reads made a first login of 200 MiB cost 3200 of them.
    const buf = Buffer.allocUnsafe(COUNT_READ_BYTES);
    const counter = new WireSizeCounter();
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      counter.push(buf.subarray(0, bytesRead));
    }
    return counter.octets;
  } finally {
    await fh.close();
  }
}

class MaildirMailbox implements Mailbox {
  readonly messages: readonly MessageInfo[];
  readonly #dir: string;
  readonly #paths: FilePaths;
  readonly #byUid: ReadonlyMap<string, Entry>;
  readonly #lock: HeldLock;
  #released = false;
  #committed = false;

  constructor(dir: string, paths: FilePaths, listing: Listing, lock: HeldLock) {
    this.#dir = dir;
    this.#paths = paths;
    this.#lock = lock;
    this.#byUid = listing.byUid;
    this.messages = listing.messages;
  }

  async open(uid: string): Promise<Readable> {
    const e = this.#entry(uid);
    for (let attempt = 0; attempt < 2; attempt++) {
      let fh: fs.FileHandle | undefined;
      try {
        fh = await openNoFollow(this.#pathOf(e));
        const { size } = await fh.stat();
        if (size !== e.bytes) throw new MessageGoneError('message changed since the listing');
        const stream = fh.createReadStream({ highWaterMark: LARGE_READ_BYTES });
        fh = undefined; // the stream closes it
        return stream;
      } catch (err) {
        if (!isMissing(err)) throw err;
      } finally {
        await fh?.close().catch(() => {});
      }
      // A mail client moved it (new/ -> cur/, flags): find it again by its base.
      if (attempt > 0 || !e.relocatable || !(await this.#relocate([e]))) break;
    }
    throw new MessageGoneError();
  }

  /**
   * A message of at most `maxBytes`, read synchronously: open, fstat, read, close, each a few
   * microseconds for a local file, where the stream path costs a threadpool round trip per step.
   * The size must be the listed one (a Maildir file never changes; one that did is not the listed
   * message). -1 for a larger message, or one that moved (open() finds it again).
   */
  readSmall(uid: string, maxBytes: number, target: ReadTarget): number {
    const e = this.#entry(uid);
    if (e.bytes > maxBytes) return -1;
    let fd: number;
    try {
      fd = openSync(this.#pathOf(e), fsc.O_RDONLY | fsc.O_NOFOLLOW);
    } catch (err) {
      if (!isMissing(err)) throw err;
      if (e.relocatable) return -1;
      throw new MessageGoneError();
    }
    try {
      // One octet more than listed: a regular file's read comes back short only at its end, so
      // getting exactly the listed size shows the file still has it, without an fstat.
      const want = e.bytes + 1;
      const at = target.room(want);
      const buf = target.buffer;
      let got = readSync(fd, buf, at, want, 0);
      // A short read before the listed size (not expected from a local file): read on to the end.
      while (got < e.bytes) {
        const n = readSync(fd, buf, at + got, want - got, got);
        if (n === 0) break;
        got += n;
      }
      if (got !== e.bytes) throw new MessageGoneError('message changed since the listing');
      return got;
    } finally {
      closeSync(fd);
    }
  }

  /** The entry's path (bytes), kept until the file is found elsewhere. */
  #pathOf(e: Entry): Buffer {
    e.path ??= this.#paths.of(e.sub, e.name);
    return e.path;
  }

  #entry(uid: string): Entry {
    if (this.#released) throw new Pop3Error('mailbox already released', { code: 'ESTATE' });
    const e = this.#byUid.get(uid);
    if (!e) throw new Pop3Error('no such message in this snapshot', { code: 'EARGUMENT' });
    return e;
  }

  async commit(deleted: readonly string[]): Promise<{ notRemoved: string[] }> {
    if (this.#released || this.#committed)
      throw new Pop3Error('mailbox already committed or released', { code: 'ESTATE' });
    this.#committed = true;
    const notRemoved: string[] = [];
    const missing: Entry[] = [];
    const touched = new Set<Sub>();
    const unlink = async (e: Entry): Promise<'ok' | 'missing' | 'failed'> => {
      try {
        await fs.unlink(this.#paths.of(e.sub, e.name));
        touched.add(e.sub);
        return 'ok';
      } catch (err) {
        return isMissing(err) ? 'missing' : 'failed';
      }
    };
    for (const uid of new Set(deleted)) {
      const e = this.#byUid.get(uid);
      if (!e) {
        notRemoved.push(uid); // not a message of this snapshot: never remove it
        continue;
      }
      const r = await unlink(e);
      if (r === 'failed') notRemoved.push(uid);
      else if (r === 'missing' && e.relocatable) missing.push(e);
      // A missing file that cannot be looked for again is already removed: fine.
    }
    if (missing.length > 0) {
      await this.#relocate(missing);
      for (const e of missing) if ((await unlink(e)) === 'failed') notRemoved.push(e.uid);
    }
    // Make the unlinks durable before the server answers +OK.
    for (const sub of touched) await fsyncDir(join(this.#dir, sub)).catch(() => {});
    return { notRemoved };
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.#lock.release();
  }

  /** Update the location of entries whose files moved; true when at least one was found. */
  async #relocate(entries: Entry[]): Promise<boolean> {
    const want = new Map(entries.map((e) => [e.base, e]));
    let found = false;
    for (const f of await listFiles(this.#dir)) {
      const e = want.get(f.base);
      if (e) {
        e.sub = f.sub;
        e.name = f.name;
        e.path = undefined;
        found = true;
      }
    }
    return found;
  }
}
