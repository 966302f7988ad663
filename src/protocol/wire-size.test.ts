import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toWireForm, WireSizeCounter, wireOctets, wireOctetsOfStream } from './wire-size.js';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('toWireForm (the reference rule)', () => {
  it.each([
    ['', '\r\n'],
    ['a', 'a\r\n'],
    ['a\n', 'a\r\n'],
    ['a\r\n', 'a\r\n'],
    ['a\nb', 'a\r\nb\r\n'],
    ['a\rb\n', 'a\rb\r\n'],
    ['a\r', 'a\r\r\n'],
    ['\n\n', '\r\n\r\n'],
    ['\r\r\n', '\r\r\n'],
    ['\n\r\n\r', '\r\n\r\n\r\r\n'],
  ])('%j -> %j', (stored, wire) => {
    expect(toWireForm(b(stored)).toString('latin1')).toBe(wire);
  });
});

describe('WireSizeCounter', () => {
  const samples = [
    '',
    '\n',
    '\r',
    '\r\n',
    'Subject: x\n\nbody\n',
    'Subject: x\r\n\r\nbody\r\n',
    'no newline at end',
    'bare\rcr\rin\rthe\rmiddle\r',
    'mixed\r\nends\nand\r\rcr\n\r',
    '.\n..\r\n.\r.\n',
    '\r\r\r\n\n\n\r',
  ];

  it('matches the reference at every single split position', () => {
    for (const s of samples) {
      const bytes = b(s);
      const expected = toWireForm(bytes).length;
      for (let i = 0; i <= bytes.length; i++) {
        const c = new WireSizeCounter();
        c.push(bytes.subarray(0, i));
        c.push(bytes.subarray(i));
        expect(c.octets, `${JSON.stringify(s)} split at ${i}`).toBe(expected);
        expect(c.bytes).toBe(bytes.length);
      }
    }
  });

  it('matches the reference at every pair of split positions and byte by byte', () => {
    for (const s of samples) {
      const bytes = b(s);
      const expected = toWireForm(bytes).length;
      for (let i = 0; i <= bytes.length; i++) {
        for (let j = i; j <= bytes.length; j++) {
          expect(wireOctets([bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)])).toBe(expected);
        }
      }
      expect(wireOctets([...bytes].map((x) => Uint8Array.of(x)))).toBe(expected);
    }
  });

  it('matches the reference for random bytes cut at random places', () => {
    const alphabet = fc.constantFrom(0x0d, 0x0a, 0x61, 0x2e, 0x00);
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 200 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (arr, cuts) => {
          const bytes = Uint8Array.from(arr);
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((x, y) => x - y);
          const chunks: Uint8Array[] = [];
          let at = 0;
          for (const p of points) {
            chunks.push(bytes.subarray(at, p));
            at = p;
          }
          chunks.push(bytes.subarray(at));
          expect(wireOctets(chunks)).toBe(toWireForm(bytes).length);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('reports the size so far between pushes', () => {
    const c = new WireSizeCounter();
    c.push(b('a\r'));
    expect(c.octets).toBe(4); // "a\r" + appended CRLF
    c.push(b('\n'));
    expect(c.octets).toBe(3); // "a\r\n"
  });

  it('counts a stream, string chunks included', async () => {
    const r = Readable.from([b('x\n'), 'y\r', b('\nz')]);
    expect(await wireOctetsOfStream(r)).toEqual({ bytes: 6, octets: 9 });
  });
});
