import { describe, expect, it } from 'vitest';
import { ReplyPool } from './reply-pool.js';

describe('ReplyPool', () => {
  it('gives back memory for reuse by size class, exactly sized views', () => {
    const pool = new ReplyPool();
    const a = pool.take(9000);
    expect(a.length).toBe(9000);
    expect(a.buffer.byteLength).toBe(16 * 1024);
    pool.give(a.subarray(0, 10));
    expect(pool.freeBytes).toBe(16 * 1024);
    const b = pool.take(16 * 1024);
    expect(b.buffer).toBe(a.buffer);
    expect(pool.freeBytes).toBe(0);
    expect(pool.take(100).buffer.byteLength).toBe(16 * 1024); // the smallest class
    expect(pool.take(40_000).buffer.byteLength).toBe(64 * 1024);
  });

  it('never hands one buffer to two takers: a second give of the same buffer is ignored', () => {
    const pool = new ReplyPool();
    const a = pool.take(1000);
    pool.give(a);
    pool.give(a);
    const x = pool.take(1000);
    const y = pool.take(1000);
    expect(x.buffer).toBe(a.buffer);
    expect(y.buffer).not.toBe(a.buffer);
  });

  it('ignores buffers it did not make, and sizes past its largest class are plain allocations', () => {
    const pool = new ReplyPool();
    pool.give(Buffer.alloc(16 * 1024));
    pool.give(Buffer.from('pooled by Node, not by us'));
    expect(pool.freeBytes).toBe(0);
    const big = pool.take(2 * 1024 * 1024);
    pool.give(big);
    expect(pool.freeBytes).toBe(0);
  });

  it('holds at most maxFreeBytes unused; the rest is left to the garbage collector', () => {
    const pool = new ReplyPool(32 * 1024);
    const taken = [pool.take(10_000), pool.take(10_000), pool.take(10_000)];
    for (const b of taken) pool.give(b);
    expect(pool.freeBytes).toBe(32 * 1024);
  });
});
