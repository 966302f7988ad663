import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readSizeCache, SIZE_CACHE_FILE, writeSizeCache } from './size-cache.js';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'pop3kit-sizes-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const hex = (s: string) => Buffer.from(s, 'latin1').toString('hex');

describe('size cache', () => {
  it('round-trips entries, latin1 bases included, and skips malformed and torn lines', async () => {
    const entries = new Map([
      ['1700.a.host', { bytes: 4, octets: 6, mtimeMs: 1_700_000_000_123.5 }],
      ['1700.\xe9\xff.host', { bytes: 9, octets: -1, mtimeMs: 5 }],
    ]);
    await writeSizeCache(dir, entries);
    expect(new Map(await readSizeCache(dir))).toEqual(entries);
    const path = join(dir, SIZE_CACHE_FILE);
    await fs.writeFile(
      path,
      `pop3kit-sizes 2\n${hex('ok')} 1 2 3\n${hex('odd')}0 1 2 3\nzz 1 2 3\n${hex('x')} 1 2\n${hex('torn')} 1 2 3`,
    );
    expect([...(await readSizeCache(dir)).keys()]).toEqual(['ok']);
  });

  it('keeps its parse while the text is unchanged, and parses again when it changes, even at the same size in the same instant', async () => {
    const path = join(dir, SIZE_CACHE_FILE);
    await fs.writeFile(path, `pop3kit-sizes 2\n${hex('m1')} 4 6 100\n`);
    const first = await readSizeCache(dir);
    expect(await readSizeCache(dir)).toBe(first);
    const st = await fs.stat(path);
    await fs.writeFile(path, `pop3kit-sizes 2\n${hex('m1')} 4 7 100\n`);
    await fs.utimes(path, st.atime, st.mtime);
    const second = await readSizeCache(dir);
    expect(second).not.toBe(first);
    expect(second.get('m1')?.octets).toBe(7);
    await fs.rm(path);
    expect((await readSizeCache(dir)).size).toBe(0);
  });
});
