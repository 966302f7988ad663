import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { safeHostPart } from './sasl/fields.js';

/** Longest timestamp accepted, brackets included: room for any real `<pid.clock@host>`. */
export const MAX_APOP_TIMESTAMP_LENGTH = 256;

const LT = 0x3c;
const GT = 0x3e;
const AT = 0x40;

/**
 * The APOP timestamp in a server greeting (RFC 1939 §7), or undefined when there is none or it is
 * not a strict msg-id: exactly one `<` and one `>` in the whole greeting, in that order; between them
 * only visible ASCII (0x21–0x7E) with exactly one `@` that is neither first nor last; at most 256
 * characters. One pass over the text, no regular expression: linear time on any input
 * (CONFORMANCE C13; CVE-2007-1558, Python CVE-2018-1060).
 */
export function parseApopTimestamp(greetingText: string): string | undefined {
  let open = -1;
  let close = -1;
  for (let i = 0; i < greetingText.length; i++) {
    const c = greetingText.charCodeAt(i);
    if (c === LT) {
      if (open >= 0) return undefined;
      open = i;
    } else if (c === GT) {
      if (open < 0 || close >= 0) return undefined;
      close = i;
    }
  }
  if (open < 0 || close < 0 || close - open + 1 > MAX_APOP_TIMESTAMP_LENGTH) return undefined;
  let at = -1;
  for (let i = open + 1; i < close; i++) {
    const c = greetingText.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return undefined;
    if (c === AT) {
      if (at >= 0) return undefined;
      at = i;
    }
  }
  if (at <= open + 1 || at >= close - 1) return undefined;
  return greetingText.slice(open, close + 1);
}

/** The APOP digest: lowercase hex MD5 of the timestamp followed by the shared secret (RFC 1939 §7). */
export function apopDigest(timestamp: string, secret: string): string {
  return createHash('md5')
    .update(timestamp + secret, 'utf8')
    .digest('hex');
}

/**
 * Server side: does `digest` (as the client sent it) match? Only 32 lowercase hex digits are
 * accepted (adversarial server case 24); the comparison takes constant time.
 */
export function checkApopDigest(timestamp: string, secret: string, digest: string): boolean {
  if (!/^[0-9a-f]{32}$/.test(digest)) return false;
  return timingSafeEqual(Buffer.from(apopDigest(timestamp, secret), 'latin1'), Buffer.from(digest, 'latin1'));
}

let counter = 0;

/**
 * A fresh greeting timestamp `<pid.clock.unique@host>` (RFC 1939 §7). A per-process counter and
 * random bytes make it unique per call, so a captured digest cannot be replayed.
 */
export function makeApopTimestamp(host: string): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  const unique = `${counter.toString(36)}${randomBytes(6).toString('hex')}`;
  return `<${process.pid}.${Date.now()}.${unique}@${safeHostPart(host)}>`;
}
