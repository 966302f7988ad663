import type { Duplex } from 'node:stream';
import { readWhole } from '../mailstore/read-whole.js';
import { type Mailbox, MailboxBusyError, MessageGoneError, type MessageInfo } from '../mailstore/types.js';
import { makeApopTimestamp } from '../protocol/apop.js';
import { CR, DOT_CRLF, EMPTY, LF, SP, writeDecimal } from '../protocol/bytes.js';
import { redactCommand } from '../protocol/command.js';
import { DotEncoder } from '../protocol/dot-encoder.js';
import { Pop3Error, printable } from '../protocol/errors.js';
import { MAX_RESPONSE_OCTETS } from '../protocol/sasl/server/base.js';
import { CommandInput, type InputResult } from './command-input.js';
import { parseCommandLine } from './command-line.js';
import { COMMANDS } from './commands/index.js';
import { safeLog } from './logger.js';
import { Maildrop } from './maildrop.js';
import { OutputBatch } from './output-batch.js';
import { dataLine, errLine, okLine, type RespCode, retrStatus } from './responses.js';
import type { CloseReason, PeerAddress, SessionHost, SessionInfo, SessionState } from './session-types.js';
import { SmallReplies } from './small-reply.js';
import { upgradeToTls } from './tls-upgrade.js';
import type { TopLimiter } from './top-limiter.js';

/** Listing replies are written in batches of about this many octets, then backpressure is honoured. */
const LIST_BATCH = 16 * 1024;
/** The longest LIST or UIDL line: a message number, a space, a size or a 70-octet UID, CRLF. */
const LISTING_LINE_MAX = 16 + 1 + 70 + 2;
/**
 * Messages up to this size are read in one synchronous call (Mailbox.readSmall) and answered with
 * one write: for a local file that costs microseconds (open, fstat, read, close: what Dovecot
 * does), where the streamed path pays a threadpool round trip per step. Most mail is far smaller;
 * at this size a read blocks the event loop for tens of microseconds from the page cache and the
 * reply (the encoded copy) stays under about 512 KiB. Larger messages are streamed.
 */
export const SMALL_MESSAGE_BYTES = 256 * 1024;
/** Streamed message bodies are written in slices of at most this many stored octets. */
const WRITE_SLICE = 512 * 1024;
/**
 * Replies to commands that were already pipelined are corked together up to about this many
 * octets before they are flushed (one writev for many replies) and backpressure is honoured.
 * Measured with mpop fetching 2000 small messages: 64 KiB gets the first replies to the client
 * sooner than 256 KiB (wall time 8 % lower) for the same CPU; 16 KiB costs more writev calls.
 */
const OUTPUT_BATCH = 64 * 1024;
/**
 * Small RETR replies are gathered in buffers of this size (OutputBatch) and handed to the socket a
 * buffer at a time; once half a batch is waiting in the socket, it is flushed (one write per batch).
 */
const FLUSH_AT = OUTPUT_BATCH / 2;
/**
 * Fairness among sessions: after writing this much without waiting for the client, a session
 * yields the event loop once (setImmediate) so that the others get their turn, even when its
 * client has pipelined a whole mailbox and the kernel takes every write at once.
 */
const TURN_BUDGET = 1024 * 1024;
/** After QUIT or a limit, how long the client gets to read our last reply and close before we reset. */
const LINGER_MS = 2000;

/**
 * One POP3 session (RFC 1939): AUTHORIZATION → TRANSACTION → UPDATE. Commands are read one at a
 * time and run strictly in order (RFC 2449 §6.6); the socket is read only while the session waits
 * for the next command, and a reply is written with backpressure, so neither a flood of pipelined
 * commands nor a client that stops reading makes the server buffer without bound.
 *
 * Everything that ends a session goes through `#end()`; the mailbox lock is released in `run()`'s
 * finally, after the command that was running has returned, on every path (QUIT, drop, timeout,
 * error, shutdown). Deletions are committed only by QUIT in TRANSACTION.
 */
export class Session {
  readonly id: string;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;

  state: SessionState = 'AUTHORIZATION';
  /** User named by a USER that was answered +OK, until the next command. */
  pendingUser: string | undefined;
  /** The APOP timestamp of our greeting, when APOP is offered (invalidated by STLS). */
  apopTimestamp: string | undefined;
  /** RFC 6856 UTF8 issued. */
  utf8 = false;
  user: string | undefined;
  mechanism: string | undefined;
  maildrop: Maildrop | undefined;

  readonly #host: SessionHost;
  readonly #raw: Duplex;
  #socket: Duplex;
  #secure: boolean;
  readonly #input: CommandInput;
  #badCommands = 0;
  #failedLogins = 0;
  #closed = false;
  #reason: CloseReason = 'closed';
  #shutdownRequested = false;
  #waitingForInput = false;
  #midReply = false;
  #corked = false;
  /** Octets written since this session last waited for its client or yielded (TURN_BUDGET). */
  #sinceYield = 0;
  /** Messages sent whole in reply to RETR, and octets sent for RETR and TOP (status lines included). */
  #retrieved = 0;
  #retrieveOctets = 0;
  /** Gathered replies; they reach the socket before anything sent after them. */
  readonly #out = new OutputBatch((chunk, done) => this.#socket.write(chunk, done), OUTPUT_BATCH);
  readonly #smallReplies = new SmallReplies(this.#out);
  #timer: NodeJS.Timeout | undefined;
  readonly #wakeOnClose = new Set<() => void>();

  constructor(id: string, raw: Duplex, socket: Duplex, secure: boolean, host: SessionHost) {
    this.id = id;
    this.#host = host;
    this.#raw = raw;
    this.#socket = socket;
    this.#secure = secure;
    const peer = raw as Partial<PeerAddress>;
    this.remoteAddress = peer.remoteAddress;
    this.remotePort = peer.remotePort;
    const { limits } = host.options;
    this.#input = new CommandInput(limits.maxLineLength, limits.maxPipelinedBytes);
    this.#watch(socket);
    if (socket !== raw) this.#watch(raw);
    this.#input.attach(socket);
    // The pre-login deadline runs from connect and is not reset by commands (CVE-2014-3430).
    this.#timer = setTimeout(() => this.#end('timeout'), limits.preLoginTimeoutMs);
  }

  get secure(): boolean {
    return this.#secure;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get host(): SessionHost {
    return this.#host;
  }

  get info(): SessionInfo {
    return {
      id: this.id,
      remoteAddress: this.remoteAddress,
      remotePort: this.remotePort,
      secure: this.#secure,
      ...(this.user === undefined ? {} : { user: this.user }),
      ...(this.mechanism === undefined ? {} : { mechanism: this.mechanism }),
    };
  }

  /** SASL mechanisms usable now (cleartext-secret ones only under TLS unless allowed). */
  get saslMechanisms(): string[] {
    return this.#host.auth.mechanismsFor(this.#secure, this.#host.options.allowInsecureAuth);
  }

  /** USER/PASS accepted now (and so advertised): a password check exists and TLS is on or not required. */
  get passwordLoginAllowed(): boolean {
    return this.#host.auth.hasPasswords && (this.#secure || this.#host.options.allowInsecureAuth);
  }

  /** STLS offered now: configured, and TLS not already active. */
  get stlsAvailable(): boolean {
    return this.#host.options.stls && this.#host.secureContext !== undefined && !this.#secure;
  }

  /** Greet, then serve commands until the session ends. Resolves when all cleanup is done. */
  async run(): Promise<void> {
    try {
      const { options } = this.#host;
      if (options.apop && this.#host.auth.hasPlaintextSecrets) {
        // Unique per greeting (RFC 1939 §7), so a captured digest cannot be replayed.
        this.apopTimestamp = makeApopTimestamp(options.hostname);
      }
      this.ok(
        this.apopTimestamp === undefined ? 'POP3 server ready' : `POP3 server ready ${this.apopTimestamp}`,
      );
      await this.#serve();
    } catch (err) {
      this.#host.failed(err, this.info, 'session failed');
      this.#end('error');
    } finally {
      await this.#cleanup();
    }
  }

  /** Server shutdown: end now if waiting for a command, else right after the current one. */
  shutdown(): void {
    this.#shutdownRequested = true;
    if (this.#waitingForInput) this.#end('shutdown');
  }

  /** Drop the connection at once (no reply, no UPDATE). */
  destroy(reason: CloseReason): void {
    this.#end(reason, true);
  }

  /**
   * The command loop. A command line already buffered is taken and dispatched synchronously, and a
   * handler that completes synchronously (a small RETR/TOP, DELE, NOOP, STAT, LIST n, UIDL n) costs
   * no promise: the loop awaits only to wait for input, for a handler that returned a promise, for
   * drain (backpressure) or for the fairness yield. Replies stay in order because one command runs
   * at a time either way.
   */
  async #serve(): Promise<void> {
    while (!this.#closed) {
      let got = this.#shutdownRequested ? undefined : this.#input.poll();
      if (got === undefined) got = await this.#nextInput();
      if (got === 'closed') return this.#end(this.#inputEndReason());
      if (got === 'overflow') {
        this.log('warn', {}, 'too much pipelined input; closing');
        return this.#end('limit', true);
      }
      if (got === 'too-long') {
        this.send(errLine('line too long'));
        return this.#end('limit');
      }
      if (this.state === 'TRANSACTION') this.#timer?.refresh();
      const input = this.#input;
      const running = this.#dispatch(input.lineBuffer, input.lineStart, input.lineEnd);
      if (running !== undefined) await running;
      if (this.#shutdownRequested) return this.#end('shutdown');
      if (this.#mustPause()) await this.#afterCommand();
    }
  }

  /** Whether #afterCommand has anything to wait for (so the common case costs no promise). */
  #mustPause(): boolean {
    if (this.#closed) return false;
    if (this.#sinceYield >= TURN_BUDGET) return true;
    const socket = this.#socket;
    return socket.writableNeedDrain && (socket.writableLength >= FLUSH_AT || this.#input.pending === 0);
  }

  /**
   * Between commands: replies stay corked while the next command is already buffered and the
   * batch is small, so a pipelined run of RETRs goes out in a few large writes, in order; past
   * OUTPUT_BATCH the batch is flushed and the client must take it (backpressure) before the next
   * command is read. The socket is not read meanwhile (CommandInput reads only when waiting).
   */
  async #afterCommand(): Promise<void> {
    if (this.#closed) return;
    const all = this.#input.pending === 0;
    if (all || this.#socket.writableLength >= FLUSH_AT) {
      // More commands waiting: the reply being gathered can join the next batch.
      if (!this.#flushed(all)) await this.drain();
    }
    if (this.#sinceYield >= TURN_BUDGET && !this.#closed) {
      this.#uncork();
      this.#sinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Why input ended: our own close (its reason), a shutdown, or the client going away. */
  #inputEndReason(): CloseReason {
    if (this.#closed) return this.#reason;
    return this.#shutdownRequested ? 'shutdown' : 'closed';
  }

  async #nextInput(): Promise<InputResult> {
    this.#waitingForInput = true;
    try {
      if (this.#shutdownRequested) return 'closed';
      return await this.#input.next(this.#beforeWait);
    } finally {
      this.#waitingForInput = false;
    }
  }

  readonly #beforeWait = (): void => {
    this.#sinceYield = 0;
    this.#uncork();
  };

  /** Run one command line: undefined when it completed synchronously, else the promise of its end. */
  #dispatch(buf: Buffer, start: number, end: number): Promise<void> | void {
    const parsed = parseCommandLine(buf, start, end);
    const previousUser = this.pendingUser;
    this.pendingUser = undefined; // PASS must come right after USER (RFC 1939 §7)
    if (typeof parsed === 'string') {
      this.log('debug', { reason: parsed }, 'malformed command');
      return this.badCommand(
        parsed === 'keyword' || parsed === 'empty' ? 'unknown command' : 'invalid characters in command',
      );
    }
    const cmd = parsed;
    const spec = COMMANDS.get(cmd.keyword);
    if (!spec) return this.badCommand('unknown command');
    // The line as received (keyword upper-cased), secret arguments hidden by the one shared redactor;
    // built only when someone logs debug. SASL continuations never come here (readContinuation).
    if (this.#host.options.logger?.debug) {
      this.log('debug', { command: redactCommand(cmd.keyword, cmd.args) }, 'command');
    }
    if (!spec.states.includes(this.state)) return this.badCommand('command not valid in this state');
    if (cmd.keyword === 'PASS') this.pendingUser = previousUser;
    this.#midReply = false;
    this.#cork();
    let running: Promise<void> | void;
    try {
      running = spec.run(this, cmd);
    } catch (err) {
      this.#commandFailed(err, cmd.keyword);
      return undefined;
    }
    if (running === undefined) return undefined;
    return running.then(undefined, (err: unknown) => this.#commandFailed(err, cmd.keyword));
  }

  #commandFailed(err: unknown, keyword: string): void {
    this.#host.failed(err, this.info, `${keyword} failed`);
    if (this.#midReply) this.#end('error', true);
    else this.send(errLine('internal error', 'SYS/TEMP'));
  }

  // ---- replies -------------------------------------------------------------------------------

  /** Queue bytes for the client, after any gathered replies; a no-op once the session is closed. */
  send(data: Buffer | string): void {
    if (this.#closed || this.#socket.destroyed || this.#socket.writableEnded) return;
    this.#sinceYield += data.length;
    this.#out.flush();
    this.#socket.write(data);
  }

  ok(text = ''): void {
    this.send(okLine(text));
  }

  err(text: string, code?: RespCode): void {
    this.send(errLine(text, code));
  }

  /** An unknown, malformed or wrong-state command: -ERR, and the session ends past the limit (case 5). */
  badCommand(text: string): void {
    this.#badCommands++;
    if (this.#badCommands > this.#host.options.limits.maxBadCommands) {
      this.send(errLine('too many bad commands'));
      this.log('info', {}, 'too many bad commands; closing');
      this.#end('limit');
      return;
    }
    this.send(errLine(text));
  }

  /** Wait until the socket can take more (honouring a client that reads slowly or not at all). */
  async drain(): Promise<void> {
    if (this.#closed || !this.#socket.writableNeedDrain) return;
    if (!this.#flushed()) {
      const socket = this.#socket;
      await new Promise<void>((resolve) => {
        const done = () => {
          socket.off('drain', done);
          this.#wakeOnClose.delete(done);
          resolve();
        };
        socket.on('drain', done);
        this.#wakeOnClose.add(done);
      });
    }
    // Output progress counts as activity (a long message to a fast reader, or a slow reader).
    if (this.state === 'TRANSACTION') this.#timer?.refresh();
  }

  /** A multi-line reply from text lines (CAPA, LIST, UIDL): dot-stuffed, batched, with backpressure. */
  async sendLines(status: Buffer, lines: Iterable<string>): Promise<void> {
    this.send(status);
    // Until the terminator is out, a failure can only drop the connection (see #dispatch).
    this.#midReply = true;
    let batch = '';
    for (const line of lines) {
      batch += dataLine(line);
      if (batch.length >= LIST_BATCH) {
        this.send(batch);
        batch = '';
        await this.drain();
        if (this.#closed) return;
      }
    }
    this.send(batch === '' ? DOT_CRLF : `${batch}.\r\n`);
    this.#midReply = false;
  }

  /**
   * LIST or UIDL of the whole maildrop: `n octets` or `n uid` for each live message, written
   * straight into the output batch, so that a listing makes no string or object per message; with
   * backpressure every LIST_BATCH octets. The lines start with a digit: none needs dot-stuffing.
   */
  async sendListing(status: Buffer, column: 'octets' | 'uid'): Promise<void> {
    this.send(status);
    this.#midReply = true;
    const maildrop = this.maildrop!;
    const out = this.#out;
    let batched = 0;
    for (let n = 1; n <= maildrop.size; n++) {
      if (maildrop.isDeleted(n)) continue;
      const at = out.reserve(LISTING_LINE_MAX);
      const buf = out.buffer;
      let w = writeDecimal(buf, at, n);
      buf[w++] = SP;
      // UIDs are checked printable ASCII at login (checkSnapshot), so latin1 writes them as they are.
      if (column === 'uid') w += buf.write(maildrop.message(n).uid, w, 'latin1');
      else w = writeDecimal(buf, w, maildrop.message(n).octets);
      buf[w++] = CR;
      buf[w++] = LF;
      out.commit(w);
      batched += w - at;
      if (batched >= LIST_BATCH) {
        this.#sinceYield += batched;
        batched = 0;
        out.flush();
        await this.drain();
        if (this.#closed) return;
      }
    }
    this.#sinceYield += batched;
    out.append(DOT_CRLF);
    this.#midReply = false;
  }

  /**
   * RETR / TOP. A small message (Mailbox.readSmall) is read at once and sent as one buffer: status
   * line, dot-stuffed body and terminator. Otherwise the message is streamed through DotEncoder (and
   * a TopLimiter for TOP), never holding more than one chunk. Either way the message is read, or its
   * first chunk, before `+OK`, so a message that cannot be read is an -ERR rather than a broken
   * reply. A failure after `+OK` drops the connection: the client sees a reply without its
   * terminator, never a wrong message. Without `status`, RETR's status line is sent.
   */
  sendMessage(n: number, status?: Buffer, limiter?: TopLimiter): Promise<void> | undefined {
    const mailbox = this.maildrop!.mailbox;
    const msg = this.maildrop!.message(n);
    if (mailbox.readSmall) {
      let octets: number | undefined;
      try {
        if (limiter) {
          const body = readWhole(mailbox, msg.uid, SMALL_MESSAGE_BYTES);
          if (body !== undefined) {
            const reply = DotEncoder.whole(status ?? retrStatus(msg.octets), limiter.push(body)).reply;
            this.send(reply);
            octets = reply.length;
          }
        } else {
          octets = this.#smallReplies.read(mailbox, msg, status, SMALL_MESSAGE_BYTES);
          if (octets !== undefined) {
            this.#sinceYield += octets;
            this.#retrieved++;
          }
        }
      } catch (err) {
        this.#unreadable(err, msg);
        return undefined;
      }
      if (octets !== undefined) {
        this.#retrieveOctets += octets;
        return undefined;
      }
    }
    return this.#streamMessage(msg, status ?? retrStatus(msg.octets), limiter);
  }

  /** sendMessage for a message the store hands over as a stream. */
  async #streamMessage(msg: MessageInfo, status: Buffer, limiter?: TopLimiter): Promise<void> {
    const mailbox = this.maildrop!.mailbox;
    let iterator: AsyncIterator<unknown> | undefined;
    let first: IteratorResult<unknown>;
    try {
      const stream = (await mailbox.open(msg.uid)) as AsyncIterable<unknown>;
      iterator = stream[Symbol.asyncIterator]();
      first = await iterator.next();
    } catch (err) {
      void Promise.resolve(iterator?.return?.()).catch(() => {});
      return this.#unreadable(err, msg);
    }
    this.#midReply = true;
    const encoder = new DotEncoder();
    let head: Buffer = status;
    let complete = false;
    try {
      let next = first;
      while (!next.done) {
        if (this.#closed) return;
        const value = next.value;
        const whole = Buffer.isBuffer(value) ? value : Buffer.from(value as Uint8Array | string);
        // Large chunks (a store that hands over a whole message) go out in slices, so that each
        // write is bounded and backpressure is honoured between them.
        for (let at = 0; at < whole.length && !this.#closed; at += WRITE_SLICE) {
          let chunk = whole.subarray(at, at + WRITE_SLICE);
          if (limiter) chunk = limiter.push(chunk);
          const out = encoder.encodeAfter(head, chunk);
          head = EMPTY;
          if (out.length > 0) {
            this.send(out);
            this.#retrieveOctets += out.length;
          }
          if (limiter?.done) break;
          await this.drain();
        }
        if (limiter?.done) break;
        next = await iterator.next();
      }
      if (!this.#closed) {
        const tail = encoder.end();
        const out = head.length > 0 ? Buffer.concat([head, tail]) : tail;
        this.send(out);
        this.#retrieveOctets += out.length;
        if (!limiter) this.#retrieved++;
      }
      complete = true;
    } catch (err) {
      this.#host.failed(err, this.info, 'message read failed mid-reply');
      this.#end('error', true);
    } finally {
      if (complete) this.#midReply = false;
      if (!complete || limiter?.done) {
        // Stop reading the rest (TOP's cut, or an aborted reply); errors from closing are moot.
        void Promise.resolve(iterator.return?.()).catch(() => {});
      }
    }
  }

  /** A message that cannot be read before its `+OK`: -ERR, and the session goes on. */
  #unreadable(err: unknown, msg: MessageInfo): void {
    if (err instanceof MessageGoneError) {
      this.log('warn', { uid: msg.uid, reason: err.message }, 'message vanished from the maildrop');
      this.err('message is no longer available');
      return;
    }
    this.#host.failed(err, this.info, 'could not open a message');
    this.err('message cannot be read now', 'SYS/TEMP');
  }

  /** A SASL continuation line, with a cap sized for the mechanism; undefined when the session ended. */
  async readContinuation(maxDecodedOctets: number = MAX_RESPONSE_OCTETS): Promise<Buffer | undefined> {
    const { limits } = this.#host.options;
    const cap = Math.max(limits.maxLineLength, Math.ceil(maxDecodedOctets / 3) * 4 + 2);
    this.#input.setMaxLineLength(cap);
    try {
      const got = await this.#nextInput();
      if (got === 'line') return this.#input.line();
      if (got === 'too-long') {
        this.send(errLine('line too long'));
        this.#end('limit');
      } else if (got === 'overflow') {
        this.#end('limit', true);
      } else {
        this.#end(this.#inputEndReason());
      }
      return undefined;
    } finally {
      this.#input.setMaxLineLength(limits.maxLineLength);
    }
  }

  // ---- login ---------------------------------------------------------------------------------

  /**
   * Valid credentials: check LOGIN-DELAY, open and lock the maildrop, enter TRANSACTION. `[IN-USE]`
   * is therefore only ever sent after the credentials were accepted (RFC 2449 §8.1.2, case 30).
   */
  async login(user: string, mechanism: string): Promise<void> {
    const wait = this.#host.loginDelayRemaining(user);
    if (wait > 0) {
      this.log('info', { user: printable(user, 100), mechanism }, 'login refused by LOGIN-DELAY');
      return this.err(`wait ${wait} seconds between logins`, 'LOGIN-DELAY');
    }
    let mailbox: Mailbox;
    try {
      mailbox = await this.#host.options.store.openMailbox(user);
    } catch (err) {
      if (err instanceof MailboxBusyError) {
        this.log('info', { user: printable(user, 100), mechanism }, 'maildrop in use');
        return this.err('maildrop is locked by another session', 'IN-USE');
      }
      this.#host.failed(err, { ...this.info, user }, 'could not open the maildrop');
      const permanent = err instanceof Pop3Error && err.code === 'EARGUMENT';
      return this.err('maildrop not available', permanent ? 'SYS/PERM' : 'SYS/TEMP');
    }
    // From here the lock is held: run()'s finally releases it whatever happens next.
    this.maildrop = new Maildrop(mailbox);
    const problem = this.maildrop.check();
    if (problem !== undefined) {
      this.#host.failed(new Error(problem), { ...this.info, user }, 'unusable maildrop snapshot');
      await this.#releaseMailbox();
      return this.err('maildrop not available', 'SYS/TEMP');
    }
    if (this.#closed) return;
    this.state = 'TRANSACTION';
    this.user = user;
    this.mechanism = mechanism;
    // From now on: the autologout timer, reset by every command and by output progress.
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#end('timeout'), this.#host.options.limits.idleTimeoutMs);
    this.#host.loggedIn(this.info);
    this.ok(`maildrop has ${this.maildrop.count} messages (${this.maildrop.octets} octets)`);
  }

  /**
   * A credential failure: answered `-ERR [AUTH]` no sooner than failedLoginDelayMs after the attempt
   * started, the same for unknown users and wrong passwords (S10, case 23); past maxFailedLogins the
   * session ends.
   */
  async loginFailed(startedAt: number, mechanism: string, claimedUser: string | undefined): Promise<void> {
    this.#failedLogins++;
    const { limits } = this.#host.options;
    this.log(
      'info',
      { mechanism, ...(claimedUser === undefined ? {} : { user: printable(claimedUser, 100) }) },
      'authentication failed',
    );
    await this.sleep(startedAt + limits.failedLoginDelayMs - Date.now());
    this.err('authentication failed', 'AUTH');
    if (this.#failedLogins >= limits.maxFailedLogins) {
      this.log('info', {}, 'too many failed logins; closing');
      this.#end('limit');
    }
  }

  /** Wait, but no longer than the session lives. */
  async sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.#closed) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.#wakeOnClose.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.#wakeOnClose.add(done);
    });
  }

  // ---- STLS / QUIT -------------------------------------------------------------------------------

  /** Bytes received after the current command and not yet processed. */
  get pendingInput(): number {
    return this.#input.pending;
  }

  /**
   * STLS after its checks: send +OK, wait until it is on the wire, then hand the socket to TLS. A new
   * LineReader reads the TLS stream, and USER/APOP state is cleared (RFC 2595 §4, CONFORMANCE S16).
   */
  async startTls(): Promise<void> {
    const context = this.#host.secureContext!;
    this.#input.detach();
    this.#uncork();
    const raw = this.#raw;
    const written = await new Promise<boolean>((resolve) => {
      if (this.#closed || raw.destroyed) return resolve(false);
      raw.write(okLine('begin TLS negotiation'), (err) => resolve(!err));
    });
    if (!written || this.#closed) return this.#end('closed', true);
    let tlsSocket: Duplex;
    try {
      tlsSocket = await upgradeToTls(raw, context, this.#host.options.limits.handshakeTimeoutMs);
    } catch (err) {
      this.log('info', { reason: err instanceof Error ? err.message : String(err) }, 'STLS handshake failed');
      return this.#end('tls', true);
    }
    if (this.#closed) {
      tlsSocket.destroy();
      return;
    }
    this.#socket = tlsSocket;
    this.#secure = true;
    this.#watch(tlsSocket);
    this.#input.attach(tlsSocket);
    this.pendingUser = undefined;
    this.apopTimestamp = undefined; // sent in cleartext; a client must discard pre-TLS state anyway
    this.log('debug', {}, 'TLS started');
  }

  /** QUIT: in TRANSACTION, the UPDATE state (RFC 1939 §6): commit exactly the marked messages. */
  async quit(): Promise<void> {
    if (this.state !== 'TRANSACTION' || !this.maildrop) {
      this.ok('bye');
      return this.#end('quit');
    }
    this.state = 'UPDATE';
    const maildrop = this.maildrop;
    const deleted = maildrop.deletedUids();
    let notRemoved = 0;
    if (deleted.length > 0) {
      try {
        notRemoved = (await maildrop.mailbox.commit(deleted)).notRemoved.length;
      } catch (err) {
        this.#host.failed(err, this.info, 'commit failed');
        notRemoved = deleted.length;
      }
    }
    await this.#releaseMailbox();
    this.log('info', { deleted: deleted.length - notRemoved, notRemoved }, 'update done');
    if (notRemoved > 0) this.err('some deleted messages not removed', 'SYS/TEMP');
    else this.ok(`bye (${maildrop.count} messages left)`);
    this.#end('quit');
  }

  // ---- internals -------------------------------------------------------------------------------

  log(level: 'debug' | 'info' | 'warn' | 'error', fields: object, msg: string): void {
    if (!this.#host.options.logger?.[level]) return; // no fields built for a level nobody logs
    const { id, remoteAddress, user } = this;
    safeLog(
      this.#host.options.logger,
      level,
      { session: id, remoteAddress, ...(user ? { user } : {}), ...fields },
      msg,
    );
  }

  #watch(socket: Duplex): void {
    socket.on('error', (err: Error) => this.log('debug', { err: err.message }, 'socket error'));
    socket.on('close', () => this.#end(this.#closed ? this.#reason : 'closed', true));
  }

  #cork(): void {
    if (this.#corked || this.#closed) return;
    this.#corked = true;
    this.#socket.cork();
  }

  /**
   * Send what is corked (and, with `all`, what is gathered); true when the kernel took it all at
   * once. Node emits 'drain' only on the next tick even then, and waiting for it would cost a
   * promise and an event per batch.
   */
  #flushed(all = true): boolean {
    this.#uncork(all);
    return this.#socket.writableLength === 0;
  }

  #uncork(all = true): void {
    if (all) this.#out.flush();
    if (!this.#corked) return;
    this.#corked = false;
    this.#socket.uncork();
  }

  /**
   * End the session: `abort` drops the connection at once, else the last replies are flushed and the
   * client gets LINGER_MS to read them and close first (a reset could discard them).
   */
  #end(reason: CloseReason, abort = false): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reason = reason;
    clearTimeout(this.#timer);
    this.#input.end();
    this.#input.detach();
    for (const wake of [...this.#wakeOnClose]) wake();
    const socket = this.#socket;
    if (abort || socket.destroyed || socket.writableEnded) this.#out.discard();
    this.#uncork();
    if (abort || socket.destroyed) {
      socket.destroy();
      this.#raw.destroy();
      return;
    }
    socket.resume(); // discard whatever else the client sends, so its FIN is seen
    socket.end();
    const linger = setTimeout(() => {
      socket.destroy();
      this.#raw.destroy();
    }, LINGER_MS);
    linger.unref();
    socket.once('close', () => clearTimeout(linger));
  }

  async #releaseMailbox(): Promise<void> {
    const maildrop = this.maildrop;
    if (!maildrop) return;
    this.maildrop = undefined;
    try {
      await maildrop.mailbox.release();
    } catch (err) {
      this.#host.failed(err, this.info, 'could not release the maildrop');
    }
  }

  async #cleanup(): Promise<void> {
    this.#end(this.#reason);
    const wasLoggedIn = this.user !== undefined;
    await this.#releaseMailbox();
    this.log(
      wasLoggedIn ? 'info' : 'debug',
      { reason: this.#reason, retr: this.#retrieved, octets: this.#retrieveOctets },
      'session closed',
    );
    this.#host.closed(this.info, this.#reason, wasLoggedIn);
  }
}
