import { describe, expect, it } from 'vitest';
import { findNetrcEntry, parseNetrc } from './netrc.js';

describe('netrc', () => {
  const text = `# comment
machine mail.example.com login alice password "pa ss\\"word"
macdef init
  cd /pub
  get file

machine Mail.Example.com login bob password bobpw
default login anon password anonpw
`;

  it('parses machine, quoted passwords, skips macdef and comments', () => {
    expect(parseNetrc(text)).toEqual([
      { machine: 'mail.example.com', login: 'alice', password: 'pa ss"word' },
      { machine: 'Mail.Example.com', login: 'bob', password: 'bobpw' },
      { machine: undefined, login: 'anon', password: 'anonpw' },
    ]);
  });

  it('matches host case-insensitively and by login; falls back to default', () => {
    const entries = parseNetrc(text);
    expect(findNetrcEntry(entries, 'MAIL.example.com')?.login).toBe('alice');
    expect(findNetrcEntry(entries, 'mail.example.com', 'bob')?.password).toBe('bobpw');
    expect(findNetrcEntry(entries, 'other.example', 'anon')?.password).toBe('anonpw');
    expect(findNetrcEntry(entries, 'other.example', 'carol')).toBeUndefined();
  });
});
