import { createHash, timingSafeEqual } from 'node:crypto';

/** RFC 4616 §2: servers accept authzid, authcid and passwd of up to 255 octets each; we use it for every mechanism. */
export const MAX_FIELD_OCTETS = 255;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The UTF-8 text of `bytes`, or undefined when they are not well-formed UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** True when `text` contains a C0 control character or DEL (identities: user names, authzids). */
export function hasControl(text: string): boolean {
  return /[\x00-\x1f\x7f]/.test(text);
}

/** True when `text` contains CR, LF or NUL: never acceptable in a secret relayed anywhere. */
export function hasLineBreakOrNul(text: string): boolean {
  return /[\r\n\x00]/.test(text);
}

/** True when `text` is a usable identity: non-empty, at most 255 octets, no control characters. */
export function isValidIdentity(text: string): boolean {
  return text.length > 0 && Buffer.byteLength(text, 'utf8') <= MAX_FIELD_OCTETS && !hasControl(text);
}

/**
 * Equality of two secrets in time that depends on neither content nor length:
 * both sides are hashed first, so timingSafeEqual always sees 32 bytes.
 */
export function secretsEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** A host name safe inside a msg-id `<...@host>`: visible ASCII without `<`, `>`, `@`; at most 200 characters. */
export function safeHostPart(host: string): string {
  const cleaned = host.replace(/[^\x21-\x7e]|[<>@]/g, '').slice(0, 200);
  return cleaned === '' ? 'localhost' : cleaned;
}
