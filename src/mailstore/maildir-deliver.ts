// Delivery into a Maildir (https://cr.yp.to/proto/maildir.html): write tmp/<unique>, fsync the
// file, rename it into new/, fsync new/. The two steps are separate so the fetcher can journal
// the name between them (its exactly-once protocol); deliverToMaildir does both.

import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Pop3Error } from '../protocol/errors.js';
import { WireSizeCounter } from '../protocol/wire-size.js';
import {
  chunksOf,
  crlfToLf,
  fsyncDir,
  isMissing,
  type MessageSource,
  pathExists,
  writeNewFileSynced,
} from './io.js';

export interface MaildirDeliverOptions {
  /** Refuse messages larger than this many stored bytes (default 1 GiB): error ELIMIT, nothing kept. */
  maxBytes?: number;
  /** 'keep' stores the bytes as given (default); 'lf' turns CRLF into LF, the usual Maildir form. */
  lineEnds?: 'keep' | 'lf';
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

/** Create dir and its tmp/, new/, cur/ (mode 0700) where missing. */
export async function ensureMaildir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  for (const sub of ['tmp', 'new', 'cur']) await fs.mkdir(join(dir, sub), { recursive: true, mode: 0o700 });
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

/** `sec.M<usec>P<pid>Q<count>R<random>.host`: unique per delivery, 70 characters at most with the host cap. */
export function uniqueMaildirName(): string {
  const nowUs = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  const sec = Math.floor(nowUs / 1e6);
  const usec = nowUs % 1e6;
  deliveries++;
  return `${sec}.M${usec}P${process.pid}Q${deliveries}R${randomBytes(4).toString('hex')}.${safeHost()}`;
}

/** Write the message into dir/tmp/ and fsync it. Creates the Maildir if missing. */
export async function writeTmp(
  dir: string,
  source: MessageSource,
  opts: MaildirDeliverOptions = {},
): Promise<TmpMessage> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  await ensureMaildir(dir);
  const unique = uniqueMaildirName();
  const tmpPath = join(dir, 'tmp', unique);
  const counter = new WireSizeCounter();
  const chunks = opts.lineEnds === 'lf' ? crlfToLf(chunksOf(source)) : chunksOf(source);
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of chunks) {
      if (counter.bytes + chunk.length > maxBytes) {
        throw new Pop3Error(`message exceeds the delivery limit of ${maxBytes} bytes`, { code: 'ELIMIT' });
      }
      counter.push(chunk);
      yield chunk;
    }
  }
  await writeNewFileSynced(tmpPath, counted());
  return {
    tmpPath,
    name: `${unique},S=${counter.bytes},W=${counter.octets}`,
    bytes: counter.bytes,
    octets: counter.octets,
  };
}

/**
 * Make a tmp/ message visible: rename it into new/ and fsync new/. Safe to repeat after a crash:
 * when the tmp file is gone and new/<name> exists, the earlier call got that far.
 */
export async function publish(
  dir: string,
  tmp: { readonly tmpPath: string; readonly name: string },
): Promise<{ path: string; name: string }> {
  if (!/^[^/\0.][^/\0]*$/.test(tmp.name) || tmp.name.length > 255) {
    throw new Pop3Error('invalid Maildir file name', { code: 'EARGUMENT' });
  }
  const path = join(dir, 'new', tmp.name);
  try {
    await fs.rename(tmp.tmpPath, path);
  } catch (err) {
    if (!isMissing(err) || !(await pathExists(path))) throw err;
  }
  await fsyncDir(join(dir, 'new'));
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
