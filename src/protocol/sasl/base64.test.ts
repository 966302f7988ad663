import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Pop3Error } from '../errors.js';
import { decodeBase64Strict, encodeBase64 } from './base64.js';

function rejects(text: string): void {
  expect(() => decodeBase64Strict(text)).toThrow(Pop3Error);
}

describe('decodeBase64Strict', () => {
  it('decodes what Buffer encodes, for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = Buffer.from(bytes).toString('base64');
        expect(decodeBase64Strict(text).equals(Buffer.from(bytes))).toBe(true);
        expect(encodeBase64(bytes)).toBe(text);
      }),
    );
  });

  it('accepts a string only when it is the canonical encoding of what Buffer.from decodes', () => {
    const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= -_\r\n'.split('');
    const randomText = fc.string({ unit: fc.constantFrom(...chars), maxLength: 40 });
    // Valid encodings with one character replaced, inserted or removed: near misses.
    const mutated = fc
      .tuple(fc.uint8Array({ minLength: 1, maxLength: 30 }), fc.nat(), fc.constantFrom(...chars), fc.nat(2))
      .map(([bytes, at, ch, op]) => {
        const text = Buffer.from(bytes).toString('base64');
        const i = at % text.length;
        if (op === 0) return text.slice(0, i) + ch + text.slice(i + 1);
        if (op === 1) return text.slice(0, i) + ch + text.slice(i);
        return text.slice(0, i) + text.slice(i + 1);
      });
    const base64ish = fc.oneof(randomText, mutated);
    fc.assert(
      fc.property(base64ish, (text) => {
        let decoded: Buffer | undefined;
        try {
          decoded = decodeBase64Strict(text);
        } catch (err) {
          expect(err).toBeInstanceOf(Pop3Error);
          expect((err as Pop3Error).code).toBe('EPROTOCOL');
        }
        if (decoded !== undefined && text !== '=') {
          expect(decoded.equals(Buffer.from(text, 'base64'))).toBe(true);
          expect(decoded.toString('base64')).toBe(text);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('treats an empty text and a lone "=" (RFC 5034 empty initial response) as empty', () => {
    expect(decodeBase64Strict('').length).toBe(0);
    expect(decodeBase64Strict('=').length).toBe(0);
  });

  it('server case 13: rejects spaces, line breaks, bad padding and characters outside the alphabet', () => {
    for (const bad of [
      'QUJD RA==', // space inside
      ' QUJD',
      'QUJD\r\n',
      'QUJDRA=', // padding missing a character
      'QUJDRA', // unpadded
      'QUJDR===',
      'QU=JD',
      '==',
      'QUJD-_==', // base64url alphabet
      'QUJDRB==', // non-zero bits in the padding (non-canonical)
      'QUJ\u00e9',
      '*',
    ]) {
      rejects(bad);
    }
  });

  it('never echoes the rejected input in the error message', () => {
    try {
      decodeBase64Strict('c2VjcmV0 cGFzcw==');
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).not.toContain('c2VjcmV0');
    }
  });
});
