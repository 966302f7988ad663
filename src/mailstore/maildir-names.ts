// What a Maildir file name says about its message: the unique base (before `:2,flags` and
// without Dovecot's `,S=<size>` / `,W=<wire size>` fields), the UIDL derived from it, and the
// wire size when the name carries one. Names are Buffers: Maildir names are bytes, not UTF-8.

import { createHash } from 'node:crypto';

const COLON = 0x3a;

/** The part before the info separator `:`, as latin1 text (one char per byte). */
function beforeInfo(name: Buffer): string {
  const colon = name.indexOf(COLON);
  return name.toString('latin1', 0, colon === -1 ? name.length : colon);
}

/** The unique base of a Maildir file name (latin1, byte for byte): the same in new/ and cur/, with any flags. */
export function maildirBase(name: Buffer): string {
  return baseOf(beforeInfo(name));
}

/** `maildirBase` from the name's text before its `:` (most names have no `,` field: no work). */
export function baseOf(text: string): string {
  if (!text.includes(',')) return text;
  const [first = '', ...fields] = text.split(',');
  const kept = fields.filter((f) => !/^[SW]=\d+$/.test(f));
  return [first, ...kept].join(',');
}

/** The `,W=<octets>` field (Dovecot's wire size), from the name's text before its `:`, if it has a sane one. */
export function wireSizeOf(text: string): number | undefined {
  if (!text.includes(',W=')) return undefined;
  for (const f of text.split(',').slice(1)) {
    const m = /^W=(\d{1,15})$/.exec(f);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** A valid RFC 1939 unique-id: 1-70 characters in 0x21-0x7E. */
export function isValidUid(s: string): boolean {
  return /^[\x21-\x7e]{1,70}$/.test(s);
}

/**
 * The UIDL for a base: the base itself when it is a valid unique-id, else a hash of its bytes
 * (`x` + 40 hex digits), which is as stable as the name and, like it, never reused.
 */
export function uidForBase(base: string): string {
  return isValidUid(base) ? base : derivedUid(base);
}

/** A stable id from any text (latin1 bytes): `x` + 40 hex digits. */
export function derivedUid(text: string): string {
  return `x${createHash('sha256').update(text, 'latin1').digest('hex').slice(0, 40)}`;
}
