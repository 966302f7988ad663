// One account's durable bookkeeping for one run: the lock, the state, the journal. Opening takes
// the lock and folds the previous run's journal into the state (recovering the messages it was
// killed in the middle of delivering); closing folds this run's journal the same way and releases
// the lock.
//
// Group commit: prepared messages (written whole and fsynced where they are not yet visible) are
// queued, and a flush publishes the queue together, in the order the exactly-once protocol needs:
//   one journal append of every intent + fsync      (each tmp file was fsynced before)
//   -> publish each (Maildir: link into new/, unlink) -> one fsync of new/ per Maildir
//   -> one journal append of every done             (durable by the next fsync, always before DELE)
// A kill before the intents are durable leaves tmp files only (removed as our dead run's, fetched
// again); after it, every intent's file is complete in tmp/ or new/, and recovery rolls each
// forward or finds it delivered. Targets without group commit (mbox, MDA, stdout) flush one
// message at a time.
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { mkdirDurable } from '../mailstore/mkdir-durable.js';
import { Journal, type Journal as JournalType, readJournal } from './journal.js';
import { type HeldLock, lockAccount } from './lock.js';
import { replayJournal } from './recovery.js';
import {
  type AccountPaths,
  accountPaths,
  loadState,
  removeStaleTemps,
  type SeenState,
  saveState,
} from './state.js';
import { cleanMaildirTmp } from './targets/maildir.js';
import type { PreparedDelivery, Target } from './targets/target.js';

export interface SessionReport {
  recoveredDelivered: number;
  recoveredNotDelivered: number;
  warnings: string[];
}

/**
 * Points in the protocol where tests stop a process to check recovery: a message queued; a batch's
 * intents durable; one message of a group renamed (`renamed`, once per message) and all of them
 * (`published`, before new/ is fsynced); the batch committed; its dones appended; the state saved.
 */
export type SessionStep =
  | 'prepared'
  | 'intent'
  | 'renamed'
  | 'published'
  | 'committed'
  | 'done'
  | 'state-saved';

export interface BatchLimits {
  /** Flush when this many messages are queued. */
  messages: number;
  /** Flush when the queued messages hold this many bytes. */
  bytes: number;
  /** Flush when the oldest queued message has waited this long (ms), checked as messages come. */
  ageMs: number;
}

export interface SessionOptions {
  /** Called after each step (tests kill the process here); must not throw in real use. */
  onStep?: (step: SessionStep) => void | Promise<void>;
  batch?: Partial<BatchLimits>;
}

/** A message queued for the next flush. */
export interface QueuedDelivery {
  uid: string;
  at: number;
  prepared: PreparedDelivery;
  /** Its size, for the batch's byte bound. */
  bytes: number;
}

/** Fold the journal into the state this often (in records), so replay stays short. */
const COMPACT_EVERY = 2000;
/**
 * Queued messages cost only files in tmp/; a bigger batch saves fsyncs, a smaller one re-fetches
 * less after a kill and shows mail sooner.
 */
const DEFAULT_BATCH: BatchLimits = { messages: 128, bytes: 32 * 1024 * 1024, ageMs: 1000 };

export class AccountSession {
  private closed = false;
  private queue: QueuedDelivery[] = [];
  private queuedBytes = 0;
  private queuedSince = 0;

  private constructor(
    readonly paths: AccountPaths,
    readonly state: SeenState,
    private readonly journal: JournalType,
    private readonly lock: HeldLock,
    private readonly target: Target,
    private readonly onStep: ((step: SessionStep) => void | Promise<void>) | undefined,
    private readonly limits: BatchLimits,
  ) {}

  /** Lock the account, replay and compact its journal. Throws ESTATE if another fetch holds it. */
  static async open(
    stateDir: string,
    account: string,
    target: Target,
    opts: SessionOptions = {},
  ): Promise<{ session: AccountSession; report: SessionReport }> {
    await mkdirDurable(stateDir);
    const paths = accountPaths(stateDir, account);
    const lock = await lockAccount(paths.lock, account);
    let journal: JournalType | undefined;
    try {
      const state = await loadState(paths.state);
      journal = await Journal.open(paths.journal);
      const session = new AccountSession(paths, state, journal, lock, target, opts.onStep, {
        ...DEFAULT_BATCH,
        ...opts.batch,
      });
      const report = await session.compact();
      session.recordRun();
      return { session, report };
    } catch (err) {
      await journal?.close().catch(() => {});
      await lock.release();
      throw err;
    }
  }

  /**
   * Replay the journal on disk into the state, save the state atomically, clean files of killed
   * runs, then empty the journal. Safe to repeat after a crash at any step.
   */
  async compact(): Promise<SessionReport> {
    const { records, torn, damaged } = await readJournal(this.paths.journal);
    const replay = await replayJournal(records, this.state);
    const warnings = replay.warnings;
    if (damaged > 0) warnings.push(`fetch journal had ${damaged} unreadable lines (ignored)`);
    if (records.length > 0 || torn || damaged > 0) {
      await saveState(this.paths.state, this.paths.account, this.state);
      if (this.onStep) await this.onStep('state-saved');
    }
    await removeStaleTemps(this.paths.state);
    for (const dir of new Set([...this.target.maildirs, ...replay.maildirs])) {
      await cleanMaildirTmp(dir, replay.runPids);
    }
    await this.removeSpools();
    await this.journal.truncate();
    return {
      recoveredDelivered: replay.recoveredDelivered,
      recoveredNotDelivered: replay.recoveredNotDelivered,
      warnings,
    };
  }

  /** Spool files of this account: all garbage between deliveries (we hold the lock). */
  private async removeSpools(): Promise<void> {
    const dir = dirname(this.paths.spool);
    const prefix = `${basename(this.paths.spool)}-`;
    for (const name of await fs.readdir(dir)) {
      if (name.startsWith(prefix)) await fs.rm(join(dir, name), { force: true });
    }
  }

  /**
   * Our pid in the journal, so that a later run may remove the tmp/ files this one leaves if killed.
   * Written at the start of a run and again after each compaction empties the journal.
   */
  private recordRun(): void {
    this.journal.appendMany([{ op: 'run', pid: process.pid, host: hostname(), at: Date.now() }]);
  }

  /** Messages queued and not yet flushed. */
  get queued(): number {
    return this.queue.length;
  }

  /**
   * Queue a prepared message for the next flush, and flush when the batch is full or the target
   * cannot group its commits. Returns the messages this call delivered (durably recorded as seen,
   * `done` durable by the next journal fsync). An error from a message's own commit (an MDA's exit
   * status) comes out of this call for that message alone: such targets flush one at a time.
   */
  async add(entry: QueuedDelivery): Promise<QueuedDelivery[]> {
    if (this.closed) throw new Error('AccountSession: closed');
    let delivered: QueuedDelivery[] = [];
    // A message that cannot join a group goes alone.
    if (!entry.prepared.group && this.queue.length > 0) delivered = await this.flush();
    if (this.queue.length === 0) this.queuedSince = Date.now();
    this.queue.push(entry);
    this.queuedBytes += entry.bytes;
    if (this.onStep) await this.onStep('prepared');
    const l = this.limits;
    if (
      !entry.prepared.group ||
      this.queue.length >= l.messages ||
      this.queuedBytes >= l.bytes ||
      Date.now() - this.queuedSince >= l.ageMs
    ) {
      delivered = delivered.concat(await this.flush());
    }
    return delivered;
  }

  /**
   * Publish every queued message (see the file comment) and record it as seen. Returns them.
   * If the intents cannot be journalled, the queued files are removed (nothing was published);
   * a later failure leaves the intents for recovery, which the next compaction runs.
   */
  async flush(): Promise<QueuedDelivery[]> {
    const batch = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    if (batch.length === 0) return batch;
    try {
      this.journal.appendMany(
        batch.map((e) => ({ op: 'intent', uid: e.uid, at: e.at, target: e.prepared.intent }) as const),
      );
    } catch (err) {
      for (const e of batch) await e.prepared.discard().catch(() => {});
      throw err;
    }
    if (this.onStep) await this.onStep('intent');
    const only = batch.length === 1 ? batch[0]! : undefined;
    if (only && !only.prepared.group) {
      try {
        await only.prepared.commit();
      } catch (err) {
        if (only.prepared.failureIsCertain) this.journal.appendMany([{ op: 'failed', uid: only.uid }]);
        throw err;
      }
    } else {
      for (const e of batch) {
        e.prepared.group!.publish();
        if (this.onStep) await this.onStep('renamed');
      }
      if (this.onStep) await this.onStep('published');
      const synced = new Set<string>();
      for (const e of batch) {
        const g = e.prepared.group!;
        if (synced.has(g.key)) continue;
        g.sync();
        synced.add(g.key);
      }
    }
    if (this.onStep) await this.onStep('committed');
    // For a Maildir, not synced here: the next intents' fsync (same file) or sync() before any
    // DELE makes it durable, and if a power cut loses it, recovery finds the files in new/ from
    // the intents. An mbox spool is removed next and a pipe leaves nothing to find: those sync now.
    this.journal.appendMany(
      batch.map((e) => ({ op: 'done', uid: e.uid, at: e.at }) as const),
      { sync: batch.some((e) => e.prepared.intent.kind !== 'maildir') },
    );
    for (const e of batch) this.state.add(e.uid, e.at);
    if (this.onStep) await this.onStep('done');
    for (const e of batch) await e.prepared.cleanup();
    if (this.journal.length >= COMPACT_EVERY) {
      await this.compact();
      this.recordRun();
    }
    return batch;
  }

  /**
   * The exactly-once steps for one prepared message on its own: journal the intent, commit,
   * journal done. Returns once the UID is recorded (after any messages queued before it).
   */
  async deliver(uid: string, at: number, prepared: PreparedDelivery): Promise<void> {
    if (this.queue.length > 0) await this.flush();
    this.queue.push({ uid, at, prepared, bytes: 0 });
    if (this.onStep) await this.onStep('prepared');
    await this.flush();
  }

  /** Flush, then make every `done` so far durable: call before sending DELE for anything delivered. */
  async sync(): Promise<QueuedDelivery[]> {
    const delivered = await this.flush();
    await this.journal.sync();
    return delivered;
  }

  /** Drop the queue: remove its files (they were never journalled, so nothing refers to them). */
  private async discardQueue(): Promise<void> {
    const queue = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    for (const e of queue) await e.prepared.discard().catch(() => {});
  }

  /**
   * Final compaction, then release. Idempotent. `holdUntil` (the run's QUIT still in flight)
   * settles before the lock is released, so the next run on this account starts after this
   * run's session with the server has ended.
   */
  async close(holdUntil?: Promise<unknown>): Promise<SessionReport> {
    if (this.closed) return { recoveredDelivered: 0, recoveredNotDelivered: 0, warnings: [] };
    this.closed = true;
    try {
      // The caller flushes what it wants delivered; anything still queued was not.
      await this.discardQueue();
      return await this.compact();
    } finally {
      await this.journal.close().catch(() => {});
      await holdUntil?.then(
        () => {},
        () => {},
      );
      await this.lock.release();
    }
  }
}
