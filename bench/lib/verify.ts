// Checks a run's result: every message delivered exactly once and byte-exact.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Expected } from './mailbox.js';

/** How a contender stores a message: LF line ends (Maildir custom) or the wire's CRLF. */
export type LineForm = 'lf' | 'crlf';

async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function list(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

/** Undefined when the Maildir holds exactly the expected messages; otherwise what is wrong. */
export async function verifyMaildir(
  dir: string,
  expected: Expected,
  form: LineForm,
): Promise<string | undefined> {
  const leftovers = await list(join(dir, 'tmp'));
  if (leftovers.length > 0) return `${leftovers.length} file(s) left in tmp/`;
  const files = [
    ...(await list(join(dir, 'new'))).map((f) => join(dir, 'new', f)),
    ...(await list(join(dir, 'cur'))).map((f) => join(dir, 'cur', f)),
  ];
  if (files.length !== expected.count)
    return `${files.length} messages delivered, expected ${expected.count}`;
  // Multiset difference: each expected message must be matched by one delivered file.
  const unmatched = new Map<string, number>();
  for (const h of form === 'lf' ? expected.lfHashes : expected.crlfHashes) {
    unmatched.set(h, (unmatched.get(h) ?? 0) + 1);
  }
  let wrong = 0;
  for (const f of files) {
    const h = await hashFile(f);
    const left = unmatched.get(h) ?? 0;
    if (left > 0) unmatched.set(h, left - 1);
    else wrong++;
  }
  if (wrong === 0) return undefined;
  return `${wrong} of ${files.length} delivered messages match no expected message (${form.toUpperCase()} form)`;
}

/** For the byte-counting contenders (raw socket, client sink), which print one JSON line. */
export interface CountReport {
  messages: number;
  octets: number;
}

export function verifyCount(
  stdout: string,
  expected: Expected,
  what: 'stuffed' | 'wire',
): string | undefined {
  let report: CountReport;
  try {
    report = JSON.parse(stdout.trim().split('\n').pop() ?? '');
  } catch {
    return `no JSON report on stdout: ${stdout.slice(0, 200)}`;
  }
  const octets = what === 'stuffed' ? expected.stuffedOctets : expected.wireOctets;
  if (report.messages !== expected.count)
    return `${report.messages} messages read, expected ${expected.count}`;
  if (report.octets !== octets) return `${report.octets} ${what} octets read, expected ${octets}`;
  return undefined;
}

/**
 * Dovecot's log since a mark: undefined when it logged no error, logged `user` logging out, and those
 * logouts count `count` RETRs in all (`retr=N`); otherwise what is wrong.
 */
export function verifyDovecotLog(text: string, user: string, count: number): string | undefined {
  const bad = text.split('\n').find((l) => /: (Error|Fatal|Panic): /.test(l));
  if (bad) return `dovecot logged: ${bad.slice(0, 200)}`;
  let retr = 0;
  let sessions = 0;
  for (const m of text.matchAll(
    new RegExp(`pop3\\(${user}\\).*Disconnected: Logged out .*retr=(\\d+)/`, 'g'),
  )) {
    retr += Number(m[1]);
    sessions++;
  }
  if (sessions === 0) return `dovecot logged no logout for ${user}`;
  return retr === count ? undefined : `dovecot logged ${retr} RETRs for ${user}, expected ${count}`;
}

interface OurLogEntry {
  level?: string;
  msg?: string;
  user?: string;
  reason?: string;
  retr?: unknown;
}

/**
 * Our server's JSON log since a mark: undefined when it logged no warning or error, and every
 * `session closed` record of `user` says QUIT and carries a RETR count, the counts adding up to
 * `count`; otherwise what is wrong. A last line not yet ended is left for the next look.
 */
export function verifyOurLog(text: string, user: string, count: number): string | undefined {
  let closed = 0;
  let retr = 0;
  for (const line of text.split('\n').slice(0, -1)) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as OurLogEntry;
    if (entry.level === 'warn' || entry.level === 'error') return `our server logged: ${line.slice(0, 200)}`;
    if (entry.msg === 'session closed' && entry.user === user) {
      if (entry.reason !== 'quit') return `session of ${user} closed with reason ${entry.reason}`;
      if (typeof entry.retr !== 'number') return `our server's session closed record has no retr count`;
      retr += entry.retr;
      closed++;
    }
  }
  if (closed === 0) return `our server logged no closed session for ${user}`;
  return retr === count ? undefined : `our server logged ${retr} RETRs for ${user}, expected ${count}`;
}
