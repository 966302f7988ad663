import type { Mailbox, MessageInfo } from '../mailstore/types.js';
import { parseMessageNumber } from './message-number.js';

const UID = /^[\x21-\x7e]{1,70}$/;

/**
 * Why a store's snapshot cannot be served, or undefined when it can: UIDs must be 1–70 characters
 * in 0x21–0x7E (RFC 1939 §7; a CR or LF in one would break the UIDL framing) and unique within the
 * maildrop, and sizes must be non-negative integers. A pluggable store is checked rather than trusted.
 */
export function checkSnapshot(messages: readonly MessageInfo[]): string | undefined {
  if (checkedSnapshots.has(messages)) return undefined;
  const seen = new Set<string>();
  for (const m of messages) {
    if (typeof m.uid !== 'string' || !UID.test(m.uid)) return 'store returned an invalid UID';
    if (!Number.isSafeInteger(m.octets) || m.octets < 0) return 'store returned an invalid size';
    // Messages are opened and committed by UID: a shared one would serve and remove the wrong message.
    if (seen.has(m.uid)) return 'store returned a UID twice';
    seen.add(m.uid);
  }
  if (isFrozenSnapshot(messages)) checkedSnapshots.add(messages);
  return undefined;
}

/**
 * Snapshots found good that cannot change: a store that hands the same frozen list to the next
 * session (MaildirStore does while the Maildir is unchanged) has it checked and copied once, not
 * at every login.
 */
const checkedSnapshots = new WeakSet<readonly MessageInfo[]>();

/**
 * A list, and every message in it, frozen and made of plain values: nothing can change it after it
 * was checked. A getter (an entry, or a message's uid or octets, own or inherited) can return
 * something else each time however frozen its object is, and a list of another kind can iterate
 * (what the check reads) other entries than it holds (what a session reads).
 */
function isFrozenSnapshot(messages: readonly MessageInfo[]): boolean {
  if (!Object.isFrozen(messages) || Object.getPrototypeOf(messages) !== Array.prototype) return false;
  if (Object.getOwnPropertySymbols(messages).length > 0) return false;
  for (let i = 0; i < messages.length; i++) {
    const entry = Object.getOwnPropertyDescriptor(messages, i);
    if (entry === undefined || !('value' in entry)) return false;
    const m: unknown = entry.value;
    if (typeof m !== 'object' || m === null || !Object.isFrozen(m)) return false;
    if (!hasOwnValue(m, 'uid') || !hasOwnValue(m, 'octets')) return false;
  }
  return true;
}

function hasOwnValue(o: object, key: string): boolean {
  const d = Object.getOwnPropertyDescriptor(o, key);
  return d !== undefined && 'value' in d;
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
    // Numbering is fixed at open (RFC 1939 §4): a list the store could still change is copied.
    // The store's list is read once: what is checked (check()) is what is served.
    const listed = mailbox.messages;
    this.#messages = checkedSnapshots.has(listed) || isFrozenSnapshot(listed) ? listed : Array.from(listed);
    this.#deleted = new Uint8Array(this.#messages.length);
    this.#totalOctets = this.#messages.reduce((sum, m) => sum + m.octets, 0);
  }

  /** Why this snapshot cannot be served (checkSnapshot of the list this maildrop serves), or undefined. */
  check(): string | undefined {
    return checkSnapshot(this.#messages);
  }

  /** Messages not marked deleted. */
  get count(): number {
    return this.#messages.length - this.#deletedCount;
  }

  /** Octets of the messages not marked deleted. */
  get octets(): number {
    return this.#totalOctets - this.#deletedOctets;
  }

  /** The number of the message a command argument names, or undefined when it is malformed, out of range or deleted (S5). */
  lookup(arg: string | undefined): number | undefined {
    const n = parseMessageNumber(arg);
    if (n === undefined || n > this.#messages.length || this.#deleted[n - 1] === 1) return undefined;
    return n;
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

  /** Messages numbered at open, deleted ones included: their numbers run from 1 to `size`. */
  get size(): number {
    return this.#messages.length;
  }

  /** Whether message `n` (1 to `size`) is marked deleted. */
  isDeleted(n: number): boolean {
    return this.#deleted[n - 1] === 1;
  }

  /** Message `n` (1 to `size`) as the store listed it: the store's own object, nothing made per call. */
  message(n: number): MessageInfo {
    return this.#messages[n - 1]!;
  }

  /** UIDs marked deleted, for commit in UPDATE. */
  deletedUids(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.#messages.length; i++)
      if (this.#deleted[i] === 1) out.push(this.#messages[i]!.uid);
    return out;
  }
}
