import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureMaildir, LOCK_FILE } from '../../src/mailstore/index.js';
import {
  hashPassword,
  type Mailbox,
  MaildirStore,
  type MailStore,
  UsersFile,
} from '../../src/server/index.js';
import { login, PASSWORD, useServerFixture } from '../helpers/server-fixture.js';

// What the server must not take on trust, and must not wait on for ever: a store's sizes and
// snapshot, a lock an earlier process left, the users file's SCRAM counts, a backend that never
// answers. Each case was a defect found by review; each test failed before its fix.

const { start } = useServerFixture();

const roots: string[] = [];
afterEach(async () => {
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
});

/** A store root holding an empty Maildir for alice, removed after the test. */
async function aliceMaildir(): Promise<{ root: string; dir: string }> {
  const root = await mkdtemp(join(tmpdir(), 'pop3kit-robust-'));
  roots.push(root);
  const dir = join(root, 'alice');
  await ensureMaildir(dir);
  return { root, dir };
}

describe('sizes from a Maildir name or the size cache', () => {
  // RFC 1939 §5/§11 (CONFORMANCE W5): LIST, STAT and the RETR status give the exact wire size. A
  // `,W=` field that cannot be the file's wire size (below its stored size, or above twice it plus
  // the CRLF a missing final line end adds) must not be trusted: it is not the message's size, and
  // the small-reply path sizes its buffer from it.
  it('a Maildir name whose W= cannot be the file size: real sizes listed, message retrievable', async () => {
    const { root, dir: md } = await aliceMaildir();
    const body = 'Subject: x\r\n\r\nbody\r\n';
    await writeFile(join(md, 'new', '1700000000.a.host,W=999999999999999'), body);
    await writeFile(join(md, 'new', '1700000001.b.host,S=20,W=300000000'), body);
    const { connect } = await start({ store: new MaildirStore({ root }), allowInsecureAuth: true });
    const c = await connect();
    await c.line();
    expect(await login(c)).toBe(`+OK maildrop has 2 messages (${2 * body.length} octets)`);
    expect(await c.cmd('LIST')).toMatch(/^\+OK/);
    expect(await c.lines()).toEqual([`1 ${body.length}`, `2 ${body.length}`]);
    for (const n of [1, 2]) {
      expect(await c.cmd(`RETR ${n}`)).toBe(`+OK ${body.length} octets`);
      expect(await c.bodyText()).toBe(`${body}.\r\n`);
    }
  });
});

describe('a store snapshot', () => {
  // RFC 1939 §7: a unique-id is unique within the maildrop; RFC 1939 §6: "In no case may the server
  // remove any messages not marked as deleted". The server names messages to the store by UID, so a
  // snapshot listing one UID twice must be refused like any other unusable snapshot (checkSnapshot),
  // not served: RETR 2 would send message 1, and DELE 1 + QUIT would remove message 2 too.
  it('a store listing two messages under one UID: refused, nothing served, nothing removed', async () => {
    const bodies = ['Subject: one\r\n\r\nfirst\r\n', 'Subject: two\r\n\r\nsecond\r\n'];
    const kept = [true, true];
    const store: MailStore = {
      async openMailbox(): Promise<Mailbox> {
        const live = bodies.map((b, i) => ({ b, i })).filter(({ i }) => kept[i]);
        return {
          // A broken store: both messages under one id (say, a hash of a shared Message-ID).
          messages: live.map(({ b }) => ({ uid: 'same-id', octets: b.length })),
          open: async () => Readable.from([Buffer.from(live[0]!.b)]),
          commit: async (deleted) => {
            for (const { i } of live) if (deleted.includes('same-id')) kept[i] = false;
            return { notRemoved: [] };
          },
          release: async () => {},
        };
      },
    };
    const { connect } = await start({ store, allowInsecureAuth: true });
    const c = await connect();
    await c.line();
    expect(await login(c)).toBe('-ERR [SYS/TEMP] maildrop not available');
    // Served, it would have gone on: RETR 2 answered with message 1, DELE 1 + QUIT removing both.
    expect(await c.cmd('RETR 2')).toMatch(/^-ERR/);
    expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
    expect(kept).toEqual([true, true]);
  });

  // RFC 1939 §4 (S4): numbering is fixed when the maildrop is opened; new mail stays invisible. A store
  // that appends to the array it handed over must not make a message appear mid-session.
  it('a store that grows its messages array after login: numbers and totals stay as opened', async () => {
    const messages = [{ uid: 'u1', octets: 20 }];
    const store: MailStore = {
      async openMailbox(): Promise<Mailbox> {
        return {
          messages,
          open: async () => Readable.from([Buffer.from('Subject: x\r\n\r\nbody\r\n')]),
          commit: async () => ({ notRemoved: [] }),
          release: async () => {},
        };
      },
    };
    const { connect } = await start({ store, allowInsecureAuth: true });
    const c = await connect();
    await c.line();
    expect(await login(c)).toBe('+OK maildrop has 1 messages (20 octets)');
    messages.push({ uid: 'u2', octets: 30 }); // "new mail"
    expect(await c.cmd('STAT')).toBe('+OK 1 20');
    expect(await c.cmd('LIST 2')).toMatch(/^-ERR/);
    expect(await c.cmd('UIDL')).toBe('+OK');
    expect(await c.lines()).toEqual(['1 u1']);
  });
});

describe('close() with a session stuck in a backend call', () => {
  /** Resolves true when `p` settles within `ms`, false otherwise. */
  const within = (p: Promise<unknown>, ms: number) =>
    Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

  // Pop3Server.close(): "all of them within `timeoutMs`"; sessions still open then "are dropped".
  // A session waiting on an auth backend (or store) call that never returns must not keep close()
  // pending for ever: its connection is dropped and close() resolves.
  for (const graceful of [true, false]) {
    it(`close({ graceful: ${graceful}, timeoutMs }) resolves although an auth backend never answers`, async () => {
      const { connect, server } = await start({
        allowInsecureAuth: true,
        authenticate: () => new Promise<boolean>(() => {}),
      });
      const c = await connect();
      await c.line();
      expect(await c.cmd('USER alice')).toBe('+OK send PASS');
      c.send(`PASS ${PASSWORD}\r\n`);
      await new Promise((r) => setTimeout(r, 100));
      expect(await within(server.close({ graceful, timeoutMs: 300 }), 3000)).toBe(true);
      expect(await c.closedWithin(1000)).toBe(true);
    });
  }
});

describe('a Maildir lock left by an earlier process', () => {
  // A server killed while a session held the maildrop leaves its lock. When the restarted server has
  // the same pid (PID 1 in a container, a fixed pid under a supervisor), "is the holder alive?" says
  // yes: the user got -ERR [IN-USE] (RFC 2449 §8.1.2) for staleLockMs (5 minutes) although no session
  // holds the maildrop. This process knows which locks it holds, so such a lock is stale at once.
  it('a Maildir lock left by an earlier process with this pid does not lock the user out', async () => {
    const { root, dir } = await aliceMaildir();
    await writeFile(join(dir, 'new', '1700000000.a.host'), 'Subject: a\n\nbody\n');
    await writeFile(
      join(dir, LOCK_FILE),
      `${process.pid} ${hostname()} ${Date.now() - 1000} 0123456789abcdef\n`,
    );
    const { connect } = await start({ store: new MaildirStore({ root }), allowInsecureAuth: true });
    const c = await connect();
    await c.line();
    expect(await login(c)).toMatch(/^\+OK maildrop has 1 messages/);
    // ...while the lock this process now holds still keeps a second session out.
    const d = await connect();
    await d.line();
    expect(await login(d)).toMatch(/^-ERR \[IN-USE\]/);
  });
});

describe('SCRAM for unknown users', () => {
  // RFC 5802 §9 / CONFORMANCE case 23: SCRAM must not tell known users from unknown ones. Unknown
  // users get a made-up salt for that reason, but their made-up i= was the server default (4096),
  // while the users file's entries show their own count: i= alone answered "does this user exist?".
  it('SCRAM: an unknown user shows the same iteration count as the users in the file', async () => {
    const scram = (pw: string) => hashPassword(pw, 'SCRAM-SHA-256', { scramIterations: 10_000 });
    const users = UsersFile.parse(`alice:${await scram(PASSWORD)}\ncarol:${await scram('other')}\n`);
    const { connect } = await start({ users, authenticate: undefined, allowInsecureAuth: true });
    const iterations: Record<string, string | undefined> = {};
    for (const user of ['alice', 'nobody']) {
      const c = await connect();
      await c.line();
      const clientFirst = Buffer.from(`n,,n=${user},r=abcdefghijkl`).toString('base64');
      const challenge = await c.cmd(`AUTH SCRAM-SHA-256 ${clientFirst}`);
      expect(challenge).toMatch(/^\+ /);
      iterations[user] = /,i=(\d+)$/.exec(Buffer.from(challenge.slice(2), 'base64').toString())?.[1];
    }
    expect(iterations.alice).toBe('10000');
    expect(iterations.nobody).toBe(iterations.alice);
  });
});
