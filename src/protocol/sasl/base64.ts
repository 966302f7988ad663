import { Pop3Error } from '../errors.js';

// Only the standard alphabet, padding only at the end. The pattern has no nested
// quantifiers, so it runs in linear time on hostile input.
const BASE64_SHAPE = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Strict base64 decoding for SASL data (RFC 4648 §4, as RFC 5034 requires).
 * Rejects spaces and line breaks, characters outside the alphabet, missing or misplaced padding,
 * and non-canonical forms (non-zero bits in the padding), so that every accepted text has exactly
 * one meaning. An empty text and a lone `=` (RFC 5034's empty initial response) both decode to an
 * empty buffer. Throws Pop3Error('EPROTOCOL'); the message never echoes the input.
 */
export function decodeBase64Strict(text: string): Buffer {
  if (text === '' || text === '=') return Buffer.alloc(0);
  if (text.length % 4 !== 0 || !BASE64_SHAPE.test(text)) {
    throw new Pop3Error('SASL data is not valid base64', { code: 'EPROTOCOL' });
  }
  const bytes = Buffer.from(text, 'base64');
  // Node ignores the bits that padding leaves over; re-encoding exposes a non-canonical text.
  if (bytes.toString('base64') !== text) {
    throw new Pop3Error('SASL data is not canonical base64', { code: 'EPROTOCOL' });
  }
  return bytes;
}

/** Standard base64 with padding; an empty buffer encodes to an empty string (callers decide on `=`). */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
