// The optional trace header (RFC 5322 §3.6.7 / RFC 5321 §4.4 form), as fetchmail adds one:
//   Received: from pop.example.org
//   	by thishost with POP3 (pop3kit) id <uid>; Thu, 24 Nov 1986 18:22:48 +0000
// Only host names we checked and a UID (0x21-0x7E by UIDL's rules) go in: nothing can inject a line.
import { hostname } from 'node:os';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 5322 date-time in UTC. */
export function rfc5322Date(d: Date): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  return (
    `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} +0000`
  );
}

/** A host name or address literal safe for a header; anything else becomes `unknown`. */
function safeHost(h: string): string {
  return /^[A-Za-z0-9.:_[\]-]{1,253}$/.test(h) ? h : 'unknown';
}

/** The header, CRLF-terminated (the wire form; targets convert line ends as they store). */
export function receivedHeader(server: string, uid: string, at: Date): Buffer {
  const id = /^[\x21-\x7e]{1,70}$/.test(uid) ? uid : 'unknown';
  return Buffer.from(
    `Received: from ${safeHost(server)}\r\n\tby ${safeHost(hostname())} with POP3 (pop3kit)\r\n` +
      `\tid ${id}; ${rfc5322Date(at)}\r\n`,
    'latin1',
  );
}
