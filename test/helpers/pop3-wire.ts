import net from 'node:net';
import { Duplex, PassThrough } from 'node:stream';
import tls from 'node:tls';
import { testCerts } from './certs.js';

/**
 * The client end of a POP3 connection as raw lines, for scripted-client tests of a server: the test
 * writes every byte, so what is checked is the protocol itself, not a client library's reading of it.
 * Every wait has a deadline, so a server that stops answering is reported rather than stalling the run.
 *
 * Two layers: `ReplyReader` reads status lines and multi-line bodies off any Duplex, by deadline, and
 * reports a close as `undefined` (the fuzzer's oracle needs to tell a close from a reply); `LineClient`
 * owns a connection (a socket on a port, or any Duplex), writes to it, and throws on a close (a test
 * that expected a reply has failed). No test-runner import, so the fuzzer can load it under plain Node.
 */

const LF = 0x0a;
const CR = 0x0d;
const CRLF = Buffer.from('\r\n');
const END = Buffer.from('\r\n.\r\n');
const DOT_CRLF = Buffer.from('.\r\n');
/** RFC 1939 §3 / RFC 2449 §4: a status line, CRLF included. */
export const MAX_STATUS_LINE = 512;
/** How long a `LineClient` waits for a reply or a close by default. */
export const WAIT_MS = 5000;

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

/** An in-process connection (no sockets): two PassThroughs, one per direction. */
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
  // Received, unread octets: #store[#start, #end), grown by doubling so a 10 MiB reply is not
  // re-copied per chunk; #scanned is how far the current search already looked.
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

  /**
   * Stop reading (before TLS takes the stream over); returns what was received and not yet read.
   * The stream is paused, so nothing it receives after this is lost before the next reader attaches.
   */
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
    const rest = this.peek();
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

  /** A copy of the unread octets, left unread. */
  peek(): Buffer {
    return Buffer.from(this.#view());
  }

  /**
   * The next status or challenge line, CRLF removed; undefined when the server closed first. Throws
   * WireError for a line without CRLF or longer than `maxOctets` (CRLF included), HangError at the deadline.
   */
  async line(deadline: number, maxOctets = MAX_STATUS_LINE): Promise<Buffer | undefined> {
    for (;;) {
      const view = this.#view();
      const lf = view.indexOf(LF, this.#scanned);
      if (lf >= 0) {
        if (lf + 1 > maxOctets) throw new WireError(`status line of ${lf + 1} octets`);
        if (lf === 0 || view[lf - 1] !== CR) {
          throw new WireError(`line not ended by CRLF: ${view.subarray(0, lf + 1).toString('latin1')}`);
        }
        const line = Buffer.from(view.subarray(0, lf - 1));
        this.#consume(lf + 1);
        return line;
      }
      if (view.length >= maxOctets) throw new WireError(`status line over ${maxOctets} octets`);
      this.#scanned = view.length;
      if (this.#closed) return undefined;
      await this.#wait(deadline);
    }
  }

  /**
   * The body of a multi-line reply, as sent (dot-stuffed), without the terminating `.CRLF` (with
   * it when `withTerminator`); undefined when the server closed first.
   */
  async body(deadline: number, withTerminator = false): Promise<Buffer | undefined> {
    for (;;) {
      const view = this.#view();
      if (view.length >= 3 && view.subarray(0, 3).equals(DOT_CRLF)) {
        this.#consume(3);
        return withTerminator ? Buffer.from(DOT_CRLF) : Buffer.alloc(0);
      }
      const at = view.indexOf(END, this.#scanned);
      if (at >= 0) {
        const body = Buffer.from(view.subarray(0, withTerminator ? at + END.length : at + 2));
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

export interface ConnectOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** TLS from the first byte (port 995 style), verified against the test CA as `localhost`. */
  implicitTls?: boolean;
}

/**
 * A raw-line POP3 client: send lines or bytes, read replies as latin1 strings (or a body as bytes).
 * Reads take a timeout in ms (default WAIT_MS) and throw when the server closed instead of answering.
 * Status lines are not held to 512 octets here (the fuzzer's reader is): tests read body lines too.
 */
export class LineClient {
  readonly reader = new ReplyReader();
  #stream!: Duplex;

  /** Connect to `port` on loopback; resolves once connected (and, with implicitTls, handshaken). */
  static async connect(port: number, opts: ConnectOptions = {}): Promise<LineClient> {
    const host = opts.host ?? '127.0.0.1';
    const socket = opts.implicitTls
      ? tls.connect({ port, host, servername: 'localhost', ca: testCerts().ca })
      : net.connect(port, host);
    await new Promise<void>((resolve, reject) => {
      socket.once(opts.implicitTls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    return new LineClient(socket);
  }

  /** Wrap a connected stream: a socket, or the client side of `openPair()`. */
  constructor(stream: Duplex) {
    this.#use(stream);
  }

  #use(stream: Duplex): void {
    this.#stream = stream;
    // Errors end in a close, which the reader sees; one left unheard would crash the test process.
    stream.on('error', () => {});
    this.reader.attach(stream);
  }

  /** The connection (after STLS, the TLS socket on top of it). */
  get stream(): Duplex {
    return this.#stream;
  }

  /** The connection as a socket; throws for a client over an in-process stream. */
  get socket(): net.Socket {
    if (!(this.#stream instanceof net.Socket)) throw new Error('this LineClient is not over a socket');
    return this.#stream;
  }

  /** Received octets not read yet (a copy). */
  get buffered(): Buffer {
    return this.reader.peek();
  }

  get closed(): boolean {
    return this.reader.closed;
  }

  send(data: string | Buffer): void {
    this.#stream.write(data);
  }

  /** Send `text` (UTF-8 if a string) and CRLF; resolves with the status line that answers it. */
  async cmd(text: string | Buffer, ms = WAIT_MS): Promise<string> {
    this.send(Buffer.concat([typeof text === 'string' ? Buffer.from(text, 'utf8') : text, CRLF]));
    return this.line(ms);
  }

  /** The next line without its CRLF (latin1); throws on a line without CRLF or when the server closed. */
  async line(ms = WAIT_MS): Promise<string> {
    const line = await this.reader.line(Date.now() + ms, Number.POSITIVE_INFINITY);
    if (line === undefined) throw new Error('server closed the connection');
    return line.toString('latin1');
  }

  /** The rest of a multi-line reply as sent (still dot-stuffed), terminator included. */
  async body(ms = WAIT_MS): Promise<Buffer> {
    const body = await this.reader.body(Date.now() + ms, true);
    if (body === undefined) throw new Error('server closed the connection mid-reply');
    return body;
  }

  /** `body()` as latin1 text. */
  async bodyText(ms = WAIT_MS): Promise<string> {
    return (await this.body(ms)).toString('latin1');
  }

  /** A multi-line reply's lines, unstuffed, without the terminator. */
  async lines(ms = WAIT_MS): Promise<string[]> {
    const text = await this.bodyText(ms);
    if (text === '.\r\n') return [];
    return text
      .slice(0, -5)
      .split('\r\n')
      .map((l) => (l.startsWith('.') ? l.slice(1) : l));
  }

  /** Resolves true when the server closes within `ms`, false otherwise. */
  async closedWithin(ms = WAIT_MS): Promise<boolean> {
    return this.reader.closedBy(Date.now() + ms);
  }

  /**
   * STLS, then a handshake verified against the test CA as `localhost`; `tlsOptions` may narrow the
   * versions offered. Throws unless STLS was accepted with nothing after the +OK.
   */
  async starttls(tlsOptions: tls.ConnectionOptions = {}): Promise<void> {
    const reply = await this.cmd('STLS');
    if (!reply.startsWith('+OK')) throw new Error(`STLS refused: ${reply}`);
    const leftover = this.reader.detach();
    if (leftover.length > 0) throw new Error(`${leftover.length} cleartext octets after the STLS +OK`);
    const secure = tls.connect({
      socket: this.#stream,
      servername: 'localhost',
      ca: testCerts().ca,
      ...tlsOptions,
    });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    this.#use(secure);
  }

  close(): void {
    this.#stream.destroy();
  }
}
