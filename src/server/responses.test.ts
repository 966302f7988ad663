import { describe, expect, it } from 'vitest';
import { dataLine, errLine, MAX_STATUS_LINE, okLine, sanitizeText } from './responses.js';

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
