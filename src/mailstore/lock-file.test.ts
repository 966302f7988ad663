import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLockFile, processIsDead } from './lock-file.js';

let root: string;
let path: string;
beforeEach(async () => {
  root = await fs.mkdtemp(join(tmpdir(), 'pop3kit-lock-'));
  path = join(root, 'x.lock');
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

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

  it('throws real errors (no such directory) instead of reporting busy', async () => {
    await expect(acquireLockFile(join(root, 'missing', 'x.lock'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
