import { CR, DOT, DOT_CRLF, EMPTY, LF } from './bytes.js';

const CRLF_DOT_CRLF = Buffer.from('\r\n.\r\n');

/**
 * Streaming encoder from stored message bytes to a multi-line response body.
 *
 * Normalises line ends the way POP3 servers do (a bare LF becomes CRLF; a bare CR is
 * data), doubles a '.' at the start of a line, and on `end()` adds the CRLF a message
 * without a final line end needs, then the ".CRLF" terminator. `octets` counts the
 * message as RFC 1939 §11 sizes it: CRLF line ends, stuffed dots and terminator not counted
 * (`wireOctets` in wire-size.ts counts the same without encoding).
 *
 * A chunk is scanned with `indexOf` for its LFs and the few places that need a byte inserted
 * (a CR before a bare LF, a '.' before a line-start dot) are noted; a chunk that needs none is
 * passed through as it is, any other is copied once into one output buffer of the exact size.
 */
export class DotEncoder {
  private atLineStart = true;
  private empty = true;
  private lastWasCr = false;
  private count = 0;
  /** Insertion points of the chunk being encoded: `2 * position + (1 for '.', 0 for CR)`. */
  private readonly edits: number[] = [];

  /** Octets of the message in wire form so far (before dot-stuffing). */
  get octets(): number {
    return this.count;
  }

  /** Encode one chunk; the result is the chunk itself when nothing in it changes. */
  encode(chunk: Buffer): Buffer {
    return this.encodeAfter(EMPTY, chunk);
  }

  /**
   * `head` (copied verbatim: a status line) followed by the encoded chunk, as one buffer. With an
   * empty head and nothing to change, the chunk itself.
   */
  encodeAfter(head: Buffer, chunk: Buffer): Buffer {
    const added = this.#scan(chunk);
    if (added === 0 && head.length === 0) return chunk;
    if (chunk.length === 0) return head;
    return this.#emit(head, chunk, EMPTY);
  }

  /** Note where `chunk` needs a byte inserted, advance the line state; returns how many. */
  #scan(chunk: Buffer): number {
    const edits = this.edits;
    edits.length = 0;
    const n = chunk.length;
    if (n === 0) return 0;
    this.empty = false;
    let i = 0;
    let lineStart = this.atLineStart;
    let prevCr = this.lastWasCr;
    let bareLf = 0;
    for (;;) {
      if (lineStart && chunk[i] === DOT) edits.push(2 * i + 1);
      const lf = chunk.indexOf(LF, i);
      if (lf < 0) break;
      // The byte before this LF: in this chunk, or the last one of the previous chunk.
      if (!(lf > i ? chunk[lf - 1] === CR : prevCr)) {
        edits.push(2 * lf);
        bareLf++;
      }
      prevCr = false;
      lineStart = true;
      i = lf + 1;
      if (i === n) break;
    }
    const lastIsLf = chunk[n - 1] === LF;
    this.atLineStart = lastIsLf;
    this.lastWasCr = !lastIsLf && chunk[n - 1] === CR;
    // Line ends count 2 whether stored as LF or CRLF; stuffed dots are not counted.
    this.count += n + bareLf;
    return edits.length;
  }

  /** head + chunk with the scanned insertions + tail, in one new buffer. */
  #emit(head: Buffer, chunk: Buffer, tail: Buffer): Buffer {
    const edits = this.edits;
    const added = edits.length;
    const n = chunk.length;
    const out = Buffer.allocUnsafe(head.length + n + added + tail.length);
    let at = head.copy(out, 0);
    let from = 0;
    for (let k = 0; k < added; k++) {
      const e = edits[k]!;
      const pos = Math.floor(e / 2);
      at += chunk.copy(out, at, from, pos);
      out[at++] = e - 2 * pos === 1 ? DOT : CR;
      from = pos;
    }
    at += chunk.copy(out, at, from, n);
    tail.copy(out, at);
    return out;
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
   * buffer (one allocation, one copy of the body). `octets` is the body's wire size.
   */
  static whole(head: Buffer, body: Buffer): { reply: Buffer; octets: number } {
    const encoder = new DotEncoder();
    encoder.#scan(body);
    const reply = encoder.#emit(head, body, encoder.end());
    return { reply, octets: encoder.octets };
  }
}
