import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mdaTarget } from './mda.js';
import { DeliveryError } from './target.js';

let dir: string;
let mda: string;
let spool: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'pop3kit-mda-'));
  spool = join(dir, 'acct.spool');
  // A small MDA: copies stdin to $OUT/<uid> only after a clean end of input; exit status from argv.
  mda = join(dir, 'mda.mjs');
  await fs.writeFile(
    mda,
    `import { writeFileSync } from 'node:fs';
     const parts = []; process.stdin.on('data', (d) => parts.push(d));
     process.stdin.on('end', () => {
       if (process.argv[2] === 'fail') { process.stderr.write('no such mailbox\\n'); process.exit(75); }
       writeFileSync(process.argv[3] + '/' + process.env.POP3KIT_UID, Buffer.concat(parts));
     });`,
  );
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function* chunks(...parts: string[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield Buffer.from(p, 'latin1');
}

describe('MDA target', () => {
  it('delivers on exit 0, message on stdin with LF line ends and POP3KIT_UID set', async () => {
    const t = mdaTarget([process.execPath, mda, 'ok', dir], spool);
    const p = await t.prepare(chunks('Subject: a\r\n\r\nb\xe9', '\r\n'), { uid: 'uid-1', at: 0 });
    expect(p.failureIsCertain).toBe(true);
    await p.commit();
    expect(await fs.readFile(join(dir, 'uid-1'), 'latin1')).toBe('Subject: a\n\nb\xe9\n');
  });

  it('runs a string command through the shell', async () => {
    const t = mdaTarget(`cat > "${dir}/shell-out"`, spool, { lineEnds: 'keep' });
    await (await t.prepare(chunks('A: b\r\n'), { uid: 'u', at: 0 })).commit();
    expect(await fs.readFile(join(dir, 'shell-out'), 'latin1')).toBe('A: b\r\n');
  });

  it('a non-zero exit is a DeliveryError that quotes the MDA stderr', async () => {
    const t = mdaTarget([process.execPath, mda, 'fail', dir], spool);
    const err = await (await t.prepare(chunks('x\r\n'), { uid: 'u', at: 0 }))
      .commit()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as Error).message).toMatch(/status 75: no such mailbox/);
  });

  it('a missing program is a DeliveryError', async () => {
    const t = mdaTarget([join(dir, 'no-such-mda')], spool);
    await expect((await t.prepare(chunks('x'), { uid: 'u', at: 0 })).commit()).rejects.toBeInstanceOf(
      DeliveryError,
    );
  });

  it('a broken message stream never reaches the MDA (it is spooled whole first)', async () => {
    async function* broken(): AsyncGenerator<Buffer> {
      yield Buffer.from('Subject: half\r\n');
      throw new Error('connection lost');
    }
    const t = mdaTarget([process.execPath, mda, 'ok', dir], spool);
    await expect(t.prepare(broken(), { uid: 'cut', at: 0 })).rejects.toThrow('connection lost');
    expect(await fs.readdir(dir)).toEqual(['mda.mjs']);
  });

  it('the MDA still reads the whole message when the fetcher is killed while it runs', async () => {
    // A slow MDA that reads its stdin only after the fetcher process is gone.
    const slow = join(dir, 'slow.mjs');
    await fs.writeFile(
      slow,
      `import { readFileSync, writeFileSync } from 'node:fs';
       setTimeout(() => writeFileSync(process.argv[2], readFileSync(0)), 500);`,
    );
    const fetcher = join(dir, 'fetcher.mts');
    const body = `Subject: whole\r\n\r\n${'x'.repeat(100_000)}\r\n`;
    await fs.writeFile(
      fetcher,
      `import { mdaTarget } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'mda.ts')).href)};
       const t = mdaTarget([process.execPath, ${JSON.stringify(slow)}, ${JSON.stringify(join(dir, 'got'))}],
         ${JSON.stringify(spool)});
       async function* body() { yield Buffer.from(${JSON.stringify(body)}); }
       const p = await t.prepare(body(), { uid: 'u', at: 0 });
       setTimeout(() => process.kill(process.pid, 'SIGKILL'), 150);
       await p.commit();`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', fetcher], { stdio: 'inherit' });
    expect(await new Promise((r) => child.once('exit', (_c, s) => r(s)))).toBe('SIGKILL');
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && !(await fs.stat(join(dir, 'got')).catch(() => null))) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 100)); // let the write finish
    expect(await fs.readFile(join(dir, 'got'), 'latin1')).toBe(body.replace(/\r\n/g, '\n'));
  }, 30_000);

  it('kills an MDA that takes too long', async () => {
    const t = mdaTarget([process.execPath, '-e', 'setTimeout(() => {}, 60000)'], spool, { timeoutMs: 300 });
    const started = Date.now();
    await expect((await t.prepare(chunks('x'), { uid: 'u', at: 0 })).commit()).rejects.toThrow(
      /within 300 ms/,
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
