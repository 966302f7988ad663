import { describe, expect, it } from 'vitest';
import { writeDecimal } from '../protocol/bytes.js';
import {
  dataLine,
  errLine,
  MAX_STATUS_LINE,
  okLine,
  retrStatus,
  sanitizeText,
  writeRetrStatus,
} from './responses.js';

describe('status lines', () => {
  it('formats +OK and -ERR with an optional response code', () => {
    expect(okLine('hello').toString()).toBe('+OK hello\r\n');
    expect(okLine().toString()).toBe('+OK\r\n');
    expect(errLine('locked', 'IN-USE').toString()).toBe('-ERR [IN-USE] locked\r\n');
  });

  it('never lets text start with [ (S13, adversarial server case 38)', () => {
    expect(errLine('[AUTH] fake').toString()).toBe('-ERR (AUTH] fake\r\n');
    expect(sanitizeText('[x', 10).startsWith('[')).toBe(false);
  });

  it('escapes control bytes and non-ASCII and caps the line at 512 octets', () => {
    const line = errLine(`a\r\nb\x1b[31m${'é'.repeat(1000)}`);
    expect(line.length).toBeLessThanOrEqual(MAX_STATUS_LINE);
    expect(line.subarray(0, -2).includes(0x0d)).toBe(false);
    expect(line.subarray(0, -2).includes(0x0a)).toBe(false);
    expect(line.subarray(0, -2).includes(0x1b)).toBe(false);
    expect([...line].every((b) => b < 0x80)).toBe(true);
    expect(line.toString('latin1').endsWith('\r\n')).toBe(true);
  });

  it('dot-stuffs data lines', () => {
    expect(dataLine('.x')).toBe('..x\r\n');
    expect(dataLine('x')).toBe('x\r\n');
  });
});

describe('numbers written in place', () => {
  it('writes decimals and the RETR status line as the string forms would be', () => {
    for (const n of [0, 7, 10, 99, 100, 8192, 1_000_000, Number.MAX_SAFE_INTEGER]) {
      expect(retrStatus(n).toString('latin1')).toBe(`+OK ${n} octets\r\n`);
      const buf = Buffer.alloc(40, 0x78);
      const end = writeDecimal(buf, 3, n);
      expect(buf.toString('latin1', 3, end)).toBe(String(n));
      expect([buf[2], buf[end]]).toEqual([0x78, 0x78]); // nothing written around it
    }
    const buf = Buffer.alloc(32, 0x78);
    const end = writeRetrStatus(buf, 5, 42);
    expect(buf.toString('latin1', 5, end)).toBe('+OK 42 octets\r\n');
    expect(buf[end]).toBe(0x78);
  });
});
