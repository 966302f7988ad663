import type { Mailbox } from '../mailstore/types.js';
import { DotEncoder, encodeStoredInPlace } from '../protocol/dot-encoder.js';
import type { NumberedMessage } from './maildrop.js';
import { type ReplyPool, sharedReplyPool } from './reply-pool.js';

const EMPTY = Buffer.alloc(0);
/**
 * Room for line-start dots in a reply read in place: the gap before the stored bytes holds one
 * octet per bare LF (known from the listed size) plus this many. A message with more such dots
 * is read a second time and encoded into a fresh buffer.
 */
const DOT_ROOM = 64;
/** CRLF (for a message without a final line end) and ".CRLF". */
const CLOSE_ROOM = 5;

/**
 * The whole reply to RETR of a small message (status line, dot-stuffed body, terminator) as one
 * buffer, for stores with `Mailbox.readSmall`. The store reads the file straight into the tail of
 * the reply buffer (the `into` offer) and the body is encoded there in place, so the message is
 * neither copied nor allocated twice; a store that ignores the offer gets its bytes encoded into a
 * new buffer as before. One per session; `read` is synchronous, so its fields never outlive a call.
 */
export class SmallReplies {
  readonly #pool: ReplyPool;
  /** Replies handed to the socket and not yet written, in write order. */
  readonly #inFlight: Buffer[] = [];
  #reply: Buffer = EMPTY;
  #from = 0;
  #headLength = 0;
  #octets = 0;
  #maxRoom = 0;

  constructor(pool: ReplyPool = sharedReplyPool) {
    this.#pool = pool;
  }

  /** The buffer offered to the store: the stored bytes go at `#from`, the status line before them. */
  readonly #into = (room: number): Buffer => {
    // A store asks for its message's size (+1 to see a grown file); more is a broken store.
    if (!Number.isSafeInteger(room) || room < 0 || room > this.#maxRoom)
      throw new RangeError(`readSmall asked for ${room} octets`);
    const cap = this.#headLength + Math.max(this.#octets, room) + DOT_ROOM + CLOSE_ROOM;
    this.#reply = this.#pool.take(cap);
    this.#from = cap - CLOSE_ROOM - room;
    return this.#reply.subarray(this.#from, this.#from + room);
  };

  /**
   * The reply, or undefined when the store wants this message streamed (`open()`). Throws what
   * readSmall throws (MessageGoneError for a message that vanished or changed). Send it with
   * `written` as its write callback.
   */
  read(mailbox: Mailbox, msg: NumberedMessage, status: Buffer, maxBytes: number): Buffer | undefined {
    const reply = this.#build(mailbox, msg, status, maxBytes);
    if (reply !== undefined) this.#inFlight.push(reply);
    return reply;
  }

  #build(mailbox: Mailbox, msg: NumberedMessage, status: Buffer, maxBytes: number): Buffer | undefined {
    const readSmall = mailbox.readSmall;
    if (!readSmall) return undefined;
    this.#headLength = status.length;
    this.#octets = msg.octets;
    this.#maxRoom = maxBytes + 1;
    let body: Buffer | undefined;
    let reply: Buffer;
    try {
      body = readSmall.call(mailbox, msg.uid, maxBytes, this.#into);
      reply = this.#reply;
    } finally {
      this.#reply = EMPTY;
    }
    if (body === undefined) return undefined;
    if (
      reply.length > 0 &&
      body.buffer === reply.buffer &&
      body.byteOffset === reply.byteOffset + this.#from
    ) {
      reply.set(status, 0);
      const end = encodeStoredInPlace(reply, status.length, this.#from, this.#from + body.length);
      if (end >= 0) return reply.subarray(0, end);
      // More line-start dots than DOT_ROOM: the buffer is spoiled, so read the message again.
      body = readSmall.call(mailbox, msg.uid, maxBytes);
      if (body === undefined) return undefined;
    }
    return DotEncoder.whole(status, asBuffer(body)).reply;
  }

  /**
   * The write callback for every reply `read` returns (socket.write(reply, written)): once the socket
   * has written one, its buffer goes back to the pool. Writes complete in order, so the oldest reply
   * in flight is the one written. After a failed write nothing is reused. A reply that is never
   * written (the session closed) stays last in the queue, and no later write comes to take it.
   */
  readonly written = (err?: Error | null): void => {
    const reply = this.#inFlight.shift();
    if (reply !== undefined && !err) this.#pool.give(reply);
  };
}

/** A store written in plain JS may hand back a Uint8Array. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}
