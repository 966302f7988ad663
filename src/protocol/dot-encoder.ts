import { CR, CRLF, DOT, DOT_CRLF, LF } from './bytes.js';

const DOT_BYTE = Buffer.from([DOT]);

/**
 * Streaming encoder from stored message bytes to a multi-line response body.
 *
 * Normalises line ends the way POP3 servers do (a bare LF becomes CRLF; a bare CR is
 * data), doubles a '.' at the start of a line, and on `end()` adds the CRLF a message
 * without a final line end needs, then the ".CRLF" terminator. `octets` counts the
 * message as RFC 1939 §11 sizes it: CRLF line ends, stuffed dots and terminator not counted
 * (`wireOctets` in wire-size.ts counts the same without encoding).
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

  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    const n = chunk.length;
    if (n > 0) this.empty = false;
    let i = 0;
    while (i < n) {
      if (this.atLineStart && chunk[i] === DOT) out.push(DOT_BYTE);
      const lf = chunk.indexOf(LF, i);
      if (lf < 0) {
        out.push(chunk.subarray(i));
        this.count += n - i;
        this.atLineStart = false;
        break;
      }
      // The byte before this LF: in this chunk, or the last one of the previous chunk.
      const hadCr = lf > i ? chunk[lf - 1] === CR : this.lastWasCr;
      if (hadCr) {
        out.push(chunk.subarray(i, lf + 1));
        this.count += lf + 1 - i;
      } else {
        if (lf > i) out.push(chunk.subarray(i, lf));
        out.push(CRLF);
        this.count += lf - i + 2;
      }
      this.atLineStart = true;
      this.lastWasCr = false;
      i = lf + 1;
    }
    if (n > 0 && !this.atLineStart) this.lastWasCr = chunk[n - 1] === CR;
    return out;
  }

  /**
   * The closing bytes: a CRLF if the message did not end with a line end (an empty message
   * counts as one, so every body ends CRLF.CRLF and sizes match the stores'), then ".CRLF".
   */
  end(): Buffer {
    if (this.atLineStart && !this.empty) return DOT_CRLF;
    this.count += 2;
    this.atLineStart = true;
    return Buffer.concat([CRLF, DOT_CRLF]);
  }
}
