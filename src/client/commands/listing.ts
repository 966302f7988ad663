import { Pop3Error, printable } from '../../protocol/errors.js';

/** RFC 1939 §5 message number: decimal, no sign, no leading zero. */
const NUMBER = /^[1-9][0-9]{0,9}$/;
/** Octet counts: decimal, bounded so they stay exact as JavaScript numbers. */
const OCTETS = /^(0|[1-9][0-9]{0,14})$/;
/** RFC 1939 §7: a unique-id is 1 to 70 characters in 0x21..0x7E. */
const UID = /^[\x21-\x7e]{1,70}$/;

function bad(what: string, line: string): Pop3Error {
  return new Pop3Error(`malformed ${what}: "${printable(line, 80)}"`, { code: 'EPROTOCOL' });
}

/** `+OK nn mm` of STAT (RFC 1939 §5). */
export function parseStat(text: string, maxMessages: number): { count: number; octets: number } {
  const [count, octets] = text.split(' ');
  if (!count || !octets || !(count === '0' || NUMBER.test(count)) || !OCTETS.test(octets))
    throw bad('STAT reply', text);
  const n = Number(count);
  if (n > maxMessages) {
    throw new Pop3Error(`STAT reports ${n} messages, more than the limit of ${maxMessages}`, {
      code: 'ELIMIT',
    });
  }
  return { count: n, octets: Number(octets) };
}

export function parseMessageNumber(token: string | undefined, line: string, max?: number): number {
  if (!token || !NUMBER.test(token)) throw bad('message number', line);
  const n = Number(token);
  if (max !== undefined && n > max) throw bad('message number (above the STAT count)', line);
  return n;
}

/** One `n size` line of LIST, or the text of `+OK n size` for `LIST n`. Extra fields are ignored (§5). */
export function parseListEntry(line: string, max?: number): { n: number; octets: number } {
  const [n, octets] = line.split(' ');
  if (!octets || !OCTETS.test(octets)) throw bad('LIST entry', line);
  return { n: parseMessageNumber(n, line, max), octets: Number(octets) };
}

/** One `n uid` line of UIDL, or the text of `+OK n uid` for `UIDL n`. */
export function parseUidlEntry(line: string, max?: number): { n: number; uid: string } {
  const [n, uid] = line.split(' ');
  if (!uid || !UID.test(uid)) throw bad('UIDL entry (a unique-id is 1-70 characters in 0x21-0x7E)', line);
  return { n: parseMessageNumber(n, line, max), uid };
}

/** Message numbers in a listing are unique (RFC 1939 §5). */
export function checkUnique<T extends { n: number }>(entries: T[], what: string): T[] {
  const seen = new Set<number>();
  for (const e of entries) {
    if (seen.has(e.n)) throw new Pop3Error(`${what} lists message ${e.n} twice`, { code: 'EPROTOCOL' });
    seen.add(e.n);
  }
  return entries;
}
