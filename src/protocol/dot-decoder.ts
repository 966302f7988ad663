import { CR, DOT, EMPTY, LF } from './bytes.js';
import { Pop3Error } from './errors.js';

enum State {
  LineStart, // after CRLF, or at the start of the body
  Dot, // a '.' at line start, dropped: ".." is "." and ".x" is "x", ".\r\n" ends the body
  DotCr, // ".\r" at line start: the end if LF follows, else the CR is data
  Mid, // inside a line
}

const CR_BYTE = Buffer.from([CR]);

export interface DecodeResult {
  /** Unstuffed body bytes, as views into the input where possible (no copies). */
  parts: Buffer[];
  /** True once the ".CRLF" terminator has been read. */
  done: boolean;
  /** Input bytes after the terminator: the start of the next response. */
  rest: Buffer;
}

export interface DotDecoderLimits {
  /** Longest body line accepted, in octets including CRLF. */
  maxLineLength?: number;
  /** Most unstuffed octets accepted for the whole body. */
  maxBytes?: number;
}

/**
 * Streaming dot-unstuffer for a multi-line response body (RFC 1939 §3).
 *
 * Works on bytes, never strings, and keeps its state across chunk boundaries, so the
 * terminator is found wherever the network splits it. Only CRLF ends a line: a bare LF
 * followed by "." is data, not the end of the response. Line ends are passed through
 * as received.
 */
export class DotDecoder {
  private state = State.LineStart;
  private lastWasCr = false;
  private lineLength = 0;
  private total = 0;
  private finished = false;
  private readonly maxLine: number;
  private readonly maxBytes: number;

  constructor(limits: DotDecoderLimits = {}) {
    this.maxLine = limits.maxLineLength ?? Number.POSITIVE_INFINITY;
    this.maxBytes = limits.maxBytes ?? Number.POSITIVE_INFINITY;
  }

  get done(): boolean {
    return this.finished;
  }

  /** Unstuffed octets produced so far. */
  get bytes(): number {
    return this.total;
  }

  push(chunk: Buffer): DecodeResult {
    if (this.finished) return { parts: [], done: true, rest: chunk };
    const parts: Buffer[] = [];
    const n = chunk.length;
    let i = 0;
    let from = 0; // start of the run of bytes to emit as-is
    const emit = (end: number) => {
      if (end > from) parts.push(chunk.subarray(from, end));
    };
    while (i < n) {
      switch (this.state) {
        case State.LineStart:
          if (chunk[i] === DOT) {
            emit(i);
            i++;
            from = i;
            this.lineLength = 1;
            this.state = State.Dot;
          } else {
            this.lineLength = 0;
            this.state = State.Mid;
          }
          break;
        case State.Dot:
          if (chunk[i] === CR) {
            i++;
            from = i; // hold the CR until we know whether LF follows
            this.state = State.DotCr;
          } else {
            this.state = State.Mid;
          }
          break;
        case State.DotCr:
          if (chunk[i] === LF) {
            this.finished = true;
            this.lastWasCr = false;
            return this.result(parts, chunk.subarray(i + 1));
          }
          parts.push(CR_BYTE); // ".\rx": the dot goes, the CR is data
          this.lineLength = 2;
          this.state = State.Mid;
          from = i;
          break;
        case State.Mid: {
          const lf = chunk.indexOf(LF, i);
          if (lf < 0) {
            this.lineLength += n - i;
            this.checkLine();
            i = n;
            break;
          }
          const crlf = lf > 0 ? chunk[lf - 1] === CR : this.lastWasCr;
          this.lineLength += lf + 1 - i;
          this.checkLine();
          i = lf + 1;
          if (crlf) {
            this.state = State.LineStart;
            this.lineLength = 0;
          }
          break;
        }
      }
    }
    if (this.state !== State.DotCr) emit(n);
    // An empty chunk says nothing about the byte before the next LF: keep what we knew.
    if (n > 0) this.lastWasCr = chunk[n - 1] === CR;
    return this.result(parts, EMPTY);
  }

  private result(parts: Buffer[], rest: Buffer): DecodeResult {
    for (const p of parts) this.total += p.length;
    if (this.total > this.maxBytes) {
      throw new Pop3Error(`message larger than ${this.maxBytes} octets`, { code: 'ELIMIT' });
    }
    return { parts, done: this.finished, rest };
  }

  private checkLine(): void {
    if (this.lineLength > this.maxLine) {
      throw new Pop3Error(`body line longer than ${this.maxLine} octets`, { code: 'ELIMIT' });
    }
  }
}
