import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createServerExchange, serverMechanisms } from '../protocol/sasl/server/index.js';
import { parseStoredSecret } from './password-schemes.js';
import { formatUsersLine, hashPassword, UsersFile } from './users-file.js';

const fast = { scrypt: { ln: 10 } };

describe('hashPassword / parseStoredSecret', () => {
  it('produces fields that parse back and verify, for every scheme', async () => {
    for (const scheme of ['SCRYPT', 'SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN'] as const) {
      const field = await hashPassword('pa:ss wörd', scheme, fast);
      expect(field.startsWith(`{${scheme}}`)).toBe(true);
      const users = UsersFile.parse(`bob:${field}\n`);
      expect(await users.verifyPassword('bob', 'pa:ss wörd')).toBe('bob');
      expect(await users.verifyPassword('bob', 'pa:ss word')).toBeNull();
    }
  });

  it('salts: the same password hashes differently each time', async () => {
    expect(await hashPassword('x', 'SCRYPT', fast)).not.toBe(await hashPassword('x', 'SCRYPT', fast));
  });

  it('refuses passwords that cannot be stored on one line', async () => {
    await expect(hashPassword('a\nb')).rejects.toThrow(TypeError);
    await expect(hashPassword('')).rejects.toThrow(TypeError);
  });

  it('refuses malformed or out-of-range stored values without echoing them', () => {
    for (const field of [
      'secret',
      '{MD5}abc',
      '{SCRYPT}ln=30,r=8,p=1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==',
      // each parameter in range, the product not: 4 GiB of memory per check, sixteen times
      '{SCRYPT}ln=20,r=32,p=16$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==',
      '{SCRYPT}ln=20,r=8,p=1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==',
      '{SCRYPT}ln=14,r=8,p=1$!!$AAAA',
      '{SCRAM-SHA-256}4096,c2FsdA==,AAAA,AAAA',
      '{SCRAM-SHA-256}99999999,c2FsdA==,AAAA,AAAA',
      '{PLAIN}',
    ]) {
      const r = parseStoredSecret(field);
      expect('error' in r).toBe(true);
      if ('error' in r) expect(r.error).not.toContain(field.slice(field.indexOf('}') + 1) || '\0');
    }
  });
});

describe('UsersFile', () => {
  it('parses comments and blank lines; errors name the line, not its content', () => {
    const users = UsersFile.parse('# comment\n\n  # indented comment\nann:{PLAIN}pw\r\n');
    expect(users.size).toBe(1);
    expect(users.has('ann')).toBe(true);
    expect(() => UsersFile.parse('ann:{PLAIN}pw\nann:{PLAIN}x\n')).toThrow(/line 2: duplicate/);
    expect(() => UsersFile.parse('ann:hunter2\n')).toThrow(/line 1/);
    try {
      UsersFile.parse('ann:{NOPE}hunter2\n');
    } catch (err) {
      expect(String(err)).not.toContain('hunter2');
    }
  });

  it('the {PLAIN} secret is the rest of the line, colons and spaces included', async () => {
    const users = UsersFile.parse('ann:{PLAIN}a:b c \n');
    expect(await users.verifyPassword('ann', 'a:b c ')).toBe('ann');
  });

  it('offers only the mechanisms its entries can serve', async () => {
    const scrypt = UsersFile.parse(`a:${await hashPassword('pw', 'SCRYPT', fast)}\n`);
    expect(serverMechanisms(scrypt)).toEqual(['PLAIN', 'LOGIN']);
    const scram = UsersFile.parse(`a:${await hashPassword('pw', 'SCRAM-SHA-256')}\n`);
    expect(serverMechanisms(scram)).toEqual(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN', 'LOGIN']);
    const plain = UsersFile.parse('a:{PLAIN}pw\n');
    expect(serverMechanisms(plain)).toEqual(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'CRAM-MD5', 'PLAIN', 'LOGIN']);
  });

  it('an unknown user is refused like a wrong password', async () => {
    const users = UsersFile.parse('a:{PLAIN}pw\n');
    expect(await users.verifyPassword('nobody', 'pw')).toBeNull();
    expect(await users.getPassword!('nobody')).toBeNull();
    expect(await users.getScramCredentials!('nobody', 'sha256')).toBeNull();
  });

  it('refuses an authzid other than the user', async () => {
    const users = UsersFile.parse('a:{PLAIN}pw\n');
    expect(await users.verifyPassword('a', 'pw', 'a')).toBe('a');
    expect(await users.verifyPassword('a', 'pw', 'root')).toBeNull();
  });

  it('serves plaintext only from {PLAIN} entries, and SCRAM keys only for the matching hash', async () => {
    const users = UsersFile.parse(
      `p:{PLAIN}pw\ns:${await hashPassword('pw', 'SCRAM-SHA-256')}\nx:${await hashPassword('pw', 'SCRYPT', fast)}\n`,
    );
    expect(await users.getPassword!('p')).toBe('pw');
    expect(await users.getPassword!('s')).toBeNull();
    expect(await users.getPassword!('x')).toBeNull();
    expect(await users.getScramCredentials!('s', 'sha256')).not.toBeNull();
    expect(await users.getScramCredentials!('s', 'sha1')).toBeNull();
    expect(await users.getScramCredentials!('x', 'sha256')).toBeNull();
    const derived = await users.getScramCredentials!('p', 'sha1');
    expect(derived?.iterations).toBe(4096);
    expect(await users.getScramCredentials!('p', 'sha1')).toBe(derived); // cached: same salt every time
  });

  it('SCRAM keys from a users file drive a real SCRAM exchange', async () => {
    const users = UsersFile.parse(`s:${await hashPassword('pw', 'SCRAM-SHA-256')}\n`);
    const exchange = createServerExchange('SCRAM-SHA-256', users, { serverName: 'test' })!;
    const step = await exchange.step(Buffer.from('n,,n=s,r=abcdefgh'));
    expect(step.kind).toBe('challenge');
  });

  it('loads from disk', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pop3kit-users-'));
    try {
      const path = join(dir, 'users');
      await writeFile(path, `${formatUsersLine('ann', '{PLAIN}pw')}\n`);
      const users = await UsersFile.load(path);
      expect(await users.verifyPassword('ann', 'pw')).toBe('ann');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('formatUsersLine refuses names and fields that would break the file', () => {
    expect(() => formatUsersLine('a:b', '{PLAIN}x')).toThrow();
    expect(() => formatUsersLine('a\n', '{PLAIN}x')).toThrow();
    expect(() => formatUsersLine('a', '{PLAIN}x\nb:{PLAIN}y')).toThrow();
  });
});
