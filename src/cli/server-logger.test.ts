import { describe, expect, it } from 'vitest';
import { createLogger } from './server-logger.js';

describe('createLogger', () => {
  it('leaves out the levels below the minimum, so the server skips building their fields', () => {
    const lines: string[] = [];
    const log = createLogger('json', 'info', (l) => lines.push(l));
    expect(log.debug).toBeUndefined();
    log.info?.({ user: 'alice', retr: 3 }, 'session closed');
    log.error?.({ err: new Error('disk full') }, 'commit failed');
    expect(lines.map((l) => JSON.parse(l))).toMatchObject([
      { level: 'info', msg: 'session closed', user: 'alice', retr: 3 },
      { level: 'error', msg: 'commit failed', err: 'disk full' },
    ]);
  });

  it('pretty lines: one per event, fields as key=value', () => {
    const lines: string[] = [];
    const log = createLogger('pretty', 'debug', (l) => lines.push(l));
    log.debug?.({ command: 'RETR 1' }, 'command');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ DEBUG command command="RETR 1"\n$/);
  });
});
