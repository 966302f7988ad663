// A MailStore over one Maildir per user (`<root>/<user>` by default). Open takes the
// session lock, then snapshots new/ and cur/ (nothing is moved: other Maildir readers see the
// messages as before). UIDL is the Maildir base name; octets come from `,W=` in the name, the
// size cache, or one pass over the file. Commit unlinks exactly the listed messages.

import { promises as fs, constants as fsc } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { Pop3Error, printable } from '../protocol/errors.js';
import { wireOctetsOfStream } from '../protocol/wire-size.js';
import { fsyncDir, isMissing } from './io.js';
import { acquireLockFile, type HeldLock, PRIVATE_LOCK_UNREADABLE_STALE_MS } from './lock-file.js';
import { ensureMaildir } from './maildir-deliver.js';
import { derivedUid, maildirBase, uidForBase, wireSizeFromName } from './maildir-names.js';
import { readSizeCache, type SizeEntry, writeSizeCache } from './size-cache.js';
import {
  type Mailbox,
  MailboxBusyError,
  type MailStore,
  MessageGoneError,
  type MessageInfo,
} from './types.js';

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

interface Entry {
  readonly uid: string;
  readonly base: string;
  octets: number;
  sub: Sub;
  name: Buffer;
  readonly bytes: number;
  readonly mtimeMs: number;
  /** False when another file shares the base: then a moved file cannot be found again by its base. */
  relocatable: boolean;
}

export class MaildirStore implements MailStore {
  readonly #root: string | ((user: string) => string);
  readonly #staleMs: number;
  readonly #maxMessages: number;
  readonly #create: boolean;

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

  async openMailbox(user: string): Promise<Mailbox> {
    const dir = this.maildirOf(user);
    if (this.#create) await ensureMaildir(dir);
    const lock = await acquireLockFile(join(dir, LOCK_FILE), {
      staleMs: this.#staleMs,
      // Only pop3kit takes this lock, so an empty one is a killed writer's, not another program's.
      unreadableStaleMs: PRIVATE_LOCK_UNREADABLE_STALE_MS,
    });
    if (!lock) throw new MailboxBusyError();
    try {
      const entries = await snapshot(dir, this.#maxMessages);
      return new MaildirMailbox(dir, entries, lock);
    } catch (err) {
      await lock.release();
      throw err;
    }
  }
}

/** Path of `name` (bytes) in dir/sub. */
function filePath(dir: string, sub: Sub, name: Buffer): Buffer {
  return Buffer.concat([Buffer.from(join(dir, sub) + sep), name]);
}

/** Regular, non-dot files of new/ and cur/ with their stat data (symlinks and the rest are skipped). */
async function scan(dir: string): Promise<{ sub: Sub; name: Buffer; bytes: number; mtimeMs: number }[]> {
  const found: { sub: Sub; name: Buffer; bytes: number; mtimeMs: number }[] = [];
  for (const sub of SUBDIRS) {
    let names: Buffer[];
    try {
      names = await fs.readdir(join(dir, sub), { encoding: 'buffer' });
    } catch (err) {
      if (isMissing(err)) continue;
      throw err;
    }
    for (const name of names) {
      if (name[0] === 0x2e) continue;
      try {
        const st = await fs.lstat(filePath(dir, sub, name));
        if (st.isFile()) found.push({ sub, name, bytes: st.size, mtimeMs: st.mtimeMs });
      } catch (err) {
        if (!isMissing(err)) throw err; // moved or removed meanwhile: not in this snapshot
      }
    }
  }
  return found;
}

/** Open a message file for reading, refusing symlinks swapped in after the scan. */
function openNoFollow(path: Buffer): Promise<fs.FileHandle> {
  return fs.open(path, fsc.O_RDONLY | fsc.O_NOFOLLOW);
}

async function snapshot(dir: string, maxMessages: number): Promise<Entry[]> {
  const found = await scan(dir);
  found.sort((a, b) => a.mtimeMs - b.mtimeMs || Buffer.compare(a.name, b.name));
  found.length = Math.min(found.length, maxMessages);

  const baseCount = new Map<string, number>();
  for (const f of found) {
    const base = maildirBase(f.name);
    baseCount.set(base, (baseCount.get(base) ?? 0) + 1);
  }
  const used = new Set<string>();
  const entries: Entry[] = [];
  for (const f of found) {
    const base = maildirBase(f.name);
    let uid = uidForBase(base);
    // Two files with one base (a copy left in new/ and cur/): the later one gets an id from its full name.
    if (used.has(uid)) uid = derivedUid(`dup\0${f.sub}/${f.name.toString('latin1')}`);
    if (used.has(uid)) continue;
    used.add(uid);
    const octets = wireSizeFromName(f.name) ?? -1;
    entries.push({ uid, base, octets, ...f, relocatable: baseCount.get(base) === 1 });
  }

  const cache = await readSizeCache(dir).catch(() => new Map<string, SizeEntry>());
  let changed = false;
  const kept: Entry[] = [];
  const fresh = new Map<string, SizeEntry>();
  for (const e of entries) {
    if (e.octets < 0) {
      const hit = cache.get(e.base);
      if (hit && hit.bytes === e.bytes) e.octets = hit.octets;
      else {
        const counted = await countFile(filePath(dir, e.sub, e.name));
        if (counted === null) continue; // gone since the scan
        e.octets = counted;
        changed = true;
      }
      fresh.set(e.base, { bytes: e.bytes, octets: e.octets });
    }
    kept.push(e);
  }
  if (changed || fresh.size !== cache.size) {
    // The cache only saves work: a read-only or full Maildir just recounts next time.
    await writeSizeCache(dir, fresh).catch(() => {});
  }
  return kept;
}

async function countFile(path: Buffer): Promise<number | null> {
  let fh: fs.FileHandle;
  try {
    fh = await openNoFollow(path);
  } catch (err) {
    if (isMissing(err)) return null;
    throw err;
  }
  try {
    return (await wireOctetsOfStream(fh.createReadStream({ autoClose: false }))).octets;
  } finally {
    await fh.close();
  }
}

class MaildirMailbox implements Mailbox {
  readonly messages: readonly MessageInfo[];
  readonly #dir: string;
  readonly #byUid: Map<string, Entry>;
  readonly #lock: HeldLock;
  #released = false;
  #committed = false;

  constructor(dir: string, entries: Entry[], lock: HeldLock) {
    this.#dir = dir;
    this.#lock = lock;
    this.#byUid = new Map(entries.map((e) => [e.uid, e]));
    this.messages = Object.freeze(entries.map((e) => Object.freeze({ uid: e.uid, octets: e.octets })));
  }

  async open(uid: string): Promise<Readable> {
    if (this.#released) throw new Pop3Error('mailbox already released', { code: 'ESTATE' });
    const e = this.#byUid.get(uid);
    if (!e) throw new Pop3Error('no such message in this snapshot', { code: 'EARGUMENT' });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fh = await openNoFollow(filePath(this.#dir, e.sub, e.name));
        return fh.createReadStream();
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
      // A mail client moved it (new/ -> cur/, flags): find it again by its base.
      if (attempt > 0 || !e.relocatable || !(await this.#relocate([e]))) break;
    }
    throw new MessageGoneError();
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
        await fs.unlink(filePath(this.#dir, e.sub, e.name));
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
    for (const f of await scan(this.#dir)) {
      const e = want.get(maildirBase(f.name));
      if (e) {
        e.sub = f.sub;
        e.name = f.name;
        found = true;
      }
    }
    return found;
  }
}
