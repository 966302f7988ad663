import { CR, DOT, EMPTY, LF } from './bytes.js';
import { Pop3Error } from './errors.js';

enum State {
  LineStart, // after CRLF, or at the start of the body
  Dot, // a '.' at line start, dropped: ".." is "." and ".x" is "x", ".\r\n" ends the body
  DotCr, // ".\r" at line start: the end if LF follows, else the CR is data
  Mid, // inside a line
}

const CR_BYTE = Buffer.from([CR]);
/** A line that starts with a dot: the only place where unstuffing has anything to do. */
const CRLF_DOT = Buffer.from([CR, LF, DOT]);
const CRLF = Buffer.from([CR, LF]);

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
 *
 * Output is views into the input, never copies: a chunk without dot-stuffing comes out
 * as one view of itself. When no line can reach the line cap within a chunk (always, with
 * the default caps and network-sized chunks), the chunk is searched for CRLF "." only, in
 * native code, instead of line by line.
 */
export class DotDecoder {
  private state = State.LineStart;
  private lastWasCr = false; // the byte before the next chunk's first was a CR
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

  /** Decode `chunk`; the parts, whether the body ended, and the bytes after its end. */
  push(chunk: Buffer): DecodeResult {
    if (this.finished) return { parts: [], done: true, rest: chunk };
    const parts: Buffer[] = [];
    // Parts are checked against maxBytes before they are handed out, so none is lost to a throw here.
    const end = this.decode(chunk, 0, (p) => parts.push(p));
    return { parts, done: this.finished, rest: end < 0 ? EMPTY : chunk.subarray(end) };
  }

  /**
   * Decode `chunk` from `start`, handing each unstuffed part to `sink` as it is found (views
   * into `chunk`). Returns the index just past the ".CRLF" terminator, or -1 if the body
   * goes on. Throws ELIMIT at a cap; parts before the throw may have been handed out.
   */
  decode(chunk: Buffer, start: number, sink: (part: Buffer) => void): number {
    if (this.finished) return start;
    const n = chunk.length;
    // No line can pass the cap inside this chunk: skip the per-line bookkeeping.
    const fast = this.lineLength + (n - start) <= this.maxLine;
    let i = start;
    let from = start; // start of the run of bytes to emit as-is
    while (i < n) {
      switch (this.state) {
        case State.LineStart:
          if (chunk[i] === DOT) {
            if (i > from) this.emit(chunk, from, i, sink);
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
            this.lineLength = 2; // counted now: the next chunk's fast-path check needs it
            this.state = State.DotCr;
          } else {
            this.state = State.Mid;
          }
          break;
        case State.DotCr:
          if (chunk[i] === LF) {
            this.finished = true;
            this.lastWasCr = false;
            return i + 1;
          }
          this.emitPart(CR_BYTE, sink); // ".\rx": the dot goes, the CR is data
          this.lineLength = 2;
          this.state = State.Mid;
          from = i;
          break;
        case State.Mid:
          i = fast ? this.skipFast(chunk, start, i) : this.skipLine(chunk, start, i);
          break;
      }
    }
    if (this.state !== State.DotCr && n > from) this.emit(chunk, from, n, sink);
    // An empty chunk says nothing about the byte before the next LF: keep what we knew.
    if (n > start) this.lastWasCr = chunk[n - 1] === CR;
    return -1;
  }

  /** Mid-line, line by line (the cap may be reached): returns where scanning resumes. */
  private skipLine(chunk: Buffer, start: number, i: number): number {
    const lf = chunk.indexOf(LF, i);
    if (lf < 0) {
      this.lineLength += chunk.length - i;
      this.checkLine();
      return chunk.length;
    }
    const crlf = lf > start ? chunk[lf - 1] === CR : this.lastWasCr;
    this.lineLength += lf + 1 - i;
    this.checkLine();
    if (crlf) {
      this.state = State.LineStart;
      this.lineLength = 0;
    }
    return lf + 1;
  }

  /**
   * Mid-line, when no line in the chunk can pass the cap: jump to the next line that starts
   * with a dot, or to the end of the chunk with the state (and line length) it leaves.
   */
  private skipFast(chunk: Buffer, start: number, i: number): number {
    // A CRLF split across chunks: its CR ended the previous one.
    if (i === start && this.lastWasCr && chunk[i] === LF) {
      this.state = State.LineStart;
      this.lineLength = 0;
      return i + 1;
    }
    // Dots are rare in most bodies (none in base64): look for one with memchr first, and only
    // if it does not start a line, search for CRLF "." itself. A line start needs its CRLF at
    // or after i: Mid never begins just after a CR that an LF at i could pair with.
    const dot = chunk.indexOf(DOT, i);
    if (dot < 0) return this.endOfChunk(chunk, i);
    const lineDot =
      dot >= i + 2 && chunk[dot - 1] === LF && chunk[dot - 2] === CR ? dot : chunk.indexOf(CRLF_DOT, dot) + 2;
    if (lineDot >= 2) {
      this.state = State.LineStart;
      this.lineLength = 0;
      return lineDot;
    }
    return this.endOfChunk(chunk, i);
  }

  /** No dot line in chunk[i..]: the state the chunk's end leaves (a line start, or a line length). */
  private endOfChunk(chunk: Buffer, i: number): number {
    const n = chunk.length;
    if (n - i >= 2 && chunk[n - 1] === LF && chunk[n - 2] === CR) {
      this.state = State.LineStart;
      this.lineLength = 0;
      return n;
    }
    // The line length carried into the next chunk counts from the last CRLF, if any.
    const crlf = n - i >= 2 ? chunk.lastIndexOf(CRLF, n - 2) : -1;
    this.lineLength = crlf >= i ? n - crlf - 2 : this.lineLength + (n - i);
    return n;
  }

  private emit(chunk: Buffer, from: number, to: number, sink: (part: Buffer) => void): void {
    this.emitPart(from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to), sink);
  }

  private emitPart(part: Buffer, sink: (part: Buffer) => void): void {
    this.total += part.length;
    if (this.total > this.maxBytes) {
      throw new Pop3Error(`message larger than ${this.maxBytes} octets`, { code: 'ELIMIT' });
    }
    sink(part);
  }

  private checkLine(): void {
    if (this.lineLength > this.maxLine) {
      throw new Pop3Error(`body line longer than ${this.maxLine} octets`, { code: 'ELIMIT' });
    }
  }
}
