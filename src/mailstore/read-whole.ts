import type { Mailbox, ReadTarget } from './types.js';

/** A ReadTarget with a buffer of its own, made to measure (at most `maxRoom` octets, as the server's). */
class OwnBuffer implements ReadTarget {
  buffer: Buffer = Buffer.alloc(0);
  asked = false;
  constructor(private readonly maxRoom: number) {}
  room(octets: number): number {
    if (this.asked) throw new RangeError('readSmall asked for room twice');
    // A store asks for its message's size (+1 to see a grown file); more is a broken store, and the
    // server allocates no more for it than it would gather in place (SmallReplies).
    if (!Number.isSafeInteger(octets) || octets < 0 || octets > this.maxRoom)
      throw new RangeError(`readSmall asked for ${octets} octets`);
    this.asked = true;
    this.buffer = Buffer.allocUnsafe(octets);
    return 0;
  }
}

/** A small message read whole into a buffer of its own (TOP, and the rare second read), or undefined: use open(). */
export function readWhole(mailbox: Mailbox, uid: string, maxBytes: number): Buffer | undefined {
  if (!mailbox.readSmall) return undefined;
  const target = new OwnBuffer(maxBytes + 1);
  const got = mailbox.readSmall(uid, maxBytes, target);
  if (got < 0) return undefined;
  if (!target.asked || !Number.isSafeInteger(got) || got > target.buffer.length)
    throw new RangeError('readSmall did not read into the room it asked for');
  return target.buffer.subarray(0, got);
}
