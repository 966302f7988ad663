import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CommandInput } from './command-input.js';

/** What next() returned: the line's text for 'line', else the reason. */
async function read(input: CommandInput): Promise<string> {
  const r = await input.next();
  return r === 'line' ? input.line().toString() : r;
}

describe('CommandInput', () => {
  it('returns lines split anywhere, with LF or CRLF ends', async () => {
    const s = new PassThrough();
    const input = new CommandInput(255, 4096);
    input.attach(s);
    s.write('US');
    s.write('ER a\r');
    s.write('\nSTAT\nQU');
    expect(await read(input)).toBe('USER a');
    expect(await read(input)).toBe('STAT');
    s.end('IT\r\n');
    expect(await read(input)).toBe('QUIT');
    expect(await read(input)).toBe('closed');
  });

  it('does not read while a command runs: pipelined input waits in the stream', async () => {
    const s = new PassThrough();
    const input = new CommandInput(255, 4096);
    input.attach(s);
    s.write('NOOP\r\n');
    expect(await read(input)).toBe('NOOP');
    s.write('STAT\r\n');
    await new Promise((r) => setTimeout(r, 20));
    // Not consumed: the stream is paused until the session asks for the next line.
    expect(s.readableLength).toBe(6);
    expect(input.pending).toBe(6);
    expect(s.isPaused()).toBe(true);
    expect(await read(input)).toBe('STAT');
  });

  it('reports a line over the cap (adversarial server case 1)', async () => {
    const s = new PassThrough();
    const input = new CommandInput(255, 4096);
    input.attach(s);
    s.write('x'.repeat(300));
    expect(await read(input)).toBe('too-long');
  });

  it('reports too much unprocessed input', async () => {
    const s = new PassThrough();
    const input = new CommandInput(255, 300);
    input.attach(s);
    s.write('NOOP\r\n'.repeat(100));
    expect(await read(input)).toBe('overflow');
  });

  it('a longer cap for SASL continuations keeps the buffered bytes', async () => {
    const s = new PassThrough();
    const input = new CommandInput(255, 8192);
    input.attach(s);
    s.write(`AUTH PLAIN\r\n${'A'.repeat(1000)}\r\n`);
    expect(await read(input)).toBe('AUTH PLAIN');
    input.setMaxLineLength(2000);
    expect(await read(input)).toBe('A'.repeat(1000));
  });

  it('attach() to a new stream drops what the old reader held (nothing crosses STLS)', async () => {
    const a = new PassThrough();
    const input = new CommandInput(255, 4096);
    input.attach(a);
    a.write('STLS\r\nCAPA\r\n');
    expect(await read(input)).toBe('STLS');
    const b = new PassThrough();
    input.attach(b);
    b.write('NOOP\r\n');
    expect(await read(input)).toBe('NOOP');
  });

  it('end() wakes a waiting next()', async () => {
    const s = new PassThrough();
    const input = new CommandInput(255, 4096);
    input.attach(s);
    const waiting = input.next();
    input.end();
    expect(await waiting).toBe('closed');
  });
});
