// The fetch journal: an append-only file of JSON lines, fsynced before the step each one guards.
//   run     a fetcher process started (its pid lets recovery tell our stale tmp/ files from others')
//   intent  message U is fully written somewhere not yet visible, and is about to be published
//   done    U is published and counts as seen (the durable "recorded in state" step)
//   failed  U was not delivered (the MDA said so); nothing to recover
// An intent without done or failed is resolved on start-up by looking at the target. The journal
// is folded into the state file and emptied at the start and end of every run, so it stays short
// and a torn line (a kill mid-append) can only be the last one.

import { closeSync, promises as fs, constants as fsc, fsyncSync, ftruncateSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { fsyncDirSync, isMissing, writeAllSync } from '../mailstore/io.js';
import { isValidUid } from '../mailstore/maildir-names.js';
import { Pop3Error } from '../protocol/errors.js';

/** Where an intent's message waits, per target kind; enough for recovery to find it. */
export type IntentTarget =
  | { kind: 'maildir'; dir: string; tmp: string; name: string }
  | { kind: 'mbox'; file: string; offset: number; date: number; spool: string; bytes: number }
  /** An MDA or a stream: nothing to inspect afterwards; unresolved means "maybe delivered". */
  | { kind: 'pipe' };

export type JournalRecord =
  | { op: 'run'; pid: number; host: string; at: number }
  | { op: 'intent'; uid: string; at: number; target: IntentTarget }
  | { op: 'done'; uid: string; at: number }
  | { op: 'failed'; uid: string };

/** A journal bigger than this is refused rather than read into memory. */
const MAX_JOURNAL_BYTES = 64 * 1024 * 1024;

export interface JournalContents {
  records: JournalRecord[];
  /** The last line was cut short (a kill mid-append): ignored. */
  torn: boolean;
  /** Complete lines that could not be read (damage): ignored. */
  damaged: number;
}

/** Read every record; a missing journal is empty. Unreadable lines are counted, not fatal. */
export async function readJournal(path: string): Promise<JournalContents> {
  let data: Buffer;
  try {
    const st = await fs.stat(path);
    if (st.size > MAX_JOURNAL_BYTES) {
      throw new Pop3Error(`fetch journal ${path} is larger than ${MAX_JOURNAL_BYTES} bytes`, {
        code: 'ELIMIT',
      });
    }
    data = await fs.readFile(path);
  } catch (err) {
    if (isMissing(err)) return { records: [], torn: false, damaged: 0 };
    throw err;
  }
  const records: JournalRecord[] = [];
  let damaged = 0;
  const lines = data.toString('utf8').split('\n');
  // The text after the last newline is a torn append (or nothing).
  const torn = lines.pop() !== '';
  for (const line of lines) {
    const rec = parseRecord(line);
    if (rec) records.push(rec);
    else damaged++;
  }
  return { records, torn, damaged };
}

function parseRecord(line: string): JournalRecord | undefined {
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof r !== 'object' || r === null) return undefined;
  const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  const uidOk = typeof r.uid === 'string' && isValidUid(r.uid);
  switch (r.op) {
    case 'run':
      return num(r.pid) && typeof r.host === 'string' && num(r.at) ? (r as JournalRecord) : undefined;
    case 'done':
      return uidOk && num(r.at) ? (r as JournalRecord) : undefined;
    case 'failed':
      return uidOk ? (r as JournalRecord) : undefined;
    case 'intent':
      return uidOk && num(r.at) && validTarget(r.target) ? (r as JournalRecord) : undefined;
    default:
      return undefined;
  }
}

function validTarget(t: unknown): boolean {
  if (typeof t !== 'object' || t === null) return false;
  const o = t as Record<string, unknown>;
  const str = (v: unknown) => typeof v === 'string' && v.length > 0;
  const int = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  switch (o.kind) {
    case 'maildir':
      return str(o.dir) && str(o.tmp) && str(o.name) && !/[/\0]/.test(`${o.tmp}${o.name}`);
    case 'mbox':
      return str(o.file) && str(o.spool) && int(o.offset) && int(o.bytes) && Number.isFinite(o.date);
    case 'pipe':
      return true;
    default:
      return false;
  }
}

/**
 * An open journal. Appends go straight to the file with synchronous calls (each is one write, and
 * the fetcher waits for it anyway: see NewFileWriter); an append is on disk (fsync) when it
 * returns, unless asked not to sync: then the next synced append, or sync(), makes it durable.
 */
export class Journal {
  private appended = 0;

  private constructor(
    readonly path: string,
    private fd: number,
  ) {}

  static async open(path: string): Promise<Journal> {
    const append = fsc.O_WRONLY | fsc.O_APPEND;
    try {
      return new Journal(path, openSync(path, append));
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    // A new journal's name survives a crash only once its folder is fsynced (the account is locked,
    // so nobody else creates it meanwhile).
    const fd = openSync(path, append | fsc.O_CREAT | fsc.O_EXCL, 0o600);
    try {
      fsyncDirSync(dirname(path));
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return new Journal(path, fd);
  }

  /** Records appended since the last truncate. */
  get length(): number {
    return this.appended;
  }

  async append(record: JournalRecord, opts: { sync?: boolean } = {}): Promise<void> {
    this.appendMany([record], opts);
  }

  /** Append several records with one write (and at most one fsync). */
  appendMany(records: readonly JournalRecord[], opts: { sync?: boolean } = {}): void {
    if (records.length === 0) return;
    let text = '';
    for (const r of records) text += `${JSON.stringify(r)}\n`;
    writeAllSync(this.fd, Buffer.from(text, 'utf8'));
    if (opts.sync !== false) fsyncSync(this.fd);
    this.appended += records.length;
  }

  /** Make every append so far durable. */
  async sync(): Promise<void> {
    fsyncSync(this.fd);
  }

  /** Empty the journal (after its contents were folded into the state file). */
  async truncate(): Promise<void> {
    ftruncateSync(this.fd, 0);
    fsyncSync(this.fd);
    this.appended = 0;
  }

  async close(): Promise<void> {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    closeSync(fd);
  }
}
