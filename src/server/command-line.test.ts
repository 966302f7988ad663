import { describe, expect, it } from 'vitest';
import { parseCommandLine } from './command-line.js';

const parse = (text: string | Buffer) =>
  parseCommandLine(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);

describe('parseCommandLine', () => {
  it('upper-cases the keyword and splits arguments on single spaces', () => {
    expect(parse('uSeR alice')).toEqual({
      ok: true,
      command: { keyword: 'USER', args: ['alice'], rest: 'alice' },
    });
    expect(parse('TOP 1 10')).toEqual({
      ok: true,
      command: { keyword: 'TOP', args: ['1', '10'], rest: '1 10' },
    });
    expect(parse('STAT')).toEqual({ ok: true, command: { keyword: 'STAT', args: [], rest: '' } });
  });

  it('keeps the rest of the line whole for PASS, spaces included', () => {
    const r = parse('PASS a b  c ');
    expect(r.ok && r.command.rest).toBe('a b  c ');
  });

  it('marks doubled and trailing spaces as empty arguments', () => {
    const r = parse('LIST  1');
    expect(r.ok && r.command.args).toEqual(['', '1']);
    const t = parse('STAT ');
    expect(t.ok && t.command.args).toEqual(['']);
  });

  it('refuses NUL anywhere, other control bytes, and invalid UTF-8', () => {
    expect(parse('USER a\0b')).toEqual({ ok: false, reason: 'nul' });
    expect(parse('USER a\rb')).toEqual({ ok: false, reason: 'control' });
    expect(parse('PASS a\x1bb')).toEqual({ ok: false, reason: 'control' });
    expect(parse(Buffer.from([0x55, 0x53, 0x45, 0x52, 0x20, 0xff]))).toEqual({ ok: false, reason: 'utf8' });
  });

  it('accepts UTF-8 arguments', () => {
    const r = parse(Buffer.from('USER jürgen', 'utf8'));
    expect(r.ok && r.command.args).toEqual(['jürgen']);
  });

  it('refuses empty lines and keywords that are not 3-4 letters', () => {
    expect(parse('')).toEqual({ ok: false, reason: 'empty' });
    expect(parse('QU')).toEqual({ ok: false, reason: 'keyword' });
    expect(parse('QUITS')).toEqual({ ok: false, reason: 'keyword' });
    expect(parse('3RTR 1')).toEqual({ ok: false, reason: 'keyword' });
    expect(parse('UTF8').ok).toBe(true);
    expect(parse(' STAT')).toEqual({ ok: false, reason: 'keyword' });
  });
});
