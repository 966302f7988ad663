import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { CR, LF } from '../protocol/bytes.js';
import { encodeCommand, encodeContinuation, redactCommand } from '../protocol/command.js';
import { DotDecoder } from '../protocol/dot-decoder.js';
import { Pop3Error, printable } from '../protocol/errors.js';
import { LineReader } from '../protocol/line-reader.js';
import {
  continuationPayload,
  isContinuation,
  parseStatusLine,
  type StatusLine,
} from '../protocol/response.js';
import { type BodyHost, BodyStream } from './body.js';
import type { Limits, Timeouts, TraceEvent } from './options.js';
import { readsOf } from './socket-reads.js';

/** What a command expects back. */
export type ReplyShape =
  | { kind: 'line' }
  /** A listing held in memory; `maxLines` (default `limits.maxListLength`) is enforced as lines arrive. */
  | { kind: 'lines'; maxLines?: number }
  | { kind: 'stream' }
  /** A SASL exchange: `respond` answers each `+ challenge` with a line to send (base64, `*`, or empty). */
  | { kind: 'sasl'; respond: (challenge: string) => string };

export interface Reply {
  status: StatusLine;
  /** For `lines`: the data lines, unstuffed, without line ends. */
  lines?: Buffer[];
  /** For `stream`: the unstuffed body, backpressured against the socket. */
  body?: Readable;
}

/**
 * Where a reply goes. `tag` is the caller's, passed back as given. For `stream`, `resolve`
 * runs when the status line arrives, with the body still to come; a failure after that
 * destroys the body instead of calling `reject`.
 */
export interface ReplyHandler {
  resolve(reply: Reply, tag: number): void;
  reject(err: Pop3Error, tag: number): void;
}

/** A listing (LIST, UIDL, CAPA) is held in memory whole; this bounds it. */
const MAX_LISTING_BYTES = 64 * 1024 * 1024;
/** Longest setTimeout delay; a longer one fires at once (Node clamps it to 1 ms). */
const MAX_TIMER_MS = 0x7fffffff;
/** Default octets held in message bodies ahead of their readers before the socket is paused. */
const DEFAULT_READ_AHEAD = 256 * 1024;

interface Pending {
  shown: string; // the command as it may be displayed (secrets redacted)
  shape: ReplyShape;
  wire: Buffer | string | undefined; // bytes to send (strings are latin1); undefined for the greeting
  exclusive: boolean; // nothing else may be on the wire with it (STLS, AUTH)
  pauseAfter: boolean; // stop reading right after this reply (STLS: the next byte must be TLS)
  hold: symbol | undefined; // part of the sequence that holds the queue (see Connection.hold)
  handler: ReplyHandler;
  tag: number;
  deadline: number; // when the status line is due (0: not awaited yet)
  sentAt: number; // the value of Connection.assigned when this command was queued for the wire
  status: StatusLine | undefined;
  decoder: DotDecoder | undefined;
  sink: ((part: Buffer) => void) | undefined; // where decoded body parts go
  collected: Buffer[] | undefined;
  body: BodyStream | undefined;
  bodyLines: number;
  rounds: number;
  windowAt: number; // a body's current rate window: when it began, and the body's octets then
  windowBytes: number;
}

/** First in, first out, without Array.shift's cost on long queues (hundreds of RETRs in flight). */
class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  at(i: number): T | undefined {
    return this.items[this.head + i];
  }
  push(item: T): void {
    this.items.push(item);
  }
  shift(): T | undefined {
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  removeAt(i: number): T | undefined {
    if (i === 0) return this.shift();
    return this.items.splice(this.head + i, 1)[0];
  }
  drain(): T[] {
    const all = this.items.slice(this.head) as T[];
    this.items = [];
    this.head = 0;
    return all;
  }
}

export interface ConnectionOptions {
  timeouts: Timeouts;
  limits: Limits;
  onTrace?: (event: TraceEvent) => void;
  /** Octets message bodies may hold ahead of their readers before the socket is paused. */
  readAhead?: number;
}

/** Flags of one command. */
export interface CommandFlags {
  exclusive?: boolean;
  pauseAfter?: boolean;
  hold?: symbol;
}

/**
 * One POP3 connection's wire: sends commands, matches replies first in, first out
 * (RFC 2449 §6.6), and decodes them with the shared protocol codec. It knows nothing
 * about what commands mean; Pop3Client does.
 *
 * Hot path (one pipelined RETR after another): a status line is parsed in place in the
 * chunk that holds it, the body is unstuffed into views of the same chunk and queued in its
 * BodyStream; commands queued while a chunk is handled leave in one write after it; the
 * timer is re-armed only when it fires early, not on every chunk; nothing is formatted for
 * the trace unless someone listens.
 */
export class Connection implements BodyHost {
  private socket: Socket;
  private reader: LineReader;
  private readonly waiting = new Fifo<Pending>(); // sent, awaiting their reply, in order
  private readonly queued = new Fifo<Pending>(); // not yet sent
  private exclusiveWaiting = 0; // exclusive commands among `waiting`
  private failure: Pop3Error | undefined;
  private readonly closeHooks: (() => void)[] = [];
  private readonly tracing: boolean;
  private readonly maxLine: number;
  private readonly readAhead: number;
  /** Octets queued in bodies that their readers have not taken yet. */
  private heldBytes = 0;
  private pausedForReader = false;
  /** While set, only commands of this sequence may go out (see hold()). */
  private holder: symbol | undefined;
  /** Commands queued for the wire so far (`sentAt` numbers). */
  private assigned = 0;
  /** Commands actually written so far; lets receive() tell which commands were sent after the bytes it holds. */
  private sent = 0;
  /** Bytes to write, gathered so that commands queued together leave in one segment. */
  private readonly outbox: (Buffer | string)[] = [];
  private batching = 0; // > 0: writes wait for the end of the batch (see corked())
  // Timeouts: `due` is when the head of the queue fails (0: nothing due). One timer runs at a
  // time; when it fires before `due` (which moved later meanwhile), it is set again for the rest.
  private due = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  /** Parse response codes (the server advertised RESP-CODES or AUTH-RESP-CODE). */
  responseCodes = false;
  /** Send commands without waiting for earlier replies (the server advertised PIPELINING). */
  pipelining = false;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  private readonly onEnd = () =>
    this.fail(new Pop3Error('connection closed by the server', { code: 'ECLOSED' }));
  private readonly onError = (err: Error) =>
    this.fail(new Pop3Error(`connection error: ${err.message}`, { code: 'ECLOSED', cause: err }));
  private readonly onTimer = () => this.timerFired();

  constructor(
    socket: Socket,
    private readonly opts: ConnectionOptions,
  ) {
    this.socket = socket;
    this.tracing = opts.onTrace !== undefined;
    this.maxLine = opts.limits.maxLineLength;
    this.readAhead = Math.max(1, opts.readAhead ?? DEFAULT_READ_AHEAD);
    this.reader = new LineReader(this.maxLine);
    this.attach(socket);
  }

  get closed(): boolean {
    return this.failure !== undefined;
  }

  get transport(): Socket {
    return this.socket;
  }

  /** Wait for the greeting (the reply to no command). */
  greeting(): Promise<StatusLine> {
    return this.promised('(greeting)', undefined, { kind: 'line' }, { exclusive: true }).then(
      (r) => r.status,
    );
  }

  /** Send a command; resolves with its reply, rejects with ESERVER on -ERR. */
  command(
    keyword: string,
    args: readonly string[],
    shape: ReplyShape,
    flags: CommandFlags = {},
  ): Promise<Reply> {
    let wire: Buffer;
    try {
      wire = encodeCommand(keyword, args);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.promised(redactCommand(keyword, args), wire, shape, flags);
  }

  /**
   * Queue a command whose line the caller built and checked (`wire`: latin1, CRLF included;
   * `shown`: its displayable form), with the reply going to `handler`. No promise: for
   * callers that keep hundreds in flight (retrieveMany).
   */
  request(shown: string, wire: string, shape: ReplyShape, handler: ReplyHandler, tag: number): void {
    if (this.failure) {
      handler.reject(this.failure, tag);
      return;
    }
    this.queued.push(this.pending(shown, wire, shape, {}, handler, tag));
    this.pump();
  }

  /** Run `fn`; whatever it sends leaves in one write when it returns. */
  corked(fn: () => void): void {
    this.batching++;
    try {
      fn();
    } finally {
      this.batching--;
      if (this.batching === 0) this.flush();
    }
  }

  /**
   * Reserve the wire for a sequence of commands that must be adjacent (a login: USER then PASS;
   * nothing pipelined into AUTH). Until `release` runs, only commands given `{ hold: token }`
   * go out; others wait in the queue, in order.
   */
  hold(): { token: symbol; release: () => void } {
    const token = Symbol('hold');
    this.holder = token;
    return {
      token,
      release: () => {
        if (this.holder !== token) return;
        this.holder = undefined;
        this.pump();
      },
    };
  }

  /**
   * Replace the transport (after STLS). Refuses if any byte arrived after the STLS reply:
   * such bytes were sent in cleartext and could be an attacker's (CVE-2011-0411 class).
   */
  upgrade(next: (plain: Socket) => Socket): void {
    // Bytes after the STLS reply in its own chunk have already failed the connection (unasked).
    if (this.failure) throw this.failure;
    if (
      this.reader.buffered > 0 ||
      this.socket.readableLength > 0 ||
      (readsOf(this.socket)?.pending ?? 0) > 0
    ) {
      const err = new Pop3Error('server sent data after the STLS reply', { code: 'EPROTOCOL' });
      this.fail(err);
      throw err;
    }
    this.detach(this.socket);
    this.reader = new LineReader(this.maxLine); // nothing from before TLS survives
    this.socket = next(this.socket);
    this.attach(this.socket);
  }

  /** Run `fn` once when the connection ends, however it ends. */
  onClose(fn: () => void): void {
    if (this.failure) fn();
    else this.closeHooks.push(fn);
  }

  /** Destroy the connection; every pending command fails with `err`. */
  fail(err: Pop3Error): void {
    if (this.failure) return;
    this.failure = err;
    this.due = 0;
    this.clearTimer();
    this.outbox.length = 0;
    this.socket.destroy();
    for (const p of [...this.waiting.drain(), ...this.queued.drain()]) this.rejectPending(p, err);
    this.exclusiveWaiting = 0;
    this.trace('*', `closed: ${err.message}`);
    for (const fn of this.closeHooks.splice(0)) fn();
  }

  trace(dir: TraceEvent['dir'], line: string, body?: TraceEvent['body']): void {
    this.opts.onTrace?.({ dir, line, at: new Date(), ...(body ? { body } : {}) });
  }

  /** BodyHost: bodies report what they hold; past the read-ahead budget the socket waits. */
  held(delta: number): void {
    this.heldBytes += delta;
    if (delta > 0) {
      if (this.heldBytes > this.readAhead && !this.pausedForReader && !this.failure) this.pauseForReader();
    } else if (this.pausedForReader && this.heldBytes <= this.readAhead / 2) {
      this.resumeForReader();
    }
  }

  /** BodyHost: a reader waits on an empty body. */
  wantMore(): void {
    this.resumeForReader();
  }

  private promised(
    shown: string,
    wire: Buffer | undefined,
    shape: ReplyShape,
    flags: CommandFlags,
  ): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Reply>((resolve, reject) => {
      this.queued.push(this.pending(shown, wire, shape, flags, { resolve, reject }, 0));
      this.pump();
    });
  }

  private pending(
    shown: string,
    wire: Buffer | string | undefined,
    shape: ReplyShape,
    flags: CommandFlags,
    handler: ReplyHandler,
    tag: number,
  ): Pending {
    return {
      shown,
      shape,
      wire,
      exclusive: flags.exclusive ?? false,
      pauseAfter: flags.pauseAfter ?? false,
      hold: flags.hold,
      handler,
      tag,
      deadline: 0,
      sentAt: 0,
      status: undefined,
      decoder: undefined,
      sink: undefined,
      collected: undefined,
      body: undefined,
      bodyLines: 0,
      rounds: 0,
      windowAt: 0,
      windowBytes: 0,
    };
  }

  private attach(socket: Socket): void {
    // Commands are small and often pipelined: without this, Nagle's algorithm holds each one
    // after the first until the previous segment is acknowledged (~40 ms of delayed ACK).
    socket.setNoDelay(true);
    const reads = readsOf(socket);
    if (reads) reads.listen(socket, this.onData);
    else socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  private detach(socket: Socket): void {
    readsOf(socket)?.unlisten();
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('close', this.onEnd);
    socket.off('error', this.onError);
  }

  /**
   * Send what may be sent now: everything when pipelining, else one at a time; exclusive
   * commands alone; while the queue is held, only the holder's commands.
   */
  private pump(): void {
    const idle = this.waiting.length === 0;
    while (this.queued.length > 0 && !this.failure) {
      let index = 0;
      if (this.holder) {
        for (index = 0; index < this.queued.length && this.queued.at(index)!.hold !== this.holder; index++);
        if (index === this.queued.length) break;
      }
      const next = this.queued.at(index)!;
      const busy = this.waiting.length > 0;
      if (busy && (!this.pipelining || next.exclusive || this.exclusiveWaiting > 0)) break;
      this.queued.removeAt(index);
      this.waiting.push(next);
      if (next.exclusive) this.exclusiveWaiting++;
      if (next.wire !== undefined) {
        if (this.tracing) this.trace('C', next.shown);
        this.outbox.push(next.wire);
        next.sentAt = ++this.assigned;
      }
    }
    if (this.batching === 0) this.flush();
    if (idle && this.waiting.length > 0) this.refreshDue();
  }

  /** Write what the outbox holds, in one write. */
  private flush(): void {
    const out = this.outbox;
    if (out.length === 0 || this.failure) {
      out.length = 0;
      return;
    }
    this.sent = this.assigned;
    if (out.length === 1) {
      const only = out[0]!;
      out.length = 0;
      if (typeof only === 'string') this.socket.write(only, 'latin1');
      else this.socket.write(only);
      return;
    }
    const data = Buffer.concat(out.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
    out.length = 0;
    this.socket.write(data);
  }

  private receive(chunk: Buffer): void {
    this.batching++;
    try {
      this.receiveChunk(chunk);
    } catch (err) {
      this.fail(
        err instanceof Pop3Error
          ? err
          : new Pop3Error(`internal error: ${String(err)}`, { code: 'EPROTOCOL' }),
      );
    } finally {
      this.batching--;
      if (this.batching === 0) {
        this.flush();
        this.refreshDue();
      }
    }
  }

  private receiveChunk(chunk: Buffer): void {
    const sentBefore = this.sent;
    let data = chunk;
    let pos = 0;
    while (!this.failure) {
      const head = this.waiting.peek();
      // Bytes in hand cannot answer a command that was sent after they arrived (one that a
      // finished reply just let out of the queue): the server sent them unasked.
      if (head === undefined || head.sentAt > sentBefore) {
        if (pos < data.length || this.reader.buffered > 0) {
          throw new Pop3Error('server sent data that answers no command', { code: 'EPROTOCOL' });
        }
        return;
      }
      if (head.decoder) {
        if (pos >= data.length) return;
        const end = head.decoder.decode(data, pos, head.sink!);
        if (end < 0) return;
        pos = end;
        this.endBody(head);
        continue;
      }
      // A line (status or SASL challenge): in place when the chunk holds all of it, else via the reader.
      let line: Buffer | undefined;
      if (this.reader.buffered === 0) {
        const lf = data.indexOf(LF, pos);
        if (lf >= 0 && lf + 1 - pos <= this.maxLine) {
          line = data.subarray(pos, lf > pos && data[lf - 1] === CR ? lf - 1 : lf);
          pos = lf + 1;
        }
      }
      if (line === undefined) {
        if (pos < data.length) this.reader.push(pos === 0 ? data : data.subarray(pos));
        pos = data.length;
        line = this.reader.next();
        if (line === undefined) return;
        data = this.reader.take();
        pos = 0;
      }
      this.receiveLine(head, line, pos < data.length || this.reader.buffered > 0);
    }
  }

  /** Handle one line for `head`; `more`: bytes from the server are in hand after it. */
  private receiveLine(head: Pending, line: Buffer, more: boolean): void {
    if (head.shape.kind === 'sasl' && isContinuation(line)) {
      // The server must wait for the answer to a challenge: whatever came with it was sent before,
      // so cannot be the reply to it (as for commands above). Fail before answering anything.
      if (this.tracing) this.trace('S', printable(line.toString('latin1'), 400));
      if (more) {
        throw new Pop3Error('server sent data before the answer to its SASL challenge', {
          code: 'EPROTOCOL',
          command: head.shown,
        });
      }
      head.rounds++;
      if (head.rounds > this.opts.limits.maxSaslRounds) {
        throw new Pop3Error(`more than ${this.opts.limits.maxSaslRounds} SASL challenges`, {
          code: 'ELIMIT',
          command: head.shown,
        });
      }
      const answer = head.shape.respond(continuationPayload(line));
      if (this.tracing) this.trace('C', answer === '*' || answer === '' ? answer : '***');
      this.outbox.push(encodeContinuation(answer));
      if (this.batching === 0) this.flush();
      return;
    }
    const status = parseStatusLine(line, { responseCodes: this.responseCodes });
    if (this.tracing) this.trace('S', printable(line.toString('utf8'), 600));
    if (!status.ok) {
      this.finish(head);
      head.handler.reject(
        new Pop3Error(`${head.shown.split(' ')[0]} failed: ${printable(status.text)}`, {
          code: 'ESERVER',
          responseCode: status.code,
          command: head.shown,
          response: status.text,
        }),
        head.tag,
      );
      return;
    }
    const shape = head.shape;
    if (shape.kind === 'lines') {
      head.decoder = new DotDecoder({
        maxLineLength: this.opts.limits.maxLineLength,
        maxBytes: Math.min(
          this.opts.limits.maxLineLength * this.opts.limits.maxListLength,
          MAX_LISTING_BYTES,
        ),
      });
      const collected: Buffer[] = [];
      const maxLines = shape.maxLines || this.opts.limits.maxListLength;
      head.collected = collected;
      head.status = status;
      head.sink = (part) => {
        // Counted as they arrive, so a hostile listing fails at the cap, not after it was buffered.
        head.bodyLines += countLf(part);
        if (head.bodyLines > maxLines) {
          throw new Pop3Error(`reply longer than ${maxLines} lines`, { code: 'ELIMIT', command: head.shown });
        }
        collected.push(Buffer.from(part)); // a copy: a listing outlives the chunks it came in
      };
      return;
    }
    if (shape.kind === 'stream') {
      head.decoder = new DotDecoder({
        maxLineLength: this.opts.limits.maxBodyLineLength,
        maxBytes: this.opts.limits.maxMessageSize,
      });
      const body = new BodyStream(this);
      head.body = body;
      head.windowAt = Date.now();
      head.sink = this.tracing
        ? (part) => {
            head.bodyLines += countLf(part);
            body.feed(part);
          }
        : (part) => body.feed(part);
      // From here the idle timeout applies (refreshDue sees the body), not the status line's deadline.
      head.handler.resolve({ status, body }, head.tag);
      return;
    }
    this.finish(head);
    head.handler.resolve({ status }, head.tag);
  }

  /** The head reply's terminator arrived. */
  private endBody(head: Pending): void {
    if (head.collected) {
      const lines = splitLines(Buffer.concat(head.collected));
      if (this.tracing) {
        for (const l of lines) this.trace('S', printable(l.toString('utf8'), 600));
        this.trace('S', '.');
      }
      this.finish(head);
      head.handler.resolve({ status: head.status!, lines }, head.tag);
      return;
    }
    if (this.tracing) this.trace('S', '.', { octets: head.decoder!.bytes, lines: head.bodyLines });
    this.finish(head);
    head.body!.end();
  }

  private finish(head: Pending): void {
    this.waiting.shift();
    if (head.exclusive) this.exclusiveWaiting--;
    if (head.pauseAfter) this.socket.pause();
    this.pump();
  }

  private pauseForReader(): void {
    this.pausedForReader = true;
    this.due = 0; // a slow reader is not a slow server
    this.socket.pause();
  }

  private resumeForReader(): void {
    if (!this.pausedForReader || this.failure) return;
    this.pausedForReader = false;
    const head = this.waiting.peek();
    if (head?.body) this.restartWindow(head, Date.now()); // waiting on the reader does not count
    this.refreshDue();
    this.socket.resume();
  }

  /**
   * Set when the head of the queue times out. Status lines get one deadline from when they
   * are awaited, so a slow drip cannot stretch it; a body's restarts on every chunk, since a
   * large message may take long, and each `idle` window of a body must bring `minRate`.
   * Nothing is due while the socket waits for a reader.
   */
  private refreshDue(): void {
    const head = this.waiting.peek();
    if (!head || this.pausedForReader || this.failure) {
      this.due = 0;
      return;
    }
    const now = Date.now();
    if (head.body) {
      const { idle, minRate } = this.opts.timeouts;
      const elapsed = now - head.windowAt;
      if (elapsed >= idle) {
        if (head.decoder!.bytes - head.windowBytes < (minRate * elapsed) / 1000) {
          this.fail(
            new Pop3Error(`message arriving at under ${minRate} octets/s (a drip)`, {
              code: 'ETIMEDOUT',
              command: head.shown,
            }),
          );
          return;
        }
        this.restartWindow(head, now);
      }
      this.due = now + idle;
    } else {
      if (head.deadline === 0) {
        head.deadline =
          now + (head.wire === undefined ? this.opts.timeouts.greeting : this.opts.timeouts.command);
      }
      this.due = head.deadline;
    }
    if (this.timer === undefined || this.due < this.timerAt) this.startTimer(now);
  }

  private restartWindow(head: Pending, now: number): void {
    head.windowAt = now;
    head.windowBytes = head.decoder!.bytes;
  }

  private startTimer(now: number): void {
    this.clearTimer();
    this.timerAt = this.due;
    this.timer = setTimeout(this.onTimer, Math.min(Math.max(0, this.due - now), MAX_TIMER_MS));
    this.timer.unref?.();
  }

  private timerFired(): void {
    this.timer = undefined;
    if (this.due === 0 || this.failure) return;
    const now = Date.now();
    if (now < this.due) {
      this.startTimer(now);
      return;
    }
    const head = this.waiting.peek();
    if (!head) return;
    const greeting = head.wire === undefined;
    this.fail(
      new Pop3Error(
        `timed out waiting for the reply to ${greeting ? 'the greeting' : head.shown.split(' ')[0]}`,
        {
          code: 'ETIMEDOUT',
          command: head.shown,
        },
      ),
    );
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private rejectPending(p: Pending, err: Pop3Error): void {
    if (p.body) {
      if (!p.body.destroyed) {
        const truncated =
          err.code === 'ECLOSED'
            ? new Pop3Error('connection closed before the end of the message (truncated)', {
                code: 'ECLOSED',
                command: p.shown,
                cause: err,
              })
            : err;
        p.body.destroy(truncated);
      }
      return;
    }
    p.handler.reject(err, p.tag);
  }
}

function splitLines(data: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  while (start < data.length) {
    let lf = data.indexOf(0x0a, start);
    if (lf < 0) lf = data.length;
    const end = lf > start && data[lf - 1] === 0x0d ? lf - 1 : lf;
    lines.push(data.subarray(start, end));
    start = lf + 1;
  }
  return lines;
}

function countLf(buf: Buffer): number {
  let n = 0;
  let i = buf.indexOf(0x0a);
  while (i >= 0) {
    n++;
    i = buf.indexOf(0x0a, i + 1);
  }
  return n;
}
