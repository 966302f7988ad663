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
