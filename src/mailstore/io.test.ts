import { describe, expect, it } from 'vitest';
import { crlfToLf } from './io.js';

async function run(parts: string[]): Promise<string> {
  async function* src() {
    for (const p of parts) yield Buffer.from(p, 'latin1');
  }
  const out: Buffer[] = [];
  for await (const c of crlfToLf(src())) out.push(c);
  return Buffer.concat(out).toString('latin1');
}

describe('crlfToLf', () => {
  const input = 'a\r\nb\rc\n\r\r\n\r\rd\r';
  const expected = 'a\nb\rc\n\r\n\r\rd\r';

  it('turns CRLF into LF and keeps bare CR and LF', async () => {
    expect(await run([input])).toBe(expected);
    expect(await run([])).toBe('');
    expect(await run(['\r'])).toBe('\r');
  });

  it('gives the same result at every split position, and byte by byte', async () => {
    for (let i = 0; i <= input.length; i++) {
      for (let j = i; j <= input.length; j++) {
        expect(await run([input.slice(0, i), input.slice(i, j), input.slice(j)]), `${i},${j}`).toBe(expected);
      }
    }
    expect(await run([...input])).toBe(expected);
  });
});
