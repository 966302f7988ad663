// One account's durable bookkeeping for one run: the lock, the state, the journal. Opening takes
// the lock and folds the previous run's journal into the state (recovering its last message if it
// was killed mid-delivery); closing folds this run's journal the same way and releases the lock.
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
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

/** Points in the protocol where tests stop a process to check recovery. */
export type SessionStep = 'prepared' | 'intent' | 'committed' | 'done' | 'state-saved';

export interface SessionOptions {
  /** Called after each step (tests kill the process here); must not throw in real use. */
  onStep?: (step: SessionStep) => void | Promise<void>;
}

/** Fold the journal into the state this often (in records), so replay stays short. */
const COMPACT_EVERY = 2000;

export class AccountSession {
  private closed = false;

  private constructor(
    readonly paths: AccountPaths,
    readonly state: SeenState,
    private readonly journal: JournalType,
    private readonly lock: HeldLock,
    private readonly target: Target,
    private readonly onStep: (step: SessionStep) => void | Promise<void>,
  ) {}

  /** Lock the account, replay and compact its journal. Throws ESTATE if another fetch holds it. */
  static async open(
    stateDir: string,
    account: string,
    target: Target,
    opts: SessionOptions = {},
  ): Promise<{ session: AccountSession; report: SessionReport }> {
    await fs.mkdir(stateDir, { recursive: true, mode: 0o700 });
    const paths = accountPaths(stateDir, account);
    const lock = await lockAccount(paths.lock, account);
    let journal: JournalType | undefined;
    try {
      const state = await loadState(paths.state);
      journal = await Journal.open(paths.journal);
      const session = new AccountSession(paths, state, journal, lock, target, opts.onStep ?? (() => {}));
      const report = await session.compact();
      await journal.append({ op: 'run', pid: process.pid, host: hostname(), at: Date.now() });
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
      await this.onStep('state-saved');
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
   * The exactly-once step for one prepared message: journal the intent, commit, journal done.
   * Returns once the UID is durably recorded. On a commit failure the intent stays for
   * recovery unless the target knows nothing was delivered.
   */
  async deliver(uid: string, at: number, prepared: PreparedDelivery): Promise<void> {
    await this.onStep('prepared');
    try {
      await this.journal.append({ op: 'intent', uid, at, target: prepared.intent });
    } catch (err) {
      await prepared.discard().catch(() => {});
      throw err;
    }
    await this.onStep('intent');
    try {
      await prepared.commit();
    } catch (err) {
      if (prepared.failureIsCertain) await this.journal.append({ op: 'failed', uid });
      throw err;
    }
    await this.onStep('committed');
    // For a Maildir, not synced here: the next intent's fsync (same file) or sync() before any
    // DELE makes it durable, and if a power cut loses it, recovery finds the file in new/ from the
    // intent. An mbox spool is removed next and a pipe leaves nothing to find: those sync now.
    await this.journal.append({ op: 'done', uid, at }, { sync: prepared.intent.kind !== 'maildir' });
    this.state.add(uid, at);
    await this.onStep('done');
    await prepared.cleanup();
    if (this.journal.length >= COMPACT_EVERY) await this.compact();
  }

  /** Make every `done` so far durable: call before sending DELE for anything delivered. */
  sync(): Promise<void> {
    return this.journal.sync();
  }

  /** Final compaction, then release. Idempotent. */
  async close(): Promise<SessionReport> {
    if (this.closed) return { recoveredDelivered: 0, recoveredNotDelivered: 0, warnings: [] };
    this.closed = true;
    try {
      return await this.compact();
    } finally {
      await this.journal.close().catch(() => {});
      await this.lock.release();
    }
  }
}
