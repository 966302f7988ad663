import type { Mailbox, MessageInfo } from '../mailstore/types.js';
import { DotEncoder, encodeStoredInPlace } from '../protocol/dot-encoder.js';
import { maxWireOctets } from '../protocol/wire-size.js';
import type { OutputBatch } from './output-batch.js';
import { retrStatus, retrStatusLength, writeRetrStatus } from './responses.js';

/**
 * Room for line-start dots in a reply read in place: the gap before the stored bytes holds one
 * octet per bare LF (known from the listed size) plus this many. A message with more such dots
 * is read a second time and encoded into a fresh buffer.
 */
const DOT_ROOM = 64;
/** CRLF (for a message without a final line end) and ".CRLF". */
const CLOSE_ROOM = 5;

/**
 * Replies to RETR of small messages (status line, dot-stuffed body, terminator), gathered in the
 * session's OutputBatch, for stores with `Mailbox.readSmall`. The store reads the file straight
 * into the batch buffer (the `into` offer), behind room for the status line and the stuffing, and
 * the body is encoded there in place, so the message is neither copied nor allocated; a store that
 * ignores the offer gets its bytes encoded and copied in. One per session; `read` is synchronous,
 * so its fields never outlive a call.
 */
export class SmallReplies {
  readonly #out: OutputBatch;
  /** Where the reply being read starts in the batch buffer, and where the stored bytes go. */
  #at = -1;
  #from = 0;
  #headLength = 0;
  #octets = 0;
  #maxRoom = 0;

  constructor(out: OutputBatch) {
    this.#out = out;
  }

  /** The buffer offered to the store: the stored bytes go at `#from`, the status line before them. */
  readonly #into = (room: number): Buffer => {
    // A store asks for its message's size (+1 to see a grown file); more is a broken store.
    if (!Number.isSafeInteger(room) || room < 0 || room > this.#maxRoom)
      throw new RangeError(`readSmall asked for ${room} octets`);
    // The listed size is the store's word: never reserve more than `room` stored octets can need,
    // whatever a broken store listed.
    const wire = Math.min(Math.max(this.#octets, room), maxWireOctets(room));
    const cap = this.#headLength + wire + DOT_ROOM + CLOSE_ROOM;
    this.#at = this.#out.reserve(cap);
    this.#from = this.#at + cap - CLOSE_ROOM - room;
    return this.#out.buffer.subarray(this.#from, this.#from + room);
  };

  /**
   * Gathers the reply in the batch: its length in octets, or undefined when the store wants this
   * message streamed (`open()`). `status` undefined means RETR's, written in place from the size.
   * Throws what readSmall throws (MessageGoneError for a message that vanished or changed);
   * nothing is gathered then.
   */
  read(mailbox: Mailbox, msg: MessageInfo, status: Buffer | undefined, maxBytes: number): number | undefined {
    const readSmall = mailbox.readSmall;
    if (!readSmall) return undefined;
    this.#headLength = status ? status.length : retrStatusLength(msg.octets);
    this.#octets = msg.octets;
    this.#maxRoom = maxBytes + 1;
    this.#at = -1;
    let body = readSmall.call(mailbox, msg.uid, maxBytes, this.#into);
    if (body === undefined) return undefined;
    const at = this.#at;
    const out = this.#out.buffer;
    if (at >= 0 && body.buffer === out.buffer && body.byteOffset === out.byteOffset + this.#from) {
      if (status) out.set(status, at);
      else writeRetrStatus(out, at, msg.octets);
      const end = encodeStoredInPlace(out, at + this.#headLength, this.#from, this.#from + body.length);
      if (end >= 0) {
        this.#out.commit(end);
        return end - at;
      }
      // More line-start dots than DOT_ROOM: the room is spoiled, so read the message again.
      body = readSmall.call(mailbox, msg.uid, maxBytes);
      if (body === undefined) return undefined;
    }
    const reply = DotEncoder.whole(status ?? retrStatus(msg.octets), asBuffer(body)).reply;
    this.#out.append(reply);
    return reply.length;
  }
}

/** A store written in plain JS may hand back a Uint8Array. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}
