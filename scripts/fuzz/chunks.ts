import type { Rng } from './rng.js';

/** Cut `input` at the given offsets (sorted or not; repeats give empty chunks, which are legal input too). */
export function cutAt(input: Buffer, offsets: readonly number[]): Buffer[] {
  const cuts = [...offsets].map((o) => Math.max(0, Math.min(input.length, o))).sort((x, y) => x - y);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of cuts) {
    out.push(input.subarray(from, c));
    from = c;
  }
  out.push(input.subarray(from));
  return out;
}

/** Every 2-way split of `input`: at offset 0, 1, …, length. */
export function* twoWaySplits(input: Buffer): Generator<Buffer[]> {
  for (let i = 0; i <= input.length; i++) yield cutAt(input, [i]);
}

/**
 * 3-way splits of `input`: all of them when there are at most `limit`, else every
 * `step`-th pair so the count stays near `limit` (the pairs still cover every offset).
 */
export function* threeWaySplits(input: Buffer, limit = 5000): Generator<Buffer[]> {
  const n = input.length;
  const pairs = ((n + 1) * (n + 2)) / 2;
  const step = Math.max(1, Math.ceil(pairs / limit));
  let k = 0;
  for (let i = 0; i <= n; i++) {
    for (let j = i; j <= n; j++) {
      if (k++ % step === 0 || j === i || j === n) yield cutAt(input, [i, j]);
    }
  }
}

/** Random chunking: mostly tiny chunks near edges of interest, sometimes one big chunk, sometimes empties. */
export function randomChunks(input: Buffer, rng: Rng): Buffer[] {
  const mode = rng.int(4);
  if (mode === 0) return [input];
  if (mode === 1 && input.length <= 4096) {
    // single bytes, with the odd empty chunk (big inputs get random cuts instead, to stay fast)
    const out: Buffer[] = [];
    for (let i = 0; i < input.length; i++) {
      if (rng.bool(0.05)) out.push(input.subarray(i, i));
      out.push(input.subarray(i, i + 1));
    }
    return out;
  }
  const count = mode === 2 ? rng.range(1, 4) : rng.range(1, Math.max(1, Math.min(64, input.length)));
  const offsets: number[] = [];
  for (let i = 0; i < count; i++) offsets.push(rng.int(input.length + 1));
  return cutAt(input, offsets);
}
