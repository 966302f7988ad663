// `pop3 serve` logs what clients send (the command at debug level, user names) on the
// operator's terminal. Pretty lines must escape every control character, the C1 ones too
// (U+009B is CSI to terminals that honour C1 controls): JSON.stringify leaves those raw.
import { describe, expect, it } from 'vitest';
import { createLogger } from './server-logger.js';

const C0_C1 = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]/;

describe('createLogger pretty', () => {
  it('escapes C0 and C1 controls in field values, with or without spaces', () => {
    const lines: string[] = [];
    const log = createLogger('pretty', 'debug', (l) => lines.push(l));
    log.debug?.({ command: 'NOOP x\u009b2J y' }, 'command');
    log.debug?.({ command: 'NOOP\u009b2J' }, 'command');
    log.info?.({ user: 'a b\x1b[31m\u2028' }, 'login');
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(l.slice(0, -1)).not.toMatch(C0_C1);
    expect(lines[0]).toContain('NOOP x');
  });
});
