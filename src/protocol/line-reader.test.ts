import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cutAt, threeWaySplits, twoWaySplits } from '../../scripts/fuzz/chunks.js';
import { linesReference } from '../../scripts/fuzz/reference.js';
import { Pop3Error } from './errors.js';
import { LineReader } from './line-reader.js';

const b = (s: string) => Buffer.from(s, 'latin1');

interface Read {
  lines: string[];
  error: string | undefined;
  rest: string;
}

/** Push each chunk and drain every complete line after it, as a connection does. */
function readChunks(chunks: readonly Buffer[], max = 512): Read {
  const reader = new LineReader(max);
  const lines: string[] = [];
  try {
    for (const chunk of chunks) {
      reader.push(chunk);
      for (let line = reader.next(); line !== undefined; line = reader.next())
        lines.push(line.toString('latin1'));
    }
  } catch (err) {
    if (!(err instanceof Pop3Error)) throw err;
    return { lines, error: err.code, rest: '' };
  }
  return { lines, error: undefined, rest: reader.take().toString('latin1') };
}

const readAll = (input: Buffer, max = 512) => readChunks([input], max);

const SAMPLE = b('+OK ready\r\nUSER bob\n\r\nPASS a\rb\r\r\n\0\xff\xfe\r\n+OK 2 320\r\n.\r\npartial');

describe('LineReader: line ends', () => {
  it('CRLF and bare LF both end a line; one CR before the LF is dropped; a bare CR is data', () => {
    expect(readAll(b('a\r\nb\nc\rd\r\ne\r\r\n'))).toEqual({
      lines: ['a', 'b', 'c\rd', 'e\r'],
      error: undefined,
      rest: '',
    });
  });

  it('a CR split from its LF across chunks is still dropped', () => {
    expect(readChunks([b('+OK\r'), b('\n')]).lines).toEqual(['+OK']);
    expect(readChunks([b('+OK\r'), b(''), b('\n')]).lines).toEqual(['+OK']);
  });

  it('client cases 11 and 12: NUL and invalid UTF-8 come back as the same bytes', () => {
    const line = Buffer.from([0x2b, 0x4f, 0x4b, 0x20, 0x00, 0xff, 0xc3, 0x28]);
    const reader = new LineReader(512);
    reader.push(Buffer.concat([line, b('\r\n')]));
    expect(reader.next()).toEqual(line);
  });

  it('an empty line is returned as an empty buffer, not as "no line"', () => {
    expect(readAll(b('\r\n\n')).lines).toEqual(['', '']);
  });

  it('a line without its end stays buffered until the end arrives', () => {
    const reader = new LineReader(512);
    reader.push(b('+OK 1'));
    expect(reader.next()).toBeUndefined();
    expect(reader.buffered).toBe(5);
    reader.push(b('2 3\r\n'));
    expect(reader.next()?.toString()).toBe('+OK 12 3');
    expect(reader.next()).toBeUndefined();
    expect(reader.buffered).toBe(0);
  });
});

describe('LineReader: take()', () => {
  it('returns the bytes after the last line read, and leaves the reader empty', () => {
    const reader = new LineReader(512);
    reader.push(b('+OK message follows\r\nFrom: a\r\n\r\nbody\r\n.\r\n+OK'));
    expect(reader.next()?.toString()).toBe('+OK message follows');
    expect(reader.take().toString()).toBe('From: a\r\n\r\nbody\r\n.\r\n+OK');
    expect(reader.buffered).toBe(0);
    expect(reader.next()).toBeUndefined();
    reader.push(b('+OK bye\r\n'));
    expect(reader.next()?.toString()).toBe('+OK bye');
  });

  it('returns nothing when every byte was a line (client case 4 checks this is empty after the greeting)', () => {
    const reader = new LineReader(512);
    reader.push(b('+OK ready\r\n'));
    reader.next();
    expect(reader.take().length).toBe(0);
  });
});

describe('LineReader: length cap (W2, C2)', () => {
  it('W2: a 512-octet line including CRLF is accepted, 513 is rejected with ELIMIT', () => {
    const ok = `+OK ${'x'.repeat(512 - 4 - 2)}`;
    expect(readAll(b(`${ok}\r\n`)).lines).toEqual([ok]);
    expect(readAll(b(`${ok}x\r\n`)).error).toBe('ELIMIT');
  });

  it('W2: the cap counts a bare LF as the line end too (512 with LF accepted, 513 rejected)', () => {
    const ok = 'x'.repeat(511);
    expect(readAll(b(`${ok}\n`)).lines).toEqual([ok]);
    expect(readAll(b(`${ok}x\n`)).error).toBe('ELIMIT');
  });

  it('W2: the cap is the same at every split of a 512- and a 513-octet line', () => {
    const ok = b(`+OK ${'x'.repeat(506)}\r\n`);
    const long = b(`+OK ${'x'.repeat(507)}\r\n`);
    for (const chunks of twoWaySplits(ok)) expect(readChunks(chunks).error).toBeUndefined();
    for (const chunks of twoWaySplits(long)) expect(readChunks(chunks).error).toBe('ELIMIT');
  });

  it('W2: lines before the long one are still returned, in order', () => {
    expect(readAll(b(`+OK a\r\n+OK b\r\n${'y'.repeat(600)}\r\n+OK c\r\n`))).toEqual({
      lines: ['+OK a', '+OK b'],
      error: 'ELIMIT',
      rest: '',
    });
  });

  it('client case 1: 1 MiB with no CRLF throws at the cap, having buffered no more than the cap', () => {
    const cap = 512;
    const chunk = Buffer.alloc(100, 0x41);
    const reader = new LineReader(cap);
    let pushed = 0;
    let maxBuffered = 0;
    let error: unknown;
    try {
      while (pushed < 1024 * 1024) {
        reader.push(chunk);
        pushed += chunk.length;
        maxBuffered = Math.max(maxBuffered, reader.buffered);
        reader.next();
      }
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(Pop3Error);
    expect((error as Pop3Error).code).toBe('ELIMIT');
    // It stopped at the first push that reached the cap: nothing past the cap was kept.
    expect(pushed).toBe(Math.ceil(cap / chunk.length) * chunk.length);
    expect(maxBuffered).toBeLessThan(cap + chunk.length);
  });

  it('client case 1: one 1 MiB chunk with no line end is rejected by the first next()', () => {
    const reader = new LineReader(512);
    reader.push(Buffer.alloc(1024 * 1024, 0x41));
    expect(() => reader.next()).toThrow(expect.objectContaining({ code: 'ELIMIT' }));
  });

  it('server case 1: a 64 KiB line is rejected under a 255-octet command cap, streamed in 1 KiB chunks', () => {
    const result = readChunks(cutAt(Buffer.alloc(64 * 1024, 0x61), [1024, 2048, 3072]), 255);
    expect(result.error).toBe('ELIMIT');
  });
});

describe('LineReader: split safety', () => {
  const whole = readAll(SAMPLE);

  it('matches the reference model on the sample', () => {
    const ref = linesReference(SAMPLE, 512);
    expect(whole.lines).toEqual(ref.lines.map((l) => l.toString('latin1')));
    expect(whole.rest).toBe('partial');
  });

  it('every 2-way split gives the same lines and leftover as the unsplit input', () => {
    for (const chunks of twoWaySplits(SAMPLE)) expect(readChunks(chunks)).toEqual(whole);
  });

  it('every 3-way split gives the same lines and leftover as the unsplit input', () => {
    for (const chunks of threeWaySplits(SAMPLE, Number.POSITIVE_INFINITY)) {
      expect(readChunks(chunks)).toEqual(whole);
    }
  });

  it('random inputs at random splits, with random caps, match the unsplit input and the model', () => {
    const byte = fc.constantFrom(0x0d, 0x0a, 0x2e, 0x41, 0x00, 0xff);
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.array(byte, { maxLength: 200 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.integer({ min: 1, max: 64 }),
        (raw, edgy, cuts, max) => {
          const input = Buffer.concat([Buffer.from(raw), Buffer.from(edgy)]);
          const unsplit = readAll(input, max);
          const split = readChunks(
            cutAt(
              input,
              cuts.map((c) => c % (input.length + 1)),
            ),
            max,
          );
          expect(split).toEqual(unsplit);
          const ref = linesReference(input, max);
          expect(unsplit.lines).toEqual(ref.lines.map((l) => l.toString('latin1')));
          expect(unsplit.error === 'ELIMIT').toBe(ref.limit);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
