import { describe, expect, it } from 'vitest';
import { threeWaySplits, twoWaySplits } from '../../scripts/fuzz/chunks.js';
import { Pop3Error } from './errors.js';
import { LineReader } from './line-reader.js';
import { continuationPayload, isContinuation, parseStatusLine, type StatusLine } from './response.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const codesOn = { responseCodes: true };
const codesOff = { responseCodes: false };
const parse = (line: string, opts = codesOn) => parseStatusLine(b(line), opts);

function rejection(line: string | Buffer, opts = codesOn): Pop3Error {
  try {
    parseStatusLine(typeof line === 'string' ? b(line) : line, opts);
  } catch (err) {
    if (err instanceof Pop3Error) return err;
    throw err;
  }
  throw new Error(`accepted: ${JSON.stringify(line)}`);
}

describe('parseStatusLine: status words (W3, C1)', () => {
  it('C1: "+OK" alone and "+OK text"', () => {
    expect(parse('+OK')).toEqual({ ok: true, code: undefined, text: '' });
    expect(parse('+OK 2 320')).toEqual({ ok: true, code: undefined, text: '2 320' });
  });

  it('C1: "-ERR" alone and "-ERR text"', () => {
    expect(parse('-ERR')).toEqual({ ok: false, code: undefined, text: '' });
    expect(parse('-ERR no such message')).toEqual({ ok: false, code: undefined, text: 'no such message' });
  });

  it('client case 5 (W3, C1): "+ok", "OK", "+OKAY", an empty line and "-ERRx" are EPROTOCOL', () => {
    for (const line of [
      '+ok',
      '-err',
      'OK',
      '+OKAY',
      '',
      '-ERRx',
      '+OK\t1',
      ' +OK',
      '+',
      '-',
      '+O',
      '* OK',
    ]) {
      expect(rejection(line).code, JSON.stringify(line)).toBe('EPROTOCOL');
    }
  });

  it('client case 3: the error message escapes control bytes and stays short', () => {
    const err = rejection(`\x1b[2J\x1b[31mEVIL\x07${'z'.repeat(10_000)}`);
    expect(err.message).not.toMatch(/[\x00-\x1f\x7f]/);
    expect(err.message).toContain('\\x1b');
    expect(err.message.length).toBeLessThan(200);
  });

  it('C1: the text is decoded as UTF-8 and kept as sent (display code escapes it)', () => {
    expect(parse('+OK caf\xc3\xa9 \x1b[2J').text).toBe('café \x1b[2J');
  });
});

describe('parseStatusLine: response codes (C9, RFC 2449 §8)', () => {
  it('C9: "-ERR [IN-USE] x" and "-ERR [SYS/TEMP] x" with RESP-CODES', () => {
    expect(parse('-ERR [IN-USE] mailbox locked')).toEqual({
      ok: false,
      code: 'IN-USE',
      text: 'mailbox locked',
    });
    expect(parse('-ERR [SYS/TEMP] try later')).toEqual({ ok: false, code: 'SYS/TEMP', text: 'try later' });
    expect(parse('-ERR [AUTH]')).toEqual({ ok: false, code: 'AUTH', text: '' });
    expect(parse('+OK [LOGIN-DELAY] hi').code).toBe('LOGIN-DELAY');
  });

  it('C9: codes are upper-cased; unknown codes are returned for the caller to ignore', () => {
    expect(parse('-ERR [in-use] x').code).toBe('IN-USE');
    expect(parse('-ERR [X-FOO/BAR] x').code).toBe('X-FOO/BAR');
  });

  it('client case 37 (C9): without RESP-CODES a "[" is text, not a code', () => {
    expect(parse('-ERR [IN-USE] x', codesOff)).toEqual({ ok: false, code: undefined, text: '[IN-USE] x' });
    expect(parse('-ERR [SYS/TEMP] x', codesOff).code).toBeUndefined();
  });

  it('hostile codes are not parsed as codes, and the text is kept whole', () => {
    const hostile = [
      '[IN-USE x', // no closing bracket
      `[${'A'.repeat(10_000)}] x`, // 10k-char code
      `[${'A'.repeat(10_000)}`,
      `[${'A'.repeat(41)}] x`, // atom longer than 40
      '[A/B/C/D/E/F] x', // six atoms
      '[] x',
      '[IN USE] x',
      '[A//B] x',
      '[/A] x',
      '[\x1b[31m] x',
      ' [IN-USE] x', // not right after the status word's space
    ];
    for (const text of hostile) {
      const parsed = parse(`-ERR ${text}`);
      expect(parsed.code, JSON.stringify(text.slice(0, 20))).toBeUndefined();
      expect(parsed.text).toBe(text);
    }
  });

  it('the largest code the grammar allows is accepted (5 atoms of 40)', () => {
    const code = Array.from({ length: 5 }, () => 'A'.repeat(40)).join('/');
    expect(parse(`-ERR [${code}] x`).code).toBe(code);
  });

  it('a 1 MiB line full of "[" and "/" parses in linear time', () => {
    const line = `-ERR [${'A/'.repeat(512 * 1024)}`;
    const t0 = performance.now();
    expect(parse(line).code).toBeUndefined();
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe('isContinuation (RFC 5034 §4)', () => {
  it('"+ " and "+" are continuations; "+OK" and "+x" are not', () => {
    expect(isContinuation(b('+ '))).toBe(true);
    expect(isContinuation(b('+'))).toBe(true);
    expect(isContinuation(b('+ dGVzdA=='))).toBe(true);
    expect(isContinuation(b('+OK'))).toBe(false);
    expect(isContinuation(b('+x'))).toBe(false);
    expect(isContinuation(b(''))).toBe(false);
    expect(isContinuation(b('-ERR'))).toBe(false);
  });

  it('continuationPayload returns the base64 text, possibly empty', () => {
    expect(continuationPayload(b('+ dGVzdA=='))).toBe('dGVzdA==');
    expect(continuationPayload(b('+ '))).toBe('');
    expect(continuationPayload(b('+'))).toBe('');
  });
});

describe('status lines through LineReader at every split', () => {
  const stream = b('+OK ready <1.2@x>\r\n-ERR [IN-USE] locked\r\n+OK\n-ERR\r\n+OK 2 320\r\n');

  function parseStream(chunks: readonly Buffer[]): StatusLine[] {
    const reader = new LineReader(512);
    const out: StatusLine[] = [];
    for (const chunk of chunks) {
      reader.push(chunk);
      for (let line = reader.next(); line !== undefined; line = reader.next()) {
        out.push(parseStatusLine(line, codesOn));
      }
    }
    expect(reader.buffered).toBe(0);
    return out;
  }

  const whole = parseStream([stream]);

  it('C1: the unsplit stream parses to five replies', () => {
    expect(whole.map((s) => [s.ok, s.code, s.text])).toEqual([
      [true, undefined, 'ready <1.2@x>'],
      [false, 'IN-USE', 'locked'],
      [true, undefined, ''],
      [false, undefined, ''],
      [true, undefined, '2 320'],
    ]);
  });

  it('C1: every 2-way and 3-way split parses the same', () => {
    for (const chunks of twoWaySplits(stream)) expect(parseStream(chunks)).toEqual(whole);
    for (const chunks of threeWaySplits(stream, 3000)) expect(parseStream(chunks)).toEqual(whole);
  });
});
