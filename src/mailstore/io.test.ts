import { promises as fs, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wireOctets } from '../protocol/wire-size.js';
import { CrlfToLfConverter, crlfToLf, NewFileWriter, pump, writeNewFileSynced } from './io.js';

async function run(parts: string[]): Promise<string> {
  async function* src() {
    for (const p of parts) yield Buffer.from(p, 'latin1');
  }
  const out: Buffer[] = [];
  for await (const c of crlfToLf(src())) out.push(c);
  return Buffer.concat(out).toString('latin1');
}

/** The reference: every CR immediately followed by LF goes, nothing else changes. */
function reference(input: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < input.length; i++) {
    if (input[i] === 0x0d && input[i + 1] === 0x0a) continue;
    out.push(input[i]!);
  }
  return Buffer.from(out);
}

/** Bytes rich in CR, LF and CRLF, cut into chunks at arbitrary points (empty chunks too). */
const chunked = fc
  .array(fc.constantFrom(0x0d, 0x0a, 0x41, 0x2e, 0x0d, 0x0a), { maxLength: 300 })
  .chain((bytes) =>
    fc.uniqueArray(fc.integer({ min: 0, max: bytes.length }), { maxLength: 12 }).map((cuts) => {
      const at = [0, ...cuts.sort((a, b) => a - b), bytes.length];
      const input = Buffer.from(bytes);
      return { input, chunks: at.slice(1).map((end, k) => input.subarray(at[k], end)) };
    }),
  );

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

  it('matches the reference on random bytes cut into random chunks', async () => {
    await fc.assert(
      fc.asyncProperty(chunked, async ({ input, chunks }) => {
        const out = await run(chunks.map((c) => c.toString('latin1')));
        expect(out).toBe(reference(input).toString('latin1'));
      }),
      { numRuns: 400 },
    );
  });
});

describe('CrlfToLfConverter', () => {
  it('outputs the reference and counts its bytes and wire octets, for any chunking', () => {
    fc.assert(
      fc.property(chunked, fc.integer({ min: 0, max: 7 }), ({ input, chunks }, offset) => {
        const conv = new CrlfToLfConverter();
        const parts: Buffer[] = [];
        for (const c of chunks) {
          // Output lands after `offset` bytes of something else, which it must leave alone.
          const out = Buffer.alloc(offset + c.length + 1, 0xee);
          const end = conv.convert(c, out, offset);
          expect(out.subarray(0, offset).every((b) => b === 0xee)).toBe(true);
          parts.push(out.subarray(offset, end));
        }
        const last = Buffer.alloc(1);
        parts.push(last.subarray(0, conv.end(last, 0)));
        const out = Buffer.concat(parts);
        expect(out.equals(reference(input))).toBe(true);
        expect(conv.bytes).toBe(out.length);
        expect(conv.octets).toBe(wireOctets(out));
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses an output buffer without room for the chunk and a held CR', () => {
    expect(() => new CrlfToLfConverter().convert(Buffer.from('ab'), Buffer.alloc(2), 0)).toThrow(RangeError);
  });
});

describe('NewFileWriter and pump', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(join(tmpdir(), 'pop3kit-io-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });
  let n = 0;
  const fresh = () => join(dir, `f${n++}`);

  it('writes small and large contents (past its buffer) byte for byte, mode 0600', async () => {
    for (const size of [0, 1, 1000, 256 * 1024 - 1, 256 * 1024, 700_000]) {
      const data = Buffer.alloc(size);
      for (let i = 0; i < size; i++) data[i] = (i * 7919) & 0xff;
      const path = fresh();
      const w = new NewFileWriter(path);
      // Pieces of varied sizes, one of them bigger than the buffer.
      for (let at = 0, k = 0; at < size; k++) {
        const len = Math.min(size - at, [10, 5000, 300_000, 1][k % 4]!);
        w.write(data.subarray(at, at + len));
        at += len;
      }
      expect(w.finish()).toBe(size);
      expect((await fs.readFile(path)).equals(data), String(size)).toBe(true);
      expect((await fs.stat(path)).mode & 0o777).toBe(0o600);
    }
  });

  it('converts line ends through its buffer, for chunks smaller and larger than it', async () => {
    const line = Buffer.from('a line of mail text, ending in CRLF\r\n.\r\r\n', 'latin1');
    const input = Buffer.concat(Array.from({ length: 20_000 }, () => line)); // ~900 KiB
    for (const size of [13, 4096, 256 * 1024 - 1, 256 * 1024, 600_000, input.length]) {
      const path = fresh();
      const w = new NewFileWriter(path);
      const conv = new CrlfToLfConverter();
      for (let at = 0; at < input.length; at += size) w.writeConverted(input.subarray(at, at + size), conv);
      w.endConverted(conv);
      expect(w.finish()).toBe(conv.bytes);
      expect((await fs.readFile(path)).equals(reference(input)), String(size)).toBe(true);
    }
  });

  it('refuses an existing file, and past maxBytes leaves nothing after abort', async () => {
    const path = fresh();
    await fs.writeFile(path, 'x');
    expect(() => new NewFileWriter(path).create()).toThrow(/EEXIST/);
    const other = fresh();
    const w = new NewFileWriter(other, { maxBytes: 10 });
    w.write(Buffer.alloc(10));
    expect(() => w.write(Buffer.alloc(1))).toThrow(expect.objectContaining({ code: 'ELIMIT' }));
    w.abort();
    await expect(fs.stat(other)).rejects.toThrow(/ENOENT/);
  });

  it('creates the folder through onMissingDir when the file cannot be created', async () => {
    const sub = join(dir, 'made-later');
    const w = new NewFileWriter(join(sub, 'file'), { onMissingDir: () => mkdirSync(sub) });
    w.write(Buffer.from('hi'));
    expect(w.finish()).toBe(2);
    expect(await fs.readFile(join(sub, 'file'), 'latin1')).toBe('hi');
  });

  it('pump reads a Readable, stops and destroys it when the consumer throws', async () => {
    const got: string[] = [];
    await pump(Readable.from([Buffer.from('a'), Buffer.from('b')]), (c) => got.push(c.toString()));
    expect(got).toEqual(['a', 'b']);
    const r = Readable.from([Buffer.from('a'), Buffer.from('b'), Buffer.from('c')]);
    await expect(
      pump(r, (c) => {
        if (c.toString() === 'b') throw new Error('stop here');
      }),
    ).rejects.toThrow('stop here');
    expect(r.destroyed).toBe(true);
    const broken = new Readable({ read() {} });
    const p = pump(broken, () => {});
    broken.push('x');
    broken.destroy(new Error('connection lost'));
    await expect(p).rejects.toThrow('connection lost');
  });

  it('pump iterates a Readable with an iterator of its own, and returns it when the consumer throws', async () => {
    let returned = false;
    class OwnIterator extends Readable {
      override _read() {}
      override [Symbol.asyncIterator](): AsyncIterableIterator<Buffer> {
        const parts = [Buffer.from('x'), Buffer.from('y'), Buffer.from('z')];
        const it: AsyncIterableIterator<Buffer> = {
          next: async () =>
            parts.length ? { done: false, value: parts.shift()! } : { done: true, value: undefined },
          return: async () => {
            returned = true;
            return { done: true, value: undefined };
          },
          [Symbol.asyncIterator]: () => it,
        };
        return it;
      }
    }
    const got: string[] = [];
    await pump(new OwnIterator(), (c) => got.push(c.toString()));
    expect(got).toEqual(['x', 'y', 'z']);
    await expect(
      pump(new OwnIterator(), (c) => {
        if (c.toString() === 'y') throw new Error('enough');
      }),
    ).rejects.toThrow('enough');
    expect(returned).toBe(true);
  });

  it('writeNewFileSynced leaves nothing when its stream fails', async () => {
    const path = fresh();
    async function* failing() {
      yield Buffer.from('half');
      throw new Error('cut');
    }
    await expect(writeNewFileSynced(path, failing())).rejects.toThrow('cut');
    await expect(fs.stat(path)).rejects.toThrow(/ENOENT/);
  });
});
