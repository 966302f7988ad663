import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendToMbox, mboxDate, mboxrdQuote, mboxSeparator } from './mbox-deliver.js';

let root: string;
let file: string;
beforeEach(async () => {
  root = await fs.mkdtemp(join(tmpdir(), 'pop3kit-mbox-'));
  file = join(root, 'inbox');
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

/** A minimal mboxrd reader for the tests: separators, then bodies with one `>` taken off quoted From lines. */
function readMboxrd(text: string): { separator: string; body: string }[] {
  const out: { separator: string; body: string }[] = [];
  const lines = text.split('\n');
  expect(lines.pop()).toBe(''); // the file ends with a newline
  for (const line of lines) {
    if (line.startsWith('From ')) out.push({ separator: line, body: '' });
    else {
      const cur = out[out.length - 1];
      expect(cur, 'text before the first separator').toBeDefined();
      cur!.body += `${/^>+From /.test(line) ? line.slice(1) : line}\n`;
    }
  }
  for (const m of out) {
    expect(m.body.endsWith('\n\n') || m.body === '\n').toBe(true); // the blank line after each message
    m.body = m.body.slice(0, -1);
  }
  return out;
}

async function collect(gen: AsyncIterable<Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of gen) parts.push(c);
  return Buffer.concat(parts).toString('latin1');
}

async function* chunks(...parts: string[]) {
  for (const p of parts) yield Buffer.from(p, 'latin1');
}

const tricky = 'From x\n>From y\n>>From z\nFrom\nFrom: header-like\nxFrom a\n >From b\n\nFrom \n>\n>F\n';

describe('mboxrd quoting', () => {
  it('adds one > to lines matching ^>*From , and nothing else', async () => {
    expect(await collect(mboxrdQuote(chunks(tricky)))).toBe(
      '>From x\n>>From y\n>>>From z\nFrom\nFrom: header-like\nxFrom a\n >From b\n\n>From \n>\n>F\n',
    );
  });

  it('gives the same output at every split position', async () => {
    const whole = await collect(mboxrdQuote(chunks(tricky)));
    for (let i = 0; i <= tricky.length; i++) {
      for (const j of [i, i + 1, i + 3]) {
        const got = await collect(
          mboxrdQuote(chunks(tricky.slice(0, i), tricky.slice(i, j), tricky.slice(j))),
        );
        expect(got, `split at ${i},${j}`).toBe(whole);
      }
    }
  });

  it('releases a partial match held at the end', async () => {
    expect(await collect(mboxrdQuote(chunks('a\nFro')))).toBe('a\nFro');
    expect(await collect(mboxrdQuote(chunks('a\n>>', 'Fr', 'om ')))).toBe('a\n>>>From ');
  });
});

describe('appendToMbox', () => {
  it('writes separator, LF body, blank line; round-trips From lines', async () => {
    const date = new Date(Date.UTC(1986, 10, 4, 8, 2, 3));
    const msg = `Subject: t\r\n\r\n${tricky.replace(/\n/g, '\r\n')}`;
    await appendToMbox(file, Buffer.from(msg), { from: 'ann@example.org', date });
    await appendToMbox(file, Buffer.from('Subject: 2\n\nno final newline'), { from: 'bad sender', date });
    const text = await fs.readFile(file, 'latin1');
    expect(text.startsWith('From ann@example.org Tue Nov  4 08:02:03 1986\nSubject: t\n\n>From x\n')).toBe(
      true,
    );
    const msgs = readMboxrd(text);
    expect(msgs.map((m) => m.separator)).toEqual([
      'From ann@example.org Tue Nov  4 08:02:03 1986',
      'From MAILER-DAEMON Tue Nov  4 08:02:03 1986',
    ]);
    expect(msgs[0]!.body).toBe(`Subject: t\n\n${tricky}`);
    expect(msgs[1]!.body).toBe('Subject: 2\n\nno final newline\n');
    await expect(fs.access(`${file}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
  });

  it('formats dates like asctime in UTC and rejects unsafe senders', () => {
    expect(mboxDate(new Date(Date.UTC(2024, 1, 29, 23, 59, 9)))).toBe('Thu Feb 29 23:59:09 2024');
    const d = new Date(0);
    expect(mboxSeparator('a\nb', d)).toBe('From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n');
    expect(mboxSeparator('', d)).toBe('From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n');
    expect(mboxSeparator('<>', d)).toBe('From <> Thu Jan  1 00:00:00 1970\n');
  });

  it('repairs a file that does not end with a blank line before appending', async () => {
    await fs.writeFile(file, 'From a Thu Jan  1 00:00:00 1970\nbody');
    await appendToMbox(file, Buffer.from('second\n'), { from: 'b', date: new Date(0) });
    expect(readMboxrd(await fs.readFile(file, 'latin1')).map((m) => m.body)).toEqual(['body\n', 'second\n']);
  });

  it('serialises parallel appenders: every message comes out whole', async () => {
    const slow = async function* (tag: string) {
      for (let i = 0; i < 20; i++) {
        yield Buffer.from(`${tag} line ${i}\n`);
        await new Promise((r) => setTimeout(r, 1));
      }
    };
    await Promise.all(
      ['A', 'B', 'C'].map((t) => appendToMbox(file, slow(t), { from: t, lockWaitMs: 20_000 })),
    );
    const msgs = readMboxrd(await fs.readFile(file, 'latin1'));
    expect(msgs).toHaveLength(3);
    for (const m of msgs) {
      const tag = m.separator.split(' ')[1]!;
      expect(m.body).toBe(Array.from({ length: 20 }, (_, i) => `${tag} line ${i}\n`).join(''));
    }
  });

  it('serialises against an appender in another process', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { appendToMbox } = await import(process.argv[1]);
         async function* slow() {
           process.stdout.write('writing\\n');
           for (let i = 0; i < 30; i++) { yield Buffer.from('child line ' + i + '\\n'); await new Promise((r) => setTimeout(r, 5)); }
         }
         await appendToMbox(process.argv[2], slow(), { from: 'child' });`,
        join(import.meta.dirname, 'mbox-deliver.ts'),
        file,
      ],
      { cwd: join(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('child never started writing')), 15_000);
      child.stdout.on('data', () => {
        clearTimeout(t);
        resolve();
      });
    });
    await appendToMbox(file, Buffer.from('parent line\n'), { from: 'parent' });
    expect(await exited).toBe(0);
    const msgs = readMboxrd(await fs.readFile(file, 'latin1'));
    expect(msgs.map((m) => m.separator.split(' ')[1])).toEqual(['child', 'parent']);
    expect(msgs[0]!.body).toBe(Array.from({ length: 30 }, (_, i) => `child line ${i}\n`).join(''));
  });

  it('waits a bounded time for a live lock holder, then fails with ETIMEDOUT', async () => {
    await fs.writeFile(file, 'From a Thu Jan  1 00:00:00 1970\nold\n\n');
    await fs.writeFile(`${file}.lock`, `${process.pid} ${hostname()} ${Date.now()} x\n`);
    const t0 = Date.now();
    await expect(appendToMbox(file, Buffer.from('new\n'), { lockWaitMs: 300 })).rejects.toMatchObject({
      code: 'ETIMEDOUT',
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await fs.readFile(file, 'latin1')).toBe('From a Thu Jan  1 00:00:00 1970\nold\n\n');
    expect(await fs.readFile(`${file}.lock`, 'latin1')).toContain(String(process.pid)); // not ours to remove
  });

  it('recovers a dotlock left by a dead process', async () => {
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => dead.on('exit', r));
    await fs.writeFile(`${file}.lock`, `${dead.pid} ${hostname()} ${Date.now()} x\n`);
    await appendToMbox(file, Buffer.from('ok\n'), { lockWaitMs: 0 });
    expect(readMboxrd(await fs.readFile(file, 'latin1')).map((m) => m.body)).toEqual(['ok\n']);
  });

  it('truncates a failed append back to the original length', async () => {
    await appendToMbox(file, Buffer.from('first\n'), { from: 'a', date: new Date(0) });
    const before = await fs.readFile(file);
    async function* failing() {
      yield Buffer.from('From half\npartial body\n'.repeat(1000));
      throw new Error('connection lost');
    }
    await expect(appendToMbox(file, failing())).rejects.toThrow('connection lost');
    expect(Buffer.compare(await fs.readFile(file), before)).toBe(0);
    await expect(appendToMbox(file, Buffer.alloc(500, 0x61), { maxBytes: 100 })).rejects.toMatchObject({
      code: 'ELIMIT',
    });
    expect(Buffer.compare(await fs.readFile(file), before)).toBe(0);
    await expect(fs.access(`${file}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
