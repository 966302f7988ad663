import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTsxChild } from '../../test/helpers/tsx-child.js';
import { Pop3Error } from '../protocol/errors.js';
import { accountId, accountPaths, loadState, removeStaleTemps, SeenState, saveState } from './state.js';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'pop3kit-state-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('account paths', () => {
  it('derives the port from the TLS mode and lower-cases the host', () => {
    expect(accountId({ host: 'Mail.Example.ORG', auth: { user: 'Ann' } })).toBe('Ann@mail.example.org:995');
    expect(accountId({ host: 'h', tls: 'starttls', auth: { user: 'a' } })).toBe('a@h:110');
    expect(accountId({ host: 'h', port: 1110, tls: 'none', auth: { user: 'a' } })).toBe('a@h:1110');
  });

  it('names files by a hash: a hostile user name never becomes a path component', () => {
    const p = accountPaths(dir, '../../etc/passwd@h:995');
    for (const f of [p.state, p.journal, p.lock, p.spool]) {
      expect(join(dir, basename(f))).toBe(f);
      expect(basename(f)).toMatch(/^[0-9a-f]{32}\.[a-z.]+$/);
    }
    expect(accountPaths(dir, 'a@h:995').state).not.toBe(accountPaths(dir, 'a@h:996').state);
    expect(accountPaths(dir, 'a@h:995').state).toBe(accountPaths(dir, 'a@h:995').state);
  });
});

describe('SeenState', () => {
  it('keeps the earliest first-seen time and drops UIDs gone from the server', () => {
    const s = new SeenState();
    s.add('a', 200);
    s.add('a', 100);
    s.add('a', 300);
    s.add('b', 5);
    expect(s.firstSeen('a')).toBe(100);
    expect(s.retainOnly(new Set(['b', 'zzz']))).toBe(1);
    expect([...s.seen.keys()]).toEqual(['b']);
  });

  it('round-trips through the file, including UIDs with JSON-special characters', async () => {
    const s = new SeenState();
    const uids = ['plain', 'q"uote', 'back\\slash', '__proto__', 'x'.repeat(70), '!~'];
    for (const [i, u] of uids.entries()) s.add(u, 1_700_000_000_000 + i);
    const path = accountPaths(dir, 'a@h:995').state;
    await saveState(path, 'a@h:995', s);
    const back = await loadState(path);
    expect([...back.seen]).toEqual([...s.seen]);
    expect((await fs.stat(path)).mode & 0o777).toBe(0o600);
  });

  it('treats a missing file as empty and refuses a damaged one with a clear error', async () => {
    const path = join(dir, 'x.state.json');
    expect((await loadState(path)).seen.size).toBe(0);
    for (const bad of [
      '{"format":"pop3kit-fetch-state","version":1,"seen":[["a b",1]]}', // invalid UID
      '{"format":"pop3kit-fetch-state","version":1,"seen":[["a","1"]]}',
      '{"format":"other","version":1,"seen":[]}',
      '{"format":"pop3kit-fetch-state","version":2,"seen":[]}',
      '{"format":"pop3kit-fetch-state","version":1,"seen":[["a",1]]', // torn
    ]) {
      await fs.writeFile(path, bad);
      const err = await loadState(path).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Pop3Error);
      expect((err as Pop3Error).code).toBe('ESTATE');
      expect((err as Error).message).toContain(path);
    }
  });

  it('ignores and cleans temp files a killed writer left', async () => {
    const path = join(dir, 'k.state.json');
    const s = new SeenState();
    s.add('one', 1);
    await saveState(path, 'a', s);
    await fs.writeFile(`${path}.tmp-99999-abcd`, '{"half');
    await fs.writeFile(join(dir, 'other.state.json.tmp-1-ab'), 'not ours');
    expect([...(await loadState(path)).seen.keys()]).toEqual(['one']);
    await removeStaleTemps(path);
    expect((await fs.readdir(dir)).sort()).toEqual(['k.state.json', 'other.state.json.tmp-1-ab']);
  });

  it('is atomic: a writer SIGKILLed at random moments leaves the old or the new state, never a torn one', async () => {
    const path = join(dir, 'atomic.state.json');
    const stateUrl = pathToFileURL(join(import.meta.dirname, 'state.ts')).href;
    const script = join(dir, 'writer.mts');
    // Each save has one more UID than the last, and UIDs 0..n-1: a loaded state must be such a prefix.
    await fs.writeFile(
      script,
      `import { SeenState, saveState } from ${JSON.stringify(stateUrl)};
       const s = new SeenState();
       for (let i = 0; ; i++) { s.add('u' + i, i); await saveState(${JSON.stringify(path)}, 'a', s);
         if (i === 0) process.stdout.write('ready\\n'); }`,
    );
    let lastSize = 0;
    for (let run = 0; run < 6; run++) {
      const { child, ready, exited } = startTsxChild(script);
      expect(await ready).toBe(true);
      await new Promise((r) => setTimeout(r, 20 + Math.floor(Math.random() * 80)));
      child.kill('SIGKILL');
      await exited;
      const s = await loadState(path);
      const n = s.seen.size;
      expect(n).toBeGreaterThan(0);
      expect([...s.seen.keys()]).toEqual(Array.from({ length: n }, (_, i) => `u${i}`));
      lastSize = n;
    }
    expect(lastSize).toBeGreaterThan(0);
  }, 60_000);
});
