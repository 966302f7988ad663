import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Tracer } from './trace.js';

const at = new Date(2026, 0, 1, 12, 0, 0, 5);

describe('Tracer', () => {
  it('prints C:/S:/* lines with times and summarises bodies', () => {
    const out: string[] = [];
    const t = new Tracer({ write: (s) => out.push(s) });
    t.onTrace({ dir: 'C', line: 'PASS ***', at });
    t.onTrace({ dir: 'S', line: '+OK', at });
    t.onTrace({ dir: 'S', line: '.', at, body: { octets: 42, lines: 3 } });
    t.onTrace({ dir: '*', line: 'TLS TLSv1.3', at });
    expect(out.join('')).toBe(
      '12:00:00.005 C: PASS ***\n12:00:00.005 S: +OK\n12:00:00.005 S: <message body: 42 octets, 3 lines>\n' +
        '12:00:00.005 S: .\n12:00:00.005 *  TLS TLSv1.3\n',
    );
  });

  it('--trace-body: the tapped body appears before the terminator, dot-stuffed, and later lines wait', async () => {
    const out: string[] = [];
    const t = new Tracer({ write: (s) => out.push(s), showBody: true, times: false });
    const slot = t.expectBody()!;
    expect(t.expectBody()).toBeUndefined(); // one at a time
    t.onTrace({ dir: 'S', line: '+OK 2 octets', at });
    t.onTrace({ dir: 'S', line: '.', at, body: { octets: 14, lines: 2 } });
    t.onTrace({ dir: 'C', line: 'QUIT', at });
    const body = new PassThrough();
    const tapped = slot.tap(body);
    body.end(Buffer.from('.hidden\r\nline\r\n'));
    for await (const _ of tapped) {
      // consume
    }
    await new Promise((r) => setImmediate(r));
    expect(out.join('')).toBe('S: +OK 2 octets\nS: ..hidden\nS: line\nS: .\nC: QUIT\n');
  });

  it('a cancelled slot (the command failed) holds nothing back', () => {
    const out: string[] = [];
    const t = new Tracer({ write: (s) => out.push(s), showBody: true, times: false });
    t.expectBody()!.cancel();
    t.onTrace({ dir: 'S', line: '-ERR no such message', at });
    t.onTrace({ dir: 'C', line: 'QUIT', at });
    expect(out.join('')).toBe('S: -ERR no such message\nC: QUIT\n');
    expect(t.expectBody()).toBeDefined();
  });
});
