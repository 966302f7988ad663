import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Pop3Error } from '../protocol/errors.js';
import { lockAccount } from './lock.js';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'pop3kit-lock-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  const pid = child.pid!;
  await new Promise((r) => child.once('exit', r));
  return pid;
}

describe('account lock', () => {
  it('lets one holder in and tells a second one who has it', async () => {
    const path = join(dir, 'a.lock');
    const held = await lockAccount(path, 'ann@h:995');
    const err = await lockAccount(path, 'ann@h:995').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Pop3Error);
    expect((err as Pop3Error).code).toBe('ESTATE');
    expect((err as Error).message).toContain(`pid ${process.pid}`);
    expect((err as Error).message).toContain('ann@h:995');
    await held.release();
    const again = await lockAccount(path, 'ann@h:995');
    await again.release();
    await expect(fs.access(path)).rejects.toThrow();
  });

  it('breaks a lock left by a dead process on this host', async () => {
    const path = join(dir, 'b.lock');
    await fs.writeFile(path, `${await deadPid()} ${hostname()} ${Date.now()} feedface\n`);
    const held = await lockAccount(path, 'x');
    expect(await fs.readFile(path, 'utf8')).toContain(`${process.pid} `);
    await held.release();
  });

  it("rides out a breaker file left by a process killed while breaking a dead holder's lock", async () => {
    const path = join(dir, 'd.lock');
    await fs.writeFile(path, `${await deadPid()} ${hostname()} ${Date.now()} feedface\n`);
    await fs.writeFile(`${path}.break`, `${await deadPid()} ${hostname()} ${Date.now()}\n`);
    const nearlyStale = new Date(Date.now() - 28_500); // not yet old enough to count as abandoned by age
    await fs.utimes(`${path}.break`, nearlyStale, nearlyStale);
    const held = await lockAccount(path, 'x');
    expect(await fs.readFile(path, 'utf8')).toContain(`${process.pid} `);
    await held.release();
  });

  it('takes an empty lock (an older version killed while creating it) as abandoned after seconds, not minutes', async () => {
    const path = join(dir, 'e.lock');
    await fs.writeFile(path, '');
    await expect(lockAccount(path, 'x')).rejects.toThrow(/already running/); // it may be mid-write
    const old = new Date(Date.now() - 10_000);
    await fs.utimes(path, old, old);
    const held = await lockAccount(path, 'x');
    expect(await fs.readFile(path, 'utf8')).toContain(`${process.pid} `);
    await held.release();
  });

  it('keeps a lock of a live process even when old, until it is stale by time', async () => {
    const path = join(dir, 'c.lock');
    await fs.writeFile(path, `1 ${hostname()} 0 cafe\n`); // pid 1 lives
    await expect(lockAccount(path, 'x')).rejects.toThrow(/already running/);
    const old = new Date(Date.now() - 10 * 60_000);
    await fs.utimes(path, old, old);
    const held = await lockAccount(path, 'x', 5 * 60_000);
    await held.release();
  });
});
