import type { Duplex } from 'node:stream';
import { Pop3Error } from '../protocol/errors.js';
import { LineReader } from '../protocol/line-reader.js';

/** Why there will be no more lines: the client went away, sent a line too long, or too much. */
export type InputEnd = 'closed' | 'too-long' | 'overflow';
/** What `next()` yields: 'line' (then read it where it lies: `lineBuffer`, `lineStart`, `lineEnd`), or why none. */
export type InputResult = 'line' | InputEnd;

/**
 * Command lines from a socket, one at a time. The socket flows only while the session waits in
 * `next()` for a line that is not buffered yet: while a command runs (a RETR streaming, a password
 * check), nothing more is read, so a client that floods commands without reading its replies meets
 * TCP backpressure (RFC 2449 §6.6 processing in turn, adversarial server case 35). Bytes read but
 * not yet processed are capped (`maxPending`).
 */
export class CommandInput {
  #reader: LineReader;
  #maxLine: number;
  #socket: Duplex | undefined;
  #ended = false;
  #overflow = false;
  #wake: (() => void) | undefined;

  constructor(
    maxLineLength: number,
    private readonly maxPending: number,
  ) {
    this.#maxLine = maxLineLength;
    this.#reader = new LineReader(maxLineLength);
  }

  /** Read from `socket` from now on (it starts paused). A fresh LineReader: nothing read before carries over. */
  attach(socket: Duplex): void {
    this.detach();
    this.#reader = new LineReader(this.#maxLine);
    this.#socket = socket;
    socket.pause();
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onEnd);
    // A TLS socket can have ended (or closed) already when it is handed over: the client's end came in
    // right behind its handshake, before this listener existed. Without this the session never saw it.
    if (socket.readableEnded || socket.destroyed) this.#ended = true;
  }

  /** Stop reading (before a TLS upgrade hands the connection to another socket). */
  detach(): void {
    const s = this.#socket;
    if (!s) return;
    s.pause();
    s.off('data', this.#onData);
    s.off('end', this.#onEnd);
    s.off('close', this.#onEnd);
    this.#socket = undefined;
  }

  /** Octets received but not yet returned as lines, including any the socket holds unread. */
  get pending(): number {
    return this.#reader.buffered + (this.#socket?.readableLength ?? 0);
  }

  /**
   * Change the line cap (SASL continuations may be longer than commands). Buffered bytes carry over;
   * they are still this session's input on the same transport.
   */
  setMaxLineLength(max: number): void {
    if (max === this.#maxLine) return;
    const rest = this.#reader.take();
    this.#maxLine = max;
    this.#reader = new LineReader(max);
    if (rest.length > 0) this.#reader.push(rest);
  }

  /**
   * The next line if one can be had without waiting: a buffered line, or why there will be none
   * (closed, too long, overflow). undefined means the caller must wait (`next()`). The session's
   * synchronous fast path: a pipelined command is dispatched without a promise per command.
   */
  poll(): InputResult | undefined {
    if (this.#overflow) return 'overflow';
    try {
      if (this.#reader.advance()) return 'line';
    } catch (err) {
      if (err instanceof Pop3Error && err.code === 'ELIMIT') return 'too-long';
      throw err;
    }
    if (this.#ended || !this.#socket) return 'closed';
    return undefined;
  }

  /**
   * The line the last poll() or next() returned 'line' for is `lineBuffer[lineStart, lineEnd)`
   * (line end excluded) until the next call: a command is parsed where it lies, with no object
   * made for it.
   */
  get lineBuffer(): Buffer {
    return this.#reader.buffer;
  }
  get lineStart(): number {
    return this.#reader.lineStart;
  }
  get lineEnd(): number {
    return this.#reader.lineEnd;
  }

  /** That line as a view of its own (for a caller that keeps it past the next call). */
  line(): Buffer {
    return this.#reader.line();
  }

  /**
   * The next line; waits (socket flowing) only when none is buffered. `beforeWait` runs just before
   * waiting: the session flushes its corked replies there, so answers to pipelined commands that
   * arrived together leave together.
   */
  async next(beforeWait?: () => void): Promise<InputResult> {
    for (;;) {
      const got = this.poll();
      if (got !== undefined) return got;
      const socket = this.#socket!;
      beforeWait?.();
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        socket.resume();
      });
    }
  }

  /** End any wait in `next()` (the session is closing). */
  end(): void {
    this.#onEnd();
  }

  #onData = (chunk: Buffer): void => {
    this.#socket?.pause();
    this.#reader.push(chunk);
    if (this.#reader.buffered > this.maxPending) this.#overflow = true;
    this.#notify();
  };

  #onEnd = (): void => {
    this.#ended = true;
    this.#notify();
  };

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
