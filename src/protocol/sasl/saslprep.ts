import { Pop3Error } from '../errors.js';

// RFC 4013 SASLprep, used for SCRAM passwords (RFC 5802 §2.2 "Normalize") on both ends.
// Implemented: the two mapping steps (B.1 to nothing, C.1.2 to SPACE), NFKC, and the
// prohibited-output tables C.1.2–C.9. Not implemented: the bidirectional check (RFC 3454 §6;
// JavaScript regexps cannot see the Bidi_Class property) and the unassigned-code-point check,
// so the result follows the "query" rules. For ASCII text without control characters the
// result is the input itself, which is what almost every deployment uses.

// B.1: commonly mapped to nothing. Each code point is matched on its own, combining ones included.
// biome-ignore lint/suspicious/noMisleadingCharacterClass: deliberate single code points
const MAPPED_TO_NOTHING = /[\u00ad\u034f\u1806\u180b-\u180d\u200b-\u200d\u2060\ufe00-\ufe0f\ufeff]/g;
// C.1.2: non-ASCII space characters, mapped to U+0020.
const NON_ASCII_SPACE = /[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/g;
// C.2.1, C.2.2, C.3, C.4, C.5, C.6, C.7, C.8, C.9 (C.1.2 is already mapped away).
const PROHIBITED = new RegExp(
  [
    '[\\u0000-\\u001f\\u007f-\\u009f\\u0340\\u0341\\u06dd\\u070f\\u180e\\u200c-\\u200f\\u2028-\\u202e',
    '\\u2060-\\u2063\\u206a-\\u206f\\u2ff0-\\u2ffb\\ue000-\\uf8ff\\ufdd0-\\ufdef\\ufeff\\ufff9-\\uffff',
    '\\u{1d173}-\\u{1d17a}\\u{e0001}\\u{e0020}-\\u{e007f}\\u{f0000}-\\u{10ffff}',
    '\\u{1fffe}\\u{1ffff}\\u{2fffe}\\u{2ffff}\\u{3fffe}\\u{3ffff}\\u{4fffe}\\u{4ffff}\\u{5fffe}\\u{5ffff}',
    '\\u{6fffe}\\u{6ffff}\\u{7fffe}\\u{7ffff}\\u{8fffe}\\u{8ffff}\\u{9fffe}\\u{9ffff}\\u{afffe}\\u{affff}',
    '\\u{bfffe}\\u{bffff}\\u{cfffe}\\u{cffff}\\u{dfffe}\\u{dffff}\\u{efffe}\\u{effff}]',
    // C.5: lone surrogates (a well-formed pair is one code point under the u flag).
    '|[\\ud800-\\udfff]',
  ].join(''),
  'u',
);

/**
 * SASLprep a string (see the notes above for the parts left out).
 * Throws Pop3Error('EARGUMENT') when the result contains a prohibited character; the message
 * does not contain the text, which is usually a password.
 */
export function saslprep(text: string): string {
  const mapped = text.replace(MAPPED_TO_NOTHING, '').replace(NON_ASCII_SPACE, ' ').normalize('NFKC');
  if (PROHIBITED.test(mapped)) {
    throw new Pop3Error('the secret contains a character SASLprep prohibits', { code: 'EARGUMENT' });
  }
  return mapped;
}
