import { EventEmitter } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContext, SecureContextOptions } from 'node:tls';
import { printable } from '../protocol/errors.js';
import { AuthBackend } from './auth-backend.js';
import { ConnectionLimiter } from './connection-limits.js';
import { safeLog } from './logger.js';
import { type Pop3ServerOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { errLine } from './responses.js';
import { Session } from './session.js';
import type { CloseReason, SessionHost, SessionInfo } from './session-types.js';
import { serverSecureContext, upgradeToTls } from './tls-upgrade.js';

export interface ListenOptions {
  /** Default 110, or 995 with implicit TLS; 0 picks a free port (read it from the result). */
  port?: number;
  /** Default '127.0.0.1': listening on other interfaces is a deliberate choice. */
  host?: string;
  /** This listener speaks TLS from the first byte. Default: the server's `implicitTls`. */
  implicitTls?: boolean;
}

export interface CloseOptions {
  /** true (default): let each session finish its current command; false: drop every connection now. */
  graceful?: boolean;
  /** Sessions still open after this are dropped. Default 10 s. */
  timeoutMs?: number;
}

export interface ServerEvents {
  /** A connection was accepted (before any TLS handshake and before the greeting). */
  connect: [info: SessionInfo];
  /** A session logged in and holds its maildrop. */
  login: [info: SessionInfo];
  /** A logged-in session ended; `reason` says how ('quit' means UPDATE ran). */
  logout: [info: SessionInfo & { reason: CloseReason }];
  /** Any session ended, logged in or not. */
  disconnect: [info: SessionInfo & { reason: CloseReason }];
  /** A server-side failure: a store or auth backend error, a listener error. Never a client's misbehaviour. */
  error: [err: unknown, info: Partial<SessionInfo> & { what: string }];
}

let counter = 0;
/** After close() drops the sessions left at its deadline, how long it still waits for them to end. */
const DROP_GRACE_MS = 1000;

/**
 * An embeddable POP3 server (RFC 1939 with CAPA, RESP-CODES, AUTH-RESP-CODE, PIPELINING, TOP, UIDL,
 * USER, SASL, STLS, optional APOP and UTF8) over any MailStore.
 *
 * ```ts
 * const server = new Pop3Server({ store, users, tls: { key, cert } });
 * const { port } = await server.listen({ port: 0 });
 * // ...
 * await server.close();
 * ```
 */
export class Pop3Server extends EventEmitter<ServerEvents> {
  readonly options: ResolvedOptions;
  readonly #auth: AuthBackend;
  #context: SecureContext | undefined;
  readonly #limiter: ConnectionLimiter;
  readonly #listeners = new Set<Server>();
  readonly #sessions = new Set<Session>();
  /** Sockets in an implicit-TLS handshake: no session yet, but close() must end them too. */
  readonly #handshaking = new Set<Duplex>();
  readonly #lastLogin = new Map<string, number>();
  readonly #host: SessionHost;
  #closing = false;

  constructor(options: Pop3ServerOptions) {
    super();
    this.options = resolveOptions(options);
    this.#auth = new AuthBackend(options);
    this.#context = options.tls ? serverSecureContext(options.tls) : undefined;
    this.#limiter = new ConnectionLimiter(this.options.limits);
    if (options.apop && !this.#auth.hasPlaintextSecrets) {
      throw new TypeError(
        'Pop3Server: apop needs plaintext secrets (a users file with {PLAIN} entries, or backend.getPassword)',
      );
    }
    if (!this.#auth.hasPasswords && this.#auth.mechanisms.length === 0) {
      throw new TypeError(
        'Pop3Server: no way to log in (give `authenticate`, `users`, `backend` or `verifyToken`)',
      );
    }
    if (!this.#context && !this.options.allowInsecureAuth) {
      this.#log(
        'warn',
        {},
        'no TLS configured and allowInsecureAuth is off: only SCRAM, CRAM-MD5 and APOP can log in',
      );
    }
    const currentContext = () => this.#context; // read at each handshake: setTls() can replace it
    this.#host = {
      options: this.options,
      auth: this.#auth,
      get secureContext() {
        return currentContext();
      },
      loginDelayRemaining: (user) => this.#loginDelayRemaining(user),
      loggedIn: (info) => {
        this.#recordLogin(info.user!);
        this.#log(
          'info',
          {
            session: info.id,
            remoteAddress: info.remoteAddress,
            user: info.user,
            mechanism: info.mechanism,
            secure: info.secure,
          },
          'login',
        );
        this.#emit('login', info);
      },
      closed: (info, reason, wasLoggedIn) => {
        if (wasLoggedIn) this.#emit('logout', { ...info, reason });
        this.#emit('disconnect', { ...info, reason });
      },
      failed: (err, info, what) => this.#failed(err, info, what),
    };
  }

  /**
   * Replace the certificate and key (a renewed certificate) without a restart: handshakes that start
   * from now on use them. Only for a server constructed with `tls`.
   */
  setTls(tls: SecureContextOptions): void {
    if (!this.#context) throw new TypeError('Pop3Server: TLS was not configured at construction');
    this.#context = serverSecureContext(tls);
  }

  /** Open sessions (TLS handshakes in progress not included). */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Start listening; resolves with the bound address (the real port when `port` is 0). May be called once per port. */
  async listen(opts: ListenOptions = {}): Promise<AddressInfo> {
    if (this.#closing) throw new Error('Pop3Server: closed');
    const implicitTls = opts.implicitTls ?? this.options.implicitTls;
    if (implicitTls && !this.#context) throw new TypeError('Pop3Server: implicit TLS needs `tls`');
    const listener = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
      this.handle(socket, { implicitTls });
    });
    listener.maxConnections = this.options.limits.maxConnections + 64; // ours answers first; this is the backstop
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(opts.port ?? (implicitTls ? 995 : 110), opts.host ?? '127.0.0.1', () => {
        listener.off('error', reject);
        resolve();
      });
    });
    listener.on('error', (err) => this.#failed(err, {}, 'listener error'));
    this.#listeners.add(listener);
    const address = listener.address() as AddressInfo;
    this.#log('info', { address: address.address, port: address.port, implicitTls }, 'listening');
    return address;
  }

  /**
   * Serve one already-connected socket (socket activation, a proxy that accepted it), or any duplex
   * stream (an in-process pair for tests and fuzzers). A socket should be paused and created with
   * allowHalfOpen, as listen() does, so no byte is read before the session. Streams without a
   * `remoteAddress` share one per-address connection count.
   */
  handle(socket: Socket | Duplex, opts: { implicitTls?: boolean } = {}): void {
    const implicitTls = opts.implicitTls ?? this.options.implicitTls;
    socket.pause();
    socket.on('error', () => {}); // errors end the session through 'close'
    const peer = socket as Partial<Socket>;
    const address = peer.remoteAddress;
    if (this.#closing) {
      socket.destroy();
      return;
    }
    if (!this.#limiter.acquire(address)) {
      this.#log('warn', { remoteAddress: address }, 'connection limit reached');
      // On a TLS port a plaintext -ERR would be noise: just close.
      if (implicitTls) {
        socket.destroy();
        return;
      }
      socket.end(errLine('too many connections', 'SYS/TEMP'));
      socket.resume(); // read (and drop) until the client's FIN, so the socket closes promptly
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    socket.once('close', () => this.#limiter.release(address));
    peer.setNoDelay?.(true);
    const info: SessionInfo = {
      id: (++counter).toString(36),
      remoteAddress: address,
      remotePort: peer.remotePort,
      secure: implicitTls,
    };
    this.#log('debug', { remoteAddress: address, remotePort: peer.remotePort, implicitTls }, 'connect');
    this.#emit('connect', info);
    if (!implicitTls) {
      this.#start(info.id, socket, socket, false);
      return;
    }
    this.#handshaking.add(socket);
    upgradeToTls(socket, this.#context!, this.options.limits.handshakeTimeoutMs).then(
      (tlsSocket) => {
        this.#handshaking.delete(socket);
        this.#start(info.id, socket, tlsSocket, true);
      },
      (err: unknown) => {
        this.#handshaking.delete(socket);
        this.#log(
          'debug',
          { remoteAddress: address, reason: err instanceof Error ? err.message : String(err) },
          'TLS handshake failed',
        );
        this.#emit('disconnect', { ...info, reason: 'tls' });
      },
    );
  }

  /**
   * Stop accepting connections and end the sessions: gracefully, each after its current command
   * (without UPDATE unless that command was QUIT), all of them within `timeoutMs`. Sessions still
   * open then are dropped, and close() waits at most a second more: one stuck in a store or
   * authentication call that never returns is left to end by itself (it still releases its mailbox).
   */
  async close(opts: CloseOptions = {}): Promise<void> {
    const graceful = opts.graceful ?? true;
    const timeoutMs = opts.timeoutMs ?? 10_000;
    this.#closing = true;
    const listenersClosed = [...this.#listeners].map(
      (l) => new Promise<void>((resolve) => l.close(() => resolve())),
    );
    this.#listeners.clear();
    for (const session of this.#sessions) {
      if (graceful) session.shutdown();
      else session.destroy('shutdown');
    }
    // Sockets still in a TLS handshake have no session yet.
    for (const socket of this.#handshaking) socket.destroy();
    if (!(await this.#sessionsEndWithin(timeoutMs))) {
      this.#log(
        'warn',
        { sessions: this.#sessions.size },
        'sessions still open at the close deadline; dropping them',
      );
      for (const session of this.#sessions) session.destroy('shutdown');
      // Dropped sessions end at once, unless one is inside a store or auth-backend call that never
      // returns: its connection is gone, but that call is not ours to end, so close() does not wait
      // for it without bound.
      if (!(await this.#sessionsEndWithin(DROP_GRACE_MS))) {
        this.#log(
          'warn',
          { sessions: this.#sessions.size },
          'sessions dropped but still inside a store or backend call; not waiting for them',
        );
      }
    }
    await Promise.all(listenersClosed);
  }

  #start(id: string, raw: Duplex, socket: Duplex, secure: boolean): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    const session = new Session(id, raw, socket, secure, this.#host);
    this.#sessions.add(session);
    session
      .run()
      .catch((err: unknown) => this.#failed(err, session.info, 'session failed'))
      .finally(() => {
        this.#sessions.delete(session);
        this.#sessionsChanged();
      });
  }

  /** Whether every session has ended within `ms`. */
  async #sessionsEndWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    try {
      return await Promise.race([this.#waitForSessions().then(() => true), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  #waiters = new Set<() => void>();

  #sessionsChanged(): void {
    if (this.#sessions.size > 0) return;
    for (const w of this.#waiters) w();
    this.#waiters.clear();
  }

  #waitForSessions(): Promise<void> {
    if (this.#sessions.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.add(resolve));
  }

  #loginDelayRemaining(user: string): number {
    const delay = this.options.capabilities.loginDelay;
    if (!delay) return 0;
    const last = this.#lastLogin.get(user);
    if (last === undefined) return 0;
    return Math.max(0, Math.ceil((last + delay * 1000 - Date.now()) / 1000));
  }

  #recordLogin(user: string): void {
    const delay = this.options.capabilities.loginDelay;
    if (!delay) return;
    const now = Date.now();
    // Entries older than the delay mean nothing; sweep them so the map stays as small as the active users.
    if (this.#lastLogin.size > 10_000) {
      for (const [u, t] of this.#lastLogin) if (t + delay * 1000 <= now) this.#lastLogin.delete(u);
    }
    this.#lastLogin.set(user, now);
  }

  #failed(err: unknown, info: Partial<SessionInfo>, what: string): void {
    const message = err instanceof Error ? printable(err.message) : 'unknown error';
    this.#log(
      'error',
      { session: info.id, remoteAddress: info.remoteAddress, user: info.user, err: message },
      what,
    );
    if (this.listenerCount('error') > 0) this.#emit('error', err, { ...info, what });
  }

  /** Emit without letting a throwing listener break the session or the server. */
  #emit<K extends keyof ServerEvents>(name: K, ...args: ServerEvents[K]): void {
    try {
      (this.emit as (n: K, ...a: ServerEvents[K]) => boolean)(name, ...args);
    } catch (err) {
      this.#log(
        'error',
        { event: name, err: err instanceof Error ? printable(err.message) : 'unknown' },
        'event listener threw',
      );
    }
  }

  #log(level: 'debug' | 'info' | 'warn' | 'error', fields: object, msg: string): void {
    safeLog(this.options.logger, level, fields, msg);
  }
}
