import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mdaTarget } from './mda.js';
import { DeliveryError } from './target.js';

let dir: string;
let mda: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'pop3kit-mda-'));
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
    const t = mdaTarget([process.execPath, mda, 'ok', dir]);
    const p = await t.prepare(chunks('Subject: a\r\n\r\nb\xe9', '\r\n'), { uid: 'uid-1', at: 0 });
    expect(p.failureIsCertain).toBe(true);
    await p.commit();
    expect(await fs.readFile(join(dir, 'uid-1'), 'latin1')).toBe('Subject: a\n\nb\xe9\n');
  });

  it('runs a string command through the shell', async () => {
    const t = mdaTarget(`cat > "${dir}/shell-out"`, { lineEnds: 'keep' });
    await (await t.prepare(chunks('A: b\r\n'), { uid: 'u', at: 0 })).commit();
    expect(await fs.readFile(join(dir, 'shell-out'), 'latin1')).toBe('A: b\r\n');
  });

  it('a non-zero exit is a DeliveryError that quotes the MDA stderr', async () => {
    const t = mdaTarget([process.execPath, mda, 'fail', dir]);
    const err = await (await t.prepare(chunks('x\r\n'), { uid: 'u', at: 0 }))
      .commit()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as Error).message).toMatch(/status 75: no such mailbox/);
  });

  it('a missing program is a DeliveryError', async () => {
    const t = mdaTarget([join(dir, 'no-such-mda')]);
    await expect((await t.prepare(chunks('x'), { uid: 'u', at: 0 })).commit()).rejects.toBeInstanceOf(
      DeliveryError,
    );
  });

  it('kills the MDA when the message stream breaks, so it never delivers a truncated message', async () => {
    async function* broken(): AsyncGenerator<Buffer> {
      yield Buffer.from('Subject: half\r\n');
      await new Promise((r) => setTimeout(r, 100));
      throw new Error('connection lost');
    }
    const t = mdaTarget([process.execPath, mda, 'ok', dir]);
    await expect((await t.prepare(broken(), { uid: 'cut', at: 0 })).commit()).rejects.toThrow(
      'connection lost',
    );
    await new Promise((r) => setTimeout(r, 200));
    await expect(fs.access(join(dir, 'cut'))).rejects.toThrow();
  });

  it('kills an MDA that takes too long', async () => {
    const t = mdaTarget([process.execPath, '-e', 'setTimeout(() => {}, 60000)'], { timeoutMs: 300 });
    const started = Date.now();
    await expect((await t.prepare(chunks('x'), { uid: 'u', at: 0 })).commit()).rejects.toThrow(
      /within 300 ms/,
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
