/**
 * Scripted-client tests of the server against ../shared/CONFORMANCE.md: every server rule (S1-S23)
 * and every adversarial server case (1-40). Each is either a test here, named by its ids, or already
 * a test in server-basic.test.ts, mapped below by exact test name. The last test in this file checks
 * that the list is complete and that every mapped name exists.
 *
 * Covered in server-basic.test.ts (id -> test name there):
 * MAP S5 -> "greets, lists, retrieves, deletes, resets and quits"
 * MAP S5 -> "an empty maildrop"
 * MAP S8 -> "TOP: n = 0, n in the body, n past it, headers only, no blank line (S8, case 32)"
 * MAP S12 -> "CAPA in both states, the same list (S12)"
 * MAP S12 -> "without TLS, USER/PASS and PLAIN are neither advertised nor accepted (S12, case 11)"
 * MAP S14 -> "answers pipelined commands in order (S14)"
 * MAP S14 -> "bytes pipelined after STLS drop the connection; nothing runs under TLS (case 7)"
 * MAP S15 -> "LOGIN-DELAY is advertised and enforced (S15)"
 * MAP S15 -> "CAPA in both states, the same list (S12)"
 * MAP S16 -> "STLS: advertised before TLS only; login after the handshake; state reset (S16)"
 * MAP S16 -> "bytes pipelined after STLS drop the connection; nothing runs under TLS (case 7)"
 * MAP S16 -> "STLS in TRANSACTION is refused (case 8)"
 * MAP case 1 -> "a line over the cap is refused and the connection closed (case 1)"
 * MAP case 2 -> "NUL in a command is refused, not truncated (case 2)"
 * MAP case 3 -> "line ends: a bare LF ends a line, a bare CR inside one is refused; invalid UTF-8 too (cases 3, 40)"
 * MAP case 4 -> "PASS takes the rest of the line, spaces included (S10, case 4)"
 * MAP case 4 -> "refuses malformed message numbers (case 25) and arguments (cases 4, 6)"
 * MAP case 5 -> "too many bad commands close the session (case 5)"
 * MAP case 6 -> "refuses malformed message numbers (case 25) and arguments (cases 4, 6)"
 * MAP case 7 -> "bytes pipelined after STLS drop the connection; nothing runs under TLS (case 7)"
 * MAP case 8 -> "STLS in TRANSACTION is refused (case 8)"
 * MAP case 8 -> "STLS: advertised before TLS only; login after the handshake; state reset (S16)"
 * MAP case 9 -> "USER, then STLS, then PASS: PASS is refused (case 9)"
 * MAP case 11 -> "without TLS, USER/PASS and PLAIN are neither advertised nor accepted (S12, case 11)"
 * MAP case 12 -> "SASL PLAIN: initial response, empty challenge, cancel, bad base64, unknown mechanism (S18, cases 12-15)"
 * MAP case 14 -> "SASL PLAIN: initial response, empty challenge, cancel, bad base64, unknown mechanism (S18, cases 12-15)"
 * MAP case 15 -> "SASL PLAIN: initial response, empty challenge, cancel, bad base64, unknown mechanism (S18, cases 12-15)"
 * MAP case 20 -> "SASL PLAIN: initial response, empty challenge, cancel, bad base64, unknown mechanism (S18, cases 12-15)"
 * MAP case 24 -> "CRAM-MD5 and APOP from {PLAIN} entries; APOP digest must be lowercase hex (case 24)"
 * MAP case 25 -> "refuses malformed message numbers (case 25) and arguments (cases 4, 6)"
 * MAP case 26 -> "greets, lists, retrieves, deletes, resets and quits"
 * MAP case 27 -> "greets, lists, retrieves, deletes, resets and quits"
 * MAP case 28 -> "DELE then a dropped connection removes nothing and releases the lock (case 28)"
 * MAP case 29 -> "QUIT in AUTHORIZATION closes without UPDATE (case 29)"
 * MAP case 30 -> "a second session for the same maildrop gets [IN-USE], only with valid credentials (S3, case 30)"
 * MAP case 32 -> "TOP: n = 0, n in the body, n past it, headers only, no blank line (S8, case 32)"
 * MAP case 35 -> "a client that floods RETRs without reading is held by backpressure, then dropped; others are served (case 35)"
 *
 * Also extended here (a test in this file and one there): S3, S6, S7, S10, S18, S22, cases 7, 10,
 * 13, 16, 23, 33, 36, 40. Not applicable to this server, and said so in the test that covers the
 * rule: S18's service name "pop" (only GSSAPI/DIGEST-MD5 use it; neither is offered) and S21's
 * `y` flag while -PLUS is advertised (no -PLUS mechanism is ever advertised).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { deliverToMaildir } from '../../src/mailstore/index.js';
import { beginClientAuth, createClientMechanism } from '../../src/protocol/sasl/client/index.js';
import {
  type AuthRequest,
  DEFAULT_SERVER_LIMITS,
  hashPassword,
  type Logger,
  type Mailbox,
  MaildirStore,
  type MailStore,
  MemoryStore,
  Pop3Server,
  UsersFile,
} from '../../src/server/index.js';
import { testCerts } from '../helpers/certs.js';
import { LineClient } from '../helpers/pop3-wire.js';
import { login, PASSWORD, seed, useServerFixture } from '../helpers/server-fixture.js';

const KNOWN_CODES = /^\[(IN-USE|LOGIN-DELAY|SYS\/TEMP|SYS\/PERM|AUTH)\]( |$)/;

const { clients, start } = useServerFixture();

/** Wire form (RFC 1939 §11): bare LF becomes CRLF, CRLF appended when the stored bytes do not end in LF. */
function wireForm(stored: Buffer): Buffer {
  let text = stored.toString('latin1').replace(/(?<!\r)\n/g, '\r\n');
  if (!text.endsWith('\n')) text += '\r\n';
  return Buffer.from(text, 'latin1');
}

/** Dot-stuffed body with terminator, as RETR sends it. */
function stuffed(stored: Buffer): Buffer {
  const text = wireForm(stored).toString('latin1');
  return Buffer.from(`${text.replace(/(^|\r\n)\./g, '$1..')}.\r\n`, 'latin1');
}

const b64 = (s: string | Buffer) => (typeof s === 'string' ? Buffer.from(s, 'utf8') : s).toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tlsOpts = () => ({ tls: { key: testCerts().server.key, cert: testCerts().server.cert } });
const plainUsers = () => UsersFile.parse(`alice:{PLAIN}${PASSWORD}\nbob:{PLAIN}${PASSWORD}\n`);

/** A store whose mailboxes a test can bend: a different snapshot, or a commit that leaves some behind. */
function bentStore(
  inner: MemoryStore,
  bend: { messages?: Mailbox['messages']; keep?: (deleted: readonly string[]) => string[] },
): MailStore {
  return {
    async openMailbox(user) {
      const mb = await inner.openMailbox(user);
      return {
        messages: bend.messages ?? mb.messages,
        open: (uid) => mb.open(uid),
        commit: async (deleted) => {
          const keep = bend.keep?.(deleted) ?? [];
          await mb.commit(deleted.filter((u) => !keep.includes(u)));
          return { notRemoved: keep };
        },
        release: () => mb.release(),
      };
    },
  };
}

/** SCRAM client steps done by hand (RFC 5802 §3), so malformed variants can be built from them. */
function scramFinal(
  hash: 'sha1' | 'sha256',
  pass: string,
  gs2Header: string,
  clientFirstBare: string,
  serverFirst: string,
): { final: string; serverSignature: string } {
  const attrs = new Map(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)] as const));
  const salt = Buffer.from(attrs.get('s')!, 'base64');
  const len = hash === 'sha1' ? 20 : 32;
  const salted = pbkdf2Sync(pass, salt, Number(attrs.get('i')), len, hash);
  const hmac = (key: Buffer, text: string) => createHmac(hash, key).update(text).digest();
  const clientKey = hmac(salted, 'Client Key');
  const storedKey = createHash(hash).update(clientKey).digest();
  const withoutProof = `c=${b64(gs2Header)},r=${attrs.get('r')}`;
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const signature = hmac(storedKey, authMessage);
  const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
  const serverSignature = hmac(hmac(salted, 'Server Key'), authMessage).toString('base64');
  return { final: `${withoutProof},p=${proof.toString('base64')}`, serverSignature };
}

// ---- server rules ---------------------------------------------------------------------------------

describe('server rules', () => {
  it('S1: one +OK greeting line; APOP timestamps are fresh <pid.clock@host> per greeting; no APOP capability', async () => {
    const plain = await start({ allowInsecureAuth: true });
    const c = await plain.connect();
    expect(await c.line()).toBe('+OK POP3 server ready'); // no timestamp: APOP is off by default
    await pause(100);
    expect(c.buffered.length).toBe(0); // nothing more until a command arrives

    const apop = await start({ users: plainUsers(), authenticate: undefined, apop: true });
    const stamps = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const d = await apop.connect();
      const greeting = await d.line();
      expect(greeting.length + 2).toBeLessThanOrEqual(512);
      const stamp = /^\+OK POP3 server ready (<[^<>]+>)$/.exec(greeting)?.[1];
      expect(stamp).toMatch(/^<\d+\.\d+\.[0-9a-z]+@pop\.test>$/);
      stamps.add(stamp!);
      if (i === 0) {
        expect(await d.cmd('CAPA')).toMatch(/^\+OK/);
        expect((await d.lines()).filter((l) => /APOP/i.test(l))).toEqual([]);
      }
      d.close();
    }
    expect(stamps.size).toBe(30);
  });

  it('S2: unknown, malformed and wrong-state commands get one -ERR line each, in both states, and the session goes on', async () => {
    const { connect } = await start({ allowInsecureAuth: true, limits: { maxBadCommands: 1000 } });
    const c = await connect();
    await c.line();
    const transactionOnly = ['STAT', 'LIST', 'LIST 1', 'UIDL', 'UIDL 1', 'RETR 1', 'TOP 1 0', 'DELE 1'];
    const unknown = ['XYZZY', 'LAST', 'RPOP alice', 'AB', 'ABCDE', 'US3R alice', '', ' USER alice', '1234'];
    const malformed = ['USER', 'USER a b', 'CAPA x', 'QUIT now', 'AUTH', 'APOP alice'];
    for (const line of [...transactionOnly, 'RSET', 'NOOP', ...unknown, ...malformed]) {
      expect(await c.cmd(line), line).toMatch(/^-ERR [^[]/);
    }
    expect(await c.cmd('CAPA')).toBe('+OK capability list follows');
    await c.lines();
    expect(await login(c)).toMatch(/^\+OK maildrop has 3 messages/);
    const authorizationOnly = ['USER alice', `PASS ${PASSWORD}`, 'APOP a b', 'AUTH PLAIN', 'STLS', 'UTF8'];
    const malformedHere = ['STAT 1', 'NOOP x', 'RSET 1', 'DELE', 'RETR', 'TOP 1', 'LIST a b', 'UIDL 1 2'];
    for (const line of [...authorizationOnly, ...unknown, ...malformedHere]) {
      expect(await c.cmd(line), line).toMatch(/^-ERR [^[]/);
    }
    // Still in step: each -ERR was exactly one line, and the maildrop is untouched.
    expect(await c.cmd('NOOP')).toBe('+OK');
    expect(await c.cmd('STAT')).toMatch(/^\+OK 3 \d+$/);
  });

  it('S3: the lock is taken only after valid credentials, and released before a later -ERR', async () => {
    const inner = seed();
    const { connect } = await start({
      store: bentStore(inner, { messages: [{ uid: 'bad uid', octets: 3 }] }),
      allowInsecureAuth: true,
    });
    const c = await connect();
    await c.line();
    expect(await login(c, 'alice', 'wrong')).toBe('-ERR [AUTH] authentication failed');
    expect(inner.isLocked('alice')).toBe(false);
    // Valid credentials, but a snapshot the server must not serve: unlocked by the time -ERR arrives.
    expect(await login(c)).toBe('-ERR [SYS/TEMP] maildrop not available');
    expect(inner.isLocked('alice')).toBe(false);
    expect(await c.cmd('STAT')).toMatch(/^-ERR/); // still AUTHORIZATION
  });

  it('S4, server case 31: mail delivered mid-session stays invisible; numbers never change', async () => {
    const { connect, store } = await start({ allowInsecureAuth: true });
    const c = await connect();
    await c.line();
    expect(await login(c)).toMatch(/^\+OK maildrop has 3 messages/);
    expect(await c.cmd('UIDL')).toBe('+OK');
    const uids = await c.lines();
    expect(await c.cmd('STAT')).toMatch(/^\+OK 3 /);
    const stat = await c.cmd('STAT');
    const fresh = store.add('alice', 'Subject: late\r\n\r\narrived during the session\r\n');
    expect(await c.cmd('STAT')).toBe(stat);
    expect(await c.cmd('LIST')).toMatch(/^\+OK 3 messages/);
    expect(await c.lines()).toHaveLength(3);
    expect(await c.cmd('RETR 4')).toBe('-ERR no such message');
    expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);
    // Deleting 1 renumbers nothing: 2 and 3 keep their numbers and UIDs.
    expect(await c.cmd('UIDL 3')).toBe(`+OK ${uids[2]}`);
    expect(await c.cmd('UIDL')).toBe('+OK');
    expect(await c.lines()).toEqual(uids.slice(1));
    expect(await c.cmd('QUIT')).toBe('+OK bye (2 messages left)');
    await c.closedWithin();
    // The next session numbers afresh and sees the new message.
    const d = await connect();
    await d.line();
    expect(await login(d)).toMatch(/^\+OK maildrop has 3 messages/);
    expect(await d.cmd('UIDL 3')).toBe(`+OK 3 ${fresh}`);
  });

  it('S6: a partial UPDATE is -ERR "some deleted messages not removed", only marked messages go, and the lock is released first', async () => {
    const inner = seed();
    const uids = inner.list('alice').map((m) => m.uid);
    const { connect } = await start({
      store: bentStore(inner, { keep: (deleted) => deleted.slice(0, 1) }),
      allowInsecureAuth: true,
    });
    const c = await connect();
    await c.line();
    await login(c);
    expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);
    expect(await c.cmd('DELE 2')).toMatch(/^\+OK/);
    expect(await c.cmd('QUIT')).toBe('-ERR [SYS/TEMP] some deleted messages not removed');
    expect(inner.isLocked('alice')).toBe(false);
    expect(await c.closedWithin()).toBe(true);
    // 1 could not be removed, 2 was, 3 was never marked.
    expect(inner.list('alice').map((m) => m.uid)).toEqual([uids[0], uids[2]]);
  });

  it('S7, server case 36: autologout is at least 10 minutes, reset by commands; on expiry the close is silent and runs no UPDATE', async () => {
    expect(DEFAULT_SERVER_LIMITS.idleTimeoutMs).toBeGreaterThanOrEqual(10 * 60_000);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { connect, store, server } = await start({ allowInsecureAuth: true });
    const reasons: string[] = [];
    server.on('logout', (info) => reasons.push(info.reason));
    const c = await connect();
    await c.line();
    await login(c);
    expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);
    // Just under 10 minutes idle, twice over: each command restarts the timer.
    for (let i = 0; i < 2; i++) {
      vi.advanceTimersByTime(10 * 60_000 - 1000);
      expect(await c.cmd('NOOP')).toBe('+OK');
    }
    expect(c.closed).toBe(false);
    vi.advanceTimersByTime(10 * 60_000 + 1);
    vi.useRealTimers();
    expect(await c.closedWithin()).toBe(true);
    expect(c.buffered.length).toBe(0);
    await pause(50);
    expect(reasons).toEqual(['timeout']);
    expect(store.list('alice')).toHaveLength(3);
    expect(store.isLocked('alice')).toBe(false);

    // A longer timer: 11 minutes idle and still connected.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const long = await start({ allowInsecureAuth: true, limits: { idleTimeoutMs: 30 * 60_000 } });
    const d = await long.connect();
    await d.line();
    await login(d);
    vi.advanceTimersByTime(11 * 60_000);
    expect(await d.cmd('STAT')).toMatch(/^\+OK 3 /);
  });

  it('S9, server case 39: Maildir UIDs are 1-70 chars of 0x21-0x7E, stable across sessions and restarts, never reused', async () => {
    const root = await mkdtemp(join(tmpdir(), 'pop3kit-conf-'));
    try {
      const dir = join(root, 'alice');
      for (const sub of ['new', 'cur', 'tmp']) await mkdir(join(dir, sub), { recursive: true });
      // Names a UID cannot be taken from as is: too long, a space, 8-bit bytes, a comma field.
      const names = [
        '1700000000.a1.host',
        `1700000001.${'x'.repeat(80)}.host`,
        '1700000002.with space.host:2,S',
        Buffer.from('1700000003.\xe9\xff.host', 'latin1'),
        '1700000004.b2.host,S=19,W=22:2,',
      ];
      for (const [i, name] of names.entries()) {
        const sub = i % 2 === 0 ? 'new' : 'cur';
        const file = typeof name === 'string' ? Buffer.from(name, 'latin1') : name;
        const path = Buffer.concat([Buffer.from(`${dir}/${sub}/`), file]);
        await writeFile(path, `Subject: ${i}\n\nbody ${i}\n`);
      }
      const uidl = async (server: Awaited<ReturnType<typeof start>>, quit: boolean) => {
        const c = await server.connect();
        await c.line();
        expect(await login(c)).toMatch(/^\+OK/);
        expect(await c.cmd('UIDL')).toBe('+OK');
        const lines = await c.lines();
        if (quit) expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
        else {
          const gone = new Promise((r) => server.server.once('logout', r));
          c.socket.resetAndDestroy();
          await gone; // the lock is released by then
        }
        await c.closedWithin();
        return lines.map((l) => l.split(' ')[1]!);
      };
      const first = await start({ store: new MaildirStore({ root }), allowInsecureAuth: true });
      const a = await uidl(first, false); // a session without UPDATE
      const b = await uidl(first, true);
      expect(a).toHaveLength(names.length);
      for (const uid of a) expect(uid).toMatch(/^[\x21-\x7e]{1,70}$/);
      expect(new Set(a).size).toBe(a.length);
      expect(b).toEqual(a);
      // A restart (new store, new server, same Maildir): the same UIDs.
      const second = await start({ store: new MaildirStore({ root }), allowInsecureAuth: true });
      expect(await uidl(second, true)).toEqual(a);
      // Delete every message, deliver new ones: no old UID comes back.
      const c = await second.connect();
      await c.line();
      await login(c);
      for (let n = 1; n <= a.length; n++) expect(await c.cmd(`DELE ${n}`)).toMatch(/^\+OK/);
      expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
      await c.closedWithin();
      for (let i = 0; i < 20; i++) await deliverToMaildir(dir, Buffer.from(`Subject: new ${i}\n\nx\n`));
      const later = await uidl(second, true);
      expect(later).toHaveLength(20);
      for (const uid of later) {
        expect(uid).toMatch(/^[\x21-\x7e]{1,70}$/);
        expect(a).not.toContain(uid);
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('S10: PASS only right after USER +OK; USER reveals nothing, not even under LOGIN-DELAY', async () => {
    const { connect } = await start({ allowInsecureAuth: true, capabilities: { loginDelay: 60 } });
    const c = await connect();
    await c.line();
    expect(await c.cmd('USER alice')).toBe('+OK send PASS');
    expect(await c.cmd('CAPA')).toMatch(/^\+OK/);
    await c.lines();
    expect(await c.cmd(`PASS ${PASSWORD}`)).toMatch(/^-ERR [^[]/); // CAPA came in between
    expect(await c.cmd('USER alice')).toBe('+OK send PASS');
    expect(await c.cmd('XYZZY')).toMatch(/^-ERR/);
    expect(await c.cmd(`PASS ${PASSWORD}`)).toMatch(/^-ERR [^[]/);
    // The latest USER is the one PASS completes.
    expect(await c.cmd('USER alice')).toBe('+OK send PASS');
    expect(await c.cmd('USER bob')).toBe('+OK send PASS');
    expect(await c.cmd(`PASS ${PASSWORD}`)).toBe('+OK maildrop has 0 messages (0 octets)');
    expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
    // Unknown users and users under LOGIN-DELAY get the same USER reply as anyone; the code comes at PASS.
    const d = await connect();
    await d.line();
    for (const user of ['nobody', 'bob', 'alice', 'x'.repeat(255)]) {
      expect(await d.cmd(`USER ${user}`)).toBe('+OK send PASS');
    }
    expect(await d.cmd('USER bob')).toBe('+OK send PASS');
    expect(await d.cmd(`PASS ${PASSWORD}`)).toMatch(/^-ERR \[LOGIN-DELAY\]/);
  });

  it('S11: APOP is off by default, needs plaintext secrets when on, and its cleartext timestamp is void after STLS', async () => {
    const off = await start({ users: plainUsers(), authenticate: undefined, allowInsecureAuth: true });
    const c = await off.connect();
    expect(await c.line()).not.toContain('<');
    expect(await c.cmd(`APOP alice ${'0'.repeat(32)}`)).toMatch(/^-ERR [^[]/);
    expect(() => new Pop3Server({ store: new MemoryStore(), authenticate: () => true, apop: true })).toThrow(
      /plaintext secrets/,
    );

    const on = await start({ users: plainUsers(), authenticate: undefined, apop: true, ...tlsOpts() });
    const d = await on.connect();
    const stamp = /<[^>]+>/.exec(await d.line())![0];
    const digest = createHash('md5')
      .update(stamp + PASSWORD)
      .digest('hex');
    await d.starttls();
    expect(await d.cmd(`APOP alice ${digest}`)).toMatch(/^-ERR [^[]/);
    expect(await d.cmd(`USER alice`)).toBe('+OK send PASS');
    expect(await d.cmd(`PASS ${PASSWORD}`)).toMatch(/^\+OK maildrop/);
  });

  it('S13: AUTH-RESP-CODE: every credential failure, for every mechanism, is -ERR [AUTH]; other refusals carry no code', async () => {
    const { connect } = await start({
      users: plainUsers(),
      authenticate: undefined,
      apop: true,
      allowInsecureAuth: true,
      verifyToken: async (user, token) => (token === 'good-token' ? user || 'alice' : null),
      limits: { maxFailedLogins: 100 },
    });
    const c = await connect();
    const stamp = /<[^>]+>/.exec(await c.line())![0];
    expect(await c.cmd('CAPA')).toMatch(/^\+OK/);
    const caps = await c.lines();
    expect(caps).toContain('RESP-CODES');
    expect(caps).toContain('AUTH-RESP-CODE');
    const failed = '-ERR [AUTH] authentication failed';
    expect(await login(c, 'alice', 'wrong')).toBe(failed);
    expect(await login(c, 'nobody', 'wrong')).toBe(failed);
    const apopDigest = createHash('md5').update(`${stamp}wrong`).digest('hex');
    expect(await c.cmd(`APOP alice ${apopDigest}`)).toBe(failed);
    expect(await c.cmd(`APOP nobody ${apopDigest}`)).toBe(failed);
    for (const mech of ['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-1', 'SCRAM-SHA-256']) {
      for (const user of ['alice', 'nobody']) {
        const exchange = beginClientAuth(createClientMechanism(mech, { user, pass: 'wrong' }));
        let reply = await c.cmd(exchange.command);
        while (reply.startsWith('+ ') || reply === '+') reply = await c.cmd(exchange.answer(reply.slice(2)));
        expect(reply, `${mech} ${user}`).toBe(failed);
      }
    }
    const bearer = b64('n,a=alice,\x01auth=Bearer bad-token\x01\x01');
    expect(await c.cmd(`AUTH OAUTHBEARER ${bearer}`)).toMatch(/^\+ /);
    expect(await c.cmd('AQ==')).toBe(failed);
    expect(await c.cmd(`AUTH XOAUTH2 ${b64('user=alice\x01auth=Bearer bad-token\x01\x01')}`)).toMatch(/^\+ /);
    expect(await c.cmd('')).toBe(failed);
    // Not credential failures: no code.
    expect(await c.cmd('AUTH FOO')).toMatch(/^-ERR [^[]/);
    expect(await c.cmd('AUTH PLAIN')).toBe('+ ');
    expect(await c.cmd('*')).toMatch(/^-ERR [^[]/);
    expect(await c.cmd('AUTH PLAIN !!!!')).toMatch(/^-ERR [^[]/);
  });

  it('S17: TLS below 1.2 is refused on STLS and implicit TLS, even when the tls options ask for TLSv1', async () => {
    const weak: tls.ConnectionOptions = {
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    };
    const serverTls = { ...tlsOpts().tls, minVersion: 'TLSv1' as const, ciphers: 'DEFAULT@SECLEVEL=0' };
    // Control: with these options a plain node:tls server does speak TLS 1.1 to this client, so a
    // refusal below comes from the POP3 server's floor, not from the platform.
    const control = tls.createServer(serverTls, (s) => s.end());
    await new Promise<void>((r) => control.listen(0, '127.0.0.1', r));
    const controlPort = (control.address() as net.AddressInfo).port;
    const handshake = (port: number, opts: tls.ConnectionOptions, socket?: net.Socket) =>
      new Promise<string>((resolve) => {
        const s = tls.connect({
          ...(socket ? { socket } : { port, host: '127.0.0.1' }),
          servername: 'localhost',
          ca: testCerts().ca,
          ...opts,
        });
        s.on('secureConnect', () => {
          resolve(s.getProtocol() ?? 'unknown');
          s.destroy();
        });
        s.on('error', () => resolve('refused'));
      });
    try {
      expect(await handshake(controlPort, weak)).toBe('TLSv1.1');
    } finally {
      control.close();
    }
    const implicit = await start({ tls: serverTls }, { implicitTls: true });
    expect(await handshake(implicit.port, weak)).toBe('refused');
    expect(await handshake(implicit.port, { maxVersion: 'TLSv1.2' })).toBe('TLSv1.2');

    const stls = await start({ tls: serverTls });
    const c = await stls.connect();
    await c.line();
    expect(await c.cmd('STLS')).toMatch(/^\+OK/);
    c.socket.removeAllListeners('data');
    expect(await handshake(0, weak, c.socket)).toBe('refused');
    const d = await stls.connect();
    await d.line();
    await d.starttls({ maxVersion: 'TLSv1.2' });
    expect((d.socket as tls.TLSSocket).getProtocol()).toBe('TLSv1.2');
    expect(await login(d)).toMatch(/^\+OK maildrop/);
  });

  it('S18: continuation lines are accepted up to the mechanism bound (past the command cap), then refused; AUTH only in AUTHORIZATION', async () => {
    const { connect } = await start({
      authenticate: undefined,
      allowInsecureAuth: true,
      verifyToken: async (user, token) => (token.startsWith('good') ? user : null),
    });
    // S18 also names the service "pop": only GSSAPI and DIGEST-MD5 use one, and neither is offered.
    const token = `good${'t'.repeat(12_000)}`;
    const c = await connect();
    await c.line();
    expect(await c.cmd('AUTH XOAUTH2')).toBe('+ ');
    const long = b64(`user=alice\x01auth=Bearer ${token}\x01\x01`);
    expect(long.length).toBeGreaterThan(DEFAULT_SERVER_LIMITS.maxLineLength * 7);
    expect(await c.cmd(long)).toMatch(/^\+OK maildrop has 3 messages/);
    expect(await c.cmd('AUTH XOAUTH2')).toMatch(/^-ERR/);

    const d = await connect();
    await d.line();
    expect(await d.cmd('AUTH XOAUTH2')).toBe('+ ');
    // 40 KiB: past the bound, but under maxPipelinedBytes (past that the session is dropped unanswered).
    d.send(`${'A'.repeat(40 * 1024)}\r\n`);
    expect(await d.line()).toBe('-ERR line too long');
    expect(await d.closedWithin()).toBe(true);
  });

  it('S19: SCRAM final data (v=) goes out as a challenge; the empty answer then gets +OK', async () => {
    const { connect } = await start({ users: plainUsers(), authenticate: undefined });
    for (const [mech, hash] of [
      ['SCRAM-SHA-256', 'sha256'],
      ['SCRAM-SHA-1', 'sha1'],
    ] as const) {
      const c = await connect();
      await c.line();
      const bare = `n=alice,r=${randomBytes(12).toString('base64')}`;
      const first = await c.cmd(`AUTH ${mech} ${b64(`n,,${bare}`)}`);
      expect(first).toMatch(/^\+ [A-Za-z0-9+/]+=*$/);
      const serverFirst = unb64(first.slice(2));
      const { final, serverSignature } = scramFinal(hash, PASSWORD, 'n,,', bare, serverFirst);
      expect(await c.cmd(b64(final))).toBe(`+ ${b64(`v=${serverSignature}`)}`);
      expect(await c.cmd('')).toMatch(/^\+OK maildrop has 3 messages/);
      expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
      await c.closedWithin();
    }
  });

  it('S21, server case 21: SCRAM refuses a bad proof, a replay, m=, stray =; the nonce extends the client one, i >= 4096; y is accepted as no -PLUS is offered', async () => {
    const { connect } = await start({
      users: plainUsers(),
      authenticate: undefined,
      limits: { maxFailedLogins: 100 },
    });
    const failed = '-ERR [AUTH] authentication failed';
    const c = await connect();
    await c.line();
    expect(await c.cmd('CAPA')).toMatch(/^\+OK/);
    expect((await c.lines()).join(' ')).not.toMatch(/-PLUS/);
    const begin = async (gs2: string, bare: string) => {
      const reply = await c.cmd(`AUTH SCRAM-SHA-256 ${b64(gs2 + bare)}`);
      return reply.startsWith('+ ') ? unb64(reply.slice(2)) : reply;
    };
    const nonce = () => randomBytes(12).toString('base64');

    // The server's nonce extends ours; the iteration count is at least 4096.
    const cnonce = nonce();
    const serverFirst = await begin('n,,', `n=alice,r=${cnonce}`);
    const r = /^r=([^,]+),s=[A-Za-z0-9+/]+=*,i=(\d+)$/.exec(serverFirst);
    expect(r?.[1]?.startsWith(cnonce)).toBe(true);
    expect(r![1]!.length).toBeGreaterThan(cnonce.length);
    expect(Number(r![2])).toBeGreaterThanOrEqual(4096);
    // A bad proof.
    const good = scramFinal('sha256', PASSWORD, 'n,,', `n=alice,r=${cnonce}`, serverFirst);
    const badProof = good.final.replace(/p=(.)/, (_, ch: string) => `p=${ch === 'A' ? 'B' : 'A'}`);
    expect(await c.cmd(b64(badProof))).toBe(failed);

    // Replay: a successful client-final sent again against a fresh server nonce fails.
    const bare = `n=alice,r=${nonce()}`;
    const sf = await begin('n,,', bare);
    const recorded = scramFinal('sha256', PASSWORD, 'n,,', bare, sf).final;
    expect(await c.cmd(b64(recorded))).toMatch(/^\+ /);
    expect(await c.cmd('')).toMatch(/^\+OK/);
    expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
    const d = await connect();
    await d.line();
    expect(await d.cmd(`AUTH SCRAM-SHA-256 ${b64(`n,,${bare}`)}`)).toMatch(/^\+ /);
    expect(await d.cmd(b64(recorded))).toBe(failed);

    // m= (a mandatory extension), a stray "=" or an unknown escape in the name, channel binding "p".
    for (const first of [
      `n,,m=ext,n=alice,r=${nonce()}`,
      `n,,n=al=ice,r=${nonce()}`,
      `n,,n=alice=2X,r=${nonce()}`,
      `p=tls-unique,,n=alice,r=${nonce()}`,
    ]) {
      expect(await d.cmd(`AUTH SCRAM-SHA-256 ${b64(first)}`), first).toBe(failed);
    }
    // "y": the client could bind but thinks we cannot; true (no -PLUS), so RFC 5802 §6 says accept.
    const yBare = `n=alice,r=${nonce()}`;
    const ySf = unb64((await d.cmd(`AUTH SCRAM-SHA-256 ${b64(`y,,${yBare}`)}`)).slice(2));
    const y = scramFinal('sha256', PASSWORD, 'y,,', yBare, ySf);
    expect(await d.cmd(b64(y.final))).toBe(`+ ${b64(`v=${y.serverSignature}`)}`);
    expect(await d.cmd('')).toMatch(/^\+OK maildrop/);
  });

  it('S22, server case 22: OAUTHBEARER answered with a command instead of AQ== fails, and the session stays consistent', async () => {
    const { connect } = await start({
      authenticate: undefined,
      allowInsecureAuth: true,
      verifyToken: async (user, token) => (token === 'good-token' ? user : null),
    });
    const bearer = (token: string) => b64(`n,a=alice,\x01auth=Bearer ${token}\x01\x01`);
    const c = await connect();
    await c.line();
    const challenge = await c.cmd(`AUTH OAUTHBEARER ${bearer('bad-token')}`);
    expect(JSON.parse(unb64(challenge.slice(2)))).toMatchObject({ status: 'invalid_token' });
    expect(await c.cmd('STAT')).toBe('-ERR [AUTH] authentication failed');
    expect(await c.cmd('STAT')).toMatch(/^-ERR [^[]/); // not logged in
    const again = await c.cmd(`AUTH OAUTHBEARER ${bearer('bad-token')}`);
    expect(again.startsWith('+ ')).toBe(true);
    expect(await c.cmd('LIST 1')).toMatch(/^-ERR/); // not base64: refused as such
    expect(await c.cmd('CAPA')).toMatch(/^\+OK/);
    await c.lines();
    expect(await c.cmd(`AUTH OAUTHBEARER ${bearer('good-token')}`)).toMatch(/^\+OK maildrop has 3/);
    expect(await c.cmd('STAT')).toMatch(/^\+OK 3 /);
  });

  it('S23, server case 40: UTF8 then a UTF-8 user logs in; LANG, a junk LANG tag and UTF8 after login are -ERR; nothing breaks', async () => {
    const store = seed();
    store.add('jürgen', 'Subject: für dich\r\n\r\nGrüße\r\n');
    const seen: AuthRequest[] = [];
    const { connect } = await start({
      store,
      allowInsecureAuth: true,
      capabilities: { utf8: true },
      authenticate: (req) => {
        seen.push(req);
        return req.user === 'jürgen' && req.pass === 'pässwörd';
      },
    });
    const c = await connect();
    await c.line();
    for (const line of ['LANG', 'LANG *', 'LANG x\x7fjunk', `LANG ${'q'.repeat(300)}`]) {
      expect(await c.cmd(line)).toMatch(/^-ERR [^[]/);
    }
    expect(await c.cmd('UTF8')).toBe('+OK UTF8 enabled');
    expect(await c.cmd(Buffer.from('USER jürgen', 'utf8'))).toBe('+OK send PASS');
    expect(await c.cmd(Buffer.from('PASS pässwörd', 'utf8'))).toMatch(/^\+OK maildrop has 1 messages/);
    expect(seen.map((r) => r.user)).toEqual(['jürgen']);
    for (const line of ['UTF8', 'LANG', 'LANG en']) expect(await c.cmd(line)).toMatch(/^-ERR/);
    expect(await c.cmd('RETR 1')).toMatch(/^\+OK/);
    expect((await c.body()).equals(stuffed(Buffer.from('Subject: für dich\r\n\r\nGrüße\r\n')))).toBe(true);
  });
});

// ---- adversarial server cases -----------------------------------------------------------------------

describe('adversarial server cases', () => {
  it('server case 7: plaintext sent in a later segment, before the STLS +OK is read, never runs as a command', async () => {
    const { connect } = await start({ ...tlsOpts(), allowInsecureAuth: true });
    for (let i = 0; i < 5; i++) {
      const c = await connect();
      await c.line();
      c.send('STLS\r\n');
      await pause(i * 5); // before or after the server has answered
      c.send('CAPA\r\nUSER alice\r\n');
      expect(await c.closedWithin()).toBe(true);
      const text = c.buffered.toString('latin1');
      expect(text).not.toMatch(/capability|send PASS/);
      expect(text === '' || text.startsWith('+OK begin TLS negotiation\r\n')).toBe(true);
      expect(text.split('+OK').length - 1).toBeLessThanOrEqual(1);
    }
  });

  it('server case 10: a client that never sends a ClientHello on the implicit TLS port times out and frees its slot', async () => {
    const { port, server } = await start(
      { ...tlsOpts(), limits: { handshakeTimeoutMs: 300, maxConnectionsPerAddress: 1 } },
      { implicitTls: true },
    );
    const disconnects: string[] = [];
    server.on('disconnect', (info) => disconnects.push(info.reason));
    const silent = await LineClient.connect(port);
    clients.push(silent);
    expect(await silent.closedWithin(3000)).toBe(true);
    expect(silent.buffered.length).toBe(0);
    expect(disconnects).toEqual(['tls']);
    const c = await LineClient.connect(port, { implicitTls: true });
    clients.push(c);
    expect(await c.line()).toBe('+OK POP3 server ready');
  });

  it('server case 10: a client that leaves in the middle of a TLS handshake frees its slot and session at once, not at the timeout', async () => {
    const { port, server } = await start(
      { ...tlsOpts(), limits: { handshakeTimeoutMs: 30_000, maxConnectionsPerAddress: 1 } },
      { implicitTls: false },
    );
    const implicitPort = (await server.listen({ port: 0, implicitTls: true })).port;
    const reasons: string[] = [];
    server.on('disconnect', (info) => reasons.push(info.reason));
    const partialHello = Buffer.from([0x16, 0x03, 0x01, 0x00]);
    // Implicit TLS: half a ClientHello, then gone.
    const a = await LineClient.connect(implicitPort);
    clients.push(a);
    a.send(partialHello);
    await pause(50);
    a.socket.end();
    expect(await a.closedWithin(2000)).toBe(true);
    const until = async (cond: () => boolean) => {
      const deadline = Date.now() + 2000; // far below the 30 s handshake timeout
      while (!cond() && Date.now() < deadline) await pause(20);
    };
    await until(() => reasons.length === 1);
    expect(reasons).toEqual(['tls']);
    await pause(20);
    const b = await LineClient.connect(implicitPort, { implicitTls: true });
    clients.push(b);
    expect(await b.line(2000)).toBe('+OK POP3 server ready');
    b.close();
    await pause(100);
    // STLS: the same after the +OK.
    const c = await LineClient.connect(port);
    clients.push(c);
    await c.line();
    expect(await c.cmd('STLS')).toMatch(/^\+OK/);
    c.send(partialHello);
    await pause(50);
    c.socket.end();
    await until(() => server.sessionCount === 0);
    expect(server.sessionCount).toBe(0);
    expect(await c.closedWithin(1000)).toBe(true); // the connection itself is closed, not just the session
    expect(reasons.filter((r) => r === 'tls')).toHaveLength(2);
    const d = await LineClient.connect(port);
    clients.push(d);
    expect(await d.line(2000)).toBe('+OK POP3 server ready');
  });

  it('server case 10: a client that closes right after the TLS handshake (STLS or implicit) ends its session at once', async () => {
    const { port, server } = await start({ ...tlsOpts() });
    const implicitPort = (await server.listen({ port: 0, implicitTls: true })).port;
    const reasons: string[] = [];
    server.on('disconnect', (info) => reasons.push(info.reason));
    const handshakeThenEnd = async (socket: net.Socket) => {
      const secure = tls.connect({ socket, servername: 'localhost', ca: testCerts().ca });
      secure.on('error', () => {});
      await new Promise<void>((resolve) => secure.once('secureConnect', () => resolve()));
      secure.end(); // right away: close_notify and FIN may arrive with the client's Finished
    };
    for (let i = 0; i < 10; i++) {
      const c = await LineClient.connect(port);
      clients.push(c);
      await c.line();
      expect(await c.cmd('STLS')).toMatch(/^\+OK/);
      c.socket.removeAllListeners('data');
      await handshakeThenEnd(c.socket);
      const raw = net.connect(implicitPort, '127.0.0.1');
      raw.on('error', () => {});
      await new Promise<void>((resolve) => raw.once('connect', () => resolve()));
      await handshakeThenEnd(raw);
    }
    // The same over an in-process stream (handle() takes any duplex), where the client's Finished,
    // close_notify and end reliably arrive together: the TLS socket has ended before the session
    // starts reading it.
    for (let i = 0; i < 5; i++) {
      const up = new PassThrough();
      const down = new PassThrough();
      server.handle(Duplex.from({ readable: up, writable: down }));
      const client = Duplex.from({ readable: down, writable: up });
      client.on('error', () => {});
      let seen = '';
      const onData = (d: Buffer) => {
        seen += d.toString('latin1');
      };
      client.on('data', onData);
      client.write('STLS\r\n');
      const until = Date.now() + 2000;
      while (!seen.includes('negotiation') && Date.now() < until) await pause(5);
      client.off('data', onData);
      client.pause();
      await handshakeThenEnd(client as net.Socket);
    }
    // The pre-login timeout is 60 s: sessions that missed the end would still be open.
    const deadline = Date.now() + 3000;
    while (reasons.length < 25 && Date.now() < deadline) await pause(20);
    expect(reasons).toHaveLength(25);
    expect(server.sessionCount).toBe(0);
  });

  it('server case 13: bad base64, spaces or padding in SASL data are -ERR, and AUTH still works after', async () => {
    const { connect } = await start({ allowInsecureAuth: true, limits: { maxBadCommands: 100 } });
    const c = await connect();
    await c.line();
    const initial = ['AAA', 'AA=A', 'A===', '====', 'AAAA===', 'AB==', 'QQ=', 'AA\tAA', 'AAAA ', ' AAAA'];
    for (const ir of initial) expect(await c.cmd(`AUTH PLAIN ${ir}`), ir).toMatch(/^-ERR [^[]/);
    const continuation = ['AAA', 'AA AA', ' AAAA', 'AAAA ', 'AAAA\t', 'AA==AA==', 'QUJD\u00e9', '!!!!'];
    for (const line of continuation) {
      expect(await c.cmd('AUTH PLAIN')).toBe('+ ');
      expect(await c.cmd(line), JSON.stringify(line)).toMatch(/^-ERR [^[]/);
    }
    expect(await c.cmd(`AUTH PLAIN ${b64(`\0alice\0${PASSWORD}`)}`)).toMatch(/^\+OK maildrop/);
  });

  it('server case 16: a 4 KiB PLAIN message is a bounded -ERR [AUTH]; a 40 KiB continuation line ends the session', async () => {
    const { connect } = await start({ allowInsecureAuth: true });
    const c = await connect();
    await c.line();
    expect(await c.cmd('AUTH PLAIN')).toBe('+ ');
    const big = b64(`\0${'a'.repeat(2048)}\0${'p'.repeat(2046)}`);
    const t0 = Date.now();
    expect(await c.cmd(big)).toBe('-ERR [AUTH] authentication failed');
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(await c.cmd(`AUTH PLAIN ${b64(`\0alice\0${PASSWORD}`)}`)).toMatch(/^\+OK/);
    const d = await connect();
    await d.line();
    expect(await d.cmd('AUTH PLAIN')).toBe('+ ');
    d.send(`${'QUFB'.repeat(10 * 1024)}\r\n`);
    expect(await d.line()).toBe('-ERR line too long');
    expect(await d.closedWithin()).toBe(true);
  });

  it('S20, server case 17: PLAIN with 0, 1 or 3 NULs fails, before any password check', async () => {
    const calls: AuthRequest[] = [];
    const { connect } = await start({
      allowInsecureAuth: true,
      limits: { maxFailedLogins: 10 },
      authenticate: (req) => {
        calls.push(req);
        return req.pass === PASSWORD;
      },
    });
    const c = await connect();
    await c.line();
    for (const message of [
      `alice${PASSWORD}`,
      `alice\0${PASSWORD}`,
      `\0alice\0${PASSWORD}\0`,
      `\0\0alice\0${PASSWORD}`,
    ]) {
      expect(await c.cmd(`AUTH PLAIN ${b64(message)}`), JSON.stringify(message)).toBe(
        '-ERR [AUTH] authentication failed',
      );
    }
    expect(calls).toEqual([]);
    expect(await c.cmd(`AUTH PLAIN ${b64(`\0alice\0${PASSWORD}`)}`)).toMatch(/^\+OK/);
  });

  it('server case 18: CR/LF inside decoded PLAIN or LOGIN fields fail, and never reach the backend or the log', async () => {
    const logged: string[] = [];
    const log = (o: object, m?: string) => logged.push(`${m} ${JSON.stringify(o)}`);
    const logger: Logger = { debug: log, info: log, warn: log, error: log };
    const calls: AuthRequest[] = [];
    const { connect } = await start({
      allowInsecureAuth: true,
      logger,
      limits: { maxFailedLogins: 10 },
      authenticate: (req) => {
        calls.push(req);
        return false;
      },
    });
    const c = await connect();
    await c.line();
    const secret = 'Zq9secret';
    for (const message of [
      `\0alice\0${secret}\r\nDELE 1`,
      `\0al\r\nice\0${secret}`,
      `al\nice\0alice\0${secret}`,
      `\0alice\0${secret}\n`,
    ]) {
      expect(await c.cmd(`AUTH PLAIN ${b64(message)}`)).toBe('-ERR [AUTH] authentication failed');
    }
    expect(await c.cmd('AUTH LOGIN')).toMatch(/^\+ /);
    const prompt = await c.cmd(b64('al\r\nice'));
    if (prompt.startsWith('+ ')) expect(await c.cmd(b64(secret))).toBe('-ERR [AUTH] authentication failed');
    else expect(prompt).toBe('-ERR [AUTH] authentication failed');
    expect(calls).toEqual([]);
    const all = logged.join('\n');
    expect(all).not.toContain(secret);
    expect(all).not.toMatch(/DELE 1|al\\r\\nice|al\r\nice/);
  });

  it('server case 19: an authzid other than the user fails without a password check; the user as authzid works', async () => {
    const calls: AuthRequest[] = [];
    const { connect } = await start({
      allowInsecureAuth: true,
      authenticate: (req) => {
        calls.push(req);
        return (req.user === 'alice' || req.user === 'bob') && req.pass === PASSWORD;
      },
    });
    const c = await connect();
    await c.line();
    expect(await c.cmd(`AUTH PLAIN ${b64(`bob\0alice\0${PASSWORD}`)}`)).toBe(
      '-ERR [AUTH] authentication failed',
    );
    expect(calls).toEqual([]);
    expect(await c.cmd(`AUTH PLAIN ${b64(`alice\0alice\0${PASSWORD}`)}`)).toMatch(/^\+OK maildrop has 3/);
  });

  it('server case 23: 1,000 failed PASS attempts are throttled per connection; replies and timing do not tell users apart', async () => {
    const { port } = await start({
      allowInsecureAuth: true,
      limits: { failedLoginDelayMs: 30, maxFailedLogins: 3 },
    });
    const attempt = async (users: string[]) => {
      const c = await LineClient.connect(port);
      clients.push(c);
      await c.line();
      const t0 = Date.now();
      c.send(users.map((u, i) => `USER ${u}\r\nPASS wrong${i}\r\n`).join(''));
      const replies: string[] = [];
      for (let i = 0; i < users.length * 2; i++) replies.push(await c.line());
      const ms = Date.now() - t0;
      const closed = await c.closedWithin();
      c.close();
      return { replies, ms, closed };
    };
    let attempts = 0;
    for (let batch = 0; attempts < 1000; batch++) {
      const runs = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          attempt([0, 1, 2].map((k) => ((batch + i + k) % 2 === 0 ? 'alice' : `ghost${batch}x${i}x${k}`))),
        ),
      );
      for (const run of runs) {
        attempts += 3;
        expect(run.replies).toEqual(
          Array(3).fill(['+OK send PASS', '-ERR [AUTH] authentication failed']).flat(),
        );
        expect(run.closed).toBe(true); // the third failure ends the connection
        expect(run.ms).toBeGreaterThanOrEqual(3 * 30 - 5); // each failure waited out the delay
      }
    }
    // With a real password hash, a known user with a wrong password and an unknown user take the same time.
    const users = UsersFile.parse(`alice:${await hashPassword(PASSWORD)}\n`);
    const timed = await start({
      users,
      authenticate: undefined,
      allowInsecureAuth: true,
      limits: { failedLoginDelayMs: 250, maxFailedLogins: 100 },
    });
    const c = await timed.connect();
    await c.line();
    const times: Record<string, number[]> = { alice: [], nobody: [] };
    for (let i = 0; i < 6; i++) {
      for (const user of ['alice', 'nobody']) {
        expect(await c.cmd(`USER ${user}`)).toBe('+OK send PASS');
        const t0 = Date.now();
        expect(await c.cmd('PASS wrong')).toBe('-ERR [AUTH] authentication failed');
        times[user]!.push(Date.now() - t0);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    for (const xs of Object.values(times)) for (const t of xs) expect(t).toBeGreaterThanOrEqual(245);
    expect(Math.abs(median(times.alice!) - median(times.nobody!))).toBeLessThan(60);
  }, 60_000);

  it('server case 33: a stored 10 MiB line with dot lines and no final newline is stuffed, ends CRLF.CRLF, sized per §11', async () => {
    const stored = Buffer.concat([
      Buffer.from('Subject: huge\r\n\r\n.'),
      Buffer.alloc(10 * 1024 * 1024, 'x'),
      Buffer.from('\r\n..\n.\r\n\0end'),
    ]);
    const store = new MemoryStore();
    store.add('alice', stored);
    const { connect } = await start({ store, allowInsecureAuth: true });
    const c = await connect();
    await c.line();
    await login(c);
    const octets = wireForm(stored).length;
    expect(await c.cmd('LIST 1')).toBe(`+OK 1 ${octets}`);
    expect(await c.cmd('RETR 1')).toBe(`+OK ${octets} octets`);
    const body = await c.body(20_000);
    expect(body.equals(stuffed(stored))).toBe(true);
    expect(await c.cmd('TOP 1 0')).toMatch(/^\+OK/);
    expect((await c.body()).toString('latin1')).toBe('Subject: huge\r\n\r\n.\r\n');
  });

  it('server case 34: a NUL in a header name and 100k address headers: served whole, TOP cut right, in bounded time', async () => {
    const header = Buffer.from(
      `X-\0Bad: 1\r\n${'To: someone@example.org\r\n'.repeat(100_000)}Subject: flood\r\n`,
    );
    const stored = Buffer.concat([header, Buffer.from('\r\nline one\r\nline two\r\n')]);
    const store = new MemoryStore();
    store.add('alice', stored);
    const { connect } = await start({ store, allowInsecureAuth: true });
    const c = await connect();
    await c.line();
    await login(c);
    const t0 = Date.now();
    expect(await c.cmd('RETR 1')).toMatch(/^\+OK/);
    expect((await c.body()).equals(stuffed(stored))).toBe(true);
    expect(await c.cmd('TOP 1 1')).toMatch(/^\+OK/);
    expect((await c.body()).equals(Buffer.concat([header, Buffer.from('\r\nline one\r\n.\r\n')]))).toBe(true);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(await c.cmd('NOOP')).toBe('+OK');
  });

  it('server case 37: a connect/disconnect storm leaves the server stable, every slot and lock released', async () => {
    const store = seed();
    store.add('bob', `Subject: big\r\n\r\n${'y'.repeat(998)}\r\n`.repeat(3000));
    const { port, server, connect } = await start({ store, allowInsecureAuth: true, ...tlsOpts() });
    let connects = 0;
    let disconnects = 0;
    server.on('connect', () => connects++);
    server.on('disconnect', () => disconnects++);
    const abrupt = async (kind: number) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => {});
      await new Promise<void>((resolve) =>
        socket.once('connect', () => resolve()).once('error', () => resolve()),
      );
      const w = new LineClient(socket);
      if (kind === 0) return socket.destroy(); // gone before the greeting
      await w.line().catch(() => '');
      if (kind === 1) return socket.resetAndDestroy();
      if (kind === 2) {
        w.send('USER alice\r\nPA'); // half a command
        return socket.destroy();
      }
      if (kind === 3) {
        w.send('STLS\r\n'); // then vanish mid-handshake
        await w.line().catch(() => '');
        socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00]));
        return socket.destroy();
      }
      w.send(`USER bob\r\nPASS ${PASSWORD}\r\nRETR 1\r\n`); // reset in the middle of a 3 MB reply
      await w.line().catch(() => '');
      await w.line().catch(() => '');
      socket.resetAndDestroy();
    };
    for (let round = 0; round < 10; round++) {
      await Promise.all(Array.from({ length: 40 }, (_, i) => abrupt((round + i) % 5)));
    }
    const deadline = Date.now() + 10_000;
    while ((server.sessionCount > 0 || disconnects < connects) && Date.now() < deadline) await pause(20);
    expect(server.sessionCount).toBe(0);
    expect(disconnects).toBe(connects);
    expect(store.isLocked('bob')).toBe(false);
    await pause(300); // the last sockets' close events give their slots back
    // Every per-address slot is free again: the full 50 connect and are greeted.
    const many = await Promise.all(Array.from({ length: 50 }, () => connect()));
    for (const w of many) expect(await w.line()).toBe('+OK POP3 server ready');
    for (const w of many) w.close();
    await pause(300);
    const c = await connect();
    await c.line();
    expect(await login(c, 'bob')).toMatch(/^\+OK maildrop has 1 messages/);
    expect(await c.cmd('RETR 1')).toMatch(/^\+OK/);
    expect((await c.body(10_000)).length).toBeGreaterThan(3_000_000);
  }, 60_000);

  it('server case 38: input starting with [ or holding escape sequences is never echoed; every status line is <= 512 octets', async () => {
    const { connect } = await start({
      allowInsecureAuth: true,
      limits: { maxBadCommands: 1000, maxFailedLogins: 100 },
    });
    const c = await connect();
    await c.line();
    const nasty = [
      '[AUTH] hello',
      'XYZ [IN-USE]',
      '\x1b[31mRED',
      'USER [SYS/PERM]',
      'USER \x1b]0;title\x07',
      `USER ${'['.repeat(300)}`,
      `USER ${'['.repeat(250)}`,
      `PASS [SYS/PERM] ${'z'.repeat(1500)}`,
      'AUTH [PLAIN]',
      `AUTH ${'['.repeat(40)}`,
      `NOOP ${'\u2028'.repeat(100)}`,
    ];
    const afterLogin = [
      'RETR [1]',
      'TOP 1 [2]',
      'LIST [SYS/TEMP]',
      'DELE 1\x1b[2J',
      `UIDL ${'9'.repeat(1000)}`,
    ];
    const check = (reply: string, input: string) => {
      expect(Buffer.byteLength(reply, 'latin1') + 2, input).toBeLessThanOrEqual(512);
      expect(reply, input).toMatch(/^(\+OK|-ERR)( [\x20-\x7e]*)?$/);
      const text = reply.replace(/^(\+OK|-ERR) ?/, '');
      if (text.startsWith('[')) expect(text, input).toMatch(KNOWN_CODES);
      for (const marker of ['RED', 'title', 'SYS/PERM', 'IN-USE', '[1]', '[2]', 'zzz']) {
        expect(reply, input).not.toContain(marker);
      }
    };
    for (const input of nasty) check(await c.cmd(Buffer.from(input, 'utf8')), input);
    await login(c);
    for (const input of afterLogin) check(await c.cmd(Buffer.from(input, 'utf8')), input);
  });
});

// ---- the list above is complete --------------------------------------------------------------------

describe('CONFORMANCE.md coverage', () => {
  it('every server rule S1-S23 and server case 1-40 is a test here or mapped to an existing test', () => {
    const self = readFileSync(fileURLToPath(import.meta.url), 'utf8');
    const basic = readFileSync(fileURLToPath(new URL('./server-basic.test.ts', import.meta.url)), 'utf8');
    const covered = new Set<string>();
    // Test names here: "S4, server case 31: ..." -> S4, case 31.
    for (const [, name] of self.matchAll(/\bit\(\s*'([^']+)'/g)) {
      const label = name!.split(':')[0]!;
      for (const [, id] of label.matchAll(/\b(S\d+)\b/g)) covered.add(id!);
      for (const [, n] of label.matchAll(/server case (\d+)/g)) covered.add(`case ${n}`);
    }
    const missingNames: string[] = [];
    for (const [, id, name] of self.matchAll(/^ \* MAP (S\d+|case \d+) -> "(.+)"$/gm)) {
      covered.add(id!);
      if (!basic.includes(`it('${name}'`)) missingNames.push(name!);
    }
    expect(missingNames).toEqual([]);
    const wanted = [
      ...Array.from({ length: 23 }, (_, i) => `S${i + 1}`),
      ...Array.from({ length: 40 }, (_, i) => `case ${i + 1}`),
    ];
    expect(wanted.filter((id) => !covered.has(id))).toEqual([]);
  });
});
