import { describe, expect, it } from 'vitest';
import { OutputBatch } from './output-batch.js';
import { ReplyPool } from './reply-pool.js';

/** A batch whose writes wait until `complete()` is called, as a socket's do. */
function batch(size: number) {
  const pool = new ReplyPool();
  const writes: { chunk: Buffer; done: (err?: Error | null) => void }[] = [];
  const out = new OutputBatch((chunk, done) => writes.push({ chunk, done }), size, pool);
  return { out, pool, writes };
}

describe('OutputBatch', () => {
  it('gathers replies in order and writes a batch only when the next one does not fit', () => {
    const { out, writes } = batch(16 * 1024);
    const sent: string[] = [];
    for (let i = 0; i < 10; i++) {
      const text = `${String(i).repeat(3000)}\n`;
      out.append(Buffer.from(text));
      sent.push(text);
    }
    // 3001 octets each: five fit in 16 KiB, so one batch went out and the last five wait.
    expect(writes.map((w) => w.chunk.length)).toEqual([5 * 3001]);
    expect(out.pending).toBe(5 * 3001);
    out.flush();
    expect(out.pending).toBe(0);
    expect(Buffer.concat(writes.map((w) => w.chunk)).toString()).toBe(sent.join(''));
  });

  it('builds a reply in place: only the committed octets count, and a reply larger than a batch gets its own buffer', () => {
    const { out, writes } = batch(1024);
    let at = out.reserve(100);
    out.buffer.write('partial', at);
    at = out.reserve(100); // an abandoned reservation (a read that failed) leaves nothing behind
    const n = out.buffer.write('+OK\r\n', at);
    out.commit(at + n);
    const big = Buffer.alloc(5000, 'x');
    out.append(big);
    out.flush();
    expect(writes.map((w) => w.chunk.toString())).toEqual(['+OK\r\n', big.toString()]);
    expect(() => out.commit(out.buffer.length + 1)).toThrow(RangeError);
  });

  it('returns a buffer to the pool only once its write is done, and never after a failed write', () => {
    const { out, pool, writes } = batch(16 * 1024);
    out.append(Buffer.from('first'));
    out.flush();
    // The first buffer is still in flight: the next batch must not be written over it.
    out.append(Buffer.from('second'));
    expect(writes[0]!.chunk.toString()).toBe('first');
    expect(writes[0]!.chunk.buffer).not.toBe(out.buffer.buffer);
    out.flush();
    expect(pool.freeBytes).toBe(0);
    writes[0]!.done();
    expect(pool.freeBytes).toBe(16 * 1024);
    writes[1]!.done(new Error('EPIPE'));
    expect(pool.freeBytes).toBe(16 * 1024);
    // The freed buffer is the one the next batch gets.
    out.append(Buffer.from('third'));
    expect(out.buffer.buffer).toBe(writes[0]!.chunk.buffer);
  });

  it('drops what is gathered on discard, and holds no buffer while nothing is gathered', () => {
    const { out, writes } = batch(1024);
    expect(out.buffer.length).toBe(0);
    out.append(Buffer.from('never sent'));
    out.discard();
    out.flush();
    expect(writes).toHaveLength(0);
    expect(out.buffer.length).toBe(0);
  });
});
