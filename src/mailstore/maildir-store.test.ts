import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer, text } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toWireForm } from '../protocol/wire-size.js';
import { deliverToMaildir, ensureMaildir } from './maildir-deliver.js';
import { LARGE_READ_BYTES, LOCK_FILE, MaildirStore, validateUserName } from './maildir-store.js';
import { readWhole } from './read-whole.js';
import { SIZE_CACHE_FILE } from './size-cache.js';
import { type Mailbox, MailboxBusyError, MessageGoneError } from './types.js';

let root: string;
let dir: string;

beforeEach(async () => {
  root = await fs.mkdtemp(join(tmpdir(), 'pop3kit-maildir-'));
  dir = join(root, 'ann');
  await ensureMaildir(dir);
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

/** Put a file into new/ or cur/ with a given name and an mtime (seconds) that fixes its order. */
async function put(
  sub: 'new' | 'cur',
  name: string | Buffer,
  content: string | Buffer,
  mtime = 1_700_000_000,
) {
  const path = Buffer.concat([Buffer.from(`${join(dir, sub)}/`), Buffer.from(name)]);
  await fs.writeFile(path, content);
  await fs.utimes(path, mtime, mtime);
  return path;
}

async function withBox<T>(
  store: MaildirStore,
  fn: (mb: Awaited<ReturnType<MaildirStore['openMailbox']>>) => T,
) {
  const mb = await store.openMailbox('ann');
  try {
    return await fn(mb);
  } finally {
    await mb.release();
  }
}

/** A pid that surely belongs to no live process: a child that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

describe('MaildirStore: uids', () => {
  it('uses the base name, stable across reopen, a new->cur move with flags, and size fields', async () => {
    await put('new', '1700000000.M1P2.host', 'a\n', 1);
    await put('new', '1700000001.M3P4.host,S=2,W=3', 'b\n', 2);
    const store = new MaildirStore({ root });
    const first = await withBox(store, (mb) => mb.messages.map((m) => m.uid));
    expect(first).toEqual(['1700000000.M1P2.host', '1700000001.M3P4.host']);
    expect(await withBox(store, (mb) => mb.messages.map((m) => m.uid))).toEqual(first);

    await fs.rename(join(dir, 'new', '1700000000.M1P2.host'), join(dir, 'cur', '1700000000.M1P2.host:2,RS'));
    await fs.rename(
      join(dir, 'new', '1700000001.M3P4.host,S=2,W=3'),
      join(dir, 'cur', '1700000001.M3P4.host,S=2,W=3:2,S'),
    );
    const restarted = new MaildirStore({ root });
    expect(await withBox(restarted, (mb) => mb.messages.map((m) => m.uid))).toEqual(first);
  });

  it('derives a stable hash id for names that are not valid unique-ids, and still serves them', async () => {
    const long = `1700000000.${'y'.repeat(70)}.host`;
    const odd = Buffer.concat([Buffer.from('17000.caf'), Buffer.of(0xe9, 0xff), Buffer.from('.host')]);
    await put('new', long, 'long\n', 1);
    await put('new', odd, 'odd\n', 2);
    const store = new MaildirStore({ root });
    const uids = await withBox(store, async (mb) => {
      expect(await text(await mb.open(mb.messages[1]!.uid))).toBe('odd\n');
      return mb.messages.map((m) => m.uid);
    });
    for (const uid of uids) expect(uid).toMatch(/^x[0-9a-f]{40}$/);
    expect(new Set(uids).size).toBe(2);

    await fs.rename(join(dir, 'new', long), join(dir, 'cur', `${long}:2,S`));
    const oddNew = Buffer.concat([Buffer.from(`${join(dir, 'new')}/`), odd]);
    const oddCur = Buffer.concat([Buffer.from(`${join(dir, 'cur')}/`), odd, Buffer.from(':2,S')]);
    await fs.rename(oddNew, oddCur);
    expect(await withBox(new MaildirStore({ root }), (mb) => mb.messages.map((m) => m.uid))).toEqual(uids);
  });

  it('gives two files with one base two distinct uids', async () => {
    await put('new', '1700.A.host', 'one\n', 1);
    await put('cur', '1700.A.host:2,S', 'two\n', 2);
    const uids = await withBox(new MaildirStore({ root }), (mb) => mb.messages.map((m) => m.uid));
    expect(uids[0]).toBe('1700.A.host');
    expect(uids[1]).toMatch(/^x[0-9a-f]{40}$/);
  });
});

describe('MaildirStore: octets and order', () => {
  const bodies: Record<string, string> = {
    lf: 'Subject: lf\n\nline\n.\n',
    crlf: 'Subject: crlf\r\n\r\nline\r\n',
    noTrailing: 'Subject: none\n\nno newline at the end',
    empty: '',
    bareCr: 'Subject: cr\r\rx\ry\n',
  };

  it('reports the length of the wire form for LF, CRLF, no final newline, empty and bare-CR files', async () => {
    let t = 1;
    for (const [name, body] of Object.entries(bodies)) await put('new', `1700.${name}.host`, body, t++);
    const got = await withBox(new MaildirStore({ root }), (mb) => mb.messages);
    expect(got.map((m) => m.octets)).toEqual(
      Object.values(bodies).map((body) => toWireForm(Buffer.from(body, 'latin1')).length),
    );
    expect(got.map((m) => m.octets)).toEqual([24, 23, 40, 2, 18]);
  });

  it('takes ,W= from the name without reading the file (Dovecot style)', async () => {
    await put('cur', '1700.w.host,S=2,W=5:2,', 'a\n');
    expect(await withBox(new MaildirStore({ root }), (mb) => mb.messages[0]!.octets)).toBe(5);
  });

  it('counts the file when ,W= or a cached size cannot be its wire size (RFC 1939 §11)', async () => {
    await put('cur', '1700.v.host,S=2,W=999999999999999:2,', 'a\n');
    await put('new', '1700.u.host,W=1', 'bb\n', 1_700_000_200);
    expect(
      await withBox(new MaildirStore({ root }), (mb) => mb.messages.map((m) => m.octets)).then((o) =>
        o.sort(),
      ),
    ).toEqual([3, 4]);
  });

  it('computes octets once, then trusts the size cache without looking at the file again', async () => {
    await put('new', '1700.c.host', 'a\nb\n', 1_700_000_123);
    const store = new MaildirStore({ root });
    expect(await withBox(store, (mb) => mb.messages[0]!.octets)).toBe(6);
    const cachePath = join(dir, SIZE_CACHE_FILE);
    const cached = await fs.readFile(cachePath, 'latin1');
    const hexBase = Buffer.from('1700.c.host').toString('hex');
    expect(cached.startsWith('pop3kit-sizes 2\n')).toBe(true);
    expect(cached).toContain(`${hexBase} 4 6 1700000123000\n`);
    // Prove the cache is what answers: a doctored entry is believed (a Maildir file never changes
    // under its name, so a login does not lstat it)...
    await fs.writeFile(cachePath, cached.replace(`${hexBase} 4 6`, `${hexBase} 4 9`));
    expect(await withBox(store, (mb) => mb.messages[0]!.octets)).toBe(9);
    // ...and a file that did change anyway (its size is not the cached one) is refused when read,
    // by both read paths, rather than served as the listed message.
    await fs.writeFile(cachePath, cached.replace(`${hexBase} 4 6`, `${hexBase} 5 9`));
    await withBox(store, async (mb) => {
      expect(mb.messages[0]!.octets).toBe(9);
      expect(() => readWhole(mb, mb.messages[0]!.uid, 1024)).toThrow(MessageGoneError);
      await expect(mb.open(mb.messages[0]!.uid)).rejects.toBeInstanceOf(MessageGoneError);
    });
  });

  it('reads a version 1 cache (no mtime): its octets count only when the file size agrees, then rewrites it', async () => {
    await put('new', '1700.c.host', 'a\nb\n', 1_700_000_123);
    await put('new', '1700.d.host', 'x\n', 1_700_000_124);
    const cachePath = join(dir, SIZE_CACHE_FILE);
    const hex = (s: string) => Buffer.from(s).toString('hex');
    await fs.writeFile(cachePath, `pop3kit-sizes 1\n${hex('1700.c.host')} 4 9\n${hex('1700.d.host')} 9 90\n`);
    expect(await withBox(new MaildirStore({ root }), (mb) => mb.messages.map((m) => m.octets))).toEqual([
      9, 3,
    ]);
    const rewritten = await fs.readFile(cachePath, 'latin1');
    expect(rewritten).toContain(`${hex('1700.c.host')} 4 9 1700000123000\n`);
    expect(rewritten).toContain(`${hex('1700.d.host')} 2 3 1700000124000\n`);
  });

  it('keeps the order from the cached delivery times, and caches files with ,W= and past the cap too', async () => {
    await put('new', '1700.a.host,W=3', 'a\n', 300);
    await put('new', '1700.b.host', 'bb\n', 100);
    await put('new', '1700.z.host', 'z\n', 500);
    const store = new MaildirStore({ root, maxMessages: 2 });
    const order = await withBox(store, (mb) => mb.messages.map((m) => m.uid));
    expect(order).toEqual(['1700.b.host', '1700.a.host']);
    const cached = await fs.readFile(join(dir, SIZE_CACHE_FILE), 'latin1');
    expect(cached.split('\n').length).toBe(5); // header, three entries, final newline
    expect(cached).toContain(`${Buffer.from('1700.z.host').toString('hex')} 2 - 500000\n`);
    // A touched file keeps its cached place (the cache, not an lstat, answers).
    await fs.utimes(join(dir, 'new', '1700.b.host'), 900, 900);
    expect(await withBox(store, (mb) => mb.messages.map((m) => m.uid))).toEqual(order);
  });

  it('orders by delivery time (mtime), then name, and caps the snapshot at maxMessages', async () => {
    await put('cur', '1700.c.host:2,S', 'c', 300);
    await put('new', '1700.b.host', 'b', 100);
    await put('new', '1700.a.host', 'a', 100);
    await put('new', '1700.d.host', 'd', 50);
    const store = new MaildirStore({ root });
    expect(await withBox(store, (mb) => mb.messages.map((m) => m.uid))).toEqual([
      '1700.d.host',
      '1700.a.host',
      '1700.b.host',
      '1700.c.host',
    ]);
    const capped = new MaildirStore({ root, maxMessages: 2 });
    expect(await withBox(capped, (mb) => mb.messages.map((m) => m.uid))).toEqual([
      '1700.d.host',
      '1700.a.host',
    ]);
  });

  it('ignores dot files, tmp/, directories and symlinks', async () => {
    const outside = join(root, 'secret');
    await fs.writeFile(outside, 'not mail\n');
    await fs.symlink(outside, join(dir, 'new', '1700.link.host'));
    await put('new', '.hidden', 'x');
    await fs.writeFile(join(dir, 'tmp', '1700.tmp.host'), 'half');
    await fs.mkdir(join(dir, 'cur', '1700.dir.host'));
    await put('new', '1700.real.host', 'real\n');
    expect(await withBox(new MaildirStore({ root }), (mb) => mb.messages.map((m) => m.uid))).toEqual([
      '1700.real.host',
    ]);
  });
});

describe('MaildirStore: sessions', () => {
  it('keeps new mail invisible to an open mailbox and untouched by its commit', async () => {
    await put('new', '1700.old.host', 'old\n');
    const store = new MaildirStore({ root });
    const mb = await store.openMailbox('ann');
    const { name } = await deliverToMaildir(dir, Buffer.from('new mail\n'));
    expect(mb.messages.map((m) => m.uid)).toEqual(['1700.old.host']);
    expect(await mb.commit(['1700.old.host'])).toEqual({ notRemoved: [] });
    await mb.release();
    const after = await withBox(store, (m) => m.messages.map((x) => x.uid));
    expect(after).toEqual([name.split(',')[0]]);
  });

  it('commit removes exactly the listed uids and nothing else', async () => {
    const names = Array.from({ length: 10 }, (_, i) => `1700.m${i}.host`);
    for (const [i, n] of names.entries())
      await put(i % 2 ? 'cur' : 'new', i % 2 ? `${n}:2,S` : n, `body ${i}\n`, i);
    const store = new MaildirStore({ root });
    const doomed = [names[1]!, names[4]!, names[9]!];
    const res = await withBox(store, (mb) => mb.commit([...doomed, 'not-a-uid']));
    expect(res.notRemoved).toEqual(['not-a-uid']);
    const left = await withBox(store, async (mb) => {
      const out: Record<string, string> = {};
      for (const m of mb.messages) out[m.uid] = await text(await mb.open(m.uid));
      return out;
    });
    const expected = Object.fromEntries(
      names.map((n, i) => [n, `body ${i}\n`] as const).filter(([n]) => !doomed.includes(n)),
    );
    expect(left).toEqual(expected);
  });

  it('follows a file moved mid-session, counts an already-gone file as removed, reports one that will not go', async () => {
    await put('new', '1700.moved.host', 'moved\n', 1);
    await put('new', '1700.gone.host', 'gone\n', 2);
    await put('new', '1700.stuck.host', 'stuck\n', 3);
    await put('new', '1700.keep.host', 'keep\n', 4);
    const store = new MaildirStore({ root });
    const mb = await store.openMailbox('ann');
    await fs.rename(join(dir, 'new', '1700.moved.host'), join(dir, 'cur', '1700.moved.host:2,S'));
    expect(await text(await mb.open('1700.moved.host'))).toBe('moved\n');
    await fs.rename(join(dir, 'cur', '1700.moved.host:2,S'), join(dir, 'cur', '1700.moved.host:2,RS'));
    await fs.unlink(join(dir, 'new', '1700.gone.host'));
    await expect(mb.open('1700.gone.host')).rejects.toBeInstanceOf(MessageGoneError);
    // A directory where the message was: unlink fails with EISDIR, even for root.
    await fs.unlink(join(dir, 'new', '1700.stuck.host'));
    await fs.mkdir(join(dir, 'new', '1700.stuck.host'));
    await fs.writeFile(join(dir, 'new', '1700.stuck.host', 'x'), 'x');
    const res = await mb.commit(['1700.moved.host', '1700.gone.host', '1700.stuck.host']);
    await mb.release();
    expect(res.notRemoved).toEqual(['1700.stuck.host']);
    expect((await fs.readdir(join(dir, 'cur'))).sort()).toEqual([]);
    expect(await fs.readFile(join(dir, 'new', '1700.keep.host'), 'utf8')).toBe('keep\n');
  });

  it('serves raw stored bytes (no conversion), 8-bit and NUL included', async () => {
    const raw = Buffer.from([0x41, 0x0a, 0x00, 0xff, 0x0d, 0x2e, 0x0a]);
    await put('new', '1700.raw.host', raw);
    const got = await withBox(new MaildirStore({ root }), async (mb) =>
      buffer(await mb.open('1700.raw.host')),
    );
    expect(Buffer.compare(got, raw)).toBe(0);
  });

  it('refuses use after release', async () => {
    await put('new', '1700.a.host', 'a\n');
    const mb = await new MaildirStore({ root }).openMailbox('ann');
    await mb.release();
    await mb.release();
    await expect(mb.open('1700.a.host')).rejects.toMatchObject({ code: 'ESTATE' });
    await expect(mb.commit(['1700.a.host'])).rejects.toMatchObject({ code: 'ESTATE' });
    expect(await fs.readdir(join(dir, 'new'))).toEqual(['1700.a.host']);
  });
});

describe('MaildirStore: a listing kept while new/ and cur/ do not change', () => {
  const hexBase = Buffer.from('1700.k.host').toString('hex');
  /** Date new/ and cur/ back, as if their last change were long past. */
  const settle = async () => {
    for (const sub of ['new', 'cur']) await fs.utimes(join(dir, sub), 1_700_000_000, 1_700_000_000);
  };
  /** Doctor the size cache: a fresh listing believes it, a kept one does not look. */
  const doctor = async (octets: number) => {
    const path = join(dir, SIZE_CACHE_FILE);
    const cached = await fs.readFile(path, 'latin1');
    await fs.writeFile(
      path,
      cached.replace(new RegExp(`^${hexBase} (\\d+) \\d+ `, 'm'), `${hexBase} $1 ${octets} `),
    );
  };

  it('serves the next login from the kept listing while the folders stand still', async () => {
    await put('new', '1700.k.host', 'a\nb\n', 100);
    await settle();
    const store = new MaildirStore({ root });
    expect(await withBox(store, (mb) => mb.messages)).toEqual([{ uid: '1700.k.host', octets: 6 }]);
    await doctor(9);
    expect(await withBox(store, (mb) => mb.messages[0]!.octets)).toBe(6);
    // Another store instance keeps nothing: it lists, and believes the cache.
    expect(await withBox(new MaildirStore({ root }), (mb) => mb.messages[0]!.octets)).toBe(9);
  });

  it('gives the next login of an unchanged Maildir the same frozen listing, a changed one a new one', async () => {
    await put('new', '1700.k.host', 'a\nb\n', 100);
    await settle();
    const store = new MaildirStore({ root });
    const read = (mb: Mailbox) => readWhole(mb, '1700.k.host', 100)?.toString();
    const [first, firstText] = await withBox(store, (mb) => [mb.messages, read(mb)] as const);
    const [second, secondText] = await withBox(store, (mb) => [mb.messages, read(mb)] as const);
    expect(second).toBe(first);
    expect(Object.isFrozen(first) && first.every((m) => Object.isFrozen(m))).toBe(true);
    expect([firstText, secondText]).toEqual(['a\nb\n', 'a\nb\n']);
    await put('new', '1700.m.host', 'm\n', 200);
    const third = await withBox(store, (mb) => mb.messages);
    expect(third).not.toBe(first);
    expect(third.map((m) => m.uid)).toEqual(['1700.k.host', '1700.m.host']);
  });

  it('lists again once a folder changes: new mail, a removal, a move to cur/', async () => {
    await put('new', '1700.k.host', 'a\nb\n', 100);
    await settle();
    const store = new MaildirStore({ root });
    const uids = (mb: { messages: readonly { uid: string }[] }) => mb.messages.map((m) => m.uid);
    expect(await withBox(store, uids)).toEqual(['1700.k.host']);
    await put('new', '1700.m.host', 'm\n', 200);
    expect(await withBox(store, uids)).toEqual(['1700.k.host', '1700.m.host']);
    await settle();
    await fs.rename(join(dir, 'new', '1700.k.host'), join(dir, 'cur', '1700.k.host:2,S'));
    const moved = await withBox(store, async (mb) => {
      expect(readWhole(mb, '1700.k.host', 100)?.toString()).toBe('a\nb\n');
      return uids(mb);
    });
    expect(moved).toEqual(['1700.k.host', '1700.m.host']);
    await settle();
    await withBox(store, (mb) => mb.commit(['1700.m.host']));
    expect(await withBox(store, uids)).toEqual(['1700.k.host']);
  });

  it('does not keep a listing taken right after a change (a second change in the same clock tick would not show)', async () => {
    await put('new', '1700.k.host', 'a\nb\n', 100); // new/ changed just now
    const store = new MaildirStore({ root });
    expect(await withBox(store, (mb) => mb.messages[0]!.octets)).toBe(6);
    await doctor(9);
    expect(await withBox(store, (mb) => mb.messages[0]!.octets)).toBe(9);
  });
});

describe('MaildirStore: locking', () => {
  it('one session per mailbox, across store instances; release frees it', async () => {
    const a = new MaildirStore({ root });
    const b = new MaildirStore({ root });
    const mb = await a.openMailbox('ann');
    await expect(b.openMailbox('ann')).rejects.toBeInstanceOf(MailboxBusyError);
    await expect(a.openMailbox('ann')).rejects.toBeInstanceOf(MailboxBusyError);
    const bob = await b.openMailbox('bob'); // other users are not affected
    await bob.release();
    await mb.release();
    await (await b.openMailbox('ann')).release();
    await expect(fs.access(join(dir, LOCK_FILE))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('recovers a lock left by a dead process on this host', async () => {
    const pid = await deadPid();
    await fs.writeFile(join(dir, LOCK_FILE), `${pid} ${hostname()} ${Date.now()} abc\n`);
    await (await new MaildirStore({ root }).openMailbox('ann')).release();
  });

  it('respects a fresh lock from another host, recovers it once it is older than the bound', async () => {
    const lock = join(dir, LOCK_FILE);
    await fs.writeFile(lock, `1 some-other-host ${Date.now()} abc\n`);
    const store = new MaildirStore({ root, staleLockMs: 60_000 });
    await expect(store.openMailbox('ann')).rejects.toBeInstanceOf(MailboxBusyError);
    const old = (Date.now() - 120_000) / 1000;
    await fs.utimes(lock, old, old);
    await (await store.openMailbox('ann')).release();
  });

  it('keeps a live holder in another process; frees the mailbox when that process is killed', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { MaildirStore } = await import(process.argv[1]);
         const mb = await new MaildirStore({ root: process.argv[2] }).openMailbox('ann');
         process.stdout.write('locked\\n');
         process.stdin.on('data', async () => { await mb.release(); process.stdout.write('released\\n'); });`,
        join(import.meta.dirname, 'maildir-store.ts'),
        root,
      ],
      { cwd: join(import.meta.dirname, '../..'), stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const lines: string[] = [];
    const waitFor = (word: string) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`child never said ${word}`)), 15_000);
        const check = () => {
          if (lines.join('').includes(word)) {
            clearTimeout(timer);
            resolve();
          } else setTimeout(check, 10);
        };
        check();
      });
    child.stdout.on('data', (d: Buffer) => lines.push(d.toString()));
    try {
      await waitFor('locked');
      const store = new MaildirStore({ root });
      await expect(store.openMailbox('ann')).rejects.toBeInstanceOf(MailboxBusyError);
      child.stdin.write('go\n');
      await waitFor('released');
      const mine = await store.openMailbox('ann');
      await mine.release();
      // Take it again in the child, then kill the child: its lock is stale (dead pid).
      lines.length = 0;
      const again = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          `const { MaildirStore } = await import(process.argv[1]);
           await new MaildirStore({ root: process.argv[2] }).openMailbox('ann');
           process.stdout.write('locked\\n'); setInterval(() => {}, 1000);`,
          join(import.meta.dirname, 'maildir-store.ts'),
          root,
        ],
        { cwd: join(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'inherit'] },
      );
      again.stdout.on('data', (d: Buffer) => lines.push(d.toString()));
      await waitFor('locked');
      await expect(store.openMailbox('ann')).rejects.toBeInstanceOf(MailboxBusyError);
      const exited = new Promise((r) => again.on('exit', r));
      again.kill('SIGKILL');
      await exited;
      await (await store.openMailbox('ann')).release();
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('MaildirStore: user names', () => {
  it.each([
    '../x',
    '..',
    '.',
    '.hidden',
    'a/b',
    'a\\b',
    '',
    'a\0b',
    'a\nb',
    'a\x7fb',
    'x'.repeat(256),
    '\ud800',
  ])('rejects %j', async (user) => {
    expect(() => validateUserName(user)).toThrow(expect.objectContaining({ code: 'EARGUMENT' }));
    const calls: string[] = [];
    const store = new MaildirStore({
      root: (u) => {
        calls.push(u);
        return join(root, 'never');
      },
    });
    await expect(store.openMailbox(user)).rejects.toMatchObject({ code: 'EARGUMENT' });
    expect(calls).toEqual([]);
    await expect(new MaildirStore({ root }).openMailbox(user)).rejects.toMatchObject({ code: 'EARGUMENT' });
  });

  it.each(['ann', 'ann@example.org', 'Zoë', 'a.b', 'x'.repeat(255)])('accepts %j inside the root', (user) => {
    expect(new MaildirStore({ root }).maildirOf(user)).toBe(join(root, user));
  });

  it('uses the root function for the path', async () => {
    const store = new MaildirStore({ root: (u) => join(root, 'custom', u, 'Maildir') });
    await (await store.openMailbox('ann')).release();
    await fs.access(join(root, 'custom', 'ann', 'Maildir', 'cur'));
  });
});

describe('MaildirStore: reading messages', () => {
  it('readSmall returns the stored bytes up to the limit, undefined above it (open() streams those)', async () => {
    const body = Buffer.from('Subject: s\n\n.dot\r\nend\0\xff', 'latin1');
    await put('new', '1700.s.host', body, 1);
    await withBox(new MaildirStore({ root }), async (mb) => {
      const uid = mb.messages[0]!.uid;
      expect(readWhole(mb, uid, body.length)?.equals(body)).toBe(true);
      expect(readWhole(mb, uid, body.length - 1)).toBeUndefined();
      expect((await buffer(await mb.open(uid))).equals(body)).toBe(true);
    });
  });

  it('streams a large file whole, across several reads', async () => {
    const big = Buffer.alloc(LARGE_READ_BYTES * 2 + 12345);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    await put('new', '1700.big.host', big, 1);
    await withBox(new MaildirStore({ root }), async (mb) => {
      const stream = await mb.open(mb.messages[0]!.uid);
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c as Buffer);
      expect(chunks.length).toBeGreaterThanOrEqual(3);
      expect(Buffer.concat(chunks).equals(big)).toBe(true);
    });
  });

  it('lists the wire size of a file counted in several large reads, a CRLF split across two of them', async () => {
    // Bare LFs (one octet more each on the wire), a CRLF astride the 1 MiB read boundary (none).
    const big = Buffer.alloc(3 * 1024 * 1024 + 7, 'a');
    for (let i = 99; i < big.length; i += 100) big[i] = 0x0a;
    big[1024 * 1024 - 1] = 0x0d;
    big[1024 * 1024] = 0x0a;
    await put('new', '1700.count.host', big, 1);
    await withBox(new MaildirStore({ root }), async (mb) => {
      expect(mb.messages[0]!.octets).toBe(toWireForm(big).length);
    });
  });

  it('a file that vanished or changed size after the listing is MessageGoneError on both paths', async () => {
    await put('new', '1700.gone.host', 'gone\n', 1);
    await put('cur', '1700.grew.host:2,S', 'grew\n', 2);
    await withBox(new MaildirStore({ root }), async (mb) => {
      const [gone, grew] = mb.messages.map((m) => m.uid) as [string, string];
      await fs.unlink(join(dir, 'new', '1700.gone.host'));
      await fs.appendFile(join(dir, 'cur', '1700.grew.host:2,S'), 'more\n');
      // Gone: the small path hands it to open(), which looks for it again and gives up.
      expect(readWhole(mb, gone, 1024)).toBeUndefined();
      await expect(mb.open(gone)).rejects.toBeInstanceOf(MessageGoneError);
      expect(() => readWhole(mb, grew, 1024)).toThrow(MessageGoneError);
      await expect(mb.open(grew)).rejects.toBeInstanceOf(MessageGoneError);
    });
  });

  it('a file moved by a mail client after the listing is found again through open()', async () => {
    await put('new', '1700.mv.host', 'moved\n', 1);
    await withBox(new MaildirStore({ root }), async (mb) => {
      await fs.rename(join(dir, 'new', '1700.mv.host'), join(dir, 'cur', '1700.mv.host:2,S'));
      const uid = mb.messages[0]!.uid;
      expect(readWhole(mb, uid, 1024)).toBeUndefined();
      expect(await text(await mb.open(uid))).toBe('moved\n');
      // Now that its new place is known, the small path reads it too.
      expect(readWhole(mb, uid, 1024)?.toString()).toBe('moved\n');
    });
  });
});

describe('MaildirStore: size-cache temp files', () => {
  it('sweeps those a killed writer left when a mailbox opens, not a live writer’s fresh one', async () => {
    const dead = await deadPid();
    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)']);
    try {
      const names = {
        dead: `${SIZE_CACHE_FILE}.${dead}.0123abcd.tmp`,
        liveFresh: `${SIZE_CACHE_FILE}.${live.pid}.0123abce.tmp`,
        liveOld: `${SIZE_CACHE_FILE}.${live.pid}.0123abcf.tmp`,
        other: `${SIZE_CACHE_FILE}.notes`,
      };
      for (const n of Object.values(names)) await fs.writeFile(join(dir, n), 'partial');
      const old = (Date.now() - 10 * 60_000) / 1000;
      await fs.utimes(join(dir, names.liveOld), old, old);
      await withBox(new MaildirStore({ root }), () => {});
      const left = (await fs.readdir(dir)).filter((n) => n.startsWith(`${SIZE_CACHE_FILE}.`)).sort();
      expect(left).toEqual([names.liveFresh, names.other].sort());
    } finally {
      live.kill();
    }
  });
});
