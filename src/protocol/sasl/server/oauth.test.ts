import { describe, expect, it } from 'vitest';
import { createServerExchange, type SaslServerBackend } from './index.js';

const b = (s: string) => Buffer.from(s, 'utf8');
const TOKEN = 'vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg==';
const backend: SaslServerBackend = {
  verifyToken: async (user, token) =>
    token === TOKEN && (user === 'user@example.com' || user === '') ? 'user@example.com' : null,
};
const bearer = (token: string, user = 'user@example.com') =>
  b(`n,a=${user},\x01host=server.example.com\x01port=143\x01auth=Bearer ${token}\x01\x01`);
const xoauth2 = (token: string) => b(`user=user@example.com\x01auth=Bearer ${token}\x01\x01`);

describe('OAUTHBEARER server (RFC 7628, CONFORMANCE S22)', () => {
  const exchange = () => createServerExchange('OAUTHBEARER', backend, { serverName: 'h' })!;

  it('accepts a valid token, with or without an initial response', async () => {
    expect(await exchange().step(bearer(TOKEN))).toEqual({ kind: 'success', user: 'user@example.com' });
    const ex = exchange();
    expect(await ex.step(undefined)).toEqual({ kind: 'challenge', data: Buffer.alloc(0) });
    expect(await ex.step(bearer(TOKEN))).toEqual({ kind: 'success', user: 'user@example.com' });
  });

  it('accepts a message without a=, letting the backend find the user from the token', async () => {
    expect(await exchange().step(b(`n,,\x01auth=Bearer ${TOKEN}\x01\x01`))).toEqual({
      kind: 'success',
      user: 'user@example.com',
    });
  });

  it('answers a bad token with a JSON error challenge, then fails on AQ==', async () => {
    const ex = exchange();
    const step = await ex.step(bearer('wrong'));
    expect(step.kind).toBe('challenge');
    if (step.kind === 'challenge')
      expect(JSON.parse(step.data.toString())).toMatchObject({ status: 'invalid_token' });
    expect(await ex.step(Buffer.from([1]))).toEqual({
      kind: 'failure',
      reason: 'invalid token',
      user: 'user@example.com',
    });
  });

  it('server case 22: a command instead of AQ== still fails, and the exchange stays finished', async () => {
    const ex = exchange();
    await ex.step(bearer('wrong'));
    // "STAT" is itself valid base64; the session decodes it and hands us the bytes.
    const step = await ex.step(Buffer.from('STAT', 'base64'));
    expect(step).toMatchObject({
      kind: 'failure',
      reason: 'invalid token; unexpected answer to the error challenge',
    });
    expect((await ex.step(Buffer.from([1]))).kind).toBe('failure');
    expect((await ex.step(bearer(TOKEN))).kind).toBe('failure');
  });

  it('a missing auth pair also gets the error challenge (token discovery)', async () => {
    const step = await exchange().step(b('n,a=user@example.com,\x01host=h\x01\x01'));
    expect(step.kind).toBe('challenge');
  });

  it('malformed messages fail at once', async () => {
    for (const bad of [
      'n,a=user@example.com,auth=Bearer x\x01\x01',
      `n,a=user@example.com,\x01auth=Bearer ${TOKEN}\x01`,
      `p=tls-unique,,\x01auth=Bearer ${TOKEN}\x01\x01`,
      `n,a=user@example.com,\x01auth=Bearer ${TOKEN}\x01auth=Bearer ${TOKEN}\x01\x01`,
      `n,a=user@example.com,\x01host=a\r\nb\x01auth=Bearer ${TOKEN}\x01\x01`,
      `n,a=us=er,\x01auth=Bearer ${TOKEN}\x01\x01`,
    ]) {
      expect((await exchange().step(b(bad))).kind).toBe('failure');
    }
  });

  it('bounds a response at 16 KiB', async () => {
    expect(await exchange().step(bearer('a'.repeat(20_000)))).toMatchObject({ reason: 'response too long' });
  });
});

describe('XOAUTH2 server', () => {
  const exchange = () => createServerExchange('XOAUTH2', backend, { serverName: 'h' })!;

  it('accepts a valid token, two-step or with an initial response', async () => {
    expect(await exchange().step(xoauth2(TOKEN))).toEqual({ kind: 'success', user: 'user@example.com' });
    const ex = exchange();
    expect(await ex.step(undefined)).toEqual({ kind: 'challenge', data: Buffer.alloc(0) });
    expect(await ex.step(xoauth2(TOKEN))).toEqual({ kind: 'success', user: 'user@example.com' });
  });

  it('answers a bad token with a JSON error challenge, then fails on the empty answer', async () => {
    const ex = exchange();
    const step = await ex.step(xoauth2('wrong'));
    expect(step.kind).toBe('challenge');
    expect(await ex.step(Buffer.alloc(0))).toMatchObject({ kind: 'failure', reason: 'invalid token' });
  });

  it('refuses a message without a user, or with a bad scheme', async () => {
    for (const bad of [`auth=Bearer ${TOKEN}\x01\x01`, 'user=u\x01auth=Basic abc\x01\x01x']) {
      expect((await exchange().step(b(bad))).kind).toBe('failure');
    }
    // A non-bearer scheme is an invalid token: error challenge, then failure.
    expect((await exchange().step(b('user=u\x01auth=Basic abc\x01\x01'))).kind).toBe('challenge');
  });
});
