import type { Readable } from 'node:stream';
import { Capabilities, MAX_CAPA_LINES } from '../protocol/capabilities.js';
import { Pop3Error } from '../protocol/errors.js';
import { authenticate } from './auth.js';
import type { BodyStream } from './body.js';
import { checkUnique, parseListEntry, parseStat, parseUidlEntry } from './commands/listing.js';
import { Connection, type Reply, type ReplyHandler } from './connection.js';
import {
  type AuthOptions,
  type ClientOptions,
  DEFAULT_LIMITS,
  DEFAULT_TIMEOUTS,
  type Limits,
  type Timeouts,
} from './options.js';
import { describeTls, openSocket, startTls, type TlsInfo } from './transport.js';

export interface MessageSize {
  n: number;
  octets: number;
}
export interface MessageUid {
  n: number;
  uid: string;
}
export interface RetrievedMessage {
  n: number;
  /** The message's UID, when uidl() was called on this connection before. */
  uid: string | undefined;
  /** The unstuffed message bytes; read it (or destroy it) before awaiting the next one. */
  body: Readable;
}

/**
 * A POP3 client connection (RFC 1939, with RFC 2449 CAPA/PIPELINING, RFC 2595 STLS,
 * RFC 5034 SASL). Create it with `Pop3Client.connect()`.
 */
export class Pop3Client {
  /** Capabilities as last read: after TLS, and again after login. */
  capabilities: Capabilities = Capabilities.none();
  /** The greeting's text (without `+OK`). */
  greeting = '';
  /** Set once logged in: the mechanism used (`USER`, `APOP`, or a SASL name). */
  mechanism: string | undefined;
  private uidCache = new Map<number, string>();
  /**
   * Highest message number the maildrop can have: STAT's count plus the messages marked
   * deleted when it was asked (numbers are never reused, RFC 1939 §5, so after DELE a
   * listing names numbers above STAT's count). Listings are checked against it.
   */
  private maxNumber: number | undefined;
  private deletedCount = 0;
  private readonly limits: Limits;
  private readonly timeouts: Timeouts;

  private constructor(
    private readonly conn: Connection,
    private readonly opts: ClientOptions,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  }

  /**
   * Connect, read the greeting and CAPA, secure the connection as `opts.tls` says, and
   * log in when `opts.auth` is given. Rejects with a Pop3Error; never leaves a socket open.
   */
  static async connect(opts: ClientOptions): Promise<Pop3Client> {
    const timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    const limits = { ...DEFAULT_LIMITS, ...opts.limits };
    const mode = opts.tls ?? 'implicit';
    const port = opts.port ?? (mode === 'implicit' ? 995 : 110);
    const socket = await openSocket({ ...opts, tls: mode }, port, timeouts.connect);
    const conn = new Connection(socket, {
      timeouts,
      limits,
      onTrace: opts.onTrace,
      readAhead: opts.readAheadBytes,
    });
    const client = new Pop3Client(conn, { ...opts, tls: mode });
    const onAbort = () => conn.fail(new Pop3Error('aborted', { code: 'EABORT', cause: opts.signal?.reason }));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    // A long-lived signal (a daemon's) must not collect a listener per connection.
    conn.onClose(() => opts.signal?.removeEventListener('abort', onAbort));
    try {
      client.traceTls();
      const greeting = await conn.greeting();
      client.greeting = greeting.text;
      await client.capa();
      if (mode === 'starttls') await client.stls();
      if (opts.auth) await client.login(opts.auth);
      return client;
    } catch (err) {
      conn.fail(err instanceof Pop3Error ? err : new Pop3Error(String(err), { code: 'EPROTOCOL' }));
      opts.signal?.removeEventListener('abort', onAbort);
      throw err;
    }
  }

  /** TLS details, or undefined on a cleartext connection. */
  get tls(): TlsInfo | undefined {
    return describeTls(this.conn.transport);
  }

  get secure(): boolean {
    return this.tls !== undefined;
  }

  get closed(): boolean {
    return this.conn.closed;
  }

  /** CAPA (RFC 2449 §5). A server without CAPA (-ERR) supports no extensions. */
  async capa(): Promise<Capabilities> {
    return this.readCapa(this.askCapa());
  }

  /** Send CAPA (as part of the held sequence `hold`, when given); readCapa() takes its reply. */
  private askCapa(hold?: symbol): Promise<Reply> {
    return this.conn.command('CAPA', [], { kind: 'lines', maxLines: MAX_CAPA_LINES }, hold ? { hold } : {});
  }

  private async readCapa(asked: Promise<Reply>): Promise<Capabilities> {
    try {
      const reply = await asked;
      this.capabilities = new Capabilities(reply.lines!.map((l) => l.toString('latin1')));
    } catch (err) {
      if (!(err instanceof Pop3Error) || err.code !== 'ESERVER') throw err;
      this.capabilities = Capabilities.none();
    }
    this.conn.responseCodes = this.capabilities.responseCodes;
    this.conn.pipelining = this.capabilities.pipelining;
    return this.capabilities;
  }

  /**
   * STLS (RFC 2595 §4): upgrade to TLS, verified; then forget everything learned in
   * cleartext and ask CAPA again. No fallback: without STLS this fails before any secret is sent.
   */
  private async stls(): Promise<void> {
    if (!this.capabilities.stls) {
      throw new Pop3Error('server does not offer STLS; refusing to continue without TLS', { code: 'ETLS' });
    }
    try {
      await this.conn.command('STLS', [], { kind: 'line' }, { exclusive: true, pauseAfter: true });
    } catch (err) {
      if (err instanceof Pop3Error && err.code === 'ESERVER') {
        throw new Pop3Error(`server refused STLS: ${err.response ?? ''}`, {
          code: 'ETLS',
          responseCode: err.responseCode,
          command: 'STLS',
          response: err.response,
        });
      }
      throw err;
    }
    let ready: Promise<unknown> | undefined;
    this.conn.upgrade((plain) => {
      const started = startTls(plain, this.opts, this.timeouts.connect);
      ready = started.ready;
      return started.socket;
    });
    await ready;
    this.capabilities = Capabilities.none();
    this.greeting = ''; // an APOP timestamp from before TLS must not be used
    this.conn.responseCodes = false;
    this.conn.pipelining = false;
    this.traceTls();
    await this.capa();
  }

  /**
   * Log in. Without `auth.mechanism`, the strongest mechanism offered is used. Re-reads CAPA after:
   * with USER/PASS and PIPELINING, that CAPA goes out right behind PASS (one round trip for all
   * three); it is answered after PASS, so it lists the logged-in capabilities.
   */
  async login(auth: AuthOptions): Promise<void> {
    // Commands the caller issues meanwhile wait: USER and PASS must be adjacent (RFC 1939 §7),
    // and nothing may be pipelined into an AUTH exchange (CONFORMANCE C10).
    const { token, release } = this.conn.hold();
    let capaAsked: Promise<Reply> | undefined;
    try {
      this.mechanism = await authenticate(this.conn, auth, {
        capabilities: this.capabilities,
        greeting: this.greeting,
        secure: this.secure,
        allowInsecureAuth: this.opts.allowInsecureAuth ?? false,
        maxSaslRounds: this.limits.maxSaslRounds,
        hold: token,
        afterPipelinedLogin: () => {
          capaAsked = this.askCapa(token);
          capaAsked.catch(() => {}); // read below once the login succeeded
        },
      });
    } finally {
      release();
    }
    // Some servers (Dovecot among them) list more after login.
    await this.readCapa(capaAsked ?? this.askCapa());
  }

  /** STAT: message count and total size of the maildrop. */
  async stat(): Promise<{ count: number; octets: number }> {
    const reply = await this.conn.command('STAT', [], { kind: 'line' });
    const stat = parseStat(reply.status.text, this.limits.maxListLength);
    this.maxNumber = stat.count + this.deletedCount;
    return stat;
  }

  /** LIST: the size of every message not marked deleted. */
  list(): Promise<MessageSize[]>;
  /** LIST n: one message's size. */
  list(n: number): Promise<MessageSize>;
  async list(n?: number): Promise<MessageSize[] | MessageSize> {
    if (n !== undefined) {
      const reply = await this.conn.command('LIST', [messageNumber(n)], { kind: 'line' });
      return sameMessage(parseListEntry(reply.status.text), n, 'LIST');
    }
    const reply = await this.conn.command('LIST', [], { kind: 'lines' });
    return checkUnique(
      reply.lines!.map((l) => parseListEntry(l.toString('latin1'), this.maxNumber)),
      'LIST',
    );
  }

  /** UIDL: every message's unique id. Duplicate UIDs are returned as the server sent them. */
  uidl(): Promise<MessageUid[]>;
  uidl(n: number): Promise<MessageUid>;
  async uidl(n?: number): Promise<MessageUid[] | MessageUid> {
    this.requireOptional('UIDL');
    if (n !== undefined) {
      const reply = await this.conn.command('UIDL', [messageNumber(n)], { kind: 'line' });
      const entry = sameMessage(parseUidlEntry(reply.status.text), n, 'UIDL');
      this.uidCache.set(entry.n, entry.uid);
      return entry;
    }
    const reply = await this.conn.command('UIDL', [], { kind: 'lines' });
    const entries = checkUnique(
      reply.lines!.map((l) => parseUidlEntry(l.toString('latin1'), this.maxNumber)),
      'UIDL',
    );
    this.uidCache = new Map(entries.map((e) => [e.n, e.uid]));
    return entries;
  }

  /** RETR n: the message as a stream of unstuffed bytes (backpressured against the socket). */
  async retr(n: number): Promise<Readable> {
    const reply = await this.conn.command('RETR', [messageNumber(n)], { kind: 'stream' });
    return reply.body!;
  }

  /** RETR n into one Buffer, for small messages. Bounded by `limits.maxMessageSize`. */
  async retrBuffer(n: number): Promise<Buffer> {
    return collect(await this.retr(n));
  }

  /** TOP n lines: the headers, the blank line, and the first `lines` lines of the body. */
  async top(n: number, lines: number): Promise<Readable> {
    if (!Number.isSafeInteger(lines) || lines < 0) {
      throw new Pop3Error('TOP: line count must be a whole number >= 0', { code: 'EARGUMENT' });
    }
    this.requireOptional('TOP');
    const reply = await this.conn.command('TOP', [messageNumber(n), String(lines)], { kind: 'stream' });
    return reply.body!;
  }

  async topBuffer(n: number, lines: number): Promise<Buffer> {
    return collect(await this.top(n, lines));
  }

  /** DELE n: mark for deletion; the server deletes only after QUIT's +OK. */
  async dele(n: number): Promise<void> {
    await this.conn.command('DELE', [messageNumber(n)], { kind: 'line' });
    this.deletedCount++;
  }

  /** RSET: unmark every message marked for deletion. */
  async rset(): Promise<void> {
    await this.conn.command('RSET', [], { kind: 'line' });
    this.deletedCount = 0;
  }

  async noop(): Promise<void> {
    await this.conn.command('NOOP', [], { kind: 'line' });
  }

  /**
   * QUIT: the server removes the messages marked deleted, then closes. Resolves once the
   * server said +OK; if the connection ends first, deletions are unknown (ECLOSED), and
   * a fetcher must reconcile by UIDL next time (CONFORMANCE C6).
   */
  async quit(): Promise<void> {
    let reply: Reply;
    try {
      reply = await this.conn.command('QUIT', [], { kind: 'line' });
    } catch (err) {
      if (err instanceof Pop3Error && err.code === 'ECLOSED') {
        throw new Pop3Error('connection closed before QUIT was answered: deletions unknown', {
          code: 'ECLOSED',
          command: 'QUIT',
          cause: err,
        });
      }
      // -ERR (e.g. "some deleted messages not removed", RFC 1939 §6): the session is over anyway.
      this.conn.fail(new Pop3Error('connection closed after QUIT', { code: 'ECLOSED' }));
      throw err;
    }
    this.conn.fail(new Pop3Error('connection closed after QUIT', { code: 'ECLOSED' }));
    void reply;
  }

  /** Drop the connection without QUIT: nothing marked deleted is deleted. */
  close(): void {
    this.conn.fail(new Pop3Error('connection closed by the client', { code: 'ECLOSED' }));
  }

  /**
   * RETR several messages. With PIPELINING, up to `window` RETRs are in flight (mpop-style),
   * replies matched in order; without it, strictly one at a time. Each body must be read
   * (or destroyed) before the next is yielded; breaking out of the loop drains the rest.
   *
   * `window` (default `pipelineWindow`, else 32) may be large (hundreds) for links with a long
   * round trip: an in-flight RETR costs a few hundred octets of bookkeeping, its body stream is
   * made when its reply starts, and what the replies hold ahead of the reader is bounded by
   * `readAheadBytes` (the socket waits beyond it), not by the window. RETRs that the reader's
   * progress lets out are gathered and written together once per turn of the event loop.
   */
  async *retrieveMany(
    ns: readonly number[],
    opts: { window?: number } = {},
  ): AsyncGenerator<RetrievedMessage> {
    const requested = opts.window ?? this.opts.pipelineWindow ?? DEFAULT_WINDOW;
    const window = this.conn.pipelining ? Math.max(1, Math.floor(requested) || 1) : 1;
    const run = new Retrieval(this.conn, ns, window);
    let current: BodyStream | undefined;
    try {
      for (let i = 0; i < ns.length; i++) {
        run.allow(i + window);
        const got = run.take(i) ?? (await run.wait(i));
        if (got instanceof Pop3Error) throw got;
        current = got;
        const n = ns[i]!;
        yield { n, uid: this.uidCache.get(n), body: current };
        if (!current.settled) current.destroy();
        current = undefined;
      }
    } finally {
      current?.destroy();
      run.close();
    }
  }

  /**
   * TOP and UIDL are optional (RFC 1939 §7): use them only when CAPA lists them, or when CAPA
   * told us nothing (an RFC 1939-only server answers -ERR if it lacks them). CONFORMANCE C7.
   */
  private requireOptional(command: 'TOP' | 'UIDL'): void {
    if (this.capabilities.names.length > 0 && !this.capabilities.has(command)) {
      throw new Pop3Error(`the server does not advertise ${command} in CAPA`, { code: 'ESTATE', command });
    }
  }

  private traceTls(): void {
    const info = this.tls;
    if (info)
      this.conn.trace('*', `TLS ${info.version} ${info.cipher}, certificate subject CN=${info.subject}`);
  }
}

/** RETRs in flight in retrieveMany() unless the caller or `pipelineWindow` says otherwise. */
const DEFAULT_WINDOW = 32;

/**
 * The RETRs of one retrieveMany(): sent through the connection without a promise each,
 * their outcomes parked by index until the generator takes them. At most `window` are
 * issued and not yet taken.
 */
class Retrieval implements ReplyHandler {
  private readonly slots: (BodyStream | Pop3Error | undefined)[];
  private issued = 0; // RETRs handed to the connection (indexes into ns)
  private target = 0; // issue up to this index (exclusive)
  private scheduled = false;
  private closed = false;
  private waiter: { index: number; settle: (got: BodyStream | Pop3Error) => void } | undefined;
  private readonly issueNow = () => {
    this.scheduled = false;
    if (!this.closed) this.conn.corked(() => this.issue());
  };

  constructor(
    private readonly conn: Connection,
    private readonly ns: readonly number[],
    private readonly window: number,
  ) {
    this.slots = new Array<BodyStream | Pop3Error | undefined>(Math.min(window, ns.length));
  }

  /**
   * Let RETRs up to index `upTo` (exclusive) go out. The first batch leaves at once; later
   * ones wait for the end of this turn of the event loop, so the RETRs freed by several
   * bodies read in one turn share a write (and a TCP segment).
   */
  allow(upTo: number): void {
    this.target = Math.min(upTo, this.ns.length);
    if (this.issued >= this.target || this.closed) return;
    if (this.issued === 0 || this.window === 1) this.conn.corked(() => this.issue());
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.issueNow);
    }
  }

  /** The outcome for index `i` if it is in, else undefined. */
  take(i: number): BodyStream | Pop3Error | undefined {
    const slot = i % this.slots.length;
    const got = this.slots[slot];
    this.slots[slot] = undefined;
    return got;
  }

  wait(i: number): Promise<BodyStream | Pop3Error> {
    return new Promise((settle) => {
      this.waiter = { index: i, settle };
    });
  }

  resolve(reply: Reply, tag: number): void {
    this.settle(reply.body as BodyStream, tag);
  }

  reject(err: Pop3Error, tag: number): void {
    this.settle(err, tag);
  }

  /** The generator is done: bodies still to come are drained, not kept. */
  close(): void {
    this.closed = true;
    for (const got of this.slots) if (got && !(got instanceof Pop3Error)) got.destroy();
    this.slots.fill(undefined);
    this.waiter = undefined;
  }

  private issue(): void {
    while (this.issued < this.target && !this.closed) {
      const index = this.issued++;
      let n: string;
      try {
        n = messageNumber(this.ns[index]!);
      } catch (err) {
        this.settle(err as Pop3Error, index);
        continue;
      }
      this.conn.request(`RETR ${n}`, `RETR ${n}\r\n`, STREAM, this, index);
    }
  }

  private settle(got: BodyStream | Pop3Error, index: number): void {
    if (this.closed) {
      if (!(got instanceof Pop3Error)) got.destroy();
      return;
    }
    const w = this.waiter;
    if (w && w.index === index) {
      this.waiter = undefined;
      w.settle(got);
      return;
    }
    this.slots[index % this.slots.length] = got;
  }
}

const STREAM = { kind: 'stream' } as const;

/** `LIST n` / `UIDL n` must answer for message n, or the reply belongs to something else. */
function sameMessage<T extends { n: number }>(entry: T, n: number, what: string): T {
  if (entry.n !== n) {
    throw new Pop3Error(`${what} ${n} was answered for message ${entry.n}`, {
      code: 'EPROTOCOL',
      command: `${what} ${n}`,
    });
  }
  return entry;
}

function messageNumber(n: number): string {
  if (!Number.isSafeInteger(n) || n < 1 || n > 0x7fffffff) {
    throw new Pop3Error(`message number must be a whole number from 1, got ${n}`, { code: 'EARGUMENT' });
  }
  return String(n);
}

async function collect(body: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  // The parts are views of socket chunks that nothing else writes to: one copy, by concat.
  for await (const chunk of body) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}
