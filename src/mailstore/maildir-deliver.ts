// Delivery into a Maildir (https://cr.yp.to/proto/maildir.html): write tmp/<unique>, fsync the
// file, rename it into new/, fsync new/. The steps are separate so the fetcher can journal the
// name between them (its exactly-once protocol) and rename a batch before one fsync of new/;
// deliverToMaildir does all of them. File steps use synchronous calls (see NewFileWriter).

import { randomBytes } from 'node:crypto';
import { linkSync, lstatSync, renameSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Pop3Error } from '../protocol/errors.js';
import { fsyncDirSync, isCode, isMissing, type MessageSource, NewFileWriter, writeMessage } from './io.js';
import { mkdirDurable, mkdirDurableSync } from './mkdir-durable.js';

export interface MaildirDeliverOptions {
  /** Refuse messages larger than this many stored bytes (default 1 GiB): error ELIMIT, nothing kept. */
  maxBytes?: number;
  /** 'keep' stores the bytes as given (default); 'lf' turns CRLF into LF, the usual Maildir form. */
  lineEnds?: 'keep' | 'lf';
  /** Bytes stored before the source's (e.g. a trace header), converted like them. */
  head?: Uint8Array;
  /** Told the size of each chunk taken from the source (progress). */
  onSourceBytes?: (n: number) => void;
}

/** A message written and fsynced in tmp/, not yet visible. */
export interface TmpMessage {
  /** Full path of the file in tmp/. */
  readonly tmpPath: string;
  /** The file name it will have in new/: `<unique>,S=<bytes>,W=<wire octets>`. */
  readonly name: string;
  readonly bytes: number;
  readonly octets: number;
}

const DEFAULT_MAX_BYTES = 1024 ** 3;
let deliveries = 0;

/** Create dir and its tmp/, new/, cur/ (mode 0700) where missing, durably. */
export async function ensureMaildir(dir: string): Promise<void> {
  await mkdirDurable(dir);
  for (const sub of ['tmp', 'new', 'cur']) await mkdirDurable(join(dir, sub));
}

/** The same, synchronous: for a delivery that found tmp/ missing in the middle of a synchronous write. */
function ensureMaildirSync(dir: string): void {
  mkdirDurableSync(dir);
  for (const sub of ['tmp', 'new', 'cur']) mkdirDurableSync(join(dir, sub));
}

/** This host's name in the form the Maildir spec asks for: `/` and `:` escaped (`,` too: it starts our size fields). */
function safeHost(): string {
  const h = hostname()
    .replace(/\//g, '\\057')
    .replace(/:/g, '\\072')
    .replace(/,/g, '\\054')
    .replace(/[^\x21-\x7e]/g, '_');
  return (h || 'localhost').slice(0, 20);
}

// Looked up once per process, not per message (each lookup is a system call): the host name as
// it was when this process started names its files; randomness comes from a pool refilled rarely.
let host: string | undefined;
let origin: number | undefined;
let pool = Buffer.alloc(0);
let poolAt = 0;

function random4(): string {
  if (poolAt + 4 > pool.length) {
    pool = randomBytes(1024);
    poolAt = 0;
  }
  poolAt += 4;
  return pool.toString('hex', poolAt - 4, poolAt);
}

/** `sec.M<usec>P<pid>Q<count>R<random>.host`: unique per delivery, 70 characters at most with the host cap. */
export function uniqueMaildirName(): string {
  origin ??= performance.timeOrigin;
  const nowUs = Math.floor((origin + performance.now()) * 1000);
  const sec = Math.floor(nowUs / 1e6);
  const usec = nowUs % 1e6;
  deliveries++;
  host ??= safeHost();
  return `${sec}.M${usec}P${process.pid}Q${deliveries}R${random4()}.${host}`;
}

/**
 * Write the message into dir/tmp/ and fsync it. The Maildir is created when tmp/ is missing (found
 * by the failed create, so a run of deliveries does not mkdir for every message).
 */
export async function writeTmp(
  dir: string,
  source: MessageSource,
  opts: MaildirDeliverOptions = {},
): Promise<TmpMessage> {
  const unique = uniqueMaildirName();
  const tmpPath = `${tmpDirOf(dir)}/${unique}`;
  const file = new NewFileWriter(tmpPath, {
    maxBytes: opts.maxBytes ?? DEFAULT_MAX_BYTES,
    onMissingDir: () => ensureMaildirSync(dir),
  });
  const { bytes, octets } = await writeMessage(file, source, {
    lineEnds: opts.lineEnds ?? 'keep',
    ...(opts.head ? { head: opts.head } : {}),
    ...(opts.onSourceBytes ? { onBytes: opts.onSourceBytes } : {}),
  });
  return { tmpPath, name: `${unique},S=${bytes},W=${octets}`, bytes, octets };
}

let lastDir = '';
let lastTmp = '';

/** dir/tmp, normalised once for a run of deliveries into the same Maildir. */
function tmpDirOf(dir: string): string {
  if (dir !== lastDir) {
    lastTmp = join(dir, 'tmp');
    lastDir = dir;
  }
  return lastTmp;
}

/** Check a Maildir file name before it becomes a path. */
function checkName(name: string): void {
  if (!/^[^/\0.][^/\0]*$/.test(name) || name.length > 255) {
    throw new Pop3Error('invalid Maildir file name', { code: 'EARGUMENT' });
  }
}

/**
 * Move a tmp/ message into new/ the Maildir way, link() then unlink(), so an existing new/<name>
 * is never replaced (rename() would silently overwrite it): EEXIST instead, and the message stays
 * in tmp/. Not durable by itself: a batch is followed by one syncNew(dir). Safe to repeat: when
 * the tmp file is gone and new/<name> exists, or both names are the same file (a cut between the
 * link and the unlink), an earlier call got that far. Returns the path in new/.
 */
export function renameIntoNew(dir: string, tmp: { readonly tmpPath: string; readonly name: string }): string {
  checkName(tmp.name);
  const path = join(dir, 'new', tmp.name);
  try {
    linkSync(tmp.tmpPath, path);
  } catch (err) {
    const from = lstatSync(tmp.tmpPath, { throwIfNoEntry: false });
    const to = lstatSync(path, { throwIfNoEntry: false });
    if (isCode(err, 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS') && from && !to) {
      renameSync(tmp.tmpPath, path); // no hard links on this file system: rename into a free name
      return path;
    }
    if (!isCode(err, 'EEXIST', 'ENOENT') || !to) throw err;
    if (from && (from.ino !== to.ino || from.dev !== to.dev)) throw err; // another message has the name
  }
  try {
    unlinkSync(tmp.tmpPath);
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
  return path;
}

/** fsync dir/new/, making the renames into it durable. */
export function syncNew(dir: string): void {
  fsyncDirSync(join(dir, 'new'));
}

/**
 * Make a tmp/ message visible: rename it into new/ and fsync new/. Safe to repeat after a crash:
 * when the tmp file is gone and new/<name> exists, the earlier call got that far.
 */
export async function publish(
  dir: string,
  tmp: { readonly tmpPath: string; readonly name: string },
): Promise<{ path: string; name: string }> {
  const path = renameIntoNew(dir, tmp);
  syncNew(dir);
  return { path, name: tmp.name };
}

/** Deliver one message into the Maildir at dir (created if missing); returns where it landed in new/. */
export async function deliverToMaildir(
  dir: string,
  source: MessageSource,
  opts: MaildirDeliverOptions = {},
): Promise<{ path: string; name: string }> {
  return publish(dir, await writeTmp(dir, source, opts));
}
