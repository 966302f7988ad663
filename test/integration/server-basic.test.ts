import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { beginClientAuth, createClientMechanism } from '../../src/protocol/sasl/client/index.js';
import {
  hashPassword,
  type Logger,
  MaildirStore,
  MemoryStore,
  Pop3Server,
  type ServerEvents,
  UsersFile,
} from '../../src/server/index.js';
import { testCerts } from '../helpers/certs.js';
import { LineClient, WAIT_MS } from '../helpers/pop3-wire.js';
import {
  login,
  PASSWORD,
  SEED_WIRE_SIZES,
  SEED_WIRE_TOTAL,
  seed,
  useServerFixture,
} from '../helpers/server-fixture.js';

// The server driven by raw sockets: every byte on the wire is the test's, so what is checked is the
// protocol itself, not a client library's reading of it. Each wait is bounded.

const WAIT = WAIT_MS;

const { servers, clients, start } = useServerFixture();

const sizes = SEED_WIRE_SIZES;
const TOTAL = SEED_WIRE_TOTAL;

describe('RFC 1939 session', () => {
  it('greets, lists, retrieves, deletes, resets and quits', async () => {
    const { connect, store } = await start({ allowInsecureAuth: true });
    const c = await connect();
    expect(await c.line()).toBe('+OK POP3 server ready');
    expect(await login(c)).toBe(`+OK maildrop has 3 messages (${TOTAL} octets)`);
    expect(await c.cmd('STAT')).toBe(`+OK 3 ${TOTAL}`);
    expect(await c.cmd('LIST')).toBe(`+OK 3 messages (${TOTAL} octets)`);
    expect(await c.lines()).toEqual(sizes.map((s, i) => `${i + 1} ${s}`));
    expect(await c.cmd('LIST 2')).toBe(`+OK 2 ${sizes[1]}`);
    const uids = store.list('alice').map((m) => m.uid);
    expect(await c.cmd('UIDL')).toBe('+OK');
    expect(await c.lines()).toEqual(uids.map((u, i) => `${i + 1} ${u}`));
    expect(await c.cmd('UIDL 3')).toBe(`+OK 3 ${uids[2]}`);

    // Dot-stuffing, bare LF to CRLF, a final CRLF added; sizes as LIST said (W4, W5).
    expect(await c.cmd('RETR 1')).toBe(`+OK ${sizes[0]} octets`);
    expect(await c.bodyText()).toBe(
      'Subject: one\r\nFrom: a@example.org\r\n\r\nfirst body\r\n..hidden dot\r\n.\r\n',
    );
    expect(await c.cmd('RETR 2')).toBe(`+OK ${sizes[1]} octets`);
    expect(await c.bodyText()).toBe('Subject: two\r\n\r\nbare LF\r\nlines\r\n.\r\n');
    expect(await c.cmd('RETR 3')).toBe(`+OK ${sizes[2]} octets`);
    expect(await c.bodyText()).toBe('Subject: three\r\n\r\nno final newline\r\n.\r\n');

    expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);
    // A deleted message is gone from every listing and every command (S5, case 26).
    expect(await c.cmd('STAT')).toBe(`+OK 2 ${sizes[1]! + sizes[2]!}`);
    expect(await c.cmd('LIST')).toMatch(/^\+OK 2 messages/);
    expect(await c.lines()).toEqual([`2 ${sizes[1]}`, `3 ${sizes[2]}`]);
    expect(await c.cmd('UIDL')).toBe('+OK');
    expect(await c.lines()).toEqual([`2 ${uids[1]}`, `3 ${uids[2]}`]);
    for (const cmd of ['LIST 1', 'UIDL 1', 'RETR 1', 'TOP 1 0', 'DELE 1']) {
      expect(await c.cmd(cmd)).toBe('-ERR no such message');
    }
    expect(await c.cmd('RSET')).toBe(`+OK maildrop has 3 messages (${TOTAL} octets)`);
    expect(await c.cmd('LIST 1')).toBe(`+OK 1 ${sizes[0]}`);
    expect(await c.cmd('NOOP')).toBe('+OK');
    expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
    expect(await c.closedWithin()).toBe(true);
    expect(store.list('alice')).toHaveLength(3);
    expect(store.isLocked('alice')).toBe(false);
  });

  it('an empty maildrop', async () => {
    const { connect } = await start({ allowInsecureAuth: true });
    const c = await connect();
    await c.line();
    expect(await login(c, 'bob')).toBe('+OK maildrop has 0 messages (0 octets)');
    expect(await c.cmd('STAT')).toBe('+OK 0 0');
    expect(await c.cmd('LIST')).toMatch(/^\+OK/);
    expect(await c.bodyText()).toBe('.\r\n');
    expect(await c.cmd('UIDL')).toBe('+OK');
    expect(await c.bodyText()).toBe('.\r\n');
    expect(await c.cmd('RETR 1')).toBe('-ERR no such message');
  });

  it('DELE then QUIT removes exactly the marked messages (S6)', async () => {
    const { connect, store } = await start({ allowInsecureAuth: true });
    const before = store.list('alice').map((m) => m.uid);
    const c = await connect();
    await c.line();
    await login(c);
    expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);
    expect(await c.cmd('DELE 3')).toMatch(/^\+OK/);
    expect(await c.cmd('QUIT')).toBe('+OK bye (1 messages left)');
    expect(await c.closedWithin()).toBe(true);
    expect(store.list('alice').map((m) => m.uid)).toEqual([before[1]]);
    expect(store.isLocked('alice')).toBe(false);
  });

  it('DELE then a dropped connection removes nothing and releases the lock (case 28)', async () => {
    const { connect, store, server } = await start({ allowInsecureAuth: true });
    const c = await connect();
    await c.line();
    await login(c);
    expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);
    const gone = new Promise<void>((resolve) => server.once('logout', () => resolve()));
    c.socket.resetAndDestroy();
    await gone;
    expect(store.list('alice')).toHaveLength(3);
    expect(store.isLocked('alice')).toBe(false);
    const d = await connect();
    await d.line();
    expect(await login(d)).toMatch(/^\+OK maildrop has 3 messages/);
  });

  it('QUIT in AUTHORIZATION closes without UPDATE (case 29)', async () => {
    const { connect } = await start({ allowInsecureAuth: true });
    const c = await connect();
    await c.line();
    expect(await c.cmd('QUIT')).toBe('+OK bye');
    expect(await c.closedWithin()).toBe(true);
  });

  it('a second session for the same maildrop gets [IN-USE], only with valid credentials (S3, case 30)', async () => {
    const { connect, store } = await start({ allowInsecureAuth: true });
    const a = await connect();
    await a.line();
    await login(a);
    const b = await connect();
    await b.line();
    expect(await login(b, 'alice', 'wrong')).toBe('-ERR [AUTH] authentication failed');
    expect(await login(b)).toBe('-ERR [IN-USE] maildrop is locked by another session');
    // Still in AUTHORIZATION: STAT is refused; once the holder quits, the login works.
    expect(await b.cmd('STAT')).toMatch(/^-ERR/);
    expect(await a.cmd('QUIT')).toMatch(/^\+OK/);
    await a.closedWithin();
    expect(await login(b)).toMatch(/^\+OK/);
    expect(store.isLocked('alice')).toBe(true);
  });

  it('refuses malformed message numbers (case 25) and arguments (cases 4, 6)', async () => {
    const { connect } = await start({ allowInsecureAuth: true, limits: { maxBadCommands: 100 } });
    const c = await connect();
    await c.line();
    expect(await c.cmd('RETR 1')).toMatch(/^-ERR/); // before login
    expect(await c.cmd('PASS x')).toMatch(/^-ERR/); // PASS without USER
    await login(c);
    expect(await c.cmd('USER alice')).toMatch(/^-ERR/); // after login
    for (const n of ['0', '-1', '+1', '01', '1x', '100000000000', '4']) {
      expect(await c.cmd(`RETR ${n}`)).toBe('-ERR no such message');
      expect(await c.cmd(`LIST ${n}`)).toBe('-ERR no such message');
    }
    expect(await c.cmd('LIST  1')).toBe('-ERR syntax error');
    expect(await c.cmd('LIST 1 2')).toBe('-ERR syntax error');
    expect(await c.cmd('TOP 1')).toBe('-ERR syntax error');
    expect(await c.cmd('TOP 1 -1')).toBe('-ERR invalid line count');
    expect(await c.cmd('rEtR 2')).toMatch(/^\+OK/);
    await c.bodyText();
    expect(await c.cmd('XYZZY')).toBe('-ERR unknown command');
    expect(await c.cmd('LAST')).toBe('-ERR unknown command');
  });

  it('TOP: n = 0, n in the body, n past it, headers only, no blank line (S8, case 32)', async () => {
    const store = new MemoryStore();
    store.add('alice', 'A: 1\r\nB: 2\r\n\r\nl1\r\n.l2\r\nl3\r\n');
    store.add('alice', 'A: 1\r\n\r\n');
    store.add('alice', 'A: 1\r\nB: 2\r\n');
    store.add('alice', 'A: 1\n\nl1\nl2');
    const { connect } = await start({ store, allowInsecureAuth: true });
    const c = await connect();
    await c.line();
    await login(c);
    const top = async (args: string) => {
      expect(await c.cmd(`TOP ${args}`)).toBe('+OK top of message follows');
      return c.bodyText();
    };
    expect(await top('1 0')).toBe('A: 1\r\nB: 2\r\n\r\n.\r\n');
    expect(await top('1 2')).toBe('A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\n.\r\n');
    expect(await top('1 1000000')).toBe('A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n');
    expect(await top('2 5')).toBe('A: 1\r\n\r\n.\r\n');
    expect(await top('3 0')).toBe('A: 1\r\nB: 2\r\n.\r\n');
    expect(await top('4 1')).toBe('A: 1\r\n\r\nl1\r\n.\r\n');
    expect(await top('4 2')).toBe('A: 1\r\n\r\nl1\r\nl2\r\n.\r\n');
  });

  it('RETR sends exactly the octets LIST reports, for awkward stored messages (W4, W5, case 33)', async () => {
    const store = new MemoryStore();
    const stored = [
      '',
      '\n',
      '\r',
      '.',
      '.\n',
      'a\r',
      'x\0y\r\n',
      '\r\n.\r\n',
      'A: 1\n\n..\n.\r\nend',
      '\xff\xfe\n',
    ];
    for (const m of stored) store.add('alice', Buffer.from(m, 'latin1'));
    const { connect } = await start({ store, allowInsecureAuth: true });
    const c = await connect();
    await c.line();
    await login(c);
    expect(await c.cmd('LIST')).toMatch(/^\+OK/);
    const listed = (await c.lines()).map((l) => Number(l.split(' ')[1]));
    for (let i = 0; i < stored.length; i++) {
      expect(await c.cmd(`RETR ${i + 1}`)).toBe(`+OK ${listed[i]} octets`);
      const body = await c.bodyText();
      expect(body.endsWith('\r\n.\r\n') || body === '.\r\n').toBe(true);
      // Unstuff: drop the terminator, then one leading dot of every line.
      const unstuffed = body.slice(0, -3).replace(/(^|\r\n)\./g, '$1');
      expect(Buffer.byteLength(unstuffed, 'latin1')).toBe(listed[i]);
    }
    expect(listed[0]).toBe(2); // an empty file is one CRLF on the wire
  });

  it('answers pipelined commands in order (S14)', async () => {
    const { connect } = await start({ allowInsecureAuth: true });
    const c = await connect();
    await c.line();
    c.send(
      `USER alice\r\nPASS ${PASSWORD}\r\nSTAT\r\nLIST 2\r\nRETR 2\r\nNOOP\r\nUIDL 9\r\nDELE 2\r\nSTAT\r\n`,
    );
    expect(await c.line()).toMatch(/^\+OK/);
    expect(await c.line()).toMatch(/^\+OK maildrop has 3/);
    expect(await c.line()).toBe(`+OK 3 ${TOTAL}`);
    expect(await c.line()).toBe(`+OK 2 ${sizes[1]}`);
    expect(await c.line()).toBe(`+OK ${sizes[1]} octets`);
    expect(await c.bodyText()).toBe('Subject: two\r\n\r\nbare LF\r\nlines\r\n.\r\n');
    expect(await c.line()).toBe('+OK');
    expect(await c.line()).toBe('-ERR no such message');
    expect(await c.line()).toMatch(/^\+OK/);
    expect(await c.line()).toBe(`+OK 2 ${TOTAL - sizes[1]!}`);
  });

  it('CAPA in both states, the same list (S12)', async () => {
    const { connect } = await start({
      allowInsecureAuth: true,
      capabilities: { expire: 'NEVER', implementation: 'pop3kit test', utf8: true },
    });
    const c = await connect();
    await c.line();
    expect(await c.cmd('CAPA')).toMatch(/^\+OK/);
    const before = await c.lines();
    expect(before).toEqual([
      'TOP',
      'UIDL',
      'RESP-CODES',
      'AUTH-RESP-CODE',
      'PIPELINING',
      'USER',
      'SASL PLAIN LOGIN',
      'UTF8',
      'EXPIRE NEVER',
      'IMPLEMENTATION pop3kit test',
    ]);
    expect(await c.cmd('UTF8')).toBe('+OK UTF8 enabled');
    await login(c);
    expect(await c.cmd('CAPA')).toMatch(/^\+OK/);
    expect(await c.lines()).toEqual(before);
    expect(await c.cmd('UTF8')).toMatch(/^-ERR/); // only in AUTHORIZATION (case 40)
  });
});

describe('over a Maildir', () => {
  it('serves a Maildir: RETR, DELE+QUIT unlinks, and the lock holds across two servers', async () => {
    const root = await mkdtemp(join(tmpdir(), 'pop3kit-server-'));
    try {
      const dir = join(root, 'alice');
      for (const sub of ['new', 'cur', 'tmp']) await mkdir(join(dir, sub), { recursive: true });
      await writeFile(join(dir, 'new', '1700000000.a1.host'), 'Subject: a\n\n.one\n');
      await writeFile(join(dir, 'cur', '1700000001.b2.host:2,S'), 'Subject: b\n\ntwo\n');
      const first = await start({ store: new MaildirStore({ root }), allowInsecureAuth: true });
      const second = await start({ store: new MaildirStore({ root }), allowInsecureAuth: true });
      const c = await first.connect();
      await c.line();
      expect(await login(c)).toMatch(/^\+OK maildrop has 2 messages/);
      const d = await second.connect();
      await d.line();
      expect(await login(d)).toMatch(/^-ERR \[IN-USE\]/);
      expect(await c.cmd('UIDL')).toBe('+OK');
      const uids = (await c.lines()).map((l) => l.split(' ')[1]);
      expect(uids).toHaveLength(2);
      const which = uids.findIndex((u) => u?.startsWith('1700000000'));
      expect(await c.cmd(`RETR ${which + 1}`)).toBe('+OK 20 octets');
      expect(await c.bodyText()).toBe('Subject: a\r\n\r\n..one\r\n.\r\n');
      expect(await c.cmd(`DELE ${which + 1}`)).toMatch(/^\+OK/);
      expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
      await c.closedWithin();
      expect(await readdir(join(dir, 'new'))).toEqual([]);
      expect(await readdir(join(dir, 'cur'))).toEqual(['1700000001.b2.host:2,S']);
      expect(await login(d)).toMatch(/^\+OK maildrop has 1 messages/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('authentication', () => {
  it('without TLS, USER/PASS and PLAIN are neither advertised nor accepted (S12, case 11)', async () => {
    const users = UsersFile.parse(`alice:{PLAIN}${PASSWORD}\n`);
    const { connect } = await start({ users, authenticate: undefined });
    const c = await connect();
    await c.line();
    expect(await c.cmd('CAPA')).toMatch(/^\+OK/);
    const caps = await c.lines();
    expect(caps).not.toContain('USER');
    expect(caps).toContain('SASL SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5');
    expect(await c.cmd('USER alice')).toMatch(/^-ERR/);
    expect(await c.cmd(`PASS ${PASSWORD}`)).toMatch(/^-ERR/);
    const ir = Buffer.from(`\0alice\0${PASSWORD}`).toString('base64');
    expect(await c.cmd(`AUTH PLAIN ${ir}`)).toMatch(/^-ERR/);
    expect(await c.cmd('AUTH LOGIN')).toMatch(/^-ERR/);
    expect(await c.cmd('STAT')).toMatch(/^-ERR/);
  });

  it('a wrong password and an unknown user get the same reply, after the delay (case 23)', async () => {
    const delay = 300;
    const { connect } = await start({ allowInsecureAuth: true, limits: { failedLoginDelayMs: delay } });
    const c = await connect();
    await c.line();
    for (const user of ['alice', 'nobody']) {
      expect(await c.cmd(`USER ${user}`)).toBe('+OK send PASS');
      const t0 = Date.now();
      expect(await c.cmd('PASS wrong')).toBe('-ERR [AUTH] authentication failed');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(delay - 20);
    }
  });

  it('closes after maxFailedLogins', async () => {
    const { connect } = await start({ allowInsecureAuth: true, limits: { maxFailedLogins: 2 } });
    const c = await connect();
    await c.line();
    expect(await login(c, 'alice', 'x')).toBe('-ERR [AUTH] authentication failed');
    expect(await login(c, 'alice', 'y')).toBe('-ERR [AUTH] authentication failed');
    expect(await c.closedWithin()).toBe(true);
  });

  it('PASS takes the rest of the line, spaces included (S10, case 4)', async () => {
    const { connect } = await start({ allowInsecureAuth: true });
    const c = await connect();
    await c.line();
    expect(await c.cmd('USER alice')).toMatch(/^\+OK/);
    expect(await c.cmd('PASS correct  horse')).toMatch(/^-ERR \[AUTH\]/);
    expect(await login(c)).toMatch(/^\+OK maildrop/);
  });

  it('SASL PLAIN: initial response, empty challenge, cancel, bad base64, unknown mechanism (S18, cases 12-15)', async () => {
    const { connect } = await start({ allowInsecureAuth: true, limits: { maxFailedLogins: 10 } });
    const c = await connect();
    await c.line();
    const good = Buffer.from(`\0alice\0${PASSWORD}`).toString('base64');
    expect(await c.cmd('AUTH FOO')).toBe('-ERR unsupported authentication mechanism');
    expect(await c.cmd('AUTH PLAIN')).toBe('+ ');
    expect(await c.cmd('*')).toBe('-ERR authentication cancelled');
    expect(await c.cmd('AUTH PLAIN')).toBe('+ ');
    expect(await c.cmd('AAA= ')).toMatch(/^-ERR/);
    expect(await c.cmd('AUTH PLAIN not*base64')).toMatch(/^-ERR/);
    expect(await c.cmd('AUTH PLAIN =')).toBe('-ERR [AUTH] authentication failed');
    const bad = Buffer.from('\0alice\0wrong').toString('base64');
    expect(await c.cmd(`AUTH PLAIN ${bad}`)).toBe('-ERR [AUTH] authentication failed');
    expect(await c.cmd('AUTH PLAIN')).toBe('+ ');
    expect(await c.cmd(good)).toMatch(/^\+OK maildrop has 3 messages/);
    expect(await c.cmd(`AUTH PLAIN ${good}`)).toMatch(/^-ERR/); // AUTH after login (case 20)
  });

  it('SASL PLAIN with 255-octet fields in the initial response is accepted (case 16)', async () => {
    const long = 'p'.repeat(255);
    const { connect } = await start({ allowInsecureAuth: true, authenticate: ({ pass }) => pass === long });
    const c = await connect();
    await c.line();
    const ir = Buffer.from(`${'b'.repeat(255)}\0${'a'.repeat(255)}\0${long}`).toString('base64');
    expect(await c.cmd(`AUTH PLAIN ${ir}`)).toMatch(/^-ERR \[AUTH\]/); // authzid != authcid
    const ok = Buffer.from(`\0${'a'.repeat(255)}\0${long}`).toString('base64');
    expect(await c.cmd(`AUTH PLAIN ${ok}`)).toMatch(/^\+OK/);
  });

  it('SASL LOGIN', async () => {
    const { connect } = await start({ allowInsecureAuth: true });
    const c = await connect();
    await c.line();
    expect(await c.cmd('AUTH LOGIN')).toBe(`+ ${Buffer.from('Username:').toString('base64')}`);
    expect(await c.cmd(Buffer.from('alice').toString('base64'))).toBe(
      `+ ${Buffer.from('Password:').toString('base64')}`,
    );
    expect(await c.cmd(Buffer.from(PASSWORD).toString('base64'))).toMatch(/^\+OK maildrop/);
  });

  for (const mech of ['SCRAM-SHA-256', 'SCRAM-SHA-1'] as const) {
    it(`${mech} against stored keys, over plaintext (no cleartext secret)`, async () => {
      const users = UsersFile.parse(`alice:${await hashPassword(PASSWORD, mech)}\n`);
      const { connect } = await start({ users, authenticate: undefined });
      const c = await connect();
      await c.line();
      const run = async (pass: string) => {
        const exchange = beginClientAuth(createClientMechanism(mech, { user: 'alice', pass }));
        let reply = await c.cmd(exchange.command);
        while (reply.startsWith('+ ') || reply === '+') reply = await c.cmd(exchange.answer(reply.slice(2)));
        return { reply, exchange };
      };
      const bad = await run('wrong');
      expect(bad.reply).toBe('-ERR [AUTH] authentication failed');
      const good = await run(PASSWORD);
      expect(good.reply).toMatch(/^\+OK maildrop has 3 messages/);
      expect(() => good.exchange.finish()).not.toThrow(); // the server's v= signature verified
    });
  }

  it('CRAM-MD5 and APOP from {PLAIN} entries; APOP digest must be lowercase hex (case 24)', async () => {
    const users = UsersFile.parse(`alice:{PLAIN}${PASSWORD}\n`);
    const { connect } = await start({ users, authenticate: undefined, apop: true });
    const c = await connect();
    const greeting = await c.line();
    const ts = /<[^>]+>/.exec(greeting)?.[0];
    expect(ts).toMatch(/^<\d+\.\d+\.[0-9a-z]+@pop\.test>$/);
    const digest = createHash('md5')
      .update(ts + PASSWORD)
      .digest('hex');
    expect(await c.cmd(`APOP alice ${digest.toUpperCase()}`)).toBe('-ERR [AUTH] authentication failed');
    expect(await c.cmd(`APOP alice ${digest.slice(1)}`)).toBe('-ERR [AUTH] authentication failed');
    expect(await c.cmd(`APOP alice ${digest}`)).toMatch(/^\+OK maildrop/);
    expect(await c.cmd('QUIT')).toMatch(/^\+OK/);

    // A new greeting, a new timestamp: the old digest does not replay.
    const d = await connect();
    const again = await d.line();
    expect(again).not.toBe(greeting);
    expect(await d.cmd(`APOP alice ${digest}`)).toBe('-ERR [AUTH] authentication failed');
    const challenge = await d.cmd('AUTH CRAM-MD5');
    const text = Buffer.from(challenge.slice(2), 'base64').toString();
    const { createHmac } = await import('node:crypto');
    const answer = `alice ${createHmac('md5', PASSWORD).update(text).digest('hex')}`;
    expect(await d.cmd(Buffer.from(answer).toString('base64'))).toMatch(/^\+OK maildrop/);
  });

  it('OAUTHBEARER and XOAUTH2 through verifyToken; a failure sends the error challenge first (S22)', async () => {
    const tlsOpts = { tls: { key: testCerts().server.key, cert: testCerts().server.cert } };
    const { connect } = await start({
      ...tlsOpts,
      authenticate: undefined,
      verifyToken: async (user, token) => (token === 'good-token' ? user || 'alice' : null),
      limits: { maxFailedLogins: 10 },
    });
    const c = await connect();
    await c.line();
    expect(await c.cmd('CAPA')).toMatch(/^\+OK/);
    expect(await c.lines()).not.toContainEqual(expect.stringMatching(/OAUTHBEARER/)); // bearer tokens need TLS
    await c.starttls();
    const bearer = (token: string) =>
      Buffer.from(`n,a=alice,\x01auth=Bearer ${token}\x01\x01`).toString('base64');
    const challenge = await c.cmd(`AUTH OAUTHBEARER ${bearer('bad-token')}`);
    expect(challenge.startsWith('+ ')).toBe(true);
    expect(JSON.parse(Buffer.from(challenge.slice(2), 'base64').toString())).toMatchObject({
      status: 'invalid_token',
    });
    expect(await c.cmd('AQ==')).toBe('-ERR [AUTH] authentication failed');
    const x = (token: string) => Buffer.from(`user=alice\x01auth=Bearer ${token}\x01\x01`).toString('base64');
    expect(await c.cmd('AUTH XOAUTH2')).toBe('+ ');
    expect(await c.cmd(x('good-token'))).toMatch(/^\+OK maildrop has 3/);
  });

  it('LOGIN-DELAY is advertised and enforced (S15)', async () => {
    const { connect } = await start({ allowInsecureAuth: true, capabilities: { loginDelay: 60 } });
    const c = await connect();
    await c.line();
    expect(await c.cmd('CAPA')).toMatch(/^\+OK/);
    expect(await c.lines()).toContain('LOGIN-DELAY 60');
    expect(await login(c)).toMatch(/^\+OK/);
    expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
    const d = await connect();
    await d.line();
    expect(await login(d)).toMatch(/^-ERR \[LOGIN-DELAY\]/);
  });

  it('a backend failure is [SYS/TEMP] and is reported as an error event', async () => {
    const { connect, server } = await start({
      allowInsecureAuth: true,
      authenticate: () => {
        throw new Error('database down');
      },
    });
    const errors: string[] = [];
    server.on('error', (_err, info) => errors.push(info.what));
    const c = await connect();
    await c.line();
    expect(await login(c)).toBe('-ERR [SYS/TEMP] authentication temporarily unavailable');
    expect(errors).toEqual(['password check failed']);
  });
});

describe('TLS', () => {
  const tlsOpts = () => ({ tls: { key: testCerts().server.key, cert: testCerts().server.cert } });

  it('STLS: advertised before TLS only; login after the handshake; state reset (S16)', async () => {
    const { connect } = await start({ ...tlsOpts() });
    const c = await connect();
    await c.line();
    expect(await c.cmd('CAPA')).toMatch(/^\+OK/);
    const before = await c.lines();
    expect(before).toContain('STLS');
    expect(before).not.toContain('USER');
    // USER before STLS does not carry over (case 9)... and USER is refused in cleartext anyway.
    expect(await c.cmd('USER alice')).toMatch(/^-ERR/);
    await c.starttls();
    expect(await c.cmd('CAPA')).toMatch(/^\+OK/);
    const after = await c.lines();
    expect(after).not.toContain('STLS');
    expect(after).toContain('USER');
    expect(after).toContain('SASL PLAIN LOGIN');
    expect(await c.cmd('STLS')).toBe('-ERR TLS already active'); // case 8
    expect(await login(c)).toMatch(/^\+OK maildrop has 3/);
    expect(await c.cmd('RETR 1')).toMatch(/^\+OK/);
    expect(await c.bodyText()).toContain('..hidden dot');
    expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
  });

  it('USER, then STLS, then PASS: PASS is refused (case 9)', async () => {
    const { connect } = await start({ ...tlsOpts(), allowInsecureAuth: true });
    const c = await connect();
    await c.line();
    expect(await c.cmd('USER alice')).toMatch(/^\+OK/);
    await c.starttls();
    expect(await c.cmd(`PASS ${PASSWORD}`)).toMatch(/^-ERR/);
  });

  it('bytes pipelined after STLS drop the connection; nothing runs under TLS (case 7)', async () => {
    const { connect } = await start({ ...tlsOpts() });
    const c = await connect();
    await c.line();
    c.send('STLS\r\nCAPA\r\n');
    expect(await c.closedWithin()).toBe(true);
    expect(c.buffered.toString()).toBe(''); // no +OK was sent
  });

  it('STLS in TRANSACTION is refused (case 8)', async () => {
    const { connect } = await start({ ...tlsOpts(), allowInsecureAuth: true });
    const c = await connect();
    await c.line();
    await login(c);
    expect(await c.cmd('STLS')).toMatch(/^-ERR/);
  });

  it('a stalled handshake after STLS times out and frees the slot (case 10)', async () => {
    const { connect } = await start({
      ...tlsOpts(),
      limits: { handshakeTimeoutMs: 200, maxConnectionsPerAddress: 1 },
    });
    const c = await connect();
    await c.line();
    expect(await c.cmd('STLS')).toMatch(/^\+OK/);
    expect(await c.closedWithin(3000)).toBe(true);
    const d = await connect();
    expect(await d.line()).toMatch(/^\+OK/);
  });

  it('implicit TLS listener', async () => {
    const { connect, server } = await start({ ...tlsOpts() }, { implicitTls: true });
    const logins: boolean[] = [];
    server.on('login', (info) => logins.push(info.secure));
    const c = await connect({ implicitTls: true });
    expect(await c.line()).toBe('+OK POP3 server ready');
    expect(await c.cmd('CAPA')).toMatch(/^\+OK/);
    const caps = await c.lines();
    expect(caps).not.toContain('STLS');
    expect(caps).toContain('USER');
    expect(await login(c)).toMatch(/^\+OK maildrop has 3/);
    expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
    expect(logins).toEqual([true]);
  });

  it('setTls() swaps the certificate for new handshakes', async () => {
    const { connect, server } = await start({
      tls: { key: testCerts().selfSigned.key, cert: testCerts().selfSigned.cert },
    });
    server.setTls({ key: testCerts().server.key, cert: testCerts().server.cert });
    const c = await connect();
    await c.line();
    await c.starttls(); // verifies against the test CA: only the new certificate passes
    expect(await c.cmd('NOOP')).toMatch(/^-ERR/);
  });

  it('plaintext on the implicit TLS port gets nothing back', async () => {
    const { port } = await start(
      { ...tlsOpts(), limits: { handshakeTimeoutMs: 300 } },
      { implicitTls: true },
    );
    const c = await LineClient.connect(port);
    clients.push(c);
    c.send('USER alice\r\n');
    expect(await c.closedWithin(3000)).toBe(true);
    expect(c.buffered.toString('latin1')).not.toMatch(/\+OK/);
  });
});

describe('limits and operation', () => {
  it('a line over the cap is refused and the connection closed (case 1)', async () => {
    const { connect } = await start({ allowInsecureAuth: true });
    const c = await connect();
    await c.line();
    c.send('x'.repeat(64 * 1024));
    expect(await c.line()).toBe('-ERR line too long');
    expect(await c.closedWithin()).toBe(true);
  });

  it('NUL in a command is refused, not truncated (case 2)', async () => {
    const { connect } = await start({ allowInsecureAuth: true });
    const c = await connect();
    await c.line();
    expect(await c.cmd('USER alice\0x')).toMatch(/^-ERR/);
    expect(await c.cmd(`PASS ${PASSWORD}`)).toMatch(/^-ERR/);
  });

  it('line ends: a bare LF ends a line, a bare CR inside one is refused; invalid UTF-8 too (cases 3, 40)', async () => {
    const { connect } = await start({ allowInsecureAuth: true });
    const c = await connect();
    await c.line();
    c.send('CAPA\n');
    expect(await c.line()).toMatch(/^\+OK/);
    await c.bodyText();
    c.send('USER al\rice\r\n');
    expect(await c.line()).toBe('-ERR invalid characters in command');
    c.send(Buffer.concat([Buffer.from('USER '), Buffer.from([0xc3, 0x28]), Buffer.from('\r\n')]));
    expect(await c.line()).toBe('-ERR invalid characters in command');
    expect(await c.cmd('USER jürgen')).toBe('+OK send PASS');
  });

  it('a throwing event listener does not break the session', async () => {
    const { connect, server } = await start({ allowInsecureAuth: true });
    server.on('login', () => {
      throw new Error('listener bug');
    });
    const c = await connect();
    await c.line();
    expect(await login(c)).toMatch(/^\+OK maildrop/);
    expect(await c.cmd('STAT')).toMatch(/^\+OK 3/);
  });

  it('too many bad commands close the session (case 5)', async () => {
    const { connect } = await start({ allowInsecureAuth: true, limits: { maxBadCommands: 3 } });
    const c = await connect();
    await c.line();
    for (let i = 0; i < 3; i++) expect(await c.cmd('BLAH')).toBe('-ERR unknown command');
    expect(await c.cmd('BLAH')).toBe('-ERR too many bad commands');
    expect(await c.closedWithin()).toBe(true);
  });

  it('connection limit per address: -ERR [SYS/TEMP] and close', async () => {
    const { connect } = await start({ allowInsecureAuth: true, limits: { maxConnectionsPerAddress: 2 } });
    const a = await connect();
    const b = await connect();
    await a.line();
    await b.line();
    const c = await connect();
    expect(await c.line()).toBe('-ERR [SYS/TEMP] too many connections');
    expect(await c.closedWithin()).toBe(true);
    a.close();
    await new Promise((r) => setTimeout(r, 100));
    const d = await connect();
    expect(await d.line()).toMatch(/^\+OK/);
  });

  it('pre-login timeout closes a session that never logs in', async () => {
    const { connect } = await start({ allowInsecureAuth: true, limits: { preLoginTimeoutMs: 300 } });
    const c = await connect();
    await c.line();
    expect(await c.cmd('CAPA')).toMatch(/^\+OK/);
    await c.bodyText();
    expect(await c.closedWithin(3000)).toBe(true);
  });

  it('autologout after login: silent close, no UPDATE (S7, case 36)', async () => {
    const { connect, store, server } = await start({
      allowInsecureAuth: true,
      limits: { idleTimeoutMs: 300 },
    });
    const reasons: string[] = [];
    server.on('logout', (info) => reasons.push(info.reason));
    const c = await connect();
    await c.line();
    await login(c);
    expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);
    // Commands keep it alive...
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 150));
      expect(await c.cmd('NOOP')).toBe('+OK');
    }
    // ...silence ends it.
    expect(await c.closedWithin(3000)).toBe(true);
    expect(c.buffered.length).toBe(0);
    await new Promise((r) => setTimeout(r, 50));
    expect(reasons).toEqual(['timeout']);
    expect(store.list('alice')).toHaveLength(3);
    expect(store.isLocked('alice')).toBe(false);
  });

  it('a client that floods RETRs without reading is held by backpressure, then dropped; others are served (case 35)', async () => {
    const store = new MemoryStore();
    store.add('alice', `Subject: big\r\n\r\n${'x'.repeat(1000)}\r\n`.repeat(1000));
    store.add('bob', 'Subject: small\r\n\r\nhi\r\n');
    const { connect, server } = await start({
      store,
      allowInsecureAuth: true,
      limits: { idleTimeoutMs: 500 },
    });
    const c = await connect();
    await c.line();
    await login(c);
    c.socket.pause(); // never read again
    for (let i = 0; i < 2000; i++) c.send('RETR 1\r\n');
    const other = await connect();
    await other.line();
    await login(other, 'bob');
    expect(await other.cmd('RETR 1')).toMatch(/^\+OK/);
    expect(await other.bodyText()).toContain('hi');
    const dropped = new Promise<string>((resolve) =>
      server.on('logout', (info) => info.user === 'alice' && resolve(info.reason)),
    );
    expect(await Promise.race([dropped, new Promise((r) => setTimeout(() => r('still open'), 5000))])).toBe(
      'timeout',
    );
    expect(store.isLocked('alice')).toBe(false);
  });

  it('graceful close ends idle sessions without UPDATE and releases locks', async () => {
    const { connect, store, server } = await start({ allowInsecureAuth: true });
    const c = await connect();
    await c.line();
    await login(c);
    expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);
    const reasons: string[] = [];
    server.on('logout', (info) => reasons.push(info.reason));
    await server.close({ timeoutMs: 2000 });
    expect(await c.closedWithin()).toBe(true);
    expect(reasons).toEqual(['shutdown']);
    expect(store.list('alice')).toHaveLength(3);
    expect(store.isLocked('alice')).toBe(false);
    expect(server.sessionCount).toBe(0);
  });

  it('graceful close lets a running command finish', async () => {
    const store = new MemoryStore();
    store.add('alice', `Subject: big\r\n\r\n${'y'.repeat(998)}\r\n`.repeat(2000));
    const { connect, server } = await start({ store, allowInsecureAuth: true });
    const c = await connect();
    await c.line();
    await login(c);
    c.socket.pause();
    c.send('RETR 1\r\n');
    await new Promise((r) => setTimeout(r, 100));
    const closing = server.close({ timeoutMs: 5000 });
    c.socket.resume();
    expect(await c.line()).toMatch(/^\+OK \d+ octets/);
    const body = await c.bodyText();
    expect(body.length).toBeGreaterThan(2000 * 1000);
    await closing;
    expect(await c.closedWithin()).toBe(true);
  });

  it('events and logs carry session facts, never secrets', async () => {
    const logged: string[] = [];
    const logger: Logger = {
      debug: (o, m) => logged.push(`${m} ${JSON.stringify(o)}`),
      info: (o, m) => logged.push(`${m} ${JSON.stringify(o)}`),
      warn: (o, m) => logged.push(`${m} ${JSON.stringify(o)}`),
      error: (o, m) => logged.push(`${m} ${JSON.stringify(o)}`),
    };
    const { connect, server } = await start({ allowInsecureAuth: true, logger });
    const events: [keyof ServerEvents, unknown][] = [];
    for (const name of ['connect', 'login', 'logout', 'disconnect'] as const) {
      server.on(name, (info: unknown) => events.push([name, info]));
    }
    const c = await connect();
    await c.line();
    await login(c, 'alice', 'wrong secret');
    const ir = Buffer.from(`\0alice\0${PASSWORD}`).toString('base64');
    expect(await c.cmd(`AUTH PLAIN ${ir}`)).toMatch(/^\+OK/);
    expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
    await c.closedWithin();
    await new Promise((r) => setTimeout(r, 50));
    expect(events.map(([n]) => n)).toEqual(['connect', 'login', 'logout', 'disconnect']);
    expect(events[1]![1]).toMatchObject({ user: 'alice', mechanism: 'PLAIN', remoteAddress: '127.0.0.1' });
    expect(events[2]![1]).toMatchObject({ user: 'alice', reason: 'quit' });
    const all = logged.join('\n');
    expect(all).toContain('PASS ***');
    expect(all).toContain('AUTH PLAIN ***');
    for (const secret of ['wrong secret', PASSWORD, ir]) expect(all).not.toContain(secret);
  });

  it('handle() serves any duplex stream (no socket at all)', async () => {
    const server = new Pop3Server({ store: seed(), authenticate: () => true, allowInsecureAuth: true });
    servers.push(server);
    const toServer = new PassThrough();
    const toClient = new PassThrough();
    server.handle(Duplex.from({ readable: toServer, writable: toClient }));
    let out = '';
    toClient.on('data', (d: Buffer) => {
      out += d.toString('latin1');
    });
    toServer.write('USER alice\r\nPASS x\r\nSTAT\r\nQUIT\r\n');
    const deadline = Date.now() + WAIT;
    while (!out.includes('bye') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(out.split('\r\n').slice(0, 5)).toEqual([
      '+OK POP3 server ready',
      '+OK send PASS',
      `+OK maildrop has 3 messages (${TOTAL} octets)`,
      `+OK 3 ${TOTAL}`,
      '+OK bye (3 messages left)',
    ]);
  });

  it('handle() serves a socket accepted elsewhere', async () => {
    const server = new Pop3Server({ store: seed(), authenticate: () => true, allowInsecureAuth: true });
    servers.push(server);
    const outer = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => server.handle(s));
    await new Promise<void>((r) => outer.listen(0, '127.0.0.1', r));
    try {
      const c = await LineClient.connect((outer.address() as net.AddressInfo).port);
      clients.push(c);
      expect(await c.line()).toMatch(/^\+OK/);
      expect(await login(c, 'alice', 'anything')).toMatch(/^\+OK maildrop has 3/);
    } finally {
      await server.close({ graceful: false });
      await new Promise((r) => outer.close(r));
    }
  });
});
