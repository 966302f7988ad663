import type { Mailbox, MessageInfo } from '../mailstore/types.js';
import { parseMessageNumber } from './message-number.js';

/** A message as a command sees it: its session number (1-based) and the store's info. */
export interface NumberedMessage {
  n: number;
  uid: string;
  octets: number;
}

const UID = /^[\x21-\x7e]{1,70}$/;

/**
 * Why a store's snapshot cannot be served, or undefined when it can: UIDs must be 1–70 characters
 * in 0x21–0x7E (RFC 1939 §7; a CR or LF in one would break the UIDL framing) and unique within the
 * maildrop, and sizes must be non-negative integers. A pluggable store is checked rather than trusted.
 */
export function checkSnapshot(messages: readonly MessageInfo[]): string | undefined {
  const seen = new Set<string>();
  for (const m of messages) {
    if (typeof m.uid !== 'string' || !UID.test(m.uid)) return 'store returned an invalid UID';
    if (!Number.isSafeInteger(m.octets) || m.octets < 0) return 'store returned an invalid size';
    // Messages are opened and committed by UID: a shared one would serve and remove the wrong message.
    if (seen.has(m.uid)) return 'store returned a UID twice';
    seen.add(m.uid);
  }
  return undefined;
}

/**
 * One session's view of a locked maildrop: numbering fixed at open (RFC 1939 §4), the deletion
 * marks, and the live totals STAT reports. Nothing here touches the store until `deletedUids()` is
 * handed to commit in UPDATE.
 */
export class Maildrop {
  readonly #messages: readonly MessageInfo[];
  readonly #deleted: Uint8Array;
  #deletedCount = 0;
  #deletedOctets = 0;
  readonly #totalOctets: number;

  constructor(readonly mailbox: Mailbox) {
    // A copy: numbering is fixed at open (RFC 1939 §4) even if a store changes its array later.
    this.#messages = Array.from(mailbox.messages);
    this.#deleted = new Uint8Array(this.#messages.length);
    this.#totalOctets = this.#messages.reduce((sum, m) => sum + m.octets, 0);
  }

  /** Messages not marked deleted. */
  get count(): number {
    return this.#messages.length - this.#deletedCount;
  }

  /** Octets of the messages not marked deleted. */
  get octets(): number {
    return this.#totalOctets - this.#deletedOctets;
  }

  /** The message a command argument names, or undefined when it is malformed, out of range or deleted (S5). */
  lookup(arg: string | undefined): NumberedMessage | undefined {
    const n = parseMessageNumber(arg);
    if (n === undefined || n > this.#messages.length || this.#deleted[n - 1] === 1) return undefined;
    const m = this.#messages[n - 1]!;
    return { n, uid: m.uid, octets: m.octets };
  }

  /** Mark a live message deleted. */
  delete(n: number): void {
    if (this.#deleted[n - 1] !== 0) return;
    this.#deleted[n - 1] = 1;
    this.#deletedCount++;
    this.#deletedOctets += this.#messages[n - 1]!.octets;
  }

  /** RSET: unmark everything. */
  reset(): void {
    this.#deleted.fill(0);
    this.#deletedCount = 0;
    this.#deletedOctets = 0;
  }

  /** Live messages in number order. */
  *live(): Generator<NumberedMessage> {
    for (let i = 0; i < this.#messages.length; i++) {
      if (this.#deleted[i] === 0)
        yield { n: i + 1, uid: this.#messages[i]!.uid, octets: this.#messages[i]!.octets };
    }
  }

  /** UIDs marked deleted, for commit in UPDATE. */
  deletedUids(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.#messages.length; i++)
      if (this.#deleted[i] === 1) out.push(this.#messages[i]!.uid);
    return out;
  }
}
