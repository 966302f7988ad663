import type { Mailbox, ReadTarget } from './types.js';

/** A ReadTarget with a buffer of its own, made to measure. */
class OwnBuffer implements ReadTarget {
  buffer: Buffer = Buffer.alloc(0);
  #asked = false;
  room(octets: number): number {
    if (this.#asked) throw new RangeError('readSmall asked for room twice');
    this.#asked = true;
    this.buffer = Buffer.allocUnsafe(octets);
    return 0;
  }
}

/** A small message read whole into a buffer of its own (TOP, and the rare second read), or undefined: use open(). */
export function readWhole(mailbox: Mailbox, uid: string, maxBytes: number): Buffer | undefined {
  if (!mailbox.readSmall) return undefined;
  const target = new OwnBuffer();
  const got = mailbox.readSmall(uid, maxBytes, target);
  if (got < 0) return undefined;
  if (!Number.isSafeInteger(got) || got > target.buffer.length)
    throw new RangeError('readSmall did not read into the room it asked for');
  return target.buffer.subarray(0, got);
}
