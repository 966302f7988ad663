/** Smallest and largest pooled size, as powers of two: 16 KiB to 1 MiB. */
const MIN_SHIFT = 14;
const MAX_SHIFT = 20;

/**
 * Reply buffers used again: a batch of small replies (OutputBatch) is built in a buffer taken here,
 * and the buffer comes back when the socket has written it (the write's callback), so a session
 * sending thousands of small messages allocates a handful of buffers instead of one each, and the garbage
 * collector has no stream of short-lived external memory to chase. Sizes are powers of two; one
 * pool serves all the sessions of a process (one thread), holding at most `maxFreeBytes` unused.
 * A buffer is given back only once, and only if the pool made it, so no two batches ever share one.
 */
export class ReplyPool {
  readonly #free: ArrayBuffer[][] = [];
  readonly #made = new WeakSet<ArrayBuffer>();
  readonly #isFree = new WeakSet<ArrayBuffer>();
  #freeBytes = 0;

  constructor(readonly maxFreeBytes = 4 * 1024 * 1024) {
    for (let s = MIN_SHIFT; s <= MAX_SHIFT; s++) this.#free.push([]);
  }

  /** A buffer of exactly `n` octets (uninitialised), over a pooled ArrayBuffer when n fits one. */
  take(n: number): Buffer {
    const shift = Math.max(MIN_SHIFT, 32 - Math.clz32(n - 1));
    if (n <= 0 || shift > MAX_SHIFT) return Buffer.allocUnsafe(n);
    let ab = this.#free[shift - MIN_SHIFT]!.pop();
    if (ab === undefined) {
      ab = new ArrayBuffer(1 << shift);
      this.#made.add(ab);
    } else {
      this.#isFree.delete(ab);
      this.#freeBytes -= ab.byteLength;
    }
    return Buffer.from(ab, 0, n);
  }

  /** Give back the memory under `buf`: only once nothing (no pending write) refers to it any more. */
  give(buf: Uint8Array): void {
    const ab = buf.buffer as ArrayBuffer;
    if (!this.#made.has(ab) || this.#isFree.has(ab)) return;
    if (this.#freeBytes + ab.byteLength > this.maxFreeBytes) return; // left to the collector
    this.#isFree.add(ab);
    this.#freeBytes += ab.byteLength;
    this.#free[31 - Math.clz32(ab.byteLength) - MIN_SHIFT]!.push(ab);
  }

  /** Bytes held for reuse. */
  get freeBytes(): number {
    return this.#freeBytes;
  }
}

/** The pool the sessions of this process share. */
export const sharedReplyPool = new ReplyPool();
