import { Duplex, PassThrough } from 'node:stream';

/**
 * The client end of an in-process connection to a Pop3Server (no sockets): two PassThroughs, one
 * per direction, and a reply reader over what the server writes. Everything it waits for has a
 * deadline, so a server that stops answering is reported as a hang rather than stalling the run.
 */

const LF = 0x0a;
const CR = 0x0d;
const END = Buffer.from('\r\n.\r\n');
const DOT_CRLF = Buffer.from('.\r\n');
/** RFC 1939 §3 / RFC 2449 §4: a status line, CRLF included. */
export const MAX_STATUS_LINE = 512;

/** The server went quiet: no reply and no close before the deadline. */
export class HangError extends Error {
  override name = 'HangError';
}

/** The server sent something no POP3 server may send. */
export class WireError extends Error {
  override name = 'WireError';
}

export interface Pair {
  /** The stream handed to `server.handle()`. */
  serverSide: Duplex;
  /** Our end: write commands to it, read replies from it (or wrap it in TLS). */
  clientSide: Duplex;
}

export function openPair(): Pair {
  const up = new PassThrough();
  const down = new PassThrough();
  const clientSide = Duplex.from({ readable: down, writable: up });
  // Writes after the server closed fail; the reader sees the close, the error itself is moot.
  clientSide.on('error', () => {});
  return { serverSide: Duplex.from({ readable: up, writable: down }), clientSide };
}

/** Reads status lines and multi-line bodies from the server, in order. */
export class ReplyReader {
  #store: Buffer = Buffer.alloc(4096);
  #start = 0;
  #end = 0;
  #scanned = 0;
  #closed = false;
  #wake: (() => void) | undefined;
  #stream: Duplex | undefined;
  /** Octets received. */
  received = 0;

  readonly #onData = (d: Buffer) => {
    this.received += d.length;
    this.#append(d);
    this.#notify();
  };
  readonly #onClose = () => {
    this.#closed = true;
    this.#notify();
  };

  attach(stream: Duplex): void {
    this.detach();
    this.#stream = stream;
    this.#closed = false;
    stream.on('data', this.#onData);
    stream.on('end', this.#onClose);
    stream.on('close', this.#onClose);
    stream.on('error', this.#onClose);
  }

  /** Stop reading (before TLS takes the stream over); returns what was received and not yet read. */
  detach(): Buffer {
    const s = this.#stream;
    if (s) {
      s.off('data', this.#onData);
      s.off('end', this.#onClose);
      s.off('close', this.#onClose);
      s.off('error', this.#onClose);
      s.pause();
    }
    this.#stream = undefined;
    const rest = Buffer.from(this.#view());
    this.#start = this.#end = this.#scanned = 0;
    return rest;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Unread octets. */
  get pending(): number {
    return this.#end - this.#start;
  }

  /**
   * The next status or challenge line, CRLF removed; undefined when the server closed first. Throws
   * WireError for a line without CRLF or longer than 512 octets, HangError at the deadline.
   */
  async line(deadline: number): Promise<Buffer | undefined> {
    for (;;) {
      const view = this.#view();
      const lf = view.indexOf(LF, this.#scanned);
      if (lf >= 0) {
        if (lf + 1 > MAX_STATUS_LINE) throw new WireError(`status line of ${lf + 1} octets`);
        if (lf === 0 || view[lf - 1] !== CR) throw new WireError('status line not ended by CRLF');
        const line = Buffer.from(view.subarray(0, lf - 1));
        this.#consume(lf + 1);
        return line;
      }
      if (view.length >= MAX_STATUS_LINE) throw new WireError('status line over 512 octets');
      this.#scanned = view.length;
      if (this.#closed) return undefined;
      await this.#wait(deadline);
    }
  }

  /** The body of a multi-line reply, as sent (dot-stuffed), without the terminating `.CRLF`. */
  async body(deadline: number): Promise<Buffer | undefined> {
    for (;;) {
      const view = this.#view();
      if (view.length >= 3 && view.subarray(0, 3).equals(DOT_CRLF)) {
        this.#consume(3);
        return Buffer.alloc(0);
      }
      const at = view.indexOf(END, this.#scanned);
      if (at >= 0) {
        const body = Buffer.from(view.subarray(0, at + 2));
        this.#consume(at + END.length);
        return body;
      }
      this.#scanned = Math.max(0, view.length - END.length);
      if (this.#closed) return undefined;
      await this.#wait(deadline);
    }
  }

  /** Wait until the server closed (true) or the deadline passed (false). */
  async closedBy(deadline: number): Promise<boolean> {
    while (!this.#closed) {
      if (Date.now() >= deadline) return false;
      await this.#wait(deadline).catch(() => {});
    }
    return true;
  }

  #view(): Buffer {
    return this.#store.subarray(this.#start, this.#end);
  }

  #consume(n: number): void {
    this.#start += n;
    this.#scanned = 0;
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }

  #append(d: Buffer): void {
    if (this.#end + d.length > this.#store.length) {
      const live = this.#end - this.#start;
      const grown = Buffer.allocUnsafe(Math.max(this.#store.length, (live + d.length) * 2));
      this.#store.copy(grown, 0, this.#start, this.#end);
      this.#store = grown;
      this.#end = live;
      this.#start = 0;
    }
    d.copy(this.#store, this.#end);
    this.#end += d.length;
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  async #wait(deadline: number): Promise<void> {
    const left = deadline - Date.now();
    if (left <= 0) throw new HangError('no reply and no close before the deadline');
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, left);
      this.#wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}

/**
 * Undo dot-stuffing of a body as `ReplyReader.body()` returns it; throws WireError when the body has
 * a bare LF (the server sends every line end as CRLF) or a line starting with a single dot.
 */
export function unstuff(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(body.length);
  let o = 0;
  let lineStart = true;
  for (let i = 0; i < body.length; i++) {
    const b = body[i]!;
    if (b === LF && (i === 0 || body[i - 1] !== CR)) throw new WireError('bare LF in a multi-line body');
    if (lineStart && b === 0x2e) {
      if (body[i + 1] !== 0x2e) throw new WireError('a body line starts with an unstuffed dot');
      i++;
    }
    out[o++] = body[i]!;
    lineStart = body[i] === LF;
  }
  return out.subarray(0, o);
}
