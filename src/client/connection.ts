import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { EMPTY } from '../protocol/bytes.js';
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
import type { Limits, Timeouts, TraceEvent } from './options.js';

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

/** A listing (LIST, UIDL, CAPA) is held in memory whole; this bounds it. */
const MAX_LISTING_BYTES = 64 * 1024 * 1024;

interface Pending {
  shown: string; // the command as it may be displayed (secrets redacted)
  shape: ReplyShape;
  wire?: Buffer; // bytes to send; undefined for the greeting
  exclusive: boolean; // nothing else may be on the wire with it (STLS, AUTH)
  pauseAfter: boolean; // stop reading right after this reply (STLS: the next byte must be TLS)
  hold?: symbol; // part of the sequence that holds the queue (see Connection.hold)
  status?: StatusLine;
  deadline?: number;
  sentAt?: number; // the value of Connection.sent when this command went out
  resolve(reply: Reply): void;
  reject(err: Pop3Error): void;
  decoder?: DotDecoder;
  collected?: Buffer[];
  body?: BodyStream;
  bodyLines?: number;
  rounds: number;
}

/** A message body that resumes the socket when its reader wants more. */
class BodyStream extends Readable {
  discard = false; // the reader went away: keep decoding (the wire must stay in sync), drop the bytes
  constructor(private readonly wantMore: () => void) {
    super({ highWaterMark: 256 * 1024 });
    // The body can fail (limit, truncation, abort) in the same tick its RETR resolves, before the
    // caller has attached anything. An 'error' without a listener would crash the process; the
    // caller still gets the error from read(), for-await or pipeline(), which see `errored`.
    this.on('error', () => {});
  }
  override _read(): void {
    this.wantMore();
  }
  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.discard = true;
    this.wantMore();
    cb(err);
  }
}

export interface ConnectionOptions {
  timeouts: Timeouts;
  limits: Limits;
  onTrace?: (event: TraceEvent) => void;
}

/**
 * One POP3 connection's wire: sends commands, matches replies first in, first out
 * (RFC 2449 §6.6), and decodes them with the shared protocol codec. It knows nothing
 * about what commands mean; Pop3Client does.
 */
export class Connection {
  private socket: Socket;
  private reader: LineReader;
  private readonly waiting: Pending[] = []; // sent, awaiting their reply, in order
  private readonly queued: Pending[] = []; // not yet sent
  private failure: Pop3Error | undefined;
  private readonly closeHooks: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pausedForReader = false;
  /** While set, only commands of this sequence may go out (see hold()). */
  private holder: symbol | undefined;
  /** Commands written so far; lets receive() tell which commands were sent after the bytes it holds. */
  private sent = 0;
  /** Parse response codes (the server advertised RESP-CODES or AUTH-RESP-CODE). */
  responseCodes = false;
  /** Send commands without waiting for earlier replies (the server advertised PIPELINING). */
  pipelining = false;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  private readonly onEnd = () =>
    this.fail(new Pop3Error('connection closed by the server', { code: 'ECLOSED' }));
  private readonly onError = (err: Error) =>
    this.fail(new Pop3Error(`connection error: ${err.message}`, { code: 'ECLOSED', cause: err }));

  constructor(
    socket: Socket,
    private readonly opts: ConnectionOptions,
  ) {
    this.socket = socket;
    this.reader = new LineReader(opts.limits.maxLineLength);
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
    return this.enqueue({
      shown: '(greeting)',
      shape: { kind: 'line' },
      exclusive: true,
      pauseAfter: false,
    }).then((r) => r.status);
  }

  /** Send a command; resolves with its reply, rejects with ESERVER on -ERR. */
  command(
    keyword: string,
    args: readonly string[],
    shape: ReplyShape,
    flags: { exclusive?: boolean; pauseAfter?: boolean; hold?: symbol } = {},
  ): Promise<Reply> {
    let wire: Buffer;
    try {
      wire = encodeCommand(keyword, args);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.enqueue({
      shown: redactCommand(keyword, args),
      shape,
      wire,
      exclusive: flags.exclusive ?? false,
      pauseAfter: flags.pauseAfter ?? false,
      hold: flags.hold,
    });
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
    if (this.reader.buffered > 0 || this.socket.readableLength > 0) {
      const err = new Pop3Error('server sent data after the STLS reply', { code: 'EPROTOCOL' });
      this.fail(err);
      throw err;
    }
    this.detach(this.socket);
    this.reader = new LineReader(this.opts.limits.maxLineLength); // nothing from before TLS survives
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
    this.clearTimer();
    this.socket.destroy();
    for (const p of [...this.waiting, ...this.queued]) this.rejectPending(p, err);
    this.waiting.length = 0;
    this.queued.length = 0;
    this.trace('*', `closed: ${err.message}`);
    for (const fn of this.closeHooks.splice(0)) fn();
  }

  trace(dir: TraceEvent['dir'], line: string, body?: TraceEvent['body']): void {
    this.opts.onTrace?.({ dir, line, at: new Date(), ...(body ? { body } : {}) });
  }

  private attach(socket: Socket): void {
    // Commands are small and often pipelined: without this, Nagle's algorithm holds each one
    // after the first until the previous segment is acknowledged (~40 ms of delayed ACK).
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  private detach(socket: Socket): void {
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('close', this.onEnd);
    socket.off('error', this.onError);
  }

  private enqueue(init: Omit<Pending, 'resolve' | 'reject' | 'rounds'>): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Reply>((resolve, reject) => {
      this.queued.push({ ...init, resolve, reject, rounds: 0 });
      this.pump();
    });
  }

  /**
   * Send what may be sent now: everything when pipelining, else one at a time; exclusive
   * commands alone; while the queue is held, only the holder's commands.
   */
  private pump(): void {
    while (this.queued.length > 0 && !this.failure) {
      const index = this.holder ? this.queued.findIndex((p) => p.hold === this.holder) : 0;
      if (index < 0) return;
      const next = this.queued[index]!;
      const busy = this.waiting.length > 0;
      if (busy && (!this.pipelining || next.exclusive || this.waiting.some((p) => p.exclusive))) return;
      this.queued.splice(index, 1);
      this.waiting.push(next);
      if (next.wire) {
        this.trace('C', next.shown);
        this.socket.write(next.wire);
        next.sentAt = ++this.sent;
      }
      if (this.waiting.length === 1) this.armTimer();
    }
  }

  private receive(chunk: Buffer): void {
    try {
      this.armTimer();
      const sentBefore = this.sent;
      let data = chunk;
      while (!this.failure) {
        const head = this.waiting[0];
        // Bytes in hand cannot answer a command that was sent after they arrived (one that a
        // finished reply just let out of the queue): the server sent them unasked.
        const unasked = !head || (head.sentAt !== undefined && head.sentAt > sentBefore);
        if (unasked) {
          if (data.length > 0 || this.reader.buffered > 0) {
            throw new Pop3Error('server sent data that answers no command', { code: 'EPROTOCOL' });
          }
          return;
        }
        if (head.decoder) {
          if (data.length === 0) return;
          data = this.receiveBody(head, data);
          continue;
        }
        if (data.length > 0) {
          this.reader.push(data);
          data = EMPTY;
        }
        const line = this.reader.next();
        if (line === undefined) return;
        this.receiveLine(head, line);
        if (head.decoder) data = this.reader.take();
      }
    } catch (err) {
      this.fail(
        err instanceof Pop3Error
          ? err
          : new Pop3Error(`internal error: ${String(err)}`, { code: 'EPROTOCOL' }),
      );
    }
  }

  private receiveLine(head: Pending, line: Buffer): void {
    if (head.shape.kind === 'sasl' && isContinuation(line)) {
      this.trace('S', printable(line.toString('latin1'), 400));
      head.rounds++;
      if (head.rounds > this.opts.limits.maxSaslRounds) {
        throw new Pop3Error(`more than ${this.opts.limits.maxSaslRounds} SASL challenges`, {
          code: 'ELIMIT',
          command: head.shown,
        });
      }
      const answer = head.shape.respond(continuationPayload(line));
      this.trace('C', answer === '*' || answer === '' ? answer : '***');
      this.socket.write(encodeContinuation(answer));
      this.armTimer();
      return;
    }
    const status = parseStatusLine(line, { responseCodes: this.responseCodes });
    this.trace('S', printable(line.toString('utf8'), 600));
    if (!status.ok) {
      this.finish(head);
      head.reject(
        new Pop3Error(`${head.shown.split(' ')[0]} failed: ${printable(status.text)}`, {
          code: 'ESERVER',
          responseCode: status.code,
          command: head.shown,
          response: status.text,
        }),
      );
      return;
    }
    if (head.shape.kind === 'lines' || head.shape.kind === 'stream') {
      head.decoder = new DotDecoder({
        maxLineLength:
          head.shape.kind === 'lines' ? this.opts.limits.maxLineLength : this.opts.limits.maxBodyLineLength,
        maxBytes:
          head.shape.kind === 'lines'
            ? Math.min(this.opts.limits.maxLineLength * this.opts.limits.maxListLength, MAX_LISTING_BYTES)
            : this.opts.limits.maxMessageSize,
      });
      head.bodyLines = 0;
      if (head.shape.kind === 'lines') {
        head.collected = [];
        head.status = status;
      } else {
        head.body = new BodyStream(() => this.resumeForReader());
        this.armTimer(); // from here the idle timeout applies, not the status line's deadline
        head.resolve({ status, body: head.body });
      }
      return;
    }
    this.finish(head);
    head.resolve({ status });
  }

  /** Feed body bytes to the head reply; returns the bytes that belong to the next one. */
  private receiveBody(head: Pending, data: Buffer): Buffer {
    const { parts, done, rest } = head.decoder!.push(data);
    if (head.collected) {
      const maxLines = (head.shape.kind === 'lines' && head.shape.maxLines) || this.opts.limits.maxListLength;
      for (const p of parts) {
        // Counted as they arrive, so a hostile listing fails at the cap, not after it was buffered.
        head.bodyLines! += countLf(p);
        if (head.bodyLines! > maxLines) {
          throw new Pop3Error(`reply longer than ${maxLines} lines`, { code: 'ELIMIT', command: head.shown });
        }
        head.collected.push(Buffer.from(p)); // copy: the socket's buffer is reused
      }
      if (done) {
        const lines = splitLines(Buffer.concat(head.collected));
        for (const l of lines) this.trace('S', printable(l.toString('utf8'), 600));
        this.trace('S', '.');
        this.finish(head);
        head.resolve({ status: head.status!, lines });
      }
    } else if (head.body) {
      const body = head.body;
      for (const p of parts) {
        head.bodyLines! += countLf(p);
        if (!body.discard && !body.push(p)) this.pauseForReader();
      }
      if (done) {
        this.trace('S', '.', { octets: head.decoder!.bytes, lines: head.bodyLines! });
        this.finish(head);
        if (!body.discard) body.push(null);
      }
    }
    return rest;
  }

  private finish(head: Pending): void {
    this.waiting.shift();
    if (head.pauseAfter) this.socket.pause();
    if (this.waiting.length > 0) this.armTimer();
    else this.clearTimer();
    this.pump();
  }

  private pauseForReader(): void {
    this.pausedForReader = true;
    this.clearTimer(); // a slow reader is not a slow server
    this.socket.pause();
  }

  private resumeForReader(): void {
    if (!this.pausedForReader || this.failure) return;
    this.pausedForReader = false;
    this.armTimer();
    this.socket.resume();
  }

  private armTimer(): void {
    this.clearTimer();
    const head = this.waiting[0];
    if (!head || this.pausedForReader) return;
    const greeting = head.wire === undefined;
    const ms = head.body
      ? this.opts.timeouts.idle
      : greeting
        ? this.opts.timeouts.greeting
        : this.opts.timeouts.command;
    // Status lines get one deadline from when they are awaited, so a slow drip cannot stretch
    // it; a body's timer restarts on every chunk, since a large message may take long.
    if (!head.body && head.deadline === undefined) head.deadline = Date.now() + ms;
    const left = head.body ? ms : Math.max(0, head.deadline! - Date.now());
    this.timer = setTimeout(() => {
      this.fail(
        new Pop3Error(
          `timed out waiting for the reply to ${greeting ? 'the greeting' : head.shown.split(' ')[0]}`,
          {
            code: 'ETIMEDOUT',
            command: head.shown,
          },
        ),
      );
    }, left);
    this.timer.unref?.();
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
    p.reject(err);
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
