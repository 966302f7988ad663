import { describe, expect, it } from 'vitest';
import { createServerExchange, type SaslServerBackend, type SaslStep } from './index.js';

const users: Record<string, string> = { tim: 'tanstaaf', [`${'u'.repeat(255)}`]: 'p'.repeat(255) };
const backend: SaslServerBackend = {
  async verifyPassword(user, pass) {
    return users[user] === pass ? user : null;
  },
};

async function plain(message: Buffer | undefined): Promise<SaslStep> {
  const ex = createServerExchange('PLAIN', backend, { serverName: 'pop.example' })!;
  return ex.step(message);
}

const b = (s: string) => Buffer.from(s, 'utf8');

describe('PLAIN server (RFC 4616, CONFORMANCE S20)', () => {
  it('accepts good credentials and rejects a wrong password', async () => {
    expect(await plain(b('\0tim\0tanstaaf'))).toEqual({ kind: 'success', user: 'tim' });
    expect(await plain(b('tim\0tim\0tanstaaf'))).toEqual({ kind: 'success', user: 'tim' });
    expect(await plain(b('\0tim\0wrong'))).toMatchObject({ kind: 'failure', user: 'tim' });
  });

  it('server case 14: "AUTH PLAIN =" (empty initial response) fails; "AUTH PLAIN" alone gets an empty challenge', async () => {
    expect((await plain(Buffer.alloc(0))).kind).toBe('failure');
    const ex = createServerExchange('PLAIN', backend, { serverName: 'h' })!;
    const first = await ex.step(undefined);
    expect(first).toEqual({ kind: 'challenge', data: Buffer.alloc(0) });
    expect(await ex.step(b('\0tim\0tanstaaf'))).toEqual({ kind: 'success', user: 'tim' });
  });

  it('server case 16: fields of 255 octets are accepted; 256 octets or a 4 KiB message fail, bounded', async () => {
    const u = 'u'.repeat(255);
    expect(await plain(b(`${u}\0${u}\0${'p'.repeat(255)}`))).toEqual({ kind: 'success', user: u });
    expect((await plain(b(`\0${'u'.repeat(256)}\0x`))).kind).toBe('failure');
    expect((await plain(b(`\0tim\0${'p'.repeat(256)}`))).kind).toBe('failure');
    expect((await plain(b(`\0tim\0${'p'.repeat(4096)}`))).kind).toBe('failure');
    expect(await plain(b(`\0tim\0${'p'.repeat(5000)}`))).toMatchObject({ reason: 'response too long' });
  });

  it('server case 17: 0, 1 or 3 NULs fail', async () => {
    for (const msg of ['timtanstaaf', 'tim\0tanstaaf', '\0tim\0tan\0staaf', '\0\0\0']) {
      expect((await plain(b(msg))).kind).toBe('failure');
    }
  });

  it('server case 18: CR, LF or control characters inside decoded fields fail, and never reach the backend', async () => {
    const seen: string[] = [];
    const recording: SaslServerBackend = {
      async verifyPassword(user, pass) {
        seen.push(user, pass);
        return null;
      },
    };
    for (const msg of [
      '\0tim\r\nDELE 1\0x',
      '\0tim\0x\r\ny',
      '\0tim\0x\ny',
      'a\rb\0tim\0x',
      '\0t\x1bim\0x',
    ]) {
      const step = await createServerExchange('PLAIN', recording, { serverName: 'h' })!.step(b(msg));
      expect(step.kind).toBe('failure');
      if (step.kind === 'failure') expect(step.reason).not.toMatch(/[\r\n]/);
    }
    expect(seen).toEqual([]);
  });

  it('server case 19: an authzid other than the user fails without checking the password', async () => {
    expect(await plain(b('admin\0tim\0tanstaaf'))).toMatchObject({
      kind: 'failure',
      reason: 'authorization identity not permitted',
    });
  });

  it('fails on invalid UTF-8 and on empty user or password', async () => {
    for (const msg of [Buffer.from([0, 0xff, 0xfe, 0, 0x41]), b('\0\0x'), b('\0tim\0')]) {
      expect((await plain(msg)).kind).toBe('failure');
    }
  });

  it('works from getPassword alone, in constant time, and fails unknown users', async () => {
    const viaGet: SaslServerBackend = { getPassword: async (u) => users[u] ?? null };
    const run = (m: string) => createServerExchange('PLAIN', viaGet, { serverName: 'h' })!.step(b(m));
    expect(await run('\0tim\0tanstaaf')).toEqual({ kind: 'success', user: 'tim' });
    expect((await run('\0tim\0tanstaa')).kind).toBe('failure');
    expect((await run('\0nobody\0tanstaaf')).kind).toBe('failure');
  });

  it('failure reasons never contain the password', async () => {
    const step = await plain(b('\0tim\0hunter2'));
    expect(JSON.stringify(step)).not.toContain('hunter2');
  });
});
