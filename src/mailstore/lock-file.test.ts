import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTsxChild } from '../../test/helpers/tsx-child.js';
import {
  acquireLockFile,
  lockTempPath,
  PRIVATE_LOCK_UNREADABLE_STALE_MS,
  processIsDead,
} from './lock-file.js';

let root: string;
let path: string;
beforeEach(async () => {
  root = await fs.mkdtemp(join(tmpdir(), 'pop3kit-lock-'));
  path = join(root, 'x.lock');
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

/** What a lock file written by this module holds. */
const WHOLE_LOCK = /^\d+ \S+ \d+ [0-9a-f]{16}\n$/;

const secondsAgo = (s: number) => Date.now() / 1000 - s;

async function readOrNull(file: string): Promise<string | null> {
  return fs.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

describe('lock files', () => {
  it('is exclusive until released; release is idempotent', async () => {
    const a = await acquireLockFile(path);
    expect(a).not.toBeNull();
    expect(await fs.readFile(path, 'utf8')).toMatch(
      new RegExp(`^${process.pid} ${hostname()} \\d+ [0-9a-f]{16}\\n$`),
    );
    expect(await acquireLockFile(path)).toBeNull();
    await a!.release();
    await a!.release();
    const b = await acquireLockFile(path);
    expect(b).not.toBeNull();
    await b!.release();
  });

  it('waits up to waitMs for the holder to let go', async () => {
    const a = await acquireLockFile(path);
    setTimeout(() => void a!.release(), 100);
    const b = await acquireLockFile(path, { waitMs: 5000 });
    expect(b).not.toBeNull();
    await b!.release();
  });

  it('does not remove a lock that has become someone else’s', async () => {
    const a = await acquireLockFile(path);
    await fs.writeFile(path, `1 other-host ${Date.now()} feedfeedfeedfeed\n`);
    await a!.release();
    expect(await fs.readFile(path, 'utf8')).toContain('other-host');
  });

  it('breaks a lock of a dead local process, or one not refreshed within staleMs', async () => {
    expect(processIsDead(process.pid)).toBe(false);
    const pid = await deadPid();
    expect(processIsDead(pid)).toBe(true);
    await fs.writeFile(path, `${pid} ${hostname()} ${Date.now()} aa\n`);
    const a = await acquireLockFile(path);
    expect(a).not.toBeNull();
    await a!.release();

    await fs.writeFile(path, `${pid} other-host ${Date.now()} aa\n`); // pid means nothing on another host
    expect(await acquireLockFile(path, { staleMs: 10_000 })).toBeNull();
    const old = Date.now() / 1000 - 20;
    await fs.utimes(path, old, old);
    const b = await acquireLockFile(path, { staleMs: 10_000 });
    expect(b).not.toBeNull();
    await b!.release();
  });

  it('privateLock: a lock naming this process that it does not hold is an earlier process’s (same pid after a restart)', async () => {
    await fs.writeFile(path, `${process.pid} ${hostname()} ${Date.now()} 0123456789abcdef\n`);
    expect(await acquireLockFile(path)).toBeNull(); // a shared lock (mbox dotlock): our pid is alive
    const a = await acquireLockFile(path, { privateLock: true });
    expect(a).not.toBeNull();
    // The one this process does hold stays held, for any acquirer in it.
    expect(await acquireLockFile(path, { privateLock: true })).toBeNull();
    await a!.release();
    const b = await acquireLockFile(path, { privateLock: true });
    expect(b).not.toBeNull();
    await b!.release();
  });

  it('lets exactly one of many racing acquirers break a stale lock', async () => {
    await fs.writeFile(path, `${await deadPid()} ${hostname()} ${Date.now()} aa\n`);
    const got = await Promise.all(Array.from({ length: 12 }, () => acquireLockFile(path)));
    expect(got.filter((g) => g !== null)).toHaveLength(1);
    await got.find((g) => g !== null)!.release();
    await expect(fs.access(`${path}.break`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('clears a breaker file left by a killed process at once when its pid is dead here', async () => {
    await fs.writeFile(path, `${await deadPid()} ${hostname()} ${Date.now()} aa\n`);
    await fs.writeFile(`${path}.break`, `${await deadPid()} ${hostname()} ${Date.now()}\n`);
    const started = Date.now();
    const a = await acquireLockFile(path); // waitMs 0: nothing to wait out
    expect(a).not.toBeNull();
    expect(Date.now() - started).toBeLessThan(2000);
    await expect(fs.access(`${path}.break`)).rejects.toMatchObject({ code: 'ENOENT' });
    await a!.release();
  });

  it('leaves a breaker of a live process, or of another host, alone until it is 30 s old', async () => {
    const breaker = `${path}.break`;
    await fs.writeFile(path, `${await deadPid()} ${hostname()} ${Date.now()} aa\n`);
    await fs.writeFile(breaker, `${process.pid} ${hostname()} ${Date.now()}\n`);
    expect(await acquireLockFile(path)).toBeNull();
    await fs.writeFile(breaker, `${await deadPid()} other-host ${Date.now()}\n`);
    expect(await acquireLockFile(path)).toBeNull();
    expect(await fs.readFile(breaker, 'utf8')).toContain('other-host');
    const old = Date.now() / 1000 - 31;
    await fs.utimes(breaker, old, old);
    const a = await acquireLockFile(path);
    expect(a).not.toBeNull();
    await a!.release();
  });

  it('keeps a held lock fresh so it never looks abandoned', async () => {
    const a = await acquireLockFile(path, { staleMs: 600, refreshMs: 100 });
    await new Promise((r) => setTimeout(r, 1000));
    expect(await acquireLockFile(path, { staleMs: 600 })).toBeNull();
    await a!.release();
  });

  it('never shows a lock empty or cut short: readers racing 150 creates and releases see it whole or absent', async () => {
    let stop = false;
    let present = 0;
    const partial: string[] = [];
    const reader = async () => {
      while (!stop) {
        const text = await readOrNull(path);
        if (text === null) continue;
        present++;
        if (!WHOLE_LOCK.test(text)) partial.push(text);
      }
    };
    const readers = [reader(), reader(), reader()];
    for (let i = 0; i < 150; i++) {
      const lock = await acquireLockFile(path);
      expect(lock).not.toBeNull();
      await lock!.release();
    }
    stop = true;
    await Promise.all(readers);
    expect(partial).toEqual([]);
    expect(present).toBeGreaterThan(0); // the readers did catch locks in place
  });

  it('takes an empty or foreign lock as held until unreadableStaleMs (default: staleMs) has passed', async () => {
    const grace = { unreadableStaleMs: PRIVATE_LOCK_UNREADABLE_STALE_MS };
    for (const content of ['', '4242\n', 'garbage']) {
      await fs.writeFile(path, content); // an older version's lock cut short, or another program's dotlock
      expect(await acquireLockFile(path, grace), JSON.stringify(content)).toBeNull(); // may be mid-write
      await fs.utimes(path, secondsAgo(10), secondsAgo(10));
      expect(await acquireLockFile(path), JSON.stringify(content)).toBeNull(); // another program may hold it
      const a = await acquireLockFile(path, grace);
      expect(a, JSON.stringify(content)).not.toBeNull();
      await a!.release();
    }
  });

  it('sweeps temp files a killed creator left: this host’s with a dead pid at once, others when stale', async () => {
    const deadOurs = lockTempPath(path, await deadPid());
    const deadBreaker = lockTempPath(`${path}.break`, await deadPid());
    const liveOurs = lockTempPath(path, 1); // pid 1 lives
    const otherHost = `${path}.f0f0f0f0.77.aaaaaaaaaaaa.tmp`; // (a host whose tag is f0f0f0f0)
    const otherHostOld = `${path}.f0f0f0f0.78.bbbbbbbbbbbb.tmp`;
    const unrelated = join(root, 'y.lock.f0f0f0f0.79.cccccccccccc.tmp');
    for (const f of [deadOurs, deadBreaker, liveOurs, otherHost, otherHostOld, unrelated])
      await fs.writeFile(f, '');
    await fs.utimes(otherHostOld, secondsAgo(20), secondsAgo(20));
    await fs.utimes(unrelated, secondsAgo(20), secondsAgo(20));
    const a = await acquireLockFile(path, { staleMs: 10_000 });
    expect(a).not.toBeNull();
    await a!.release();
    const left = (await fs.readdir(root)).sort();
    expect(left).toEqual([liveOurs, otherHost, unrelated].map((f) => f.slice(root.length + 1)).sort());
  });

  it('a creator SIGKILLed at random moments leaves no lock or a whole one, which the next acquirer breaks', async () => {
    // (Creating the file and then writing it left an empty lock in some of these kills.)
    const lockUrl = pathToFileURL(join(import.meta.dirname, 'lock-file.ts')).href;
    const script = join(root, 'locker.mts');
    await fs.writeFile(
      script,
      `import { acquireLockFile } from ${JSON.stringify(lockUrl)};
       const path = process.argv[2];
       for (let i = 0; ; i++) { const l = await acquireLockFile(path); await l.release();
         if (i === 0) process.stdout.write('ready\\n'); }`,
    );
    const kills = async (lock: string) => {
      const { child, ready, exited } = startTsxChild(script, [lock]);
      const wasReady = await ready;
      await new Promise((r) => setTimeout(r, 5 + Math.floor(Math.random() * 40)));
      child.kill('SIGKILL');
      await exited;
      return wasReady;
    };
    for (let round = 0; round < 3; round++) {
      const locks = Array.from({ length: 4 }, (_, i) => join(root, `k${round}-${i}.lock`));
      expect(await Promise.all(locks.map(kills))).toEqual([true, true, true, true]);
      for (const lock of locks) {
        const text = await readOrNull(lock);
        if (text !== null) expect(text).toMatch(WHOLE_LOCK);
        const next = await acquireLockFile(lock); // waitMs 0: a dead holder never blocks
        expect(next).not.toBeNull();
        await next!.release();
      }
    }
    // A kill between writing the temp file and removing it leaves it: the next holder swept it.
    expect((await fs.readdir(root)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  }, 60_000);

  it('throws real errors (no such directory) instead of reporting busy', async () => {
    await expect(acquireLockFile(join(root, 'missing', 'x.lock'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
