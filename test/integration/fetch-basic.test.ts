// fetchAccount against our server (MemoryStore) on loopback: what is fetched, kept, deleted,
// skipped and deferred, into each target kind, read back byte for byte.
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fetchAccount } from '../../src/fetch/index.js';
import { accountId, accountPaths, loadState } from '../../src/fetch/state.js';
import type { AccountConfig, FetchPolicy, Progress, TargetConfig } from '../../src/fetch/types.js';
import { MemoryStore } from '../../src/mailstore/memory-store.js';
import type { Pop3Server } from '../../src/server/server.js';
import { plainConnection, startPlainServer } from '../helpers/plain-server.js';

const PASS = 'fetch-test-password';
const DAY = 86_400_000;
let dir: string;
let store: MemoryStore;
let server: Pop3Server;
let port: number;

beforeEach(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'pop3kit-fetch-'));
  store = new MemoryStore();
  ({ server, port } = await startPlainServer({
    store,
    authenticate: ({ user, pass }) => user === 'alice' && pass === PASS,
  }));
});
afterEach(async () => {
  await server.close({ graceful: false });
  await fs.rm(dir, { recursive: true, force: true });
});

/** A message with LF line ends (as Maildirs hold them), 8-bit bytes, dot and From_ lines. */
function message(i: number, bodyBytes = 0): Buffer {
  const head =
    `From: Sender ${i} <s${i}@example.org>\nTo: alice@example.org\nSubject: message ${i}\n` +
    `Message-ID: <m${i}@example.org>\n\n`;
  const body = `.leading dot\n..two dots\nFrom the start of a line\n>From quoted\n8-bit: \xe9\xff\n${'x'.repeat(bodyBytes)}\nend ${i}\n`;
  return Buffer.from(head + body, 'latin1');
}

function seed(count: number, first = 0, bodyBytes = 0): Buffer[] {
  const out: Buffer[] = [];
  for (let i = first; i < first + count; i++) {
    const m = message(i, bodyBytes);
    store.add('alice', m);
    out.push(m);
  }
  return out;
}

function account(
  target?: TargetConfig,
  policy: FetchPolicy = {},
  extra: Partial<AccountConfig> = {},
): AccountConfig {
  return {
    connection: plainConnection(port, 'alice', PASS),
    target: target ?? { kind: 'maildir', path: join(dir, 'Maildir') },
    policy,
    stateDir: join(dir, 'state'),
    ...extra,
  };
}

async function maildirFiles(path = join(dir, 'Maildir')): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const sub of ['new', 'cur']) {
    for (const name of await fs.readdir(join(path, sub)).catch(() => []))
      out.push(await fs.readFile(join(path, sub, name)));
  }
  return out;
}

const sorted = (bufs: Buffer[]) => bufs.map((b) => b.toString('latin1')).sort();

/** Split an mboxrd file into messages, undoing the quoting and the trailing blank line. */
function parseMboxrd(data: Buffer): Buffer[] {
  const text = data.toString('latin1');
  const parts = text.split(/^From [^\n]*\n/m).slice(1);
  return parts.map((p) => Buffer.from(p.replace(/\n$/, '').replace(/^>(>*From )/gm, '$1'), 'latin1'));
}

describe('fetchAccount into a Maildir', () => {
  it('fetches new mail once, byte-identical; a second run fetches nothing; keep leaves the server alone', async () => {
    const originals = seed(12);
    const progress: Progress[] = [];
    const r1 = await fetchAccount(account(), { onProgress: (p) => progress.push(p) });
    expect(r1).toMatchObject({ new: 12, delivered: 12, deleted: 0, errors: 0, skipped: 0, deferred: 0 });
    expect(r1.account).toBe(`alice@127.0.0.1:${port}`);
    expect(sorted(await maildirFiles())).toEqual(sorted(originals));
    expect(store.list('alice')).toHaveLength(12);
    const last = progress.at(-1)!;
    expect(last).toEqual({ messages: 12, bytes: r1.bytes, totalMessages: 12, totalBytes: r1.bytes });

    const r2 = await fetchAccount(account());
    expect(r2).toMatchObject({ new: 0, delivered: 0, bytes: 0 });
    expect(await maildirFiles()).toHaveLength(12);

    const more = seed(3, 100);
    const r3 = await fetchAccount(account());
    expect(r3).toMatchObject({ new: 3, delivered: 3 });
    expect(sorted(await maildirFiles())).toEqual(sorted([...originals, ...more]));
    // Nothing of ours is left behind.
    expect(await fs.readdir(join(dir, 'Maildir', 'tmp'))).toEqual([]);
    const paths = accountPaths(join(dir, 'state'), r1.account);
    expect((await fs.readdir(join(dir, 'state'))).sort()).toEqual(
      [paths.state, paths.journal].map((p) => p.slice(join(dir, 'state').length + 1)).sort(),
    );
  });

  it('with delete, deletes each message after delivery; state forgets UIDs gone from the server', async () => {
    const originals = seed(8);
    const r1 = await fetchAccount(account(undefined, { delete: true }));
    expect(r1).toMatchObject({ delivered: 8, deleted: 8 });
    expect(store.list('alice')).toEqual([]);
    expect(sorted(await maildirFiles())).toEqual(sorted(originals));
    const statePath = accountPaths(join(dir, 'state'), accountId(account().connection)).state;
    expect((await loadState(statePath)).seen.size).toBe(8);
    await fetchAccount(account(undefined, { delete: true }));
    expect((await loadState(statePath)).seen.size).toBe(0);
  });

  it('deleteAfterDays deletes a message only once that many days passed since it was first fetched', async () => {
    const t0 = 1_700_000_000_000;
    let now = t0;
    const clock = () => now;
    const policy = { deleteAfterDays: 2 };
    seed(3);
    expect(await fetchAccount(account(undefined, policy), { now: clock })).toMatchObject({
      delivered: 3,
      deleted: 0,
    });
    now = t0 + DAY;
    seed(2, 10);
    expect(await fetchAccount(account(undefined, policy), { now: clock })).toMatchObject({
      delivered: 2,
      deleted: 0,
    });
    now = t0 + 2 * DAY;
    expect(await fetchAccount(account(undefined, policy), { now: clock })).toMatchObject({
      delivered: 0,
      deleted: 3,
    });
    expect(store.list('alice').map((m) => m.bytes.toString('latin1'))).toEqual(
      [message(10), message(11)].map((b) => b.toString('latin1')),
    );
    now = t0 + 3 * DAY - 1;
    expect(await fetchAccount(account(undefined, policy), { now: clock })).toMatchObject({ deleted: 0 });
    now = t0 + 3 * DAY;
    expect(await fetchAccount(account(undefined, policy), { now: clock })).toMatchObject({ deleted: 2 });
    expect(store.list('alice')).toEqual([]);
    expect(await maildirFiles()).toHaveLength(5);
  });

  it("maxSize: 'skip' leaves big messages (asked again next run), 'delete' removes them unread", async () => {
    seed(2);
    const big = seed(1, 50, 5000)[0]!;
    const small = { maxSize: 1000 };
    expect(await fetchAccount(account(undefined, small))).toMatchObject({ new: 3, delivered: 2, skipped: 1 });
    expect(await fetchAccount(account(undefined, small))).toMatchObject({ new: 1, delivered: 0, skipped: 1 });
    expect(store.list('alice')).toHaveLength(3);
    const del = await fetchAccount(account(undefined, { maxSize: 1000, oversized: 'delete' }));
    expect(del).toMatchObject({ delivered: 0, skipped: 0, deleted: 1 });
    expect(store.list('alice').map((m) => m.bytes.equals(big))).toEqual([false, false]);
    expect(await maildirFiles()).toHaveLength(2);
  });

  it('limit caps downloads per run; the rest follow in later runs, in server order', async () => {
    const originals = seed(7);
    const runs = [];
    for (let i = 0; i < 4; i++) runs.push(await fetchAccount(account(undefined, { limit: 3 })));
    expect(runs.map((r) => [r.delivered, r.deferred])).toEqual([
      [3, 4],
      [3, 1],
      [1, 0],
      [0, 0],
    ]);
    expect(sorted(await maildirFiles())).toEqual(sorted(originals));
  });

  it('an abort stops the run cleanly: what was delivered is recorded, the next run fetches the rest once', async () => {
    const originals = seed(6, 0, 20_000);
    const ac = new AbortController();
    const run = fetchAccount(account(undefined, { delete: true }), {
      signal: ac.signal,
      batch: { messages: 1 }, // each message published (and reported) on its own
      onProgress: (p) => {
        if (p.messages === 2) ac.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'EABORT' });
    const got = await maildirFiles();
    expect(got.length).toBeGreaterThanOrEqual(2);
    expect(store.list('alice')).toHaveLength(6); // no QUIT, so nothing deleted
    expect(await fetchAccount(account(undefined, { delete: true }))).toMatchObject({
      delivered: 6 - got.length,
      deleted: 6,
    });
    expect(sorted(await maildirFiles())).toEqual(sorted(originals));
    expect(await fs.readdir(join(dir, 'Maildir', 'tmp'))).toEqual([]);
  });

  it('an abort in the middle of a batch still publishes the messages written whole before it', async () => {
    const originals = seed(6, 0, 20_000);
    const ac = new AbortController();
    // The clock is read once for the plan, then once as each message starts (deliveries, and the
    // reads they make, come only when the batch is published): abort as the fourth one starts.
    let reads = 0;
    const run = fetchAccount(account(undefined, { delete: true }), {
      signal: ac.signal,
      batch: { messages: 100, ageMs: 60_000 },
      now: () => {
        if (++reads === 5) ac.abort();
        return Date.now();
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'EABORT' });
    const got = await maildirFiles();
    expect(got.length).toBe(3);
    expect(await fs.readdir(join(dir, 'Maildir', 'tmp'))).toEqual([]);
    expect(store.list('alice')).toHaveLength(6);
    expect(await fetchAccount(account(undefined, { delete: true }))).toMatchObject({
      delivered: 3,
      deleted: 6,
    });
    expect(sorted(await maildirFiles())).toEqual(sorted(originals));
  });

  it('adds a Received: trace header when asked', async () => {
    const [orig] = seed(1);
    await fetchAccount(account(undefined, {}, { receivedHeader: true }));
    const [got] = await maildirFiles();
    const text = got!.toString('latin1');
    expect(text).toMatch(
      /^Received: from 127\.0\.0\.1\n\tby \S+ with POP3 \(pop3kit\)\n\tid m\d+; \w{3}, \d+ \w{3} \d{4} /,
    );
    expect(text.slice(text.indexOf('From: '))).toBe(orig!.toString('latin1'));
  });

  it('refuses to run while another fetch holds the account', async () => {
    seed(1);
    const { lockAccount } = await import('../../src/fetch/lock.js');
    await fs.mkdir(join(dir, 'state'), { recursive: true });
    const held = await lockAccount(
      accountPaths(join(dir, 'state'), accountId(account().connection)).lock,
      'x',
    );
    try {
      await expect(fetchAccount(account())).rejects.toMatchObject({
        code: 'ESTATE',
        message: expect.stringContaining('another fetch is already running'),
      });
    } finally {
      await held.release();
    }
    expect(await fetchAccount(account())).toMatchObject({ delivered: 1 });
  });
});

describe('fetchAccount into other targets', () => {
  it('mbox: messages read back identical (mboxrd), once', async () => {
    const originals = seed(6);
    const target: TargetConfig = { kind: 'mbox', path: join(dir, 'inbox.mbox') };
    expect(await fetchAccount(account(target, { delete: true }))).toMatchObject({ delivered: 6, deleted: 6 });
    originals.push(...seed(2, 20));
    expect(await fetchAccount(account(target, { delete: true }))).toMatchObject({ delivered: 2 });
    expect(sorted(parseMboxrd(await fs.readFile(join(dir, 'inbox.mbox'))))).toEqual(sorted(originals));
    const state = (await fs.readdir(join(dir, 'state'))).filter((n) => n.includes('spool'));
    expect(state).toEqual([]);
  });

  it('MDA: exit 0 delivers; a non-zero exit is neither recorded nor deleted, and is retried next run', async () => {
    const out = join(dir, 'mda-out');
    await fs.mkdir(out);
    const mda = join(dir, 'mda.mjs');
    await fs.writeFile(
      mda,
      `import { writeFileSync } from 'node:fs';
       const parts = []; process.stdin.on('data', (d) => parts.push(d));
       process.stdin.on('end', () => {
         const msg = Buffer.concat(parts);
         if (msg.includes('Subject: message 2\\n')) { console.error('mailbox full'); process.exit(73); }
         writeFileSync(${JSON.stringify(out)} + '/' + process.env.POP3KIT_UID, msg);
       });`,
    );
    const originals = seed(4);
    const target: TargetConfig = { kind: 'mda', command: [process.execPath, mda] };
    const r1 = await fetchAccount(account(target, { delete: true }));
    expect(r1).toMatchObject({ new: 4, delivered: 3, errors: 1, deleted: 3 });
    expect(r1.failures).toEqual([
      { uid: expect.any(String), error: expect.stringContaining('status 73: mailbox full') },
    ]);
    expect(store.list('alice').map((m) => m.bytes.toString('latin1'))).toEqual([
      originals[2]!.toString('latin1'),
    ]);
    const r2 = await fetchAccount(account(target, { delete: true }));
    expect(r2).toMatchObject({ new: 1, delivered: 0, errors: 1, deleted: 0 });
    const files = await fs.readdir(out);
    expect(files).toHaveLength(3);
    expect(sorted(await Promise.all(files.map((f) => fs.readFile(join(out, f)))))).toEqual(
      sorted([originals[0]!, originals[1]!, originals[3]!]),
    );
  });

  it('stdout: mboxrd on the stream, no state unless asked', async () => {
    const originals = seed(3);
    const read = async (recordState: boolean) => {
      const stream = new PassThrough();
      const parts: Buffer[] = [];
      stream.on('data', (d: Buffer) => parts.push(d));
      const r = await fetchAccount(account({ kind: 'stdout', stream, recordState }));
      return { r, messages: parseMboxrd(Buffer.concat(parts)) };
    };
    const a = await read(false);
    expect(sorted(a.messages)).toEqual(sorted(originals));
    expect((await read(false)).r.delivered).toBe(3);
    await expect(fs.access(join(dir, 'state'))).rejects.toThrow();
    expect((await read(true)).r.delivered).toBe(3);
    expect((await read(true)).r.delivered).toBe(0);
  });
});
