// The benchmark mailboxes: generated once per harness run, written into Dovecot's Maildir and
// into our server's Maildir root, and described by what a correct download must produce
// (message count, octets, and the SHA-256 of every message in LF and in CRLF form).
import { createHash } from 'node:crypto';
import { chown, copyFile, mkdir, open, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  maildirBaseName,
  sizedMailbox,
  toWireForm,
  writeMaildir,
} from '../../test/fixtures/mail-generator.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

export interface MailboxSpec {
  /** Name of the POP3 user holding it on both servers. */
  user: string;
  count: number;
  /** File size of each message (LF line ends). */
  size: number;
}

export interface Expected {
  count: number;
  /** Sum of the RFC 1939 sizes (CRLF line ends, not dot-stuffed): what a client's RETR yields. */
  wireOctets: number;
  /** Sum of the dot-stuffed body octets on the wire (what a raw reader counts before CRLF.CRLF). */
  stuffedOctets: number;
  /** Sorted SHA-256 (hex) of each message with LF line ends, as mpop and pop3 fetch store it. */
  lfHashes: string[];
  /** Sorted SHA-256 (hex) of each message in wire form (CRLF). */
  crlfHashes: string[];
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Lines of a wire-form message that begin with '.', i.e. the octets dot-stuffing adds. */
function dotLines(wire: Buffer): number {
  let n = wire[0] === 0x2e ? 1 : 0;
  for (let i = wire.indexOf('\n.'); i >= 0; i = wire.indexOf('\n.', i + 2)) {
    if (i + 2 < wire.length) n++; // a '.' that starts a line (the terminator is not part of the message)
  }
  return n;
}

/** Writes `spec` into each Maildir (generated in memory: fine up to a few hundred MiB in total). */
export async function seedGenerated(spec: MailboxSpec, maildirs: string[]): Promise<Expected> {
  const messages = sizedMailbox(spec.count, spec.size);
  for (const dir of maildirs) await writeMaildir(dir, messages);
  const lf: string[] = [];
  const crlf: string[] = [];
  let wireOctets = 0;
  let stuffedOctets = 0;
  for (const m of messages) {
    const wire = toWireForm(m.bytes);
    lf.push(sha256(Buffer.from(wire.toString('latin1').replace(/\r\n/g, '\n'), 'latin1')));
    crlf.push(sha256(wire));
    wireOctets += wire.length;
    stuffedOctets += wire.length + dotLines(wire);
  }
  return { count: messages.length, wireOctets, stuffedOctets, lfHashes: lf.sort(), crlfHashes: crlf.sort() };
}

const LINE_BODY = 74; // '.' or 'x', 9 digits, space, 63 filler octets
const FILLER = 'the quick brown fox jumps over the lazy dog 0123456789 pop3kit!!'.slice(0, LINE_BODY - 11);

/**
 * One message of exactly `size` octets (LF line ends) streamed to disk: a header block, then
 * numbered 74-octet lines, every 100,000th beginning with '.', so the transfer is dot-stuffed too.
 * Too big for the in-memory generator (V8 strings stop at 512 MiB).
 */
export async function seedHuge(spec: MailboxSpec, maildirs: string[]): Promise<Expected> {
  if (spec.count !== 1) throw new Error('seedHuge writes exactly one message');
  const [first, ...rest] = maildirs;
  if (!first) throw new Error('no maildir to seed');
  const uid = maildirBaseName(0, 'huge');
  const head = Buffer.from(
    [
      'From: Bench Sender <sender@example.org>',
      'To: Bench Recipient <recipient@example.com>',
      `Subject: one message of ${spec.size} octets`,
      'Date: Mon, 01 Jan 2024 00:00:00 +0000',
      'Message-ID: <huge.pop3kit@example.org>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      '',
    ].join('\n'),
  );
  const lfHash = createHash('sha256');
  const crlfHash = createHash('sha256');
  let lines = 0;
  let dots = 0;
  const tmp = join(first, 'tmp', uid);
  await ensureMaildir(first);
  const fh = await open(tmp, 'wx', 0o644);
  try {
    const emit = async (lf: Buffer, crlf: Buffer) => {
      lfHash.update(lf);
      crlfHash.update(crlf);
      await fh.write(lf);
    };
    await emit(head, Buffer.from(head.toString('latin1').replace(/\n/g, '\r\n'), 'latin1'));
    lines += head.toString('latin1').split('\n').length - 1;
    let left = spec.size - head.length;
    const perChunk = 8192;
    const lfChunk = Buffer.alloc(perChunk * (LINE_BODY + 1));
    const crlfChunk = Buffer.alloc(perChunk * (LINE_BODY + 2));
    let k = 0;
    while (left > 0) {
      let lfLen = 0;
      let crlfLen = 0;
      while (lfLen < lfChunk.length && left > 0) {
        // The last line is cut to fit the exact size (it may be shorter, never empty of its LF).
        const bodyLen = Math.min(LINE_BODY, left - 1);
        const text = `${k % 100_000 === 0 ? '.' : 'x'}${String(k).padStart(9, '0')} ${FILLER}`.slice(
          0,
          bodyLen,
        );
        lfLen += lfChunk.write(`${text}\n`, lfLen, 'latin1');
        crlfLen += crlfChunk.write(`${text}\r\n`, crlfLen, 'latin1');
        if (text.startsWith('.')) dots++;
        left -= bodyLen + 1;
        lines++;
        k++;
      }
      await emit(lfChunk.subarray(0, lfLen), crlfChunk.subarray(0, crlfLen));
    }
  } finally {
    await fh.close();
  }
  await chownLike(first, tmp);
  const path = join(first, 'cur', `${uid}:2,`);
  await rename(tmp, path);
  for (const dir of rest) {
    await ensureMaildir(dir);
    const copy = join(dir, 'cur', `${uid}:2,`);
    await copyFile(path, copy);
    await chownLike(dir, copy);
  }
  const wireOctets = spec.size + lines; // one CR per LF
  return {
    count: 1,
    wireOctets,
    stuffedOctets: wireOctets + dots,
    lfHashes: [lfHash.digest('hex')],
    crlfHashes: [crlfHash.digest('hex')],
  };
}

async function ensureMaildir(dir: string): Promise<void> {
  for (const sub of ['', 'tmp', 'new', 'cur']) {
    await mkdir(join(dir, sub), { recursive: true, mode: 0o755 });
    await chownLike(dir, join(dir, sub));
  }
}

/** Give `path` the owner of `dir` (Dovecot's mail user when we run as root). */
async function chownLike(dir: string, path: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const st = await stat(dir);
  await chown(path, st.uid, st.gid);
}
