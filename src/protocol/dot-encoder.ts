import { CR, DOT, DOT_CRLF, EMPTY, LF } from './bytes.js';

const CRLF_DOT_CRLF = Buffer.from('\r\n.\r\n');

/**
 * Encodes a whole stored message where it lies, for a server that reads a file straight into its
 * reply buffer: the stored bytes are `buf[from, to)`, and the encoded body and its terminator are
 * written from `at` forward (at <= from), the same transformation as DotEncoder. Each inserted byte
 * (a CR before a bare LF, a '.' before a line-start dot) needs one octet of the gap `from - at`,
 * so that writing never overtakes reading, and the closing bytes need up to 5 octets after the
 * body. Returns the reply's end, or -1 when the gap or the room after `to` runs out; `buf` is
 * then spoiled from `at` on, and the caller encodes another way (DotEncoder over a fresh read).
 */
export function encodeStoredInPlace(buf: Buffer, at: number, from: number, to: number): number {
  let w = at;
  let r = from;
  const endsWithLf = to > from && buf[to - 1] === LF;
  while (r < to) {
    // r is at a line start here.
    if (buf[r] === DOT) {
      if (w >= r) return -1;
      buf[w++] = DOT;
    }
    let lf = buf.indexOf(LF, r);
    if (lf >= to) lf = -1; // past the message: not data
    if (lf < 0) {
      buf.copyWithin(w, r, to);
      w += to - r;
      break;
    }
    const hadCr = lf > r && buf[lf - 1] === CR;
    if (w !== r) buf.copyWithin(w, r, lf);
    w += lf - r;
    if (!hadCr) {
      // The CR takes the LF's place and the LF the next octet: one octet of gap is needed.
      if (w >= lf) return -1;
      buf[w++] = CR;
    }
    buf[w++] = LF;
    r = lf + 1;
  }
  const tail = endsWithLf ? DOT_CRLF : CRLF_DOT_CRLF;
  if (w + tail.length > buf.length) return -1;
  buf.set(tail, w);
  return w + tail.length;
}

/**
 * Streaming encoder from stored message bytes to a multi-line response body.
 *
 * Normalises line ends the way POP3 servers do (a bare LF becomes CRLF; a bare CR is
 * data), doubles a '.' at the start of a line, and on `end()` adds the CRLF a message
 * without a final line end needs, then the ".CRLF" terminator. `octets` counts the
 * message as RFC 1939 §11 sizes it: CRLF line ends, stuffed dots and terminator not counted
 * (`wireOctets` in wire-size.ts counts the same without encoding).
 *
 * A chunk is scanned with `indexOf` for its LFs up to the first place that needs a byte
 * inserted (a CR before a bare LF, a '.' before a line-start dot). A chunk that needs none is
 * passed through as it is. Otherwise one output buffer is allocated, big enough for the worst
 * case; the clean prefix is copied to its front and the rest to its end, and the rest is then
 * moved forward line by line with `copyWithin` (no per-line allocation or binding call), the
 * write position never overtaking the read position (every insertion consumes a source byte).
 */
export class DotEncoder {
  private atLineStart = true;
  private empty = true;
  private lastWasCr = false;
  private count = 0;

  /** Octets of the message in wire form so far (before dot-stuffing). */
  get octets(): number {
    return this.count;
  }

  /** Encode one chunk; the result is the chunk itself when nothing in it changes. */
  encode(chunk: Buffer): Buffer {
    return this.#encode(EMPTY, chunk, false);
  }

  /**
   * `head` (copied verbatim: a status line) followed by the encoded chunk, as one buffer. With an
   * empty head and nothing to change, the chunk itself; with an empty chunk, the head itself.
   */
  encodeAfter(head: Buffer, chunk: Buffer): Buffer {
    return this.#encode(head, chunk, false);
  }

  /** Compatibility form of `encode`: the encoded chunk as a list (empty for an empty chunk). */
  push(chunk: Buffer): Buffer[] {
    const out = this.encode(chunk);
    return out.length === 0 ? [] : [out];
  }

  /**
   * The closing bytes: a CRLF if the message did not end with a line end (an empty message
   * counts as one, so every body ends CRLF.CRLF and sizes match the stores'), then ".CRLF".
   */
  end(): Buffer {
    if (this.atLineStart && !this.empty) return DOT_CRLF;
    this.count += 2;
    this.atLineStart = true;
    return CRLF_DOT_CRLF;
  }

  /**
   * A whole stored message as one reply: `head`, the encoded body and the terminator in one
   * buffer (one allocation). `octets` is the body's wire size.
   */
  static whole(head: Buffer, body: Buffer): { reply: Buffer; octets: number } {
    const encoder = new DotEncoder();
    const reply = encoder.#encode(head, body, true);
    return { reply, octets: encoder.octets };
  }

  /** head + encoded chunk (+ the closing bytes when `close`). */
  #encode(head: Buffer, chunk: Buffer, close: boolean): Buffer {
    const n = chunk.length;
    if (n === 0) return close ? Buffer.concat([head, this.end()]) : head;
    this.empty = false;
    // Find the first line that needs an insertion; everything before it is copied as it is.
    let i = 0;
    let lineStart = this.atLineStart;
    let prevCr = this.lastWasCr;
    let found = false;
    for (;;) {
      if (lineStart && chunk[i] === DOT) {
        found = true;
        break;
      }
      const lf = chunk.indexOf(LF, i);
      if (lf < 0) break;
      // The byte before this LF: in this chunk, or the last one of the previous chunk.
      if (!(lf > i ? chunk[lf - 1] === CR : prevCr)) {
        found = true;
        lineStart = false; // this line's start was checked already
        break;
      }
      prevCr = false;
      lineStart = true;
      i = lf + 1;
      if (i === n) break;
    }
    const last = chunk[n - 1];
    this.atLineStart = last === LF;
    this.lastWasCr = last === CR;
    if (!found) {
      this.count += n;
      const tail = close ? this.end() : EMPTY;
      if (head.length === 0 && tail.length === 0) return chunk;
      const out = Buffer.allocUnsafe(head.length + n + tail.length);
      out.set(head, 0);
      out.set(chunk, head.length);
      out.set(tail, head.length + n);
      return out;
    }
    // From line start i on, at most one inserted byte per source byte; room for the closing bytes.
    const rest = n - i;
    const tailRoom = close ? CRLF_DOT_CRLF.length : 0;
    const cap = head.length + i + 2 * rest + tailRoom;
    const out = Buffer.allocUnsafe(cap);
    // TypedArray#set for whole buffers: a builtin, cheaper than Buffer#copy's wrapper.
    out.set(head, 0);
    let w = head.length;
    if (i > 0) w += chunk.copy(out, w, 0, i);
    const end = cap - tailRoom;
    let r = end - rest;
    if (i === 0) out.set(chunk, r);
    else chunk.copy(out, r, i, n);
    let bareLf = 0;
    for (;;) {
      if (lineStart && out[r] === DOT) out[w++] = DOT;
      let lf = out.indexOf(LF, r);
      if (lf >= end) lf = -1; // past the message: the closing room, not data
      if (lf < 0) {
        out.copyWithin(w, r, end);
        w += end - r;
        break;
      }
      const hadCr = lf > r ? out[lf - 1] === CR : prevCr;
      out.copyWithin(w, r, lf);
      w += lf - r;
      if (!hadCr) {
        out[w++] = CR;
        bareLf++;
      }
      out[w++] = LF;
      prevCr = false;
      lineStart = true;
      r = lf + 1;
      if (r === end) break;
    }
    // Line ends count 2 whether stored as LF or CRLF; stuffed dots are not counted.
    this.count += n + bareLf;
    if (close) {
      const tail = this.end();
      out.set(tail, w);
      w += tail.length;
    }
    return out.subarray(0, w);
  }
}
