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
   * synchronously — so only for stores that answer that in microseconds (local files, memory).
   * `undefined` means "use `open()` for this one" (larger, or the store prefers it). Throws
   * MessageGoneError when the message is gone or no longer the one listed. The caller owns the
   * buffer. Stores without it are served through `open()` as before.
   *
   * `into`, when given, offers a place for the bytes: `into(room)` returns a buffer of `room`
   * octets, and the store reads into it and returns the part it filled (a subarray from its
   * start). The server offers room in its batch of replies this way, so the message is not
   * copied; the buffer is the server's and must not be kept after the call. A store may ignore the
   * offer and return a buffer of its own.
   */
  readSmall?(uid: string, maxBytes: number, into?: (room: number) => Buffer): Buffer | undefined;
  /** UPDATE state: remove exactly these; returns uids that could not be removed. Crash-safe: a kill at any moment loses no message that is not in the list. */
  commit(deleted: readonly string[]): Promise<{ notRemoved: string[] }>;
  /** Release the lock without committing anything. Idempotent. Also called after commit. */
  release(): Promise<void>;
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
