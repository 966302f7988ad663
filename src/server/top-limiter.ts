const LF = 0x0a;
const CR = 0x0d;

/**
 * Streaming cut of a stored message for `TOP msg n` (RFC 1939 §7, CONFORMANCE S8): the header
 * lines, the empty line that ends them, then at most `lines` body lines. A message without an empty
 * line is all header and is sent whole; a body shorter than `lines` is sent whole.
 *
 * Works on stored bytes before DotEncoder, with the encoder's line rule: a line ends at LF (a CR
 * before it belongs to the line end), a bare CR is data. The cut always falls just after an LF,
 * so the encoder's own final CRLF is never doubled.
 */
export class TopLimiter {
  #inHeaders = true;
  #remaining: number;
  #done = false;
  /** Header phase: octets of the line read so far, and whether they are exactly one CR. */
  #lineLength = 0;
  #lineIsCr = false;

  constructor(lines: number) {
    this.#remaining = lines;
  }

  /** True once the cut point has been passed: the rest of the message is not needed. */
  get done(): boolean {
    return this.#done;
  }

  /** The part of `chunk` to send (a view, no copy). */
  push(chunk: Buffer): Buffer {
    if (this.#done) return chunk.subarray(0, 0);
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      const lf = chunk.indexOf(LF, i);
      if (lf < 0) {
        if (this.#inHeaders) this.#extendLine(chunk, i, n);
        return chunk;
      }
      if (this.#inHeaders) {
        const length = this.#lineLength + (lf - i);
        const blank =
          length === 0 || (length === 1 && (this.#lineLength === 1 ? this.#lineIsCr : chunk[i] === CR));
        this.#lineLength = 0;
        this.#lineIsCr = false;
        i = lf + 1;
        if (blank) {
          this.#inHeaders = false;
          if (this.#remaining === 0) return this.#cut(chunk, i);
        }
      } else {
        i = lf + 1;
        this.#remaining--;
        if (this.#remaining === 0) return this.#cut(chunk, i);
      }
    }
    return chunk;
  }

  #extendLine(chunk: Buffer, from: number, to: number): void {
    const added = to - from;
    if (added === 0) return;
    this.#lineIsCr = this.#lineLength === 0 && added === 1 && chunk[from] === CR;
    this.#lineLength += added;
  }

  #cut(chunk: Buffer, end: number): Buffer {
    this.#done = true;
    return chunk.subarray(0, end);
  }
}
