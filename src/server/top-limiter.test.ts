import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TopLimiter } from './top-limiter.js';

/** The obvious whole-buffer version of S8, to check the streaming one against. */
function topReference(message: Buffer, n: number): Buffer {
  const lines: Buffer[] = [];
  let from = 0;
  for (let i = 0; i < message.length; i++) {
    if (message[i] === 0x0a) {
      lines.push(message.subarray(from, i + 1));
      from = i + 1;
    }
  }
  if (from < message.length) lines.push(message.subarray(from));
  const blank = lines.findIndex((l) => l.equals(Buffer.from('\n')) || l.equals(Buffer.from('\r\n')));
  if (blank < 0) return message;
  return Buffer.concat(lines.slice(0, blank + 1 + n));
}

function runLimiter(chunks: Buffer[], n: number): Buffer {
  const limiter = new TopLimiter(n);
  const out: Buffer[] = [];
  for (const c of chunks) {
    out.push(limiter.push(c));
    if (limiter.done) break;
  }
  return Buffer.concat(out);
}

const msg = (s: string) => Buffer.from(s, 'latin1');

describe('TopLimiter (S8, adversarial server case 32)', () => {
  const m = msg('Subject: x\r\nFrom: y\r\n\r\nb1\r\nb2\r\nb3\r\n');

  it('n = 0: headers and the empty line only', () => {
    expect(runLimiter([m], 0).toString()).toBe('Subject: x\r\nFrom: y\r\n\r\n');
  });

  it('n within the body', () => {
    expect(runLimiter([m], 2).toString()).toBe('Subject: x\r\nFrom: y\r\n\r\nb1\r\nb2\r\n');
  });

  it('n past the body: the whole message', () => {
    expect(runLimiter([m], 99).toString()).toBe(m.toString());
  });

  it('headers only, with and without the final empty line', () => {
    expect(runLimiter([msg('A: 1\r\n\r\n')], 5).toString()).toBe('A: 1\r\n\r\n');
    expect(runLimiter([msg('A: 1\r\nB: 2\r\n')], 0).toString()).toBe('A: 1\r\nB: 2\r\n');
  });

  it('no empty line at all: everything is header, sent whole', () => {
    expect(runLimiter([msg('A: 1\nB: 2')], 0).toString()).toBe('A: 1\nB: 2');
  });

  it('bare LF line ends, and a bare CR line is not an empty line', () => {
    expect(runLimiter([msg('A: 1\n\nx\ny\n')], 1).toString()).toBe('A: 1\n\nx\n');
    expect(runLimiter([msg('A: 1\n\r \nB\n\nbody\n')], 0).toString()).toBe('A: 1\n\r \nB\n\n');
  });

  it('a body without a final line end', () => {
    expect(runLimiter([msg('A: 1\n\nlast')], 3).toString()).toBe('A: 1\n\nlast');
  });

  it('the empty line split across chunks', () => {
    expect(runLimiter([msg('A: 1\r\n\r'), msg('\nbody\r\n')], 0).toString()).toBe('A: 1\r\n\r\n');
    expect(runLimiter([msg('A: 1\r'), msg('\n'), msg('\r'), msg('\n'), msg('b\r\n')], 0).toString()).toBe(
      'A: 1\r\n\r\n',
    );
  });

  it('matches the whole-buffer reference for any message, n and chunking', () => {
    const bytes = fc.uint8Array({ maxLength: 200 }).map((a) =>
      // Bias towards the interesting bytes: LF, CR, '.', letters.
      Buffer.from(Array.from(a, (b) => [0x0a, 0x0d, 0x2e, 0x41, 0x20, b][b % 6]!)),
    );
    fc.assert(
      fc.property(bytes, fc.nat(6), fc.array(fc.nat(40), { maxLength: 10 }), (message, n, cuts) => {
        const points = [...new Set(cuts.map((c) => c % (message.length + 1)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let from = 0;
        for (const p of points) {
          chunks.push(message.subarray(from, p));
          from = p;
        }
        chunks.push(message.subarray(from));
        expect(runLimiter(chunks, n)).toEqual(topReference(message, n));
      }),
      { numRuns: 3000 },
    );
  });
});
