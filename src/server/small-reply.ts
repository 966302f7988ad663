import { checkCount, checkRoom, readWhole } from '../mailstore/read-whole.js';
import type { Mailbox, MessageInfo, ReadTarget } from '../mailstore/types.js';
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
 * session's OutputBatch, for stores with `Mailbox.readSmall`. SmallReplies is the store's
 * ReadTarget: the store reads the file straight into the batch buffer, behind room for the status
 * line and the stuffing, and the body is encoded there in place, so a message is neither copied
 * nor given an object of its own. One per session; `read` is synchronous, so its fields never
 * outlive a call.
 */
export class SmallReplies implements ReadTarget {
  readonly #out: OutputBatch;
  /** Where the reply being read starts in the batch buffer, and where the stored bytes go. */
  #at = -1;
  #from = 0;
  #room = 0;
  #headLength = 0;
  #octets = 0;
  #maxRoom = 0;

  constructor(out: OutputBatch) {
    this.#out = out;
  }

  get buffer(): Buffer {
    return this.#out.buffer;
  }

  /** ReadTarget.room: the stored bytes go at `#from`, the status line before them. */
  room(octets: number): number {
    checkRoom(this.#at >= 0, octets, this.#maxRoom);
    // The listed size is the store's word: never reserve more than `octets` stored octets can need,
    // whatever a broken store listed.
    const wire = Math.min(Math.max(this.#octets, octets), maxWireOctets(octets));
    const cap = this.#headLength + wire + DOT_ROOM + CLOSE_ROOM;
    this.#at = this.#out.reserve(cap);
    this.#room = octets;
    this.#from = this.#at + cap - CLOSE_ROOM - octets;
    return this.#from;
  }

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
    const got = readSmall.call(mailbox, msg.uid, maxBytes, this);
    if (got < 0) return undefined;
    checkCount(got, this.#at < 0 ? undefined : this.#room);
    const at = this.#at;
    const out = this.#out.buffer;
    if (status) out.set(status, at);
    else writeRetrStatus(out, at, msg.octets);
    const end = encodeStoredInPlace(out, at + this.#headLength, this.#from, this.#from + got);
    if (end >= 0) {
      this.#out.commit(end);
      return end - at;
    }
    // More line-start dots than DOT_ROOM: the room is spoiled, so read the message again.
    const body = readWhole(mailbox, msg.uid, maxBytes);
    if (body === undefined) return undefined;
    const reply = DotEncoder.whole(status ?? retrStatus(msg.octets), body).reply;
    this.#out.append(reply);
    return reply.length;
  }
}
