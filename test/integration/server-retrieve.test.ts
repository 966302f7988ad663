import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeReference, stuff, wireForm } from '../../scripts/fuzz/reference.js';
import { topReference } from '../../scripts/fuzz/server-oracle.js';
import { ensureMaildir } from '../../src/mailstore/maildir-deliver.js';
import { LARGE_READ_BYTES } from '../../src/mailstore/maildir-store.js';
import { MaildirStore, MemoryStore } from '../../src/server/index.js';
import { SMALL_MESSAGE_BYTES } from '../../src/server/session.js';
import { testCerts } from '../helpers/certs.js';
import { login, PASSWORD, useServerFixture } from '../helpers/server-fixture.js';

// RETR and TOP over both read paths of the server: small messages read at once (Mailbox.readSmall)
// and larger ones streamed, answered to pipelined commands in order, byte for byte as the reference
// encoder says; a message that vanished or changed after the listing is an -ERR and the session
// goes on; the `session closed` record counts what was retrieved.

const { start } = useServerFixture();

let root: string;
beforeEach(async () => {
  root = await fs.mkdtemp(join(tmpdir(), 'pop3kit-retrieve-'));
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

/** A message of exactly `size` stored bytes: LF lines, some starting with '.', no final newline. */
function message(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    const r = x >>> 24;
    out[i] = r < 8 ? 0x0a : r < 12 ? 0x2e : r < 14 ? 0x0d : 0x41 + (r % 26);
  }
  return out;
}

/** Alice's Maildir with these messages, in this order (mtime), in cur/. */
async function maildir(messages: Buffer[]): Promise<{ dir: string; paths: string[] }> {
  const dir = join(root, 'alice');
  await ensureMaildir(dir);
  const paths: string[] = [];
  for (const [i, m] of messages.entries()) {
    const path = join(dir, 'cur', `1700000000.M${i}P1.host:2,S`);
    await fs.writeFile(path, m);
    await fs.utimes(path, 1_700_000_000 + i, 1_700_000_000 + i);
    paths.push(path);
  }
  return { dir, paths };
}

function capture() {
  const records: { level: string; fields: Record<string, unknown>; msg: string }[] = [];
  const rec = (level: string) => (fields: object, msg?: string) =>
    records.push({ level, fields: fields as Record<string, unknown>, msg: msg ?? '' });
  return {
    records,
    logger: { debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') },
  };
}

async function closedRecord(records: ReturnType<typeof capture>['records']) {
  for (let i = 0; i < 200; i++) {
    const r = records.find((x) => x.msg === 'session closed');
    if (r) return r;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('no session closed record');
}

describe('RETR and TOP over the small and the streamed read path', () => {
  const sizes = [
    0,
    1,
    8 * 1024,
    SMALL_MESSAGE_BYTES - 1,
    SMALL_MESSAGE_BYTES,
    SMALL_MESSAGE_BYTES + 1,
    2 * LARGE_READ_BYTES + 777,
  ];
  const messages = sizes.map((n, i) => message(n, i + 1));

  for (const kind of ['maildir', 'memory'] as const) {
    it(`${kind}: pipelined RETRs and TOPs come back in order, each exactly the reference encoding`, async () => {
      let store: MaildirStore | MemoryStore;
      if (kind === 'maildir') {
        await maildir(messages);
        store = new MaildirStore({ root });
      } else {
        store = new MemoryStore();
        for (const m of messages) store.add('alice', m);
      }
      const { records, logger } = capture();
      const { connect } = await start({ store, allowInsecureAuth: true, logger });
      const c = await connect();
      await c.line();
      expect(await login(c)).toMatch(/^\+OK maildrop has 7 messages/);

      // Everything at once: the server answers what is already buffered in one go.
      const order = [1, 2, 3, 4, 5, 6, 7, 5, 6, 7, 3];
      c.send(`${order.map((n) => `RETR ${n}\r\n`).join('')}TOP 6 0\r\nTOP 7 3\r\nRETR 99\r\nNOOP\r\n`);
      let octets = 0;
      for (const n of order) {
        const want = encodeReference(messages[n - 1]!);
        const status = await c.line();
        expect(status).toMatch(/^\+OK \d+ octets$/);
        const body = await c.body();
        expect(body.equals(want), `RETR ${n}`).toBe(true);
        octets += status.length + 2 + body.length;
      }
      for (const [n, lines] of [
        [6, 0],
        [7, 3],
      ] as const) {
        const status = await c.line();
        expect(status).toBe('+OK top of message follows');
        const body = await c.body();
        const want = Buffer.concat([
          stuff(topReference(wireForm(messages[n - 1]!), lines)),
          Buffer.from('.\r\n'),
        ]);
        expect(body.equals(want), `TOP ${n} ${lines}`).toBe(true);
        octets += status.length + 2 + body.length;
      }
      expect(await c.line()).toBe('-ERR no such message');
      expect(await c.line()).toBe('+OK');
      expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
      const closed = await closedRecord(records);
      expect(closed.fields).toMatchObject({ reason: 'quit', retr: order.length, octets });
      expect(JSON.stringify(records)).not.toContain(PASSWORD);
    }, 60_000);
  }
});

describe('a message that vanished or changed after the listing', () => {
  it('is -ERR on both read paths; the session goes on and other messages are served', async () => {
    const small = message(1000, 11);
    const large = message(SMALL_MESSAGE_BYTES + 5000, 12);
    const { paths } = await maildir([small, small, large, large, small]);
    const { records, logger } = capture();
    const { connect } = await start({ store: new MaildirStore({ root }), allowInsecureAuth: true, logger });
    const c = await connect();
    await c.line();
    expect(await login(c)).toMatch(/^\+OK maildrop has 5 messages/);
    await fs.unlink(paths[0]!); // small, vanished
    await fs.appendFile(paths[1]!, 'more\n'); // small, grew
    await fs.unlink(paths[2]!); // large, vanished
    await fs.truncate(paths[3]!, 100); // large, shrank
    for (const n of [1, 2, 3, 4])
      expect(await c.cmd(`RETR ${n}`)).toBe('-ERR message is no longer available');
    expect(await c.cmd('TOP 2 1')).toBe('-ERR message is no longer available');
    expect(await c.cmd('RETR 5')).toMatch(/^\+OK/);
    expect((await c.body()).equals(encodeReference(small))).toBe(true);
    expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
    const closed = await closedRecord(records);
    expect(closed.fields).toMatchObject({ reason: 'quit', retr: 1 });
    expect(records.filter((r) => r.msg === 'message vanished from the maildrop')).toHaveLength(5);
    expect(records.filter((r) => r.level === 'error')).toEqual([]);
  }, 30_000);

  it('is -ERR in its place among pipelined replies gathered in one batch', async () => {
    const small = [0, 1, 2, 3].map((i) => message(3000 + i, 20 + i));
    const { paths } = await maildir(small);
    const { connect } = await start({ store: new MaildirStore({ root }), allowInsecureAuth: true });
    const c = await connect();
    await c.line();
    expect(await login(c)).toMatch(/^\+OK maildrop has 4 messages/);
    await fs.unlink(paths[1]!); // vanished: fails at open, before any room is taken
    await fs.appendFile(paths[2]!, 'more\n'); // grew: fails after the read into the batch
    c.send('RETR 1\r\nRETR 2\r\nRETR 4\r\nRETR 3\r\nRETR 1\r\nNOOP\r\n');
    for (const n of [1, 2, 4, 3, 1]) {
      if (n === 2 || n === 3) {
        expect(await c.line()).toBe('-ERR message is no longer available');
        continue;
      }
      expect(await c.line()).toMatch(/^\+OK \d+ octets$/);
      expect((await c.body()).equals(encodeReference(small[n - 1]!)), `RETR ${n}`).toBe(true);
    }
    expect(await c.line()).toBe('+OK');
    expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
  }, 30_000);
});

describe('reply buffers reused while earlier replies still wait to be written', () => {
  // Small replies are gathered in pooled batch buffers that return to the pool when the socket has
  // written them. A client that pipelines many RETRs and then stops reading makes the session wait
  // for drain with batches queued; if a buffer came back before its write, a later batch would
  // overwrite an earlier one and the client would see it. Plain and TLS (whose writes complete
  // only once the encrypted records are out).
  const messages = Array.from({ length: 400 }, (_, i) =>
    i % 7 === 3
      ? Buffer.from(`Subject: dots ${i}\n\n${'.\n..x\n'.repeat(40 + i)}`)
      : message(500 + ((i * 977) % 24_000), i + 11),
  );

  for (const implicitTls of [false, true]) {
    it(`${implicitTls ? 'implicit TLS' : 'plain'}: 400 pipelined RETRs read after a stall come back exactly`, async () => {
      const store = new MemoryStore();
      for (const m of messages) store.add('alice', m);
      const tls = implicitTls ? { tls: { key: testCerts().server.key, cert: testCerts().server.cert } } : {};
      const { connect } = await start({ store, allowInsecureAuth: true, ...tls }, { implicitTls });
      const c = await connect({ implicitTls });
      await c.line();
      expect(await login(c)).toMatch(/^\+OK/);
      c.stream.pause();
      c.send(messages.map((_, i) => `RETR ${i + 1}\r\n`).join(''));
      await new Promise((resolve) => setTimeout(resolve, 300));
      c.stream.resume();
      for (let i = 0; i < messages.length; i++) {
        expect(await c.line()).toMatch(/^\+OK \d+ octets$/);
        expect((await c.body()).equals(encodeReference(messages[i]!)), `RETR ${i + 1}`).toBe(true);
      }
      expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
    }, 60_000);
  }
});
