// Per-account seen-UID state: which UIDs were delivered, and when first. Stored as one JSON file,
// replaced atomically (temp file, fsync, rename, fsync dir), so a crash leaves the old or the new
// version, never a torn one. File names come from a hash of the account, never from a user name
// or UID (CONFORMANCE C5: a UID is never a path).

import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { isMissing, replaceFileAtomic } from '../mailstore/io.js';
import { isValidUid } from '../mailstore/maildir-names.js';
import { Pop3Error } from '../protocol/errors.js';

const FORMAT = 'pop3kit-fetch-state';
/** A state file bigger than this is refused (about a million UIDs). */
export const MAX_STATE_BYTES = 128 * 1024 * 1024;

/** Where one account's files live. */
export interface AccountPaths {
  /** `user@host:port`, for people (file contents and messages, never a path). */
  readonly account: string;
  readonly state: string;
  readonly journal: string;
  readonly lock: string;
  /** Prefix for the mbox target's spool files. */
  readonly spool: string;
}

/** `user@host:port` with the port the client would use. */
export function accountId(conn: {
  host: string;
  port?: number;
  tls?: string;
  auth?: { user: string };
}): string {
  const port = conn.port ?? ((conn.tls ?? 'implicit') === 'implicit' ? 995 : 110);
  return `${conn.auth?.user ?? ''}@${conn.host.toLowerCase()}:${port}`;
}

/** The account's files in stateDir, named by a hash of the account id. */
export function accountPaths(stateDir: string, account: string): AccountPaths {
  const key = createHash('sha256').update(`pop3kit-fetch\0${account}`, 'utf8').digest('hex').slice(0, 32);
  const base = join(stateDir, key);
  return {
    account,
    state: `${base}.state.json`,
    journal: `${base}.journal`,
    lock: `${base}.lock`,
    spool: `${base}.spool`,
  };
}

/** Seen UIDs with the time (ms since the epoch) each was first delivered. */
export class SeenState {
  readonly seen = new Map<string, number>();

  has(uid: string): boolean {
    return this.seen.has(uid);
  }

  /** Record uid as delivered at `at`; an earlier first-seen time is kept. */
  add(uid: string, at: number): void {
    const was = this.seen.get(uid);
    if (was === undefined || at < was) this.seen.set(uid, at);
  }

  firstSeen(uid: string): number | undefined {
    return this.seen.get(uid);
  }

  /** Drop every UID not in `present` (messages gone from the server); returns how many went. */
  retainOnly(present: ReadonlySet<string>): number {
    let dropped = 0;
    for (const uid of [...this.seen.keys()]) {
      if (!present.has(uid)) {
        this.seen.delete(uid);
        dropped++;
      }
    }
    return dropped;
  }

  toJSON(account: string): string {
    const seen = [...this.seen].map(([uid, at]) => [uid, at]);
    return `${JSON.stringify({ format: FORMAT, version: 1, account, seen })}\n`;
  }

  static parse(text: string, path: string): SeenState {
    const bad = (why: string) =>
      new Pop3Error(`fetch state file ${path} is damaged (${why}); move it away to start over`, {
        code: 'ESTATE',
      });
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw bad('not JSON');
    }
    const d = doc as { format?: unknown; version?: unknown; seen?: unknown };
    if (typeof d !== 'object' || d === null || d.format !== FORMAT) throw bad('not a pop3kit state file');
    if (d.version !== 1) throw bad(`unknown version ${String(d.version)}`);
    if (!Array.isArray(d.seen)) throw bad('no seen list');
    const state = new SeenState();
    for (const entry of d.seen as unknown[]) {
      if (!Array.isArray(entry) || entry.length !== 2) throw bad('bad entry');
      const [uid, at] = entry as [unknown, unknown];
      if (typeof uid !== 'string' || !isValidUid(uid)) throw bad('bad UID');
      if (typeof at !== 'number' || !Number.isFinite(at)) throw bad('bad time');
      state.add(uid, at);
    }
    return state;
  }
}

/** Read the state; a missing file is an empty state. */
export async function loadState(path: string): Promise<SeenState> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(path, 'r');
  } catch (err) {
    if (isMissing(err)) return new SeenState();
    throw err;
  }
  try {
    const { size } = await fh.stat();
    if (size > MAX_STATE_BYTES) {
      throw new Pop3Error(`fetch state file ${path} is larger than ${MAX_STATE_BYTES} bytes`, {
        code: 'ELIMIT',
      });
    }
    return SeenState.parse((await fh.readFile()).toString('utf8'), path);
  } finally {
    await fh.close();
  }
}

/** Replace the state file atomically and durably (temp file, fsync, rename, fsync dir). */
export async function saveState(path: string, account: string, state: SeenState): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`; // see removeStaleTemps
  await replaceFileAtomic(path, Buffer.from(state.toJSON(account), 'utf8'), { tmp, syncDir: true });
}

/** Remove temp files a killed writer left beside `path`. Only call while holding the account lock. */
export async function removeStaleTemps(path: string): Promise<void> {
  const dir = dirname(path);
  const prefix = `${path.slice(dir.length + 1)}.tmp-`;
  for (const name of await fs.readdir(dir)) {
    if (name.startsWith(prefix)) await fs.rm(join(dir, name), { force: true });
  }
}
