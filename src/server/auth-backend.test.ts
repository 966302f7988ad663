import { describe, expect, it } from 'vitest';
import { AuthBackend } from './auth-backend.js';
import { UsersFile } from './users-file.js';

describe('AuthBackend', () => {
  it('the authenticate hook serves PLAIN/LOGIN and sees the attempt context', async () => {
    const seen: unknown[] = [];
    const auth = new AuthBackend({
      authenticate: (req) => {
        seen.push({ ...req });
        return req.pass === 'ok' ? 'Canonical' : null;
      },
    });
    expect(auth.mechanisms).toEqual(['PLAIN', 'LOGIN']);
    const backend = auth.forAttempt({ mechanism: 'PLAIN', remoteAddress: '10.0.0.1', secure: true });
    expect(await backend.verifyPassword!('u', 'ok')).toBe('Canonical');
    expect(await backend.verifyPassword!('u', 'no')).toBeNull();
    expect(seen[0]).toEqual({
      user: 'u',
      pass: 'ok',
      mechanism: 'PLAIN',
      remoteAddress: '10.0.0.1',
      secure: true,
    });
  });

  it('true from the hook means the user as given; an empty string refuses', async () => {
    const auth = new AuthBackend({ authenticate: ({ pass }) => (pass === 'a' ? true : '') });
    const b = auth.forAttempt({ mechanism: 'USER', remoteAddress: undefined, secure: false });
    expect(await b.verifyPassword!('bob', 'a')).toBe('bob');
    expect(await b.verifyPassword!('bob', 'b')).toBeNull();
  });

  it('hides cleartext-secret mechanisms without TLS unless allowed', () => {
    const auth = new AuthBackend({ users: UsersFile.parse('a:{PLAIN}pw\n'), verifyToken: async () => null });
    expect(auth.mechanismsFor(true, false)).toEqual([
      'SCRAM-SHA-256',
      'SCRAM-SHA-1',
      'OAUTHBEARER',
      'XOAUTH2',
      'CRAM-MD5',
      'PLAIN',
      'LOGIN',
    ]);
    expect(auth.mechanismsFor(false, false)).toEqual(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'CRAM-MD5']);
    expect(auth.mechanismsFor(false, true)).toEqual(auth.mechanismsFor(true, false));
  });

  it('merges a users file with the hook: the hook checks passwords, the file serves SCRAM', async () => {
    const auth = new AuthBackend({ users: UsersFile.parse('a:{PLAIN}pw\n'), authenticate: () => false });
    const b = auth.forAttempt({ mechanism: 'PLAIN', remoteAddress: undefined, secure: true });
    expect(await b.verifyPassword!('a', 'pw')).toBeNull();
    expect(await b.getScramCredentials!('a', 'sha256')).not.toBeNull();
  });
});
