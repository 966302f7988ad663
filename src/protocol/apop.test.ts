import { describe, expect, it } from 'vitest';
import { apopDigest, checkApopDigest, makeApopTimestamp, parseApopTimestamp } from './apop.js';

describe('APOP (RFC 1939 §7)', () => {
  it('computes the RFC 1939 example digest', () => {
    expect(apopDigest('<1896.697170952@dbc.mtview.ca.us>', 'tanstaaf')).toBe(
      'c4c9334bac560ecc979e58001b3e22fb',
    );
  });

  it('finds the timestamp in the RFC greeting', () => {
    expect(parseApopTimestamp('+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>')).toBe(
      '<1896.697170952@dbc.mtview.ca.us>',
    );
    expect(parseApopTimestamp('POP3 server ready <1.2@h> welcome')).toBe('<1.2@h>');
  });

  it('client case 30: no timestamp, no "@", two "@", control bytes, non-ASCII or nested "<" → undefined', () => {
    for (const greeting of [
      '+OK POP3 server ready',
      '+OK <1896.697170952>',
      '+OK <a@b@c>',
      '+OK <1896.6971\x0052@host>',
      '+OK <1896.697170952@ho\x1bst>',
      '+OK <1896 697170952@host>',
      '+OK <1896.697170952@h\u00f6st>',
      '+OK <1896.<697170952@host>',
      '+OK <<1896.697170952@host>>',
      '+OK <1.2@host> <3.4@host>',
      '+OK >1.2@host<',
      '+OK <1.2@host',
      '+OK 1.2@host>',
      '+OK <@host>',
      '+OK <1.2@>',
      '+OK <>',
      `+OK <${'a'.repeat(300)}@host>`,
    ]) {
      expect(parseApopTimestamp(greeting), JSON.stringify(greeting)).toBeUndefined();
    }
  });

  it('client case 30: parsing stays linear on 1 MB hostile greetings', () => {
    const hostile = [
      `<${'a'.repeat(1_000_000)}`,
      `<${'@'.repeat(1_000_000)}>`,
      '<'.repeat(1_000_000),
      `${'<a@b'.repeat(250_000)}>`,
      `<${'a@'.repeat(500_000)}>`,
      ' '.repeat(1_000_000),
      `${'x'.repeat(999_990)}<1.2@host>`,
    ];
    for (const text of hostile) {
      const started = performance.now();
      const result = parseApopTimestamp(text);
      const elapsed = performance.now() - started;
      // Linear is a few ms; quadratic on 1 MB would be minutes. The bound leaves room for a busy
      // machine (100 ms failed under load with nothing wrong).
      expect(elapsed).toBeLessThan(1000);
      expect(result === undefined || result === '<1.2@host>').toBe(true);
    }
  });

  it('checks a digest in constant time and accepts only 32 lowercase hex digits (server case 24)', () => {
    const ts = '<1896.697170952@dbc.mtview.ca.us>';
    expect(checkApopDigest(ts, 'tanstaaf', 'c4c9334bac560ecc979e58001b3e22fb')).toBe(true);
    expect(checkApopDigest(ts, 'tanstaaf', 'C4C9334BAC560ECC979E58001B3E22FB')).toBe(false);
    expect(checkApopDigest(ts, 'tanstaaf', 'c4c9334bac560ecc979e58001b3e22f')).toBe(false);
    expect(checkApopDigest(ts, 'tanstaaf', '')).toBe(false);
    expect(checkApopDigest(ts, 'wrong', 'c4c9334bac560ecc979e58001b3e22fb')).toBe(false);
    // Replay: the same digest against a fresh timestamp fails.
    expect(checkApopDigest(makeApopTimestamp('h'), 'tanstaaf', 'c4c9334bac560ecc979e58001b3e22fb')).toBe(
      false,
    );
  });

  it('makes unique, parseable timestamps and sanitises the host', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const ts = makeApopTimestamp('pop.example.org');
      expect(ts).toMatch(new RegExp(`^<${process.pid}\\.\\d+\\.[0-9a-z]+@pop\\.example\\.org>$`));
      expect(parseApopTimestamp(`+OK ready ${ts}`)).toBe(ts);
      seen.add(ts);
    }
    expect(seen.size).toBe(1000);
    for (const host of ['bad host<>@\r\n', '', '\u00e9', 'x'.repeat(1000)]) {
      const ts = makeApopTimestamp(host);
      expect(parseApopTimestamp(ts)).toBe(ts);
    }
  });
});
