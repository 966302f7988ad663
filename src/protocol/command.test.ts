import { describe, expect, it } from 'vitest';
import { twoWaySplits } from '../../scripts/fuzz/chunks.js';
import { encodeCommand, encodeContinuation, MAX_COMMAND_LINE, redactCommand } from './command.js';
import { Pop3Error } from './errors.js';
import { LineReader } from './line-reader.js';

function rejection(fn: () => unknown): Pop3Error {
  try {
    fn();
  } catch (err) {
    if (err instanceof Pop3Error) return err;
    throw err;
  }
  throw new Error('not rejected');
}

/** Everything an error would show in a log line. */
const shown = (err: Pop3Error) => `${err.message} | ${err.command ?? ''} | ${err.response ?? ''}`;

describe('encodeCommand: form (W1)', () => {
  it('W1: keyword upper-cased, arguments joined by one SP, CRLF at the end', () => {
    expect(encodeCommand('stat').toString()).toBe('STAT\r\n');
    expect(encodeCommand('user', ['bob']).toString()).toBe('USER bob\r\n');
    expect(encodeCommand('Top', ['1', '0']).toString()).toBe('TOP 1 0\r\n');
  });

  it('S10: a PASS argument may hold spaces (the rest of the line is the password)', () => {
    expect(encodeCommand('PASS', ['a b  c']).toString()).toBe('PASS a b  c\r\n');
  });

  it('W1: keywords are 3 or 4 ASCII letters; anything else is EARGUMENT', () => {
    for (const keyword of ['', 'AB', 'ABCDE', 'US R', 'US1R', 'ÜSER', 'USER\r\n', 'US\0R', ' USER']) {
      const err = rejection(() => encodeCommand(keyword));
      expect(err.code, JSON.stringify(keyword)).toBe('EARGUMENT');
      expect(shown(err)).not.toMatch(/[\r\n\0]/);
    }
  });

  it('W1: an empty argument is EARGUMENT (it would read as a double space)', () => {
    expect(rejection(() => encodeCommand('LIST', [''])).code).toBe('EARGUMENT');
    expect(rejection(() => encodeCommand('TOP', ['1', ''])).code).toBe('EARGUMENT');
  });

  it('the encoded command reads back as one line at every split', () => {
    const line = encodeCommand('APOP', ['bob', 'c4c9334bac560ecc979e58001b3e22fb']);
    for (const chunks of twoWaySplits(line)) {
      const reader = new LineReader(MAX_COMMAND_LINE);
      const lines: string[] = [];
      for (const chunk of chunks) {
        reader.push(chunk);
        for (let l = reader.next(); l !== undefined; l = reader.next()) lines.push(l.toString());
      }
      expect(lines).toEqual(['APOP bob c4c9334bac560ecc979e58001b3e22fb']);
    }
  });
});

describe('encodeCommand: length (W1, C3)', () => {
  it('W1: 255 octets including CRLF is accepted, 256 is EARGUMENT', () => {
    const fits = 'x'.repeat(MAX_COMMAND_LINE - 'USER '.length - 2);
    expect(encodeCommand('USER', [fits]).length).toBe(255);
    expect(rejection(() => encodeCommand('USER', [`${fits}x`])).code).toBe('EARGUMENT');
  });

  it('W1: the cap counts octets, not characters (UTF-8)', () => {
    const fits = 'é'.repeat(124); // 124 characters, 248 octets: 'USER ' + 248 + CRLF = 255
    expect(encodeCommand('USER', [fits]).length).toBe(255);
    expect(rejection(() => encodeCommand('USER', [`${fits}é`])).code).toBe('EARGUMENT');
  });

  it('C16: a too-long PASS is rejected without showing the password', () => {
    const secret = `Sekr1t-${'p'.repeat(300)}`;
    const err = rejection(() => encodeCommand('PASS', [secret]));
    expect(err.code).toBe('EARGUMENT');
    expect(shown(err)).not.toContain('Sekr1t');
    expect(err.command).toBe('PASS ***');
  });
});

describe('encodeCommand: CR, LF and NUL (C3, client case 40)', () => {
  it('client case 40: username "bob\\r\\nDELE 1" is refused locally, and the error does not carry it', () => {
    const err = rejection(() => encodeCommand('USER', ['bob\r\nDELE 1']));
    expect(err.code).toBe('EARGUMENT');
    expect(shown(err)).not.toContain('DELE');
    expect(shown(err)).not.toMatch(/[\r\n\0]/);
  });

  it('C3: CR, LF or NUL anywhere in a PASS is EARGUMENT, and the secret is in neither message nor command', () => {
    for (const bad of ['Sekr1t\r\n', 'Sekr1t\rx', 'Sekr1t\nx', 'Sekr1t\0x', '\nSekr1t', 'Sekr1t\r\nQUIT']) {
      const err = rejection(() => encodeCommand('PASS', [bad]));
      expect(err.code).toBe('EARGUMENT');
      expect(shown(err)).not.toContain('Sekr1t');
      expect(shown(err)).not.toMatch(/[\r\n\0]/);
    }
  });

  it('C3: the same for APOP, AUTH and USER arguments', () => {
    const cases: [string, string[]][] = [
      ['APOP', ['bob', 'Sekr1t\r\n']],
      ['APOP', ['bob\r\nSekr1t', 'c4c9']],
      ['AUTH', ['PLAIN', 'Sekr1t\0']],
      ['AUTH', ['PLAIN\r\nSekr1t']],
      ['USER', ['Sekr1t\0bob']],
    ];
    for (const [keyword, args] of cases) {
      const err = rejection(() => encodeCommand(keyword, args));
      expect(err.code).toBe('EARGUMENT');
      expect(shown(err)).not.toContain('Sekr1t');
      expect(shown(err)).not.toMatch(/[\r\n\0]/);
    }
  });

  it('C3: a CR/LF argument is reported even when an earlier argument is empty (regression)', () => {
    const err = rejection(() => encodeCommand('TOP', ['', '1\r\nDELE 1']));
    expect(err.code).toBe('EARGUMENT');
    expect(shown(err)).not.toMatch(/[\r\n]|DELE/);
  });
});

describe('redactCommand (C16)', () => {
  it('C16: PASS, APOP and AUTH payloads are hidden; other commands are shown whole', () => {
    expect(redactCommand('PASS', ['hunter2'])).toBe('PASS ***');
    expect(redactCommand('pass', ['a b'])).toBe('PASS ***');
    expect(redactCommand('APOP', ['bob', 'c4c9334bac560ecc979e58001b3e22fb'])).toBe('APOP bob ***');
    expect(redactCommand('AUTH', ['PLAIN', 'AGJvYgBodW50ZXIy'])).toBe('AUTH PLAIN ***');
    expect(redactCommand('AUTH', ['PLAIN'])).toBe('AUTH PLAIN');
    expect(redactCommand('USER', ['bob'])).toBe('USER bob');
    expect(redactCommand('RETR', ['1'])).toBe('RETR 1');
  });

  it('C16: errors after a valid PASS line never show it either', () => {
    expect(encodeCommand('PASS', ['hunter2']).toString()).toBe('PASS hunter2\r\n');
    const err = rejection(() => encodeCommand('PASS', ['hunter2', '']));
    expect(shown(err)).not.toContain('hunter2');
  });
});

describe('encodeContinuation (RFC 5034 §4)', () => {
  it('encodes base64, "*" and an empty response', () => {
    expect(encodeContinuation('AGJvYgBodW50ZXIy').toString()).toBe('AGJvYgBodW50ZXIy\r\n');
    expect(encodeContinuation('*').toString()).toBe('*\r\n');
    expect(encodeContinuation('').toString()).toBe('\r\n');
  });

  it('C3: CR, LF or NUL is EARGUMENT, and the payload is not shown', () => {
    for (const bad of ['Sekr1t\r\n', 'Sekr1t\n', 'Sekr1t\0']) {
      const err = rejection(() => encodeContinuation(bad));
      expect(err.code).toBe('EARGUMENT');
      expect(err.command).toBe('***');
      expect(shown(err)).not.toContain('Sekr1t');
    }
  });
});
