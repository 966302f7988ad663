// What the fetcher asks of a delivery target. Delivery is two steps so the journal can sit between
// them: prepare() writes the message somewhere invisible (or, for a pipe, does nothing yet),
// commit() makes it delivered. Recovery after a crash uses only what the intent recorded.
import type { MessageSource } from '../../mailstore/io.js';
import type { IntentTarget } from '../journal.js';

export interface DeliveryContext {
  uid: string;
  /** Delivery time, ms since the epoch. */
  at: number;
  /** Bytes to store before the body (the Received header, CRLF-terminated like the body). */
  head?: Buffer;
  /** Told the size of each body chunk as it is taken (progress). */
  onBytes?: (n: number) => void;
}

/**
 * Group commit (Maildir): publish() makes the message visible without the durability step, which
 * sync() then does once for every message of a batch that shares `key` (one fsync of new/).
 */
export interface GroupCommit {
  readonly key: string;
  publish(): void;
  sync(): void;
}

export interface PreparedDelivery {
  /** What the journal records before commit (enough to find the message after a crash). */
  readonly intent: IntentTarget;
  /** Deliver. Throws when not delivered (or when it cannot tell: see `failureIsCertain`). */
  commit(): Promise<void>;
  /**
   * True when a commit() that threw certainly delivered nothing (an MDA's non-zero exit), so the
   * journal may say `failed`; false leaves the intent for recovery to resolve from the target.
   */
  readonly failureIsCertain: boolean;
  /** Drop what prepare() wrote (when the intent could not be journalled). */
  discard(): Promise<void>;
  /** Remove helper files once the outcome is in the journal. */
  cleanup(): Promise<void>;
  /** Present when several prepared messages may be published together (see GroupCommit). */
  readonly group?: GroupCommit;
}

export interface Target {
  /** Whether this target keeps seen-UID state (stdout does only when asked). */
  readonly keepsState: boolean;
  /** Maildir folders whose tmp/ recovery should clean of our killed runs' files. */
  readonly maildirs: readonly string[];
  /** Consume `source` (or keep it for commit) and return the pending delivery. */
  prepare(source: MessageSource, ctx: DeliveryContext): Promise<PreparedDelivery>;
}

/** A delivery that failed for this message only; the run goes on with the next one. */
export class DeliveryError extends Error {
  override name = 'DeliveryError';
}
