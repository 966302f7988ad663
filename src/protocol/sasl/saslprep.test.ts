import { describe, expect, it } from 'vitest';
import { saslprep } from './saslprep.js';

describe('saslprep (RFC 4013 §3 examples, minus the bidi and unassigned checks)', () => {
  it('maps soft hyphen to nothing and non-ASCII spaces to SPACE', () => {
    expect(saslprep('I\u00adX')).toBe('IX');
    expect(saslprep('a\u00a0b\u3000c')).toBe('a b c');
  });

  it('leaves plain ASCII alone and applies NFKC', () => {
    expect(saslprep('pencil')).toBe('pencil');
    expect(saslprep('user')).toBe('user');
    expect(saslprep('\u00aa')).toBe('a');
    expect(saslprep('\u2168')).toBe('IX');
  });

  it('rejects prohibited output: controls, private use, lone surrogates, non-characters', () => {
    for (const bad of ['\u0007', 'a\u007fb', '\ue000', '\ud800x', '\ufffe', '\u{10fffd}', '\u2028']) {
      expect(() => saslprep(bad)).toThrow(/prohibits/);
    }
  });
});
