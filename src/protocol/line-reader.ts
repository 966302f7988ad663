import { CR, EMPTY, LF } from './bytes.js';
import { Pop3Error } from './errors.js';

/**
 * Split-safe line reader with a hard cap on line length.
 *
 * A line ends at LF; one CR right before it is dropped. (Clients and servers both
 * accept a bare LF as a line end, which is what Dovecot and mpop do; a bare CR is
 * ordinary data.) Bytes after the last complete line stay buffered, so a caller can
 * switch to a body decoder (`take()`) without losing the next response's bytes.
 */
export class LineReader {
  private buf: Buffer = EMPTY;
  /** Where the unread bytes begin in `buf` (lines before it were returned). */
  private start = 0;
  /** Where the LF search resumes: bytes from `start` up to it are known to hold no LF. */
  private scanned = 0;
  /** The line `advance()` found last: `buffer[lineStart, lineEnd)`, line end excluded. */
  lineStart = 0;
  lineEnd = 0;

  /** @param maxLineLength octets per line, line end included */
  constructor(private readonly maxLineLength: number) {}

  push(chunk: Buffer): void {
    if (this.start === this.buf.length) {
      this.buf = chunk;
      this.scanned = 0;
    } else {
      this.buf = Buffer.concat([this.buf.subarray(this.start), chunk]);
      this.scanned -= this.start;
    }
    this.start = 0;
  }

  /**
   * Next complete line without its line end, or undefined if none is complete yet. The line is a
   * view of the buffered bytes (one object per line, nothing copied).
   */
  next(): Buffer | undefined {
    return this.advance() ? this.line() : undefined;
  }

  /** The line `advance()` found last, as a view of its own. */
  line(): Buffer {
    return this.buf.subarray(this.lineStart, this.lineEnd);
  }

  /**
   * Finds the next complete line without making a view of it: true when there is one, and it is
   * then `buffer[lineStart, lineEnd)` until the next push or take (a server parses a pipelined
   * command where it lies).
   */
  advance(): boolean {
    const lf = this.buf.indexOf(LF, this.scanned);
    if (lf < 0) {
      this.scanned = this.buf.length;
      // The cap counts the line end, as RFC 1939's 512 octets do: no room left for one.
      if (this.buf.length - this.start >= this.maxLineLength) {
        throw new Pop3Error(`line longer than ${this.maxLineLength} octets`, { code: 'ELIMIT' });
      }
      return false;
    }
    if (lf + 1 - this.start > this.maxLineLength) {
      throw new Pop3Error(`line longer than ${this.maxLineLength} octets`, { code: 'ELIMIT' });
    }
    this.lineStart = this.start;
    this.lineEnd = lf > this.start && this.buf[lf - 1] === CR ? lf - 1 : lf;
    this.start = lf + 1;
    this.scanned = this.start;
    return true;
  }

  /** The bytes `lineStart` and `lineEnd` point into. */
  get buffer(): Buffer {
    return this.buf;
  }

  /** Bytes received but not yet returned as lines. */
  get buffered(): number {
    return this.buf.length - this.start;
  }

  /** Remove and return every buffered byte (to hand them to a body decoder or to check them). */
  take(): Buffer {
    const rest = this.start === 0 ? this.buf : this.buf.subarray(this.start);
    this.buf = EMPTY;
    this.start = 0;
    this.scanned = 0;
    return rest;
  }
}
