import type { Readable } from 'node:stream';

/** One message of a snapshot: its unique id (RFC 1939 UIDL) and its size as sent on the wire. */
export interface MessageInfo {
  readonly uid: string;
  /** Length of the wire form (bare LF counted as CRLF, CRLF appended if missing), before dot-stuffing. */
  readonly octets: number;
}

/** A locked maildrop, as one POP3 session sees it. */
export interface Mailbox {
  /** Snapshot taken at open: the maildrop's messages in a fixed order; never changes during the session (new mail stays invisible). */
  readonly messages: readonly MessageInfo[];
  /** Raw stored bytes of one message (NOT wire form: the server converts), as a stream. */
  open(uid: string): Promise<NodeJS.ReadableStream | Readable>;
  /**
   * Optional fast path for small messages, tried by the server before `open()`: the whole stored
   * message (raw bytes, like `open()`) when it is at most `maxBytes` long, read at once and
   * synchronously into `target` — so only for stores that answer that in microseconds (local
   * files, memory). Once the store knows the size, it calls `target.room(octets)` once and writes
   * the bytes into `target.buffer` from the offset that returns; it returns how many it wrote.
   * -1 means "use `open()` for this one" (larger, or the store prefers it); room() is not called
   * then. Throws MessageGoneError when the message is gone or no longer the one listed.
   *
   * The server's target is room in the batch of replies it is about to write, so the message is
   * neither copied nor wrapped in an object of its own; the buffer must not be kept after the
   * call. Stores without this method are served through `open()`.
   */
  readSmall?(uid: string, maxBytes: number, target: ReadTarget): number;
  /** UPDATE state: remove exactly these; returns uids that could not be removed. Crash-safe: a kill at any moment loses no message that is not in the list. */
  commit(deleted: readonly string[]): Promise<{ notRemoved: string[] }>;
  /** Release the lock without committing anything. Idempotent. Also called after commit. */
  release(): Promise<void>;
}

/** Where `Mailbox.readSmall` puts a message. */
export interface ReadTarget {
  /** Room for `octets` octets: returns the offset in `buffer` to write them from. Call it once, before writing. */
  room(octets: number): number;
  /** The buffer `room` made room in (read it after calling room). */
  readonly buffer: Buffer;
}

export interface MailStore {
  /** Open and lock the user's maildrop. Throws MailboxBusyError when another session holds it. */
  openMailbox(user: string): Promise<Mailbox>;
}

/** Another session holds the maildrop's lock (the server answers `-ERR [IN-USE]`). */
export class MailboxBusyError extends Error {
  override name = 'MailboxBusyError';
  constructor(message = 'maildrop is locked by another session') {
    super(message);
  }
}

/**
 * A message in the snapshot can no longer be read: something outside this session removed it
 * (the server answers `-ERR` for that command; the session goes on).
 */
export class MessageGoneError extends Error {
  override name = 'MessageGoneError';
  constructor(message = 'message is no longer in the maildrop') {
    super(message);
  }
}
