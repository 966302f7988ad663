import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cutAt, threeWaySplits, twoWaySplits } from '../../scripts/fuzz/chunks.js';
import { encodeReference, stuff, wireForm } from '../../scripts/fuzz/reference.js';
import { DotDecoder } from './dot-decoder.js';
import { DotEncoder, encodeStoredInPlace } from './dot-encoder.js';
import { wireOctets } from './wire-size.js';

const b = (s: string) => Buffer.from(s, 'latin1');

function encodeChunks(chunks: readonly Buffer[]): { wire: Buffer; octets: number } {
  const encoder = new DotEncoder();
  const out: Buffer[] = [];
  for (const chunk of chunks) out.push(...encoder.push(chunk));
  out.push(encoder.end());
  return { wire: Buffer.concat(out), octets: encoder.octets };
}

const encode = (message: string | Buffer) =>
  encodeChunks([typeof message === 'string' ? b(message) : message]);

function decode(wire: Buffer): { body: Buffer; done: boolean; rest: Buffer } {
  const r = new DotDecoder().push(wire);
  return { body: Buffer.concat(r.parts), done: r.done, rest: r.rest };
}

/** The CRLF-separated lines of an encoded body, without the terminator line. */
function wireLines(wire: Buffer): string[] {
  const text = wire.toString('latin1');
  expect(text.endsWith('.\r\n')).toBe(true);
  const body = text.slice(0, -3);
  return body === '' ? [] : body.slice(0, -2).split('\r\n');
}

describe('DotEncoder: stuffing and terminator (W4)', () => {
  it('W4: a line starting with "." gets another "."; the body ends CRLF.CRLF', () => {
    expect(encode('.a\r\n..b\r\nc.d\r\n.\r\n').wire.toString()).toBe('..a\r\n...b\r\nc.d\r\n..\r\n.\r\n');
  });

  it('W4: a "." after a bare LF is at a line start too (the LF becomes CRLF)', () => {
    expect(encode('a\n.b\n').wire.toString()).toBe('a\r\n..b\r\n.\r\n');
  });

  it('W4: a "." after a bare CR is not at a line start', () => {
    expect(encode('a\r.b\r\n').wire.toString()).toBe('a\r.b\r\n.\r\n');
  });

  it('W4: a message without a final line end gets CRLF before the terminator', () => {
    expect(encode('abc').wire.toString()).toBe('abc\r\n.\r\n');
    expect(encode('.').wire.toString()).toBe('..\r\n.\r\n');
    expect(encode('abc\r').wire.toString()).toBe('abc\r\r\n.\r\n');
  });

  it('an empty message is one CRLF (2 octets), so the body still ends CRLF.CRLF', () => {
    expect(encode('')).toEqual({ wire: b('\r\n.\r\n'), octets: 2 });
    expect(wireOctets(Buffer.alloc(0))).toBe(2);
  });

  it('a CR at the end of one chunk and LF at the start of the next stay one CRLF', () => {
    expect(encodeChunks([b('a\r'), b('\nb')]).wire.toString()).toBe('a\r\nb\r\n.\r\n');
    expect(encodeChunks([b('a\r'), b(''), b('\nb')]).wire.toString()).toBe('a\r\nb\r\n.\r\n');
    expect(encodeChunks([b('a\r\n'), b('.b')]).wire.toString()).toBe('a\r\n..b\r\n.\r\n');
  });
});

describe('DotEncoder: sizes (W5)', () => {
  it('W5: line ends count 2, stuffed dots and the terminator are not counted', () => {
    expect(encode('a\nb').octets).toBe('a\r\nb\r\n'.length);
    expect(encode('.\n..\n').octets).toBe('.\r\n..\r\n'.length);
    expect(encode('a\r\n').octets).toBe(3);
    expect(wireOctets(b('.\n..\n'))).toBe(7);
  });

  it('server case 33: dot lines, no final newline, bare CR/LF, NUL and a 10 MiB line', () => {
    const big = Buffer.alloc(10 * 1024 * 1024, 0x78);
    const message = Buffer.concat([b('.From: a\n\n.\r\n..x\rmid\0nul\n'), big, b('\n.end')]);
    // The same message as it is sent (CRLF line ends, final CRLF) and as it is stuffed.
    const asSent = Buffer.concat([b('.From: a\r\n\r\n.\r\n..x\rmid\0nul\r\n'), big, b('\r\n.end\r\n')]);
    const stuffed = Buffer.concat([
      b('..From: a\r\n\r\n..\r\n...x\rmid\0nul\r\n'),
      big,
      b('\r\n..end\r\n.\r\n'),
    ]);
    const { wire, octets } = encode(message);
    expect(wire.equals(stuffed)).toBe(true);
    expect(octets).toBe(asSent.length);
    expect(wireOctets(message)).toBe(asSent.length);
    const back = decode(wire);
    expect(back.done).toBe(true);
    expect(back.body.equals(asSent)).toBe(true);
  });
});

describe('DotEncoder: split safety', () => {
  const sample = b('.a\n..\r\nb\r.\r\n\n.\rc\0\xff\r');
  const whole = encode(sample);

  it('every 2-way split encodes as the unsplit message', () => {
    for (const chunks of twoWaySplits(sample)) expect(encodeChunks(chunks)).toEqual(whole);
  });

  it('every 3-way split encodes as the unsplit message', () => {
    for (const chunks of threeWaySplits(sample, Number.POSITIVE_INFINITY)) {
      expect(encodeChunks(chunks)).toEqual(whole);
    }
  });
});

describe('DotEncoder → DotDecoder round trip (property)', () => {
  const edgy = fc.constantFrom(0x0d, 0x0a, 0x2e, 0x2e, 0x41, 0x00, 0xff);
  const message = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.array(edgy, { maxLength: 200 }).map((a) => Uint8Array.from(a)),
  );
  const cuts = fc.array(fc.nat(), { maxLength: 8 });

  it('W4, W5: decode(encode(m)) is the wire form of m, and octets is its length', () => {
    fc.assert(
      fc.property(message, cuts, cuts, (m, encCuts, decCuts) => {
        const msg = Buffer.from(m);
        const wireMsg = wireForm(msg);
        const { wire, octets } = encodeChunks(
          cutAt(
            msg,
            encCuts.map((c) => c % (msg.length + 1)),
          ),
        );
        expect(octets).toBe(wireMsg.length);
        expect(wireOctets(msg)).toBe(wireMsg.length);

        // W4: the stream ends CRLF.CRLF ...
        expect(wire.subarray(-5).toString()).toBe('\r\n.\r\n');
        // ... every line that starts with '.' was stuffed, and none is a lone '.' before the end.
        for (const line of wireLines(wire)) {
          expect(line).not.toBe('.');
        }
        expect(wire.subarray(0, wire.length - 3).equals(stuff(wireMsg))).toBe(true);

        const decoder = new DotDecoder();
        const body: Buffer[] = [];
        const trailer = b('+OK next\r\n');
        const input = Buffer.concat([wire, trailer]);
        const rest: Buffer[] = [];
        for (const chunk of cutAt(
          input,
          decCuts.map((c) => c % (input.length + 1)),
        )) {
          const r = decoder.push(chunk);
          body.push(...r.parts);
          rest.push(r.rest);
        }
        expect(decoder.done).toBe(true);
        expect(Buffer.concat(body).equals(wireMsg)).toBe(true);
        expect(Buffer.concat(rest).equals(trailer)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('the wire form follows the stated rules on examples (checks the reference itself)', () => {
    expect(wireForm(b('')).toString()).toBe('\r\n');
    expect(wireForm(b('a')).toString()).toBe('a\r\n');
    expect(wireForm(b('a\nb\r\nc\r')).toString()).toBe('a\r\nb\r\nc\r\r\n');
    expect(wireForm(b('\n\n')).toString()).toBe('\r\n\r\n');
    expect(stuff(b('.a\r\nb.\r\n.\r\n')).toString()).toBe('..a\r\nb.\r\n..\r\n');
  });
});

describe('DotEncoder: one output buffer per chunk (encode, encodeAfter, whole)', () => {
  const edgy = fc.constantFrom(0x0d, 0x0a, 0x2e, 0x2e, 0x41, 0x00, 0xff);
  const message = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.array(edgy, { maxLength: 300 }).map((a) => Uint8Array.from(a)),
  );
  const cuts = fc.array(fc.nat(), { maxLength: 12 });

  it('encode() over random chunkings equals the reference; whole() with a head equals head + reference', () => {
    fc.assert(
      fc.property(message, cuts, (m, at) => {
        const msg = Buffer.from(m);
        const want = encodeReference(msg);
        const encoder = new DotEncoder();
        const out: Buffer[] = [];
        for (const chunk of cutAt(
          msg,
          at.map((c) => c % (msg.length + 1)),
        ))
          out.push(encoder.encode(chunk));
        out.push(encoder.end());
        expect(Buffer.concat(out).equals(want)).toBe(true);
        expect(encoder.octets).toBe(wireOctets(msg));

        const head = b('+OK 12 octets\r\n');
        const { reply, octets } = DotEncoder.whole(head, msg);
        expect(reply.equals(Buffer.concat([head, want]))).toBe(true);
        expect(octets).toBe(wireOctets(msg));
        expect(DotEncoder.whole(Buffer.alloc(0), msg).reply.equals(want)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('passes a chunk that needs no change through without copying it', () => {
    const encoder = new DotEncoder();
    const clean = b('Subject: x\r\n\r\nbody. line\r\n');
    expect(encoder.encode(clean)).toBe(clean);
    const lf = b('a\n');
    const out = encoder.encode(lf);
    expect(out).not.toBe(lf);
    expect(out.toString()).toBe('a\r\n');
  });

  it('encodeAfter puts the head in front of the encoded chunk, and returns the head for an empty chunk', () => {
    const encoder = new DotEncoder();
    const head = b('+OK\r\n');
    expect(encoder.encodeAfter(head, b('.x\n')).toString()).toBe('+OK\r\n..x\r\n');
    expect(encoder.encodeAfter(head, b(''))).toBe(head);
    expect(encoder.end().toString()).toBe('.\r\n');
  });

  it('a dot right after an LF that ends the previous chunk is stuffed; a lone CR chunk pairs with the next LF', () => {
    const encoder = new DotEncoder();
    const parts = [b('a\n'), b('.'), b('b\r'), b('\n'), b('.'), b('\r'), b('\n')].map((c) =>
      encoder.encode(c),
    );
    parts.push(encoder.end());
    expect(Buffer.concat(parts).toString()).toBe('a\r\n..b\r\n..\r\n.\r\n');
  });
});

describe('encodeStoredInPlace (a stored message encoded where it lies)', () => {
  const edgy = fc.constantFrom(0x0d, 0x0a, 0x2e, 0x2e, 0x41, 0x00, 0xff);
  const message = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.array(edgy, { maxLength: 300 }).map((a) => Uint8Array.from(a)),
  );

  /** head, `gap` octets of junk, the message, 5 octets of junk: the layout a server reads into. */
  function layout(head: Buffer, gap: number, msg: Buffer): { buf: Buffer; from: number } {
    const buf = Buffer.alloc(head.length + gap + msg.length + 5, 0x2e);
    head.copy(buf, 0);
    msg.copy(buf, head.length + gap);
    return { buf, from: head.length + gap };
  }

  it('gives head + the reference encoding when the gap holds every inserted octet, and -1 exactly when it does not', () => {
    fc.assert(
      fc.property(message, fc.nat({ max: 320 }), (m, gap) => {
        const msg = Buffer.from(m);
        const head = b('+OK 1 octets\r\n');
        const want = encodeReference(msg);
        const endsWithLf = msg.length > 0 && msg[msg.length - 1] === 0x0a;
        const inserted = want.length - 3 - msg.length - (endsWithLf ? 0 : 2);
        const { buf, from } = layout(head, gap, msg);
        const end = encodeStoredInPlace(buf, head.length, from, from + msg.length);
        if (inserted > gap) {
          expect(end).toBe(-1);
          return;
        }
        expect(buf.subarray(0, end).equals(Buffer.concat([head, want]))).toBe(true);
      }),
      { numRuns: 600 },
    );
  });

  it('stuffs dots and adds CRs in place, with the room exactly spent', () => {
    const msg = b('.a\nb\r\n.\n');
    const head = b('+OK\r\n');
    // Four octets to insert: a dot before ".a", a CR before the first LF, a dot before ".", a CR before the last LF.
    const exact = layout(head, 4, msg);
    const end = encodeStoredInPlace(exact.buf, head.length, exact.from, exact.from + msg.length);
    expect(exact.buf.subarray(0, end).toString('latin1')).toBe('+OK\r\n..a\r\nb\r\n..\r\n.\r\n');
    const short = layout(head, 3, msg);
    expect(encodeStoredInPlace(short.buf, head.length, short.from, short.from + msg.length)).toBe(-1);
  });

  it('ends an empty message and one without a final line end with CRLF before the terminator', () => {
    const empty = layout(b('+OK\r\n'), 0, b(''));
    expect(empty.buf.subarray(0, encodeStoredInPlace(empty.buf, 5, empty.from, empty.from)).toString()).toBe(
      '+OK\r\n\r\n.\r\n',
    );
    const open = layout(b(''), 0, b('x\r\ny'));
    expect(open.buf.subarray(0, encodeStoredInPlace(open.buf, 0, open.from, open.from + 4)).toString()).toBe(
      'x\r\ny\r\n.\r\n',
    );
  });
});
