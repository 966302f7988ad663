import { describe, expect, it } from 'vitest';
import type { Mailbox } from '../../src/mailstore/types.js';
import { type Logger, type MailStore, MessageGoneError } from '../../src/server/index.js';
import {
  login,
  PASSWORD,
  SEED_WIRE_SIZES,
  SEED_WIRE_TOTAL,
  seed,
  useServerFixture,
} from '../helpers/server-fixture.js';

// Commands already buffered are dispatched synchronously when their handler can finish at once (a
// small RETR/TOP, DELE, NOOP, STAT, LIST n, UIDL n); the others (LIST, UIDL, CAPA, a streamed RETR)
// return a promise. A batch that mixes both in one write must still be answered strictly in order.

const { start } = useServerFixture();

const sizes = SEED_WIRE_SIZES;
const TOTAL = SEED_WIRE_TOTAL;
const BODY1 = 'Subject: one\r\nFrom: a@example.org\r\n\r\nfirst body\r\n..hidden dot\r\n.\r\n';
const BODY2 = 'Subject: two\r\n\r\nbare LF\r\nlines\r\n.\r\n';

/** The seeded store behind a wrapper: without readSmall (every RETR/TOP streamed), or one that throws. */
function wrapped(readSmall: 'none' | 'gone2'): { store: MailStore; uids: () => string[] } {
  const inner = seed();
  const store: MailStore = {
    async openMailbox(user) {
      const m = await inner.openMailbox(user);
      const mailbox: Mailbox = {
        messages: m.messages,
        open: (uid) => m.open(uid),
        commit: (deleted) => m.commit(deleted),
        release: () => m.release(),
      };
      if (readSmall === 'gone2') {
        mailbox.readSmall = (uid, max, target) => {
          if (uid === m.messages[1]!.uid) throw new MessageGoneError();
          return m.readSmall!(uid, max, target);
        };
      }
      return mailbox;
    },
  };
  return { store, uids: () => inner.list('alice').map((x) => x.uid) };
}

const BATCH =
  'STAT\r\nRETR 1\r\nLIST\r\nDELE 2\r\nRETR 2\r\nTOP 1 0\r\nNOOP\r\nUIDL 3\r\nLIST 3\r\nXYZZY\r\n' +
  'CAPA\r\nRETR 3\r\nSTAT\r\n';

describe('synchronous dispatch of pipelined commands', () => {
  for (const kind of ['readSmall', 'streamed'] as const) {
    it(`${kind}: one write mixing synchronous and asynchronous commands is answered in order`, async () => {
      const memory = seed();
      const { store, uids } =
        kind === 'readSmall'
          ? { store: memory, uids: () => memory.list('alice').map((x) => x.uid) }
          : wrapped('none');
      const { connect } = await start({ allowInsecureAuth: true, store });
      const c = await connect();
      await c.line();
      expect(await login(c)).toMatch(/^\+OK maildrop has 3/);
      const uid3 = uids()[2]!;
      c.send(BATCH);
      expect(await c.line()).toBe(`+OK 3 ${TOTAL}`);
      expect(await c.line()).toBe(`+OK ${sizes[0]} octets`);
      expect(await c.bodyText()).toBe(BODY1);
      expect(await c.line()).toBe(`+OK 3 messages (${TOTAL} octets)`);
      expect(await c.lines()).toEqual(sizes.map((s, i) => `${i + 1} ${s}`));
      expect(await c.line()).toBe('+OK message 2 deleted');
      expect(await c.line()).toBe('-ERR no such message');
      expect(await c.line()).toBe('+OK top of message follows');
      expect(await c.bodyText()).toBe('Subject: one\r\nFrom: a@example.org\r\n\r\n.\r\n');
      expect(await c.line()).toBe('+OK');
      expect(await c.line()).toBe(`+OK 3 ${uid3}`);
      expect(await c.line()).toBe(`+OK 3 ${sizes[2]}`);
      expect(await c.line()).toBe('-ERR unknown command');
      expect(await c.line()).toMatch(/^\+OK/);
      const capa = await c.lines();
      expect(capa).toContain('UIDL');
      expect(await c.line()).toBe(`+OK ${sizes[2]} octets`);
      expect(await c.bodyText()).toBe('Subject: three\r\n\r\nno final newline\r\n.\r\n');
      expect(await c.line()).toBe(`+OK 2 ${TOTAL - sizes[1]!}`);
      expect(c.buffered.length).toBe(0);
    });
  }

  it('a message that cannot be read synchronously is -ERR and the pipelined commands after it still run', async () => {
    const { store } = wrapped('gone2');
    const { connect } = await start({ allowInsecureAuth: true, store });
    const c = await connect();
    await c.line();
    await login(c);
    c.send('RETR 2\r\nRETR 1\r\nNOOP\r\n');
    expect(await c.line()).toBe('-ERR message is no longer available');
    expect(await c.line()).toBe(`+OK ${sizes[0]} octets`);
    expect(await c.bodyText()).toBe(BODY1);
    expect(await c.line()).toBe('+OK');
  });

  it('logs each command at debug level as sent, with the secrets of PASS hidden', async () => {
    const lines: string[] = [];
    const logger: Logger = {
      debug: (fields) => {
        const command = (fields as { command?: string }).command;
        if (command !== undefined) lines.push(command);
      },
    };
    const { connect } = await start({ allowInsecureAuth: true, logger });
    const c = await connect();
    await c.line();
    c.send(`user alice\r\nPASS ${PASSWORD}\r\nretr 2\r\nLIST  1\r\nNOOP\r\n`);
    expect(await c.line()).toMatch(/^\+OK/);
    expect(await c.line()).toMatch(/^\+OK maildrop has/);
    expect(await c.line()).toBe(`+OK ${sizes[1]} octets`);
    expect(await c.bodyText()).toBe(BODY2);
    expect(await c.line()).toMatch(/^-ERR/);
    expect(await c.line()).toBe('+OK');
    expect(lines).toEqual(['USER alice', 'PASS ***', 'RETR 2', 'LIST  1', 'NOOP']);
    expect(lines.join('\n')).not.toContain(PASSWORD);
  });

  it('never logs a SASL response sent on its own line, nor one left over from a refused AUTH', async () => {
    const logged: string[] = [];
    const log = (o: object, m?: string) => logged.push(`${m} ${JSON.stringify(o)}`);
    const logger: Logger = { debug: log, info: log, warn: log, error: log };
    const { connect } = await start({ allowInsecureAuth: true, logger });
    const c = await connect();
    await c.line();
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const wrong = 'Wr0ngSecret';
    const secrets = [
      wrong,
      b64(wrong),
      PASSWORD,
      b64(PASSWORD),
      b64(`\0alice\0${wrong}`),
      b64(`\0alice\0${PASSWORD}`),
    ];
    // A refused AUTH whose response was pipelined behind it: that line is then read as a command.
    c.send(`AUTH NOSUCH\r\n${b64(`\0alice\0${wrong}`)}\r\n`);
    expect(await c.line()).toMatch(/^-ERR/);
    expect(await c.line()).toMatch(/^-ERR/);
    expect(await c.cmd('AUTH LOGIN')).toMatch(/^\+ /);
    expect(await c.cmd(b64('alice'))).toMatch(/^\+ /);
    expect(await c.cmd(b64(wrong))).toBe('-ERR [AUTH] authentication failed');
    expect(await c.cmd('AUTH PLAIN')).toBe('+ ');
    expect(await c.cmd(b64(`\0alice\0${PASSWORD}`))).toMatch(/^\+OK maildrop has/);
    const all = logged.join('\n');
    expect(all).toContain('"command":"AUTH LOGIN"');
    expect(all).toContain('"command":"AUTH PLAIN"');
    for (const secret of secrets) expect(all).not.toContain(secret);
  });
});
