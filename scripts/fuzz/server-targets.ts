import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { ClientAuthExchange } from '../../src/protocol/sasl/client/index.js';
import { type MailStore, MemoryStore, Pop3Server, type Pop3ServerOptions } from '../../src/server/index.js';
import { testCerts } from '../../test/helpers/certs.js';
import { HangError, openPair, ReplyReader, unstuff, WireError } from '../../test/helpers/pop3-wire.js';
import { randomChunks } from './chunks.js';
import { bodyBytes } from './generators.js';
import { Rng } from './rng.js';
import {
  authorizationBatch,
  type FuzzUser,
  type GenLine,
  type GenState,
  saslBatch,
  serialize,
  transactionBatch,
  type WireLine,
} from './server-commands.js';
import {
  check,
  checkChallenge,
  checkStatus,
  clearWireCache,
  isChallenge,
  isMultiLine,
  keywordOf,
  MaildropModel,
  OracleFailure,
  show,
  topLineCount,
  topReference,
  wireOf,
} from './server-oracle.js';

/**
 * The server fuzzer: POP3 sessions driven in-process through `Pop3Server.handle()` (no sockets) over
 * a MemoryStore shared by three differently configured servers. Each session is generated from its
 * own seeded Rng and walks the states (AUTHORIZATION, mid-SASL, TRANSACTION, and TLS after STLS)
 * with pipelined batches cut into random chunks. Every reply is checked as it arrives: framing,
 * status-line grammar and size, response codes, and, for commands whose meaning is known, the exact
 * answer against a model of the locked maildrop. Every batch must be answered (or the session
 * closed, for a reason the replies account for) before a deadline; meanwhile a healthy session
 * logs in and retrieves a message on each server at intervals.
 */

export interface ServerFuzzOptions {
  /** Stop starting sessions once this many command lines were sent. */
  commands: number;
  seed: number;
  /** First session index (replay: the failing index, with `sessions: 1`). */
  start?: number;
  /** At most this many sessions. */
  sessions?: number;
  /** Sessions in flight at once. Default 8. */
  concurrency?: number;
  /** How long a batch may wait for its replies, or a session for its close. Default 5000 ms. */
  deadlineMs?: number;
  /** A healthy login + RETR on every server this often. Default 250 ms. */
  healthEveryMs?: number;
  keepFailures?: number;
  /**
   * What the servers read mail through (default: the MemoryStore the oracle reads). For testing the
   * fuzzer itself: a store that corrupts or loses mail must make it report failures.
   */
  wrapStore?: (store: MemoryStore) => MailStore;
  /** Heap in use (after a collection, if the caller can force one); sampled along the run. */
  heapUsed?: () => number;
  /** Every line sent and every reply read, for replaying one session. */
  trace?: (session: number, text: string) => void;
  /** Called every 100 ms with the lines sent so far and the sessions in flight (a watchdog's heartbeat). */
  onProgress?: (lines: number, inFlight: ReadonlySet<number>) => void;
}

export interface ServerFuzzFailure {
  session: number;
  server: string;
  message: string;
}

export interface ServerFuzzReport {
  seed: number;
  sessions: number;
  /** Command lines sent (commands, SASL continuations, junk). */
  lines: number;
  /** Lines answered. */
  replies: number;
  /** Lines sent per state at the time of sending. */
  perState: Record<'AUTHORIZATION' | 'SASL' | 'TRANSACTION' | 'TLS', number>;
  /** Lines checked against the model (their exact answer was known). */
  checked: number;
  /** How sessions ended, by the server's reason. */
  endings: Record<string, number>;
  tlsSessions: number;
  octetsSent: number;
  octetsReceived: number;
  health: { checks: number; worstMs: number };
  slowestBatchMs: number;
  elapsedMs: number;
  heap: { start: number; peak: number; end: number } | undefined;
  failures: ServerFuzzFailure[];
  moreFailures: number;
}

// ---- the servers ------------------------------------------------------------------------------------

const USERS: readonly FuzzUser[] = Array.from({ length: 12 }, (_, i) => ({
  name: `u${i}`,
  pass: `pw-u${i}`,
  token: `tok-u${i}`,
}));
const HEALTHY = { name: 'healthy', pass: 'pw-healthy' };
const HEALTHY_MESSAGE = Buffer.from('Subject: health\r\n\r\n.dot line\r\nstill fine\r\n');

interface FuzzServer {
  name: string;
  weight: number;
  server: Pop3Server;
  allowInsecureAuth: boolean;
  apop: boolean;
  utf8: boolean;
  maxPipelinedBytes: number;
  maxFailedLogins: number;
  /** Sessions by the server's session id: the login user and the close reason the events report. */
  tracks: Map<string, Track>;
  lastConnect: string | undefined;
}

interface Track {
  user?: string;
  /**
   * The user's maildrop when the server logged in (its first N messages are the session's snapshot;
   * later ones were delivered since), and the user's login count then. Taken in the 'login' event,
   * while the session holds the lock: by the time the client reads the +OK, pipelined commands may
   * already have run QUIT and let another session change the maildrop.
   */
  store?: { uid: string; octets: number; bytes: Buffer }[];
  loginSerial?: number;
  reason?: string;
  waiters: (() => void)[];
}

interface Harness {
  store: MemoryStore;
  servers: FuzzServer[];
  /** Logins per user, to know whether anyone else touched a maildrop since ours. */
  logins: Map<string, number>;
  failures: ServerFuzzFailure[];
  moreFailures: number;
  keep: number;
}

/** A stored message: edge-token bodies, plain mail, odd tiny ones, sometimes a big one. */
function storedMessage(rng: Rng): Buffer {
  const r = rng.int(40);
  if (r < 20)
    return Buffer.concat([
      Buffer.from(`Subject: fuzz ${rng.u32()}\r\nFrom: a@example.org\r\n\r\n`),
      bodyBytes(rng, 32),
    ]);
  if (r < 30) return bodyBytes(rng, 48);
  if (r < 36)
    return Buffer.from(
      rng.pick(['', '\n', '\r', '.', '.\r\n', 'A: 1\r\n', 'A: 1\n\n', '\r\r\n\r\n.', '\0']),
      'latin1',
    );
  if (r < 39) return Buffer.from(`Subject: dots\n\n${'.\n..\n...x\n'.repeat(rng.range(1, 200))}`);
  const line = `${'y'.repeat(rng.range(1, 2000))}\r\n.${'z'.repeat(rng.range(0, 80))}\r\n`;
  return Buffer.from(
    `Subject: big\r\n\r\n${line.repeat(Math.ceil((rng.range(64, 200) * 1024) / line.length))}`,
  );
}

function deliver(store: MemoryStore, rng: Rng, user: string): void {
  if (store.list(user).length < 30) store.add(user, storedMessage(rng));
}

function createHarness(seed: number, keep: number, wrapStore?: (store: MemoryStore) => MailStore): Harness {
  const store = new MemoryStore();
  const rng = new Rng(seed, 0x7fffffff);
  for (const u of USERS) for (let i = rng.range(0, 12); i > 0; i--) store.add(u.name, storedMessage(rng));
  store.add(HEALTHY.name, HEALTHY_MESSAGE);
  const passwords = new Map<string, string>([
    ...USERS.map((u) => [u.name, u.pass] as const),
    [HEALTHY.name, HEALTHY.pass],
  ]);
  const tokens = new Map(USERS.map((u) => [u.token, u.name] as const));
  const certs = testCerts();
  const harness: Harness = { store, servers: [], logins: new Map(), failures: [], moreFailures: 0, keep };
  const served = wrapStore ? wrapStore(store) : store;
  const base = (): Pop3ServerOptions => ({
    store: served,
    backend: {
      getPassword: async (user) => passwords.get(user) ?? null,
      verifyToken: async (user, token) => {
        const owner = tokens.get(token);
        return owner !== undefined && (user === '' || user === owner) ? owner : null;
      },
    },
    tls: { key: certs.server.key, cert: certs.server.cert },
    hostname: 'fuzz.test',
    scramIterations: 4096,
  });
  const configs: { name: string; weight: number; opts: Pop3ServerOptions }[] = [
    {
      name: 'lenient',
      weight: 5,
      opts: {
        ...base(),
        allowInsecureAuth: true,
        apop: true,
        capabilities: { utf8: true, expire: 'NEVER', implementation: 'fuzz' },
        limits: {
          failedLoginDelayMs: 0,
          maxBadCommands: 1_000_000,
          maxFailedLogins: 1_000_000,
          maxConnectionsPerAddress: 1000,
        },
      },
    },
    {
      name: 'strict',
      weight: 3,
      opts: { ...base(), apop: true, limits: { failedLoginDelayMs: 0, maxConnectionsPerAddress: 1000 } },
    },
    {
      name: 'tight',
      weight: 2,
      opts: {
        ...base(),
        allowInsecureAuth: true,
        limits: {
          failedLoginDelayMs: 0,
          maxLineLength: 255,
          maxPipelinedBytes: 1024,
          maxBadCommands: 50,
          maxFailedLogins: 20,
          maxConnectionsPerAddress: 1000,
        },
      },
    },
  ];
  for (const { name, weight, opts } of configs) {
    const server = new Pop3Server(opts);
    const fs: FuzzServer = {
      name,
      weight,
      server,
      allowInsecureAuth: opts.allowInsecureAuth ?? false,
      apop: opts.apop ?? false,
      utf8: opts.capabilities?.utf8 ?? false,
      maxPipelinedBytes: server.options.limits.maxPipelinedBytes,
      maxFailedLogins: server.options.limits.maxFailedLogins,
      tracks: new Map(),
      lastConnect: undefined,
    };
    server.on('connect', (info) => {
      fs.lastConnect = info.id;
    });
    server.on('login', (info) => {
      const user = info.user!;
      const serial = (harness.logins.get(user) ?? 0) + 1;
      harness.logins.set(user, serial);
      const track = fs.tracks.get(info.id);
      if (!track) return;
      track.user = user;
      track.store = store.list(user);
      track.loginSerial = serial;
    });
    server.on('disconnect', (info) => {
      const track = fs.tracks.get(info.id);
      if (!track) return;
      track.reason = info.reason;
      for (const wake of track.waiters.splice(0)) wake();
    });
    server.on('error', (err, info) =>
      fail(
        harness,
        -1,
        name,
        `server error event (${info.what}): ${err instanceof Error ? err.message : String(err)}`,
      ),
    );
    harness.servers.push(fs);
  }
  return harness;
}

function fail(h: Harness, session: number, server: string, message: string): void {
  if (h.failures.length < h.keep) h.failures.push({ session, server, message });
  else h.moreFailures++;
}

function pickServer(h: Harness, rng: Rng): FuzzServer {
  const total = h.servers.reduce((n, s) => n + s.weight, 0);
  let r = rng.int(total);
  for (const s of h.servers) {
    if (r < s.weight) return s;
    r -= s.weight;
  }
  return h.servers[0]!;
}

/** Connect a new in-process session; returns its id and event track. */
function connect(fs: FuzzServer) {
  const pair = openPair();
  const track: Track = { waiters: [] };
  fs.lastConnect = undefined;
  fs.server.handle(pair.serverSide); // emits 'connect' synchronously
  const id = fs.lastConnect;
  if (id === undefined) throw new OracleFailure('the server refused an in-process connection');
  fs.tracks.set(id, track);
  return { pair, track, id };
}

async function waitForReason(track: Track, deadline: number): Promise<string | undefined> {
  if (track.reason === undefined) {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      track.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
  return track.reason;
}

// ---- one fuzz session ------------------------------------------------------------------------------

interface Stats {
  lines: number;
  replies: number;
  checked: number;
  perState: ServerFuzzReport['perState'];
  endings: Record<string, number>;
  tlsSessions: number;
  octetsSent: number;
  octetsReceived: number;
  slowestBatchMs: number;
}

const UNKNOWN_USER = '\0unknown';
const LOGIN = /^maildrop has (\d+) messages \((\d+) octets\)$/;
const AUTHORIZATION_OK = new Set(['USER', 'PASS', 'APOP', 'AUTH', 'CAPA', 'STLS', 'UTF8', 'QUIT']);
const TRANSACTION_OK = new Set([
  'STAT',
  'LIST',
  'UIDL',
  'RETR',
  'TOP',
  'DELE',
  'RSET',
  'NOOP',
  'CAPA',
  'QUIT',
]);
const CLEARTEXT_SASL = new Set(['PLAIN', 'LOGIN', 'XOAUTH2', 'OAUTHBEARER']);

class Session {
  state: 'AUTHORIZATION' | 'TRANSACTION' = 'AUTHORIZATION';
  secure = false;
  tlsStarted = false;
  apopTimestamp: string | undefined;
  pendingUser: string | undefined;
  sasl: { exchange: ClientAuthExchange | undefined; good: boolean; challenge: string } | undefined;
  maildrop: MaildropModel | undefined;
  loginSerial = 0;
  failedLogins = 0;
  capa = new Map<boolean, string>();
  lastReply: { line: Buffer; text: string } | undefined;
  /** Lines sent and not answered, with their sizes on the wire. */
  unanswered: WireLine[] = [];
  quit = false;
  reader = new ReplyReader();
  out: Duplex;

  constructor(
    readonly h: Harness,
    readonly fs: FuzzServer,
    readonly index: number,
    readonly rng: Rng,
    readonly stats: Stats,
    readonly deadlineMs: number,
    readonly pair: ReturnType<typeof openPair>,
    readonly track: Track,
    readonly trace?: (session: number, text: string) => void,
  ) {
    this.out = pair.clientSide;
    this.reader.attach(pair.clientSide);
  }

  deadline(): number {
    return Date.now() + this.deadlineMs;
  }

  genState(): GenState {
    return {
      state: this.state,
      count: this.maildrop?.messages.length ?? 0,
      apopTimestamp: this.apopTimestamp,
      users: USERS,
    };
  }

  async run(): Promise<void> {
    const greeting = await this.reader.line(this.deadline());
    check(greeting !== undefined, 'closed before the greeting');
    const g = checkStatus(greeting.toString('latin1'));
    check(g.ok, `greeting ${show(greeting)}`);
    const stamp = /<[^<>]+>$/.exec(g.text)?.[0];
    check(
      (stamp !== undefined) === this.fs.apop,
      `APOP timestamp ${stamp ? 'present' : 'absent'}: ${show(greeting)}`,
    );
    this.apopTimestamp = stamp;

    const budget = this.rng.pick([3, 10, 30, 60, 100, 200, 400, 1000]);
    let sent = 0;
    while (sent < budget && !this.reader.closed && !this.quit) {
      const batch = this.nextBatch();
      const { stream, lines } = serialize(batch);
      const stateName = this.secure ? 'TLS' : this.sasl ? 'SASL' : this.state;
      this.stats.perState[stateName] += lines.length;
      this.stats.lines += lines.length;
      this.stats.octetsSent += stream.length;
      sent += lines.length;
      this.unanswered.push(...lines);
      for (const chunk of randomChunks(stream, this.rng)) {
        if (this.reader.closed) break; // the server is gone: its replies so far say why
        this.out.write(chunk);
        if (this.rng.bool(0.05)) await new Promise((r) => setImmediate(r));
      }
      if (this.rng.bool(0.003)) {
        this.out.destroy(); // the client vanishes mid-batch
        return this.expectEnd(['closed', 'quit', 'limit', 'protocol', 'tls'], true);
      }
      const t0 = performance.now();
      const outcome = await this.answerAll();
      this.stats.slowestBatchMs = Math.max(this.stats.slowestBatchMs, performance.now() - t0);
      if (outcome === 'closed') return this.serverClosed();
      if (outcome === 'stls') {
        const ok = await this.afterStls();
        if (!ok) return;
      }
    }
    if (this.quit) return this.expectEnd(['quit'], false);
    if (this.reader.closed) return this.serverClosed();
    // Our input ends (sometimes after half a line): the server must close, having answered everything.
    if (this.rng.bool(0.1)) this.out.write(Buffer.from('NOOP'));
    this.out.end();
    // The last reply may have ended the session already ('limit' checks that it did).
    return this.expectEnd(['closed', 'limit'], false);
  }

  nextBatch(): GenLine[] {
    const st = this.genState();
    if (this.sasl) return saslBatch(this.rng, st, this.sasl.exchange, this.sasl.good, this.sasl.challenge);
    if (this.state === 'TRANSACTION') return transactionBatch(this.rng, st);
    return authorizationBatch(this.rng, st);
  }

  async answerAll(): Promise<'done' | 'closed' | 'stls'> {
    while (this.unanswered.length > 0) {
      const line = this.unanswered[0]!;
      const outcome = await this.answer(line);
      if (outcome === 'closed') return 'closed';
      this.unanswered.shift();
      this.stats.replies++;
      if (outcome === 'quit') return 'done';
      if (outcome === 'stls') return 'stls';
    }
    return 'done';
  }

  /** Read and check the reply to one line. */
  async answer(line: WireLine): Promise<'next' | 'closed' | 'quit' | 'stls'> {
    const continuation = this.sasl !== undefined;
    const raw = await this.reader.line(this.deadline());
    if (raw === undefined) return 'closed';
    const text = raw.toString('latin1');
    this.trace?.(this.index, `${continuation ? 'C+' : 'C '} ${show(line.bytes)} -> S ${show(text)}`);
    const keyword = continuation ? '' : keywordOf(line.bytes);
    // An op describes the line as a command, or as the answer to a challenge: only that reading counts.
    const op = line.op && (line.op.k === 'CONT') === continuation ? line.op : undefined;
    const pending = this.pendingUser;
    this.pendingUser = undefined;

    if (isChallenge(text)) {
      check(continuation || keyword === 'AUTH', `a challenge in reply to ${show(line.bytes)}`);
      check(this.state === 'AUTHORIZATION', 'a challenge after login');
      const challenge = checkChallenge(text);
      const exchange = op && (op.k === 'AUTH' || op.k === 'CONT') ? op.exchange : undefined;
      this.sasl = { exchange, good: op && 'good' in op ? op.good : false, challenge };
      this.lastReply = { line: line.bytes, text };
      return 'next';
    }
    const { ok, text: rest } = checkStatus(text);
    this.sasl = undefined;
    this.lastReply = { line: line.bytes, text };
    let body: Buffer | undefined;
    if (ok && !continuation && isMultiLine(line.bytes)) {
      const stuffed = await this.reader.body(this.deadline());
      check(stuffed !== undefined, `closed in the middle of the reply to ${show(line.bytes)}`);
      body = unstuff(stuffed);
    }
    if (rest.startsWith('[AUTH]')) this.failedLogins++;

    if (this.state === 'AUTHORIZATION') {
      const login = ok ? LOGIN.exec(rest) : null;
      if (ok) {
        check(continuation || AUTHORIZATION_OK.has(keyword), `+OK to ${show(line.bytes)} before login`);
      }
      if (login) {
        check(continuation || ['PASS', 'APOP', 'AUTH'].includes(keyword), `login by ${show(line.bytes)}`);
        this.loggedIn(Number(login[1]), Number(login[2]));
      }
      this.checkAuthorization(op, ok, rest, text, body, pending, Boolean(login));
      if (ok && keyword === 'USER') this.pendingUser = op?.k === 'USER' ? op.user : UNKNOWN_USER;
      if (ok && keyword === 'QUIT' && !continuation) {
        check(rest === 'bye', `QUIT reply ${show(text)}`);
        this.quit = true;
        return 'quit';
      }
      if (ok && keyword === 'STLS' && !continuation) {
        check(rest === 'begin TLS negotiation', `STLS reply ${show(text)}`);
        this.tlsStarted = true;
        return 'stls';
      }
      return 'next';
    }

    // TRANSACTION
    const md = this.maildrop!;
    if (ok) check(TRANSACTION_OK.has(keyword), `+OK to ${show(line.bytes)} after login`);
    const rset = ok ? LOGIN.exec(rest) : null;
    if (rset) {
      check(keyword === 'RSET', `${show(text)} in reply to ${show(line.bytes)}`);
      check(
        Number(rset[1]) === md.messages.length && Number(rset[2]) === md.totalOctets,
        `RSET reply ${show(text)}`,
      );
      md.deleted.clear();
    }
    const dele = ok ? /^message (\d+) deleted$/.exec(rest) : null;
    if (dele) {
      check(keyword === 'DELE' && md.lookup(dele[1]!) !== undefined, `${show(text)} for ${show(line.bytes)}`);
      md.deleted.add(Number(dele[1]));
    }
    if (op) this.checkTransaction(op, ok, rest, text, body, md);
    if (keyword === 'QUIT' && ok) {
      this.quit = true;
      return 'quit';
    }
    return 'next';
  }

  loggedIn(count: number, octets: number): void {
    const { user, store: all } = this.track;
    check(user !== undefined && all !== undefined, 'a login reply without a login event');
    check(count <= all.length, `login reports ${count} messages, the store holds ${all.length}`);
    const messages = all
      .slice(0, count)
      .map((m) => ({ uid: m.uid, octets: m.octets, wire: wireOf(m.uid, m.bytes) }));
    this.maildrop = new MaildropModel(user, messages);
    check(
      this.maildrop.totalOctets === octets,
      `login reports ${octets} octets, the snapshot has ${this.maildrop.totalOctets}`,
    );
    for (const m of messages)
      check(m.wire.length === m.octets, `stored size of ${m.uid} is not its wire size`);
    this.loginSerial = this.track.loginSerial ?? 0;
    this.state = 'TRANSACTION';
  }

  /** Semantic checks before login; `pending` is the user a USER right before this line named. */
  checkAuthorization(
    op: WireLine['op'],
    ok: boolean,
    rest: string,
    text: string,
    body: Buffer | undefined,
    pending: string | undefined,
    login: boolean,
  ): void {
    // Commands of the other state are covered by the +OK keyword check in answer().
    if (!op || op.k === 'WRONG') return;
    this.stats.checked++;
    const loginOrBusy = () =>
      check(
        login || text === '-ERR [IN-USE] maildrop is locked by another session',
        `good credentials got ${show(text)}`,
      );
    switch (op.k) {
      case 'USER':
        check(!rest.startsWith('['), `a response code on USER: ${show(text)}`); // S10
        if (ok) check(rest === 'send PASS', `USER reply ${show(text)}`);
        break;
      case 'PASS':
        // After a USER the generator did not write (a mutation), whose user PASS completes is unknown.
        if (pending === UNKNOWN_USER) break;
        if (pending === op.user && op.good) loginOrBusy();
        else check(!ok, `PASS accepted: ${show(text)}`);
        break;
      case 'APOP':
        if (op.good) loginOrBusy();
        else check(!ok, `a wrong APOP accepted: ${show(text)}`);
        break;
      case 'AUTH':
      case 'CONT': {
        check(
          op.exchange.error === undefined,
          `our client refused the server's challenge: ${op.exchange.error?.message}`,
        );
        const offered =
          this.fs.allowInsecureAuth || this.secure || !CLEARTEXT_SASL.has(op.exchange.mechanism);
        if (op.k === 'AUTH' && !offered)
          check(!ok && !rest.startsWith('['), `${op.exchange.mechanism} without TLS: ${show(text)}`);
        else if (op.good) loginOrBusy();
        else check(text === '-ERR [AUTH] authentication failed', `wrong credentials got ${show(text)}`);
        if (ok) op.exchange.finish(); // SCRAM: the server proved it knows the password (v=)
        break;
      }
      case 'CAPA':
        check(ok && rest === 'capability list follows', `CAPA reply ${show(text)}`);
        this.checkCapa(body!);
        break;
      case 'STLS':
        check(ok !== this.secure, `STLS ${this.secure ? 'under TLS' : 'in cleartext'} got ${show(text)}`);
        break;
      case 'UTF8':
        check(ok === this.fs.utf8, `UTF8 got ${show(text)}`);
        break;
      case 'QUIT':
        check(ok, `QUIT got ${show(text)}`);
        break;
    }
  }

  checkCapa(body: Buffer): void {
    const lines = body.length === 0 ? [] : body.toString('latin1').slice(0, -2).split('\r\n');
    for (const l of lines) check(/^[A-Z0-9-]+( [\x20-\x7e]+)?$/.test(l), `CAPA line ${show(l)}`);
    const names = new Set(lines.map((l) => l.split(' ')[0]));
    for (const must of ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING'])
      check(names.has(must), `CAPA without ${must}`);
    check(names.has('STLS') === !this.secure, `STLS ${this.secure ? 'offered under TLS' : 'missing'}`);
    check(
      names.has('USER') === (this.fs.allowInsecureAuth || this.secure),
      'USER advertised where it is refused, or missing',
    );
    const sasl =
      lines
        .find((l) => l.startsWith('SASL '))
        ?.split(' ')
        .slice(1) ?? [];
    if (!this.fs.allowInsecureAuth && !this.secure) {
      for (const m of sasl) check(!CLEARTEXT_SASL.has(m), `${m} advertised without TLS`);
    }
    check(names.has('UTF8') === this.fs.utf8, 'UTF8 capability');
    // RFC 2449 §5: the same list in both states (on the same transport).
    const joined = lines.join('\n');
    const before = this.capa.get(this.secure);
    if (before !== undefined) check(before === joined, 'CAPA changed between states');
    this.capa.set(this.secure, joined);
  }

  checkTransaction(
    op: NonNullable<WireLine['op']>,
    ok: boolean,
    rest: string,
    text: string,
    body: Buffer | undefined,
    md: MaildropModel,
  ): void {
    this.stats.checked++;
    // An empty argument is a syntax error; any other unusable number is "no such message" (S5).
    const noSuch = (what: string, arg: string) =>
      check(arg === '' ? !ok : text === '-ERR no such message', `${what}: ${show(text)}`);
    switch (op.k) {
      case 'STAT':
        check(
          text === `+OK ${md.liveCount} ${md.liveOctets}`,
          `STAT ${show(text)}, model ${md.liveCount} ${md.liveOctets}`,
        );
        break;
      case 'LIST':
      case 'UIDL': {
        const field = (m: { octets: number; uid: string }) => (op.k === 'LIST' ? String(m.octets) : m.uid);
        if (op.n !== undefined) {
          const m = md.lookup(op.n);
          if (m) check(text === `+OK ${m.n} ${field(m)}`, `${op.k} ${op.n}: ${show(text)}`);
          else noSuch(`${op.k} ${op.n}`, op.n);
          break;
        }
        check(ok, `${op.k}: ${show(text)}`);
        if (op.k === 'LIST')
          check(rest === `${md.liveCount} messages (${md.liveOctets} octets)`, `LIST status ${show(text)}`);
        const want = md
          .live()
          .map((m) => `${m.n} ${field(m)}\r\n`)
          .join('');
        check(body!.toString('latin1') === want, `${op.k} listing differs from the model`);
        break;
      }
      case 'RETR': {
        const m = md.lookup(op.n);
        if (!m) {
          noSuch(`RETR ${op.n}`, op.n);
          break;
        }
        check(text === `+OK ${m.octets} octets`, `RETR ${op.n}: ${show(text)}`);
        check(body!.equals(m.wire), `RETR ${op.n} (${m.uid}): body differs from the stored message`);
        break;
      }
      case 'TOP': {
        const m = md.lookup(op.n);
        if (!m || op.lines === '') {
          noSuch(`TOP ${op.n}`, op.lines === '' ? '' : op.n);
          break;
        }
        const kind = topLineCount(op.lines);
        if (kind === 'invalid') {
          check(!ok, `TOP ${op.n} ${JSON.stringify(op.lines)} accepted`);
          break;
        }
        if (kind === 'valid') check(ok, `TOP ${op.n} ${op.lines}: ${show(text)}`);
        if (ok)
          check(
            body!.equals(topReference(m.wire, Number(op.lines))),
            `TOP ${op.n} ${op.lines} (${m.uid}): wrong cut`,
          );
        break;
      }
      case 'DELE':
        // The mark itself was applied when the reply was read.
        if (!ok) check(md.lookup(op.n) === undefined, `DELE ${op.n} refused: ${show(text)}`);
        else check(text === `+OK message ${op.n} deleted`, `DELE ${op.n}: ${show(text)}`);
        break;
      case 'RSET':
        check(ok, `RSET: ${show(text)}`);
        break;
      case 'NOOP':
        check(text === '+OK', `NOOP: ${show(text)}`);
        break;
      case 'CAPA':
        check(ok, `CAPA: ${show(text)}`);
        this.checkCapa(body!);
        break;
      case 'QUIT': {
        check(
          text === `+OK bye (${md.liveCount} messages left)`,
          `QUIT: ${show(text)}, model ${md.liveCount}`,
        );
        // UPDATE removed exactly the marked messages (checked when nobody else logged in since).
        const now = new Set(this.h.store.list(md.user).map((m) => m.uid));
        for (const n of md.deleted)
          check(!now.has(md.messages[n - 1]!.uid), `message ${n} marked but not removed`);
        if ((this.h.logins.get(md.user) ?? 0) === this.loginSerial) {
          for (const m of md.live()) check(now.has(m.uid), `message ${m.n} removed without DELE`);
        }
        break;
      }
      case 'WRONG':
      case 'CONT':
        break; // covered by the +OK keyword check in answer()
      case 'USER':
      case 'PASS':
      case 'APOP':
      case 'AUTH':
      case 'STLS':
      case 'UTF8':
        check(!ok, `${show(text)} to a command not valid after login`);
        break;
    }
  }

  /** STLS answered +OK: run TLS (when nothing else was sent after it), or break it. */
  async afterStls(): Promise<boolean> {
    this.trace?.(this.index, `STLS accepted with ${this.unanswered.length} lines after it`);
    if (this.unanswered.length > 0 || !this.rng.bool(0.3)) {
      // Plaintext after STLS went into the handshake, or we never start one: the server must give up.
      if (this.unanswered.length === 0)
        this.out.write(this.rng.bool() ? Buffer.from('CAPA\r\n') : this.rng.bytes(40));
      this.unanswered = [];
      this.out.end();
      await this.expectEnd(['tls', 'closed'], false);
      return false;
    }
    const leftover = this.reader.detach();
    check(leftover.length === 0, `${leftover.length} cleartext octets after the STLS +OK`);
    const secure = tls.connect({ socket: this.pair.clientSide, servername: 'localhost', ca: testCerts().ca });
    secure.on('error', () => {});
    const shook = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), this.deadlineMs);
      secure.once('secureConnect', () => {
        clearTimeout(t);
        resolve(true);
      });
      secure.once('error', () => {
        clearTimeout(t);
        resolve(false);
      });
    });
    if (!shook) throw new HangError('the TLS handshake after STLS did not complete');
    this.stats.tlsSessions++;
    this.out = secure;
    this.reader.attach(secure);
    this.secure = true;
    this.tlsStarted = false;
    this.apopTimestamp = undefined; // sent in cleartext: void after STLS (both ends)
    this.pendingUser = undefined;
    return true;
  }

  /** The server closed while lines were pending: the replies must account for it. */
  async serverClosed(): Promise<void> {
    return this.expectEnd(['quit', 'limit', 'protocol', 'tls'], false);
  }

  async expectEnd(allowed: string[], vanished: boolean): Promise<void> {
    const deadline = this.deadline();
    if (!vanished) {
      // After STLS the stream is TLS's: an in-process pair may not pass the server's destroy on to
      // this end. The server's own disconnect event then says the session ended.
      const closed = this.tlsStarted
        ? await Promise.race([
            this.reader.closedBy(deadline),
            waitForReason(this.track, deadline).then((r) => r !== undefined),
          ])
        : await this.reader.closedBy(deadline);
      if (!closed) {
        const ended =
          this.track.reason === undefined
            ? 'the server still runs it'
            : `the server ended it (${this.track.reason})`;
        throw new HangError(`the connection did not close; ${ended}`);
      }
    }
    const reason = await waitForReason(this.track, deadline);
    if (reason === undefined) throw new HangError('no disconnect event after the connection closed');
    this.stats.endings[reason] = (this.stats.endings[reason] ?? 0) + 1;
    if (vanished) return;
    check(allowed.includes(reason), `session ended with '${reason}', expected ${allowed.join('/')}`);
    const last = this.lastReply?.text ?? '';
    const first = this.unanswered[0];
    switch (reason) {
      case 'quit':
        check(this.quit, `'quit' without a QUIT reply (last ${show(last)})`);
        break;
      case 'protocol':
        // Dropped at an STLS with bytes after it. Replies to the commands before it may be lost with
        // the connection (an in-process stream discards what was not yet read), so it need not be first.
        check(
          this.unanswered.some((l) => l.bytes.toString('latin1').toUpperCase() === 'STLS'),
          `dropped as 'protocol' at ${show(first?.bytes ?? '')} with no STLS pending`,
        );
        break;
      case 'tls':
        check(this.tlsStarted, "'tls' without STLS");
        break;
      case 'closed':
        // After a failed handshake the in-process stream reports its close before the handshake
        // error does, so the server may name the end 'closed' rather than 'tls'; only the reason differs.
        if (this.tlsStarted) break;
        check(this.unanswered.length === 0, `${this.unanswered.length} lines never answered`);
        break;
      case 'limit': {
        const pendingBytes = this.unanswered.reduce((n, l) => n + l.size, 0);
        const terminal =
          last === '-ERR too many bad commands' ||
          last === '-ERR line too long' ||
          (last === '-ERR [AUTH] authentication failed' && this.failedLogins >= this.fs.maxFailedLogins);
        check(
          terminal || pendingBytes > this.fs.maxPipelinedBytes,
          `'limit' after ${show(last)} with ${pendingBytes} octets pending`,
        );
        break;
      }
    }
  }
}

// ---- the healthy session ----------------------------------------------------------------------------

async function healthCheck(fs: FuzzServer, deadlineMs: number): Promise<number> {
  const t0 = performance.now();
  const { pair, track, id } = connect(fs);
  const reader = new ReplyReader();
  reader.attach(pair.clientSide);
  const deadline = Date.now() + deadlineMs;
  try {
    const greeting = (await reader.line(deadline))?.toString('latin1') ?? '';
    check(greeting.startsWith('+OK'), `healthy session greeting ${show(greeting)}`);
    const stamp = /<[^<>]+>$/.exec(greeting)?.[0];
    const login =
      fs.allowInsecureAuth || !stamp
        ? `USER ${HEALTHY.name}\r\nPASS ${HEALTHY.pass}\r\n`
        : `APOP ${HEALTHY.name} ${createHash('md5')
            .update(stamp + HEALTHY.pass)
            .digest('hex')}\r\n`;
    pair.clientSide.write(`${login}STAT\r\nRETR 1\r\nQUIT\r\n`);
    const want = wireOf('healthy', HEALTHY_MESSAGE);
    const expect = [
      ...(login.startsWith('USER') ? ['+OK send PASS'] : []),
      `+OK maildrop has 1 messages (${want.length} octets)`,
      `+OK 1 ${want.length}`,
      `+OK ${want.length} octets`,
    ];
    for (const e of expect) {
      const got = (await reader.line(deadline))?.toString('latin1');
      check(got === e, `healthy session: ${show(got ?? '(closed)')}, expected ${show(e)}`);
    }
    const body = await reader.body(deadline);
    check(body !== undefined && unstuff(body).equals(want), 'healthy session: RETR body differs');
    const bye = (await reader.line(deadline))?.toString('latin1');
    check(bye === '+OK bye (1 messages left)', `healthy session QUIT: ${show(bye ?? '(closed)')}`);
    check(await reader.closedBy(deadline), 'healthy session not closed after QUIT');
    await waitForReason(track, deadline);
  } finally {
    pair.clientSide.destroy();
    fs.tracks.delete(id);
  }
  return performance.now() - t0;
}

// ---- the run ----------------------------------------------------------------------------------------

export async function runServerFuzz(opts: ServerFuzzOptions): Promise<ServerFuzzReport> {
  const began = performance.now();
  const deadlineMs = opts.deadlineMs ?? 5000;
  const concurrency = opts.concurrency ?? 8;
  const start = opts.start ?? 0;
  const maxSessions = opts.sessions ?? Number.MAX_SAFE_INTEGER;
  const h = createHarness(opts.seed, opts.keepFailures ?? 20, opts.wrapStore);
  const stats: Stats = {
    lines: 0,
    replies: 0,
    checked: 0,
    perState: { AUTHORIZATION: 0, SASL: 0, TRANSACTION: 0, TLS: 0 },
    endings: {},
    tlsSessions: 0,
    octetsSent: 0,
    octetsReceived: 0,
    slowestBatchMs: 0,
  };
  const heapStart = opts.heapUsed?.(); // after the servers and the seeded store exist
  let heapPeak = heapStart ?? 0;
  let nextHeapAt = opts.commands / 20;
  const health = { checks: 0, worstMs: 0 };
  const inFlight = new Set<number>();
  let next = start;
  let sessions = 0;

  const runOne = async (index: number) => {
    const rng = new Rng(opts.seed, index);
    const fs = pickServer(h, rng);
    if (rng.bool(0.3)) deliver(h.store, rng, rng.pick(USERS).name); // new mail, to locked maildrops too
    let connected: ReturnType<typeof connect>;
    try {
      connected = connect(fs);
    } catch (err) {
      return fail(h, index, fs.name, err instanceof Error ? err.message : String(err));
    }
    const { pair, track, id } = connected;
    const session = new Session(h, fs, index, rng, stats, deadlineMs, pair, track, opts.trace);
    try {
      await session.run();
    } catch (err) {
      const kind =
        err instanceof OracleFailure || err instanceof HangError || err instanceof WireError
          ? err.name
          : `escaped ${err instanceof Error ? err.name : 'throw'}`;
      const where = session.lastReply
        ? ` (after ${show(session.lastReply.line)} -> ${show(session.lastReply.text)})`
        : '';
      fail(h, index, fs.name, `${kind}: ${err instanceof Error ? err.message : String(err)}${where}`);
    } finally {
      stats.octetsReceived += session.reader.received;
      session.out.destroy();
      pair.clientSide.destroy();
      // Let the server see the end before the slot is reused (and its track looked up).
      if (track.reason === undefined) await waitForReason(track, Date.now() + deadlineMs);
      fs.tracks.delete(id);
    }
  };

  const worker = async () => {
    while (stats.lines < opts.commands && next < start + maxSessions) {
      const index = next++;
      sessions++;
      inFlight.add(index);
      await runOne(index);
      inFlight.delete(index);
      if (opts.heapUsed && stats.lines >= nextHeapAt) {
        nextHeapAt += opts.commands / 20;
        heapPeak = Math.max(heapPeak, opts.heapUsed());
      }
    }
  };

  let stopHealth = false;
  let wakeHealth: (() => void) | undefined;
  const healthLoop = async () => {
    const every = opts.healthEveryMs ?? 250;
    while (!stopHealth) {
      for (const fs of h.servers) {
        try {
          const ms = await healthCheck(fs, deadlineMs);
          health.checks++;
          health.worstMs = Math.max(health.worstMs, ms);
          // No session leaks: the fuzz sessions in flight, this one, and one still cleaning up.
          const open = h.servers.reduce((n, s) => n + s.server.sessionCount, 0);
          check(open <= concurrency + 2, `${open} sessions open with ${concurrency} in flight`);
        } catch (err) {
          fail(h, -1, fs.name, `healthy session: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, every);
        wakeHealth = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  };

  const healthDone = healthLoop();
  const beat = setInterval(() => opts.onProgress?.(stats.lines, inFlight), 100);
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    clearInterval(beat);
    stopHealth = true;
    wakeHealth?.();
    await healthDone;
  }

  // Everything ended: no session open, no maildrop locked.
  for (const fs of h.servers) {
    if (fs.server.sessionCount !== 0)
      fail(h, -1, fs.name, `${fs.server.sessionCount} sessions still open at the end`);
    await fs.server.close({ timeoutMs: 2000 });
  }
  for (const u of [...USERS.map((x) => x.name), HEALTHY.name]) {
    if (h.store.isLocked(u)) fail(h, -1, '-', `maildrop ${u} still locked at the end`);
  }
  clearWireCache(); // the oracle's own cache: the end reading is what the server and the store hold
  const heapEnd = opts.heapUsed?.();
  return {
    seed: opts.seed,
    sessions,
    lines: stats.lines,
    replies: stats.replies,
    perState: stats.perState,
    checked: stats.checked,
    endings: stats.endings,
    tlsSessions: stats.tlsSessions,
    octetsSent: stats.octetsSent,
    octetsReceived: stats.octetsReceived,
    health,
    slowestBatchMs: stats.slowestBatchMs,
    elapsedMs: performance.now() - began,
    heap:
      heapStart === undefined || heapEnd === undefined
        ? undefined
        : { start: heapStart, peak: Math.max(heapPeak, heapEnd), end: heapEnd },
    failures: h.failures,
    moreFailures: h.moreFailures,
  };
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

/** One line for logs. */
export function summarizeServer(r: ServerFuzzReport): string {
  const secs = r.elapsedMs / 1000;
  const states = Object.entries(r.perState)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const endings = Object.entries(r.endings)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const heap = r.heap ? `; heap ${mib(r.heap.start)} -> peak ${mib(r.heap.peak)} -> ${mib(r.heap.end)}` : '';
  return (
    `server fuzz seed ${r.seed}: ${r.lines} commands (${states}) in ${r.sessions} sessions, ` +
    `${r.replies} replies, ${r.checked} checked exactly, ${r.failures.length + r.moreFailures} failures, ` +
    `${Math.round(r.lines / Math.max(secs, 1e-9))} commands/s over ${secs.toFixed(1)} s, ` +
    `${mib(r.octetsSent)} sent / ${mib(r.octetsReceived)} received, ${r.tlsSessions} TLS upgrades; ` +
    `endings: ${endings}; healthy sessions ${r.health.checks} (worst ${r.health.worstMs.toFixed(0)} ms), ` +
    `slowest batch ${r.slowestBatchMs.toFixed(0)} ms${heap}`
  );
}
