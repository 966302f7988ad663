import { type ReplyPool, sharedReplyPool } from './reply-pool.js';

const EMPTY = Buffer.alloc(0);

/** Writes a chunk to the socket; `done` runs once it is written (or the write failed). */
export type ChunkWriter = (chunk: Buffer, done: (err?: Error | null) => void) => void;

/**
 * Replies gathered in one pooled buffer and written a buffer at a time, as a C server's output
 * stream does: a pipelined run of small RETRs costs one socket write per batch instead of a write,
 * a buffer and a callback per message. A reply is built in place (`reserve`, then `commit`); when
 * the next one does not fit, the gathered ones are written first. A written buffer returns to the
 * pool from its write callback, in write order. Nothing is held while nothing is gathered, so an
 * idle session costs no buffer.
 */
export class OutputBatch {
  readonly #write: ChunkWriter;
  readonly #pool: ReplyPool;
  readonly #size: number;
  #buf: Buffer = EMPTY;
  #used = 0;
  /** Buffers handed to the socket and not yet written, in write order. */
  readonly #inFlight: Buffer[] = [];

  constructor(write: ChunkWriter, size: number, pool: ReplyPool = sharedReplyPool) {
    this.#write = write;
    this.#size = size;
    this.#pool = pool;
  }

  /** Octets gathered and not yet handed to the socket. */
  get pending(): number {
    return this.#used;
  }

  /** The buffer `reserve` offsets point into (valid until the next reserve, flush or discard). */
  get buffer(): Buffer {
    return this.#buf;
  }

  /**
   * Room for `n` octets after the gathered ones: their offset in `buffer`. Writes out what is
   * gathered first when the room is not there. Nothing counts until `commit`.
   */
  reserve(n: number): number {
    if (this.#used + n <= this.#buf.length) return this.#used;
    this.flush();
    if (this.#buf.length < n) {
      if (this.#buf !== EMPTY) this.#pool.give(this.#buf); // never written: free to reuse
      this.#buf = this.#pool.take(Math.max(this.#size, n));
    }
    return 0;
  }

  /** The reply reserved last ends at `end` (an offset in `buffer`). */
  commit(end: number): void {
    if (end < this.#used || end > this.#buf.length) throw new RangeError('OutputBatch.commit out of range');
    this.#used = end;
  }

  /** Gather a copy of `data`. */
  append(data: Uint8Array): void {
    const at = this.reserve(data.length);
    this.#buf.set(data, at);
    this.commit(at + data.length);
  }

  /** Hand what is gathered to the socket. */
  flush(): void {
    if (this.#used === 0) return;
    const buf = this.#buf;
    const chunk = buf.subarray(0, this.#used);
    this.#buf = EMPTY;
    this.#used = 0;
    this.#inFlight.push(buf);
    this.#write(chunk, this.#written);
  }

  /** Forget what is gathered (the connection is being dropped); its buffer was never written, so it is free again. */
  discard(): void {
    if (this.#buf !== EMPTY) this.#pool.give(this.#buf);
    this.#buf = EMPTY;
    this.#used = 0;
  }

  /** Writes complete in order, so the oldest buffer in flight is the one written. After a failed write nothing is reused. */
  readonly #written = (err?: Error | null): void => {
    const buf = this.#inFlight.shift();
    if (buf !== undefined && !err) this.#pool.give(buf);
  };
}
