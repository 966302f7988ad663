import type { Mailbox, ReadTarget } from './types.js';

/**
 * The ReadTarget rules, for every target the server offers: a store asks for room once, for its
 * message's size (+1 to see a grown file), at most `maxRoom` octets (`maxBytes` + 1); more is a
 * broken store, and the server reserves nothing for it. `asked` says whether room was asked before.
 */
export function checkRoom(asked: boolean, octets: number, maxRoom: number): void {
  if (asked) throw new RangeError('readSmall asked for room twice');
  if (!Number.isSafeInteger(octets) || octets < 0 || octets > maxRoom)
    throw new RangeError(`readSmall asked for ${octets} octets`);
}

/** A count readSmall returned (not -1): it must have asked for room, and written at most that. */
export function checkCount(got: number, room: number | undefined): void {
  if (room === undefined || !Number.isSafeInteger(got) || got > room)
    throw new RangeError('readSmall did not read into the room it asked for');
}

/** A ReadTarget with a buffer of its own, made to measure (at most `maxRoom` octets, as the server's). */
class OwnBuffer implements ReadTarget {
  buffer: Buffer = Buffer.alloc(0);
  /** The room asked for, once it was. */
  asked: number | undefined = undefined;
  constructor(private readonly maxRoom: number) {}
  room(octets: number): number {
    checkRoom(this.asked !== undefined, octets, this.maxRoom);
    this.asked = octets;
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
  checkCount(got, target.asked);
  return target.buffer.subarray(0, got);
}
