import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cutAt, threeWaySplits, twoWaySplits } from '../../scripts/fuzz/chunks.js';
import { decodeReference } from '../../scripts/fuzz/reference.js';
import { DotDecoder, type DotDecoderLimits } from './dot-decoder.js';
import { Pop3Error } from './errors.js';

const b = (s: string) => Buffer.from(s, 'latin1');

interface Decoded {
  body: string;
  done: boolean;
  rest: string;
  error: string | undefined;
}

/** Feed chunks as a client does: body parts until done, then whatever follows is the next reply's. */
function decodeChunks(chunks: readonly Buffer[], limits: DotDecoderLimits = {}): Decoded {
  const decoder = new DotDecoder(limits);
  const body: Buffer[] = [];
  const rest: Buffer[] = [];
  try {
    for (const chunk of chunks) {
      const r = decoder.push(chunk);
      body.push(...r.parts);
      rest.push(r.rest);
    }
  } catch (err) {
    if (!(err instanceof Pop3Error)) throw err;
    return { body: '', done: false, rest: '', error: err.code };
  }
  const out = Buffer.concat(body);
  expect(decoder.bytes).toBe(out.length);
  return {
    body: out.toString('latin1'),
    done: decoder.done,
    rest: Buffer.concat(rest).toString('latin1'),
    error: undefined,
  };
}

const decode = (input: string | Buffer, limits?: DotDecoderLimits) =>
  decodeChunks([typeof input === 'string' ? b(input) : input], limits);

describe('DotDecoder: unstuffing (W4, C4)', () => {
  it('client case 7: "..a" is ".a", ".a" is "a", ".CRLF" ends the body', () => {
    expect(decode('..a\r\n.\r\n')).toMatchObject({ body: '.a\r\n', done: true });
    expect(decode('.a\r\n.\r\n')).toMatchObject({ body: 'a\r\n', done: true });
    expect(decode('.\r\n')).toMatchObject({ body: '', done: true, rest: '' });
    expect(decode('a\r\n...\r\n..\r\n.\r\n')).toMatchObject({ body: 'a\r\n..\r\n.\r\n', done: true });
  });

  it('W4: only a dot at a line start is removed', () => {
    expect(decode('a.b\r\n.c.\r\n.\r\n').body).toBe('a.b\r\nc.\r\n');
  });

  it('client case 6: a bare "\\n.\\n" inside the body is not the end', () => {
    expect(decode('a\n.\nb\r\n.\r\n')).toMatchObject({ body: 'a\n.\nb\r\n', done: true });
    // A dot after a bare LF is not at a line start, so ".CRLF" there is data too.
    expect(decode('a\n.\r\n.\r\n')).toMatchObject({ body: 'a\n.\r\n', done: true });
    expect(decode('a\r.\r\n.\r\n')).toMatchObject({ body: 'a\r.\r\n', done: true });
    expect(decode('a\n.\n')).toMatchObject({ done: false });
  });

  it('".CR" followed by something other than LF keeps the CR as data', () => {
    expect(decode('.\rx\r\n.\r\n')).toMatchObject({ body: '\rx\r\n', done: true });
    expect(decodeChunks([b('.\r'), b('\r\n.\r\n')])).toMatchObject({ body: '\r\r\n', done: true });
  });

  it('line ends are passed through as received', () => {
    expect(decode('a\nb\r\r\nc\r\n.\r\n').body).toBe('a\nb\r\r\nc\r\n');
  });

  it('client cases 11 and 12: NUL bytes and invalid UTF-8 are preserved byte for byte', () => {
    const body = Buffer.from([0x00, 0x41, 0x00, 0x0d, 0x0a, 0xff, 0xfe, 0xc3, 0x28, 0x80, 0x0d, 0x0a]);
    const wire = Buffer.concat([body, b('.\r\n')]);
    const r = decode(wire);
    expect(r.done).toBe(true);
    expect(b(r.body)).toEqual(body);
  });
});

describe('DotDecoder: the end of the body', () => {
  it('client case 8: the terminator is found at every 2-way and 3-way split', () => {
    const wire = b('Subject: x\r\n\r\n..dots\r\n.\r\n+OK next\r\n');
    const whole = decode(wire);
    expect(whole).toEqual({
      body: 'Subject: x\r\n\r\n.dots\r\n',
      done: true,
      rest: '+OK next\r\n',
      error: undefined,
    });
    for (const chunks of twoWaySplits(wire)) expect(decodeChunks(chunks)).toEqual(whole);
    for (const chunks of threeWaySplits(wire, Number.POSITIVE_INFINITY))
      expect(decodeChunks(chunks)).toEqual(whole);
  });

  it('client case 8: the terminator split into single bytes, with empty chunks between', () => {
    const chunks = [b('x\r'), b(''), b('\n'), b(''), b('.'), b(''), b('\r'), b(''), b('\n'), b('')];
    expect(decodeChunks(chunks)).toMatchObject({ body: 'x\r\n', done: true, rest: '' });
  });

  it('an empty chunk between CR and LF does not lose the CR (regression)', () => {
    expect(decodeChunks([b('abc\r'), b(''), b('\n.\r\n')])).toMatchObject({ body: 'abc\r\n', done: true });
  });

  it('C4: bytes after the terminator come back in rest, and later pushes return their chunk whole', () => {
    const decoder = new DotDecoder();
    const first = decoder.push(b('a\r\n.\r\n+OK'));
    expect(first.done).toBe(true);
    expect(first.rest.toString()).toBe('+OK');
    const later = b(' more\r\n');
    const after = decoder.push(later);
    expect(after).toEqual({ parts: [], done: true, rest: later });
  });

  it('pipelining: two bodies back to back in one chunk are split at the right place', () => {
    const chunk = b('+OK 1\r\n..one\r\n.\r\n+OK 2\r\ntwo\r\n.\r\n+OK bye\r\n');
    // (the status lines are read by the LineReader; here the decoder sees what follows each one)
    const one = new DotDecoder().push(chunk.subarray('+OK 1\r\n'.length));
    expect(Buffer.concat(one.parts).toString()).toBe('.one\r\n');
    expect(one.done).toBe(true);
    expect(one.rest.toString()).toBe('+OK 2\r\ntwo\r\n.\r\n+OK bye\r\n');
    const two = new DotDecoder().push(one.rest.subarray('+OK 2\r\n'.length));
    expect(Buffer.concat(two.parts).toString()).toBe('two\r\n');
    expect(two.rest.toString()).toBe('+OK bye\r\n');
  });

  it('client case 9 (C4): FIN before the terminator is detectable: done stays false', () => {
    for (const cut of ['a\r\n', 'a\r\n.', 'a\r\n.\r', 'a\r\n..\r\n', 'a\n.\n', '']) {
      const decoder = new DotDecoder();
      decoder.push(b(cut));
      expect(decoder.done, JSON.stringify(cut)).toBe(false);
    }
  });
});

describe('DotDecoder: limits (C2)', () => {
  const MiB = 1024 * 1024;

  /** Push `chunk` up to `times` times; returns how many octets went in before the throw. */
  function stream(decoder: DotDecoder, chunk: Buffer, times: number): { pushed: number; error: unknown } {
    let pushed = 0;
    try {
      for (let i = 0; i < times; i++) {
        decoder.push(chunk);
        pushed += chunk.length;
      }
    } catch (error) {
      return { pushed, error };
    }
    return { pushed, error: undefined };
  }

  it('client case 13: a 10 MiB body line with a 1 MiB line cap throws ELIMIT near the cap', () => {
    const chunk = Buffer.alloc(64 * 1024, 0x61); // one buffer, pushed again and again
    const { pushed, error } = stream(
      new DotDecoder({ maxLineLength: MiB }),
      chunk,
      (10 * MiB) / chunk.length,
    );
    expect(error).toBeInstanceOf(Pop3Error);
    expect((error as Pop3Error).code).toBe('ELIMIT');
    expect(pushed).toBeLessThanOrEqual(MiB);
    expect(pushed + chunk.length).toBeGreaterThan(MiB);
  });

  it('client case 13: a line of exactly the cap (wire octets, CRLF and stuffed dot counted) is accepted', () => {
    const line = `..${'x'.repeat(6)}\r\n`; // 10 octets on the wire
    expect(decode(`${line}.\r\n`, { maxLineLength: 10 })).toMatchObject({ body: '.xxxxxx\r\n', done: true });
    expect(decode(`${line}.\r\n`, { maxLineLength: 9 }).error).toBe('ELIMIT');
  });

  it('W2: body lines are not held to 512 octets unless asked', () => {
    const line = `${'x'.repeat(100_000)}\r\n`;
    expect(decode(`${line}.\r\n`)).toMatchObject({ done: true });
  });

  it('client case 14: a 50 MiB body with a 1 MiB total cap throws ELIMIT after about 1 MiB', () => {
    const chunk = b(
      '0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\r\n'.repeat(900),
    );
    const times = Math.ceil((50 * MiB) / chunk.length);
    const { pushed, error } = stream(new DotDecoder({ maxBytes: MiB }), chunk, times);
    expect((error as Pop3Error).code).toBe('ELIMIT');
    expect(pushed).toBeLessThanOrEqual(MiB);
    expect(pushed + chunk.length).toBeGreaterThan(MiB);
  });

  it('client case 14: a body of exactly maxBytes unstuffed octets is accepted, one more is not', () => {
    expect(decode('..abc\r\n.\r\n', { maxBytes: 6 })).toMatchObject({ body: '.abc\r\n', done: true });
    expect(decode('..abcd\r\n.\r\n', { maxBytes: 6 }).error).toBe('ELIMIT');
  });

  it('limits give the same verdict at every 2-way split', () => {
    const wire = b('a\r\nbbbbbbbbbb\r\n.\r\n');
    for (const chunks of twoWaySplits(wire)) {
      expect(decodeChunks(chunks, { maxLineLength: 12 }).error).toBeUndefined();
      expect(decodeChunks(chunks, { maxLineLength: 11 }).error).toBe('ELIMIT');
      expect(decodeChunks(chunks, { maxBytes: 15 }).error).toBeUndefined();
      expect(decodeChunks(chunks, { maxBytes: 14 }).error).toBe('ELIMIT');
    }
  });
});

describe('DotDecoder: split safety (property)', () => {
  const edgy = fc.constantFrom(0x0d, 0x0a, 0x2e, 0x2e, 0x41, 0x00, 0xff);
  const wire = fc
    .tuple(fc.array(edgy, { maxLength: 120 }), fc.uint8Array({ maxLength: 40 }), fc.boolean())
    .map(([a, r, end]) =>
      Buffer.concat([Buffer.from(a), Buffer.from(r), end ? b('\r\n.\r\n+OK\r\n') : b('')]),
    );

  it('C4: random bodies at random splits decode as unsplit, and as the reference model', () => {
    fc.assert(
      fc.property(wire, fc.array(fc.nat(), { maxLength: 10 }), (input, cuts) => {
        const unsplit = decode(input);
        const split = decodeChunks(
          cutAt(
            input,
            cuts.map((c) => c % (input.length + 1)),
          ),
        );
        expect(split).toEqual(unsplit);
        const ref = decodeReference(input);
        expect(unsplit).toEqual({
          body: ref.body.toString('latin1'),
          done: ref.done,
          rest: ref.rest.toString('latin1'),
          error: undefined,
        });
      }),
      { numRuns: 3000 },
    );
  });

  it('C2: random limits give the same verdict split and unsplit', () => {
    fc.assert(
      fc.property(
        wire,
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.integer({ min: 3, max: 40 }),
        fc.integer({ min: 0, max: 100 }),
        (input, cuts, maxLineLength, maxBytes) => {
          const limits = { maxLineLength, maxBytes };
          const unsplit = decode(input, limits);
          expect(
            decodeChunks(
              cutAt(
                input,
                cuts.map((c) => c % (input.length + 1)),
              ),
              limits,
            ),
          ).toEqual(unsplit);
          expect(unsplit.error === 'ELIMIT').toBe(decodeReference(input, limits).limit);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('DotDecoder: decode() in place (the client hot path)', () => {
  it('a chunk without stuffing comes out as views of itself, no copies; a whole chunk as itself', () => {
    const chunk = b(`${'line of text\r\n'.repeat(100)}`);
    const parts: Buffer[] = [];
    expect(new DotDecoder().decode(chunk, 0, (p) => parts.push(p))).toBe(-1);
    expect(parts).toEqual([chunk]);
    expect(parts[0]).toBe(chunk);

    const wire = b('+OK 12 octets\r\nhello\r\n..world\r\n.\r\n+OK next\r\n');
    const start = wire.indexOf('\n') + 1;
    const got: Buffer[] = [];
    const end = new DotDecoder().decode(wire, start, (p) => got.push(p));
    expect(wire.subarray(end).toString()).toBe('+OK next\r\n');
    expect(Buffer.concat(got).toString()).toBe('hello\r\n.world\r\n');
    for (const p of got) expect(p.buffer).toBe(wire.buffer); // views into the chunk
  });

  it('a body that starts mid-chunk does not read the status line before it', () => {
    // The byte before `start` is the status line's LF: it must not pair with anything in the body.
    const wire = b('+OK\r\n\n.\r\n.\r\n');
    const parts: Buffer[] = [];
    const end = new DotDecoder().decode(wire, 5, (p) => parts.push(p));
    expect(Buffer.concat(parts).toString('latin1')).toBe('\n.\r\n'); // "\n." is data: no CR before the LF
    expect(end).toBe(wire.length);
  });

  it('a line ".CR" held across a chunk boundary still counts its CR against the cap', () => {
    // Found by the property below: ".\r" | "\r\n" | ... with cap 3 took the fast path in the
    // second chunk because the held CR was not yet counted, and let a 4-octet line through.
    const chunks = [b('.\r'), b('\r\n'), b('.\r\n+OK\r\n')];
    expect(decodeChunks(chunks, { maxLineLength: 3 }).error).toBe('ELIMIT');
    expect(decodeChunks(chunks, { maxLineLength: 4 })).toMatchObject({ body: '\r\r\n', done: true });
  });

  it('fast (no line can reach the cap) and line-by-line decoding agree, at random splits and caps', () => {
    const edgy = fc.constantFrom(0x0d, 0x0a, 0x2e, 0x2e, 0x41, 0x42, 0x00);
    const input = fc
      .tuple(fc.array(edgy, { maxLength: 300 }), fc.boolean())
      .map(([a, end]) => Buffer.concat([Buffer.from(a), end ? b('\r\n.\r\n+OK\r\n') : b('')]));
    fc.assert(
      fc.property(
        input,
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.integer({ min: 3, max: 400 }),
        (wire, cuts, maxLineLength) => {
          const chunks = cutAt(
            wire,
            cuts.map((c) => c % (wire.length + 1)),
          );
          const ref = decodeReference(wire, { maxLineLength });
          const got = decodeChunks(chunks, { maxLineLength });
          expect(got.error === 'ELIMIT').toBe(ref.limit);
          if (!ref.limit) {
            expect(got.body).toBe(ref.body.toString('latin1'));
            expect(got.done).toBe(ref.done);
            expect(got.rest).toBe(ref.rest.toString('latin1'));
          }
        },
      ),
      { numRuns: 5000 },
    );
  });
});
