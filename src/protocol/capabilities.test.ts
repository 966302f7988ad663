import { describe, expect, it } from 'vitest';
import { twoWaySplits } from '../../scripts/fuzz/chunks.js';
import { Capabilities, MAX_CAPA_LINES } from './capabilities.js';
import { DotDecoder } from './dot-decoder.js';
import { Pop3Error } from './errors.js';
import { LineReader } from './line-reader.js';
import { parseStatusLine } from './response.js';

/** A CAPA reply as Dovecot sends it. */
const DOVECOT = [
  'CAPA',
  'TOP',
  'UIDL',
  'RESP-CODES',
  'PIPELINING',
  'AUTH-RESP-CODE',
  'STLS',
  'USER',
  'SASL PLAIN LOGIN',
];

describe('Capabilities: parsing (C8, RFC 2449 §5)', () => {
  it('C8: a Dovecot CAPA list', () => {
    const caps = new Capabilities(DOVECOT);
    expect(caps.names).toEqual([
      'CAPA',
      'TOP',
      'UIDL',
      'RESP-CODES',
      'PIPELINING',
      'AUTH-RESP-CODE',
      'STLS',
      'USER',
      'SASL',
    ]);
    expect(caps.has('TOP')).toBe(true);
    expect(caps.pipelining).toBe(true);
    expect(caps.stls).toBe(true);
    expect(caps.responseCodes).toBe(true);
    expect(caps.sasl).toEqual(['PLAIN', 'LOGIN']);
    expect(caps.has('APOP')).toBe(false);
    expect(caps.args('SASL')).toEqual(['PLAIN', 'LOGIN']);
    expect(caps.args('NOPE')).toBeUndefined();
  });

  it('names are case-insensitive and upper-cased; arguments keep their case', () => {
    const caps = new Capabilities(['sasl plain Scram-Sha-256', 'Implementation Dovecot Ready', 'pipelining']);
    expect(caps.has('SASL')).toBe(true);
    expect(caps.has('Pipelining')).toBe(true);
    expect(caps.names).toEqual(['SASL', 'IMPLEMENTATION', 'PIPELINING']);
    expect(caps.args('sasl')).toEqual(['plain', 'Scram-Sha-256']);
    expect(caps.sasl).toEqual(['PLAIN', 'SCRAM-SHA-256']);
    expect(caps.implementation).toBe('Dovecot Ready');
  });

  it('extra spaces and surrounding whitespace do not make empty arguments', () => {
    expect(new Capabilities(['  SASL   PLAIN  LOGIN  ']).args('SASL')).toEqual(['PLAIN', 'LOGIN']);
  });

  it('C9: responseCodes is true for RESP-CODES or AUTH-RESP-CODE alone, false for neither', () => {
    expect(new Capabilities(['RESP-CODES']).responseCodes).toBe(true);
    expect(new Capabilities(['AUTH-RESP-CODE']).responseCodes).toBe(true);
    expect(new Capabilities(['TOP', 'UIDL']).responseCodes).toBe(false);
  });

  it('C8: none() (CAPA answered -ERR) supports nothing', () => {
    const none = Capabilities.none();
    expect(none.names).toEqual([]);
    expect(none.pipelining || none.stls || none.responseCodes).toBe(false);
    expect(none.sasl).toEqual([]);
    expect(none.toJSON()).toEqual({});
  });

  it('junk lines are ignored, not trusted', () => {
    const caps = new Capabilities([
      '',
      '   ',
      '-BAD',
      '.',
      '\x1b[31mRED',
      '\0\xff',
      `${'N'.repeat(65)}`,
      'TOP',
    ]);
    expect(caps.names).toEqual(['TOP']);
  });

  it('toJSON gives names and arguments', () => {
    expect(new Capabilities(['SASL PLAIN', 'TOP']).toJSON()).toEqual({ SASL: ['PLAIN'], TOP: [] });
  });
});

describe('Capabilities: hostile lists (client case 21)', () => {
  it('client case 21: 10,000 CAPA lines → ELIMIT', () => {
    const lines = Array.from({ length: 10_000 }, (_, i) => `X-CAP-${i}`);
    expect(() => new Capabilities(lines)).toThrow(
      expect.objectContaining({ name: 'Pop3Error', code: 'ELIMIT' }),
    );
  });

  it(`client case 21: ${MAX_CAPA_LINES} lines are accepted, one more is ELIMIT`, () => {
    const lines = Array.from({ length: MAX_CAPA_LINES }, (_, i) => `X-CAP-${i}`);
    expect(new Capabilities(lines).names.length).toBe(MAX_CAPA_LINES);
    expect(() => new Capabilities([...lines, 'TOP'])).toThrow(Pop3Error);
  });

  it('client case 21: bogus SASL names are ignored', () => {
    const caps = new Capabilities([
      `SASL PLAIN BOGUS! ${'X'.repeat(21)} SCRAM-SHA-256 \x1b[31m caf\u00e9 XOAUTH2 a/b OAUTHBEARER`,
    ]);
    expect(caps.sasl).toEqual(['PLAIN', 'SCRAM-SHA-256', 'XOAUTH2', 'OAUTHBEARER']);
  });
});

describe('Capabilities: LOGIN-DELAY and EXPIRE (C7, S15)', () => {
  const delay = (line: string) => new Capabilities([line]).loginDelay;
  const expire = (line: string) => new Capabilities([line]).expire;

  it('LOGIN-DELAY seconds, with or without the USER flag', () => {
    expect(delay('LOGIN-DELAY 900')).toBe(900);
    expect(delay('LOGIN-DELAY 0')).toBe(0);
    expect(delay('login-delay 300 USER')).toBe(300);
  });

  it('LOGIN-DELAY that is not a small non-negative integer is ignored', () => {
    for (const line of [
      'LOGIN-DELAY',
      'LOGIN-DELAY -1',
      'LOGIN-DELAY x',
      'LOGIN-DELAY 1e3',
      'LOGIN-DELAY 9999999999',
    ]) {
      expect(delay(line), line).toBeUndefined();
    }
    expect(new Capabilities(['TOP']).loginDelay).toBeUndefined();
  });

  it('EXPIRE days, NEVER (any case), with or without USER', () => {
    expect(expire('EXPIRE 31')).toBe(31);
    expect(expire('EXPIRE 0')).toBe(0);
    expect(expire('EXPIRE NEVER')).toBe('NEVER');
    expect(expire('expire never')).toBe('NEVER');
    expect(expire('EXPIRE 60 USER')).toBe(60);
  });

  it('EXPIRE that is neither days nor NEVER is ignored', () => {
    for (const line of ['EXPIRE', 'EXPIRE -1', 'EXPIRE soon', 'EXPIRE 12345678901']) {
      expect(expire(line), line).toBeUndefined();
    }
    expect(new Capabilities(['TOP']).expire).toBeUndefined();
  });
});

describe('a CAPA reply through LineReader and DotDecoder at every split', () => {
  const reply = Buffer.from(`+OK Capability list follows\r\n${DOVECOT.join('\r\n')}\r\n.\r\n+OK next\r\n`);

  /** What a client does: status line from the LineReader, body from the DotDecoder, then lines. */
  function readCapa(chunks: readonly Buffer[]) {
    const reader = new LineReader(512);
    const decoder = new DotDecoder({ maxLineLength: 512, maxBytes: 64 * 1024 });
    const body: Buffer[] = [];
    let status: ReturnType<typeof parseStatusLine> | undefined;
    let rest = Buffer.alloc(0);
    for (const chunk of chunks) {
      let input = chunk;
      if (!status) {
        reader.push(chunk);
        const line = reader.next();
        if (!line) continue;
        status = parseStatusLine(line, { responseCodes: false });
        input = reader.take();
      }
      const r = decoder.push(input);
      body.push(...r.parts);
      rest = Buffer.concat([rest, r.rest]);
    }
    const text = Buffer.concat(body).toString('latin1');
    const caps = new Capabilities(text.split('\r\n').slice(0, -1));
    return { ok: status?.ok, done: decoder.done, caps: caps.toJSON(), rest: rest.toString() };
  }

  it('every 2-way split gives the same capabilities and leaves the next reply untouched', () => {
    const whole = readCapa([reply]);
    expect(whole.ok).toBe(true);
    expect(whole.done).toBe(true);
    expect(whole.caps).toEqual(new Capabilities(DOVECOT).toJSON());
    expect(whole.rest).toBe('+OK next\r\n');
    for (const chunks of twoWaySplits(reply)) expect(readCapa(chunks)).toEqual(whole);
  });
});
