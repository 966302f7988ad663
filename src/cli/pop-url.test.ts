import { describe, expect, it } from 'vitest';
import { CliError } from './exit-codes.js';
import { looksLikeUrl, parsePopUrl } from './pop-url.js';

describe('parsePopUrl (RFC 2384, plus pop3s://)', () => {
  it('reads scheme, user, AUTH, host and port', () => {
    expect(parsePopUrl('pop3s://alice@mail.example.com')).toEqual({
      host: 'mail.example.com',
      user: 'alice',
      tls: 'implicit',
    });
    expect(parsePopUrl('pop://bob;AUTH=scram-sha-256@h:1110/')).toEqual({
      host: 'h',
      port: 1110,
      user: 'bob',
      mechanism: 'SCRAM-SHA-256',
    });
    expect(parsePopUrl('pop3://c;AUTH=+APOP@h').mechanism).toBe('APOP');
    expect(parsePopUrl('pop3://c;auth=*@h').mechanism).toBeUndefined();
    expect(parsePopUrl('POP3://h')).toEqual({ host: 'h' });
    expect(parsePopUrl('pop3s://u@[::1]:995')).toEqual({
      host: '::1',
      port: 995,
      user: 'u',
      tls: 'implicit',
    });
  });

  it('%-decodes the user and keeps an @ that was encoded', () => {
    expect(parsePopUrl('pop3://a%40b.example@h').user).toBe('a@b.example');
    expect(parsePopUrl('pop3://%E6%9D%8E@h').user).toBe('李');
  });

  it('rejects CR, LF and NUL after decoding (C15), passwords, paths, bad ports and hosts', () => {
    for (const bad of [
      'pop3://a%0d%0aDELE%201@h',
      'pop3://a%0A@h',
      'pop3://a%00@h',
      'pop3://a;AUTH=PLAIN%0d%0a@h',
      'pop3://a:pw@h',
      'pop3://h/INBOX',
      'pop3://h?x=1',
      'pop3://h:0',
      'pop3://h:65536',
      'pop3://h:x',
      'pop3://a;FOO=1@h',
      'pop3://a;AUTH=BAD MECH@h',
      'pop3://',
      'pop3://bad_host!',
      'pop3://a%zz@h',
      'imap://h',
    ]) {
      expect(() => parsePopUrl(bad), bad).toThrow(CliError);
    }
  });

  it('never repeats a password typed into a URL', () => {
    try {
      parsePopUrl('pop3://alice:hunter2@h');
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2');
    }
  });

  it('looksLikeUrl', () => {
    expect(looksLikeUrl('pop3s://x')).toBe(true);
    expect(looksLikeUrl('3')).toBe(false);
  });
});
