import { describe, expect, it } from 'vitest';
import { parseCommandLine } from './command-line.js';

const parse = (text: string | Buffer) =>
  parseCommandLine(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);

describe('parseCommandLine', () => {
  it('upper-cases the keyword and splits arguments on single spaces', () => {
    expect(parse('uSeR alice')).toEqual({ keyword: 'USER', args: ['alice'], rest: 'alice' });
    expect(parse('TOP 1 10')).toEqual({ keyword: 'TOP', args: ['1', '10'], rest: '1 10' });
    expect(parse('STAT')).toEqual({ keyword: 'STAT', args: [], rest: '' });
  });

  it('keeps the rest of the line whole for PASS, spaces included', () => {
    const r = parse('PASS a b  c ');
    expect(typeof r !== 'string' && r.rest).toBe('a b  c ');
  });

  it('marks doubled and trailing spaces as empty arguments', () => {
    const r = parse('LIST  1');
    expect(typeof r !== 'string' && r.args).toEqual(['', '1']);
    const t = parse('STAT ');
    expect(typeof t !== 'string' && t.args).toEqual(['']);
  });

  it('refuses NUL anywhere, other control bytes, and invalid UTF-8', () => {
    expect(parse('USER a\0b')).toEqual('nul');
    expect(parse('USER a\rb')).toEqual('control');
    expect(parse('PASS a\x1bb')).toEqual('control');
    expect(parse(Buffer.from([0x55, 0x53, 0x45, 0x52, 0x20, 0xff]))).toEqual('utf8');
  });

  it('accepts UTF-8 arguments', () => {
    const r = parse(Buffer.from('USER jürgen', 'utf8'));
    expect(typeof r !== 'string' && r.args).toEqual(['jürgen']);
  });

  it('refuses empty lines and keywords that are not 3-4 letters', () => {
    expect(parse('')).toEqual('empty');
    expect(parse('QU')).toEqual('keyword');
    expect(parse('QUITS')).toEqual('keyword');
    expect(parse('3RTR 1')).toEqual('keyword');
    expect(typeof parse('UTF8')).toBe('object');
    expect(parse(' STAT')).toEqual('keyword');
  });

  it('parses printable lines as the general rule says, made-up keywords past the interned ones included', () => {
    // The rule, written plainly: keyword 3-4 characters (a letter, then letters or digits),
    // upper-cased; the rest after the first space; arguments split on single spaces.
    const reference = (text: string) => {
      const space = text.indexOf(' ');
      const keyword = space < 0 ? text : text.slice(0, space);
      if (!/^[A-Za-z][A-Za-z0-9]{2,3}$/.test(keyword)) return 'keyword';
      const rest = space < 0 ? '' : text.slice(space + 1);
      return { keyword: keyword.toUpperCase(), args: space < 0 ? [] : rest.split(' '), rest };
    };
    const alphabet = 'aZq9 0.-R~x  ';
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 3000; i++) {
      let text = '';
      const length = 1 + random(12);
      for (let j = 0; j < length; j++) text += alphabet[random(alphabet.length)];
      expect(parse(text), JSON.stringify(text)).toEqual(reference(text));
    }
  });

  it('parses a line where it lies, reading nothing outside it', () => {
    const buf = Buffer.from('\0xRETR 5\r\nUSER j\u00fcrgen\r\n\0', 'utf8');
    expect(parseCommandLine(buf, 2, 8)).toEqual({ keyword: 'RETR', args: ['5'], rest: '5' });
    const start = buf.indexOf('USER');
    const end = buf.indexOf('\r', start);
    expect(parseCommandLine(buf, start, end)).toEqual({ keyword: 'USER', args: ['jürgen'], rest: 'jürgen' });
    expect(parseCommandLine(buf, 2, 2)).toBe('empty');
  });
});
