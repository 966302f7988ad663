// The fetcher's public shapes: an account (where to connect, where to deliver, what to keep),
// the options of one run, and what a run reports.
import type { Writable } from 'node:stream';
import type { ClientOptions } from '../client/options.js';

/** Where fetched mail goes. */
export type TargetConfig =
  | {
      kind: 'maildir';
      path: string;
      /** 'lf' (default) stores Unix line ends as Maildir readers expect; 'keep' stores the CRLF wire form. */
      lineEnds?: 'lf' | 'keep';
    }
  | { kind: 'mbox'; path: string }
  | {
      kind: 'mda';
      /** argv (run directly) or one string (run by /bin/sh -c). The message arrives on stdin; exit 0 = delivered. */
      command: string[] | string;
      /** 'lf' (default, as procmail/maildrop expect) or 'keep' (CRLF). */
      lineEnds?: 'lf' | 'keep';
      /** Kill the MDA after this long (default 5 minutes): not delivered. */
      timeoutMs?: number;
    }
  | {
      kind: 'stdout';
      /** 'mboxrd' (default: several messages stay separable) or 'raw' (bytes as received, back to back). */
      format?: 'mboxrd' | 'raw';
      /** Keep seen-UID state (so later runs skip these messages). Default false. */
      recordState?: boolean;
      /** Where to write (default process.stdout). */
      stream?: Writable;
    };

/** What to do with mail on the server and which messages to download. */
export interface FetchPolicy {
  /** Delete each message on the server once it is durably delivered and recorded (default: keep). */
  delete?: boolean;
  /** Keep mode: delete messages first fetched at least this many days ago. */
  deleteAfterDays?: number;
  /** Messages larger than this (LIST octets) are not downloaded. */
  maxSize?: number;
  /** What to do with a message over maxSize: 'skip' (default: leave it, ask again next run) or 'delete' it unread. */
  oversized?: 'skip' | 'delete';
  /** Download at most this many new messages per run; the rest wait for the next run. */
  limit?: number;
}

export interface AccountConfig {
  /** Display name in results and errors (default `user@host:port`). */
  name?: string;
  /** How to connect and log in: the client's options, `auth` required. */
  connection: ClientOptions;
  target: TargetConfig;
  policy?: FetchPolicy;
  /** Folder for per-account state, journal and lock files (created 0700). */
  stateDir: string;
  /** Prepend a `Received:` trace header naming the server, this host and the UID. */
  receivedHeader?: boolean;
  /**
   * RETRs in flight when the server offers PIPELINING (default: enough for about 4 MiB of the
   * announced sizes, 16 to 256).
   */
  window?: number;
}

export interface Progress {
  /** Messages delivered so far in this run. */
  messages: number;
  /** Bytes received so far (message bodies). */
  bytes: number;
  /** Messages this run means to download. */
  totalMessages: number;
  /** Their total size per LIST. */
  totalBytes: number;
}

export interface FetchOptions {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** Clock in ms since the epoch (tests inject one for deleteAfterDays). */
  now?: () => number;
  /**
   * Group commit bounds: messages written are published together once this many are waiting,
   * or they hold this many bytes, or the oldest has waited this long (default 128, 32 MiB, 1 s).
   * Progress counts messages as their batch is published.
   */
  batch?: { messages?: number; bytes?: number; ageMs?: number };
}

export interface FetchFailure {
  uid: string;
  /** Printable reason (no secrets). */
  error: string;
}

export interface FetchResult {
  account: string;
  /** Messages on the server whose UID was not seen before. */
  new: number;
  /** Delivered (and recorded) in this run. */
  delivered: number;
  /** Not downloaded: over maxSize with 'skip'. */
  skipped: number;
  /** New messages left for a later run by `limit`. */
  deferred: number;
  /** Deleted on the server (confirmed by QUIT's +OK). */
  deleted: number;
  /** Message bytes received. */
  bytes: number;
  /** Messages that could not be delivered (they stay on the server, unrecorded). */
  errors: number;
  failures: FetchFailure[];
  /** Things the user should know that are not failures (duplicate UIDs, unconfirmed QUIT, ...). */
  warnings: string[];
  /** The server's LOGIN-DELAY in seconds, when it advertised one. */
  loginDelay: number | undefined;
}
