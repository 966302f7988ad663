// Maildir target: prepare = write tmp/<unique> and fsync; commit = rename into new/ and fsync new/
// (or, in a group commit, the renames of a batch and then one fsync of new/).
// Recovery of an intent: the message is delivered if new/<name> or cur/<name>[:2,flags] exists;
// if it still sits complete in tmp/ (the intent is journalled only after the fsync), finish the
// rename (roll forward); otherwise it was never made visible and will be fetched again.
import { promises as fs, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isMissing, type MessageSource, pathExists } from '../../mailstore/io.js';
import { processIsDead } from '../../mailstore/lock-file.js';
import {
  publish,
  renameIntoNew,
  syncNew,
  uniqueMaildirName,
  writeTmp,
} from '../../mailstore/maildir-deliver.js';
import type { IntentTarget } from '../journal.js';
import type { DeliveryContext, PreparedDelivery, Target } from './target.js';

export interface MaildirTargetOptions {
  lineEnds?: 'lf' | 'keep';
}

export function maildirTarget(dir: string, opts: MaildirTargetOptions = {}): Target {
  const lineEnds = opts.lineEnds ?? 'lf';
  return {
    keepsState: true,
    maildirs: [dir],
    async prepare(source: MessageSource, ctx: DeliveryContext): Promise<PreparedDelivery> {
      const tmp = await writeTmp(dir, source, {
        lineEnds,
        maxBytes: Number.MAX_SAFE_INTEGER,
        ...(ctx.head ? { head: ctx.head } : {}),
        ...(ctx.onBytes ? { onSourceBytes: ctx.onBytes } : {}),
      });
      return {
        intent: { kind: 'maildir', dir, tmp: basename(tmp.tmpPath), name: tmp.name },
        failureIsCertain: false,
        async commit() {
          await publish(dir, tmp);
        },
        group: {
          key: dir,
          publish: () => {
            renameIntoNew(dir, tmp);
          },
          sync: () => syncNew(dir),
        },
        async discard() {
          rmSync(tmp.tmpPath, { force: true });
        },
        async cleanup() {},
      };
    },
  };
}

/** Is the intent's message in new/ or cur/ (a reader may have moved it and added flags)? */
async function visible(dir: string, name: string): Promise<boolean> {
  if (await pathExists(join(dir, 'new', name))) return true;
  let names: string[];
  try {
    names = await fs.readdir(join(dir, 'cur'));
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
  return names.some((n) => n === name || n.startsWith(`${name}:`));
}

/** Resolve a Maildir intent after a crash: true when the message is (now) delivered. */
export async function recoverMaildirIntent(
  intent: Extract<IntentTarget, { kind: 'maildir' }>,
): Promise<boolean> {
  if (await visible(intent.dir, intent.name)) return true;
  const tmpPath = join(intent.dir, 'tmp', intent.tmp);
  if (!(await pathExists(tmpPath))) return false;
  await publish(intent.dir, { tmpPath, name: intent.name });
  return true;
}

/** `<sec>.M<usec>P<pid>Q<n>R<hex>.<host>`: the names writeTmp gives (see uniqueMaildirName). */
const OUR_TMP = /^\d+\.M\d+P(\d+)Q\d+R[0-9a-f]+\.(.+)$/;

/**
 * Remove tmp/ files that fetch runs of this account (their pids, from the journal) left when
 * killed mid-write. Files of live processes, other hosts and other programs are left alone.
 */
export async function cleanMaildirTmp(dir: string, runPids: ReadonlySet<number>): Promise<number> {
  const host = OUR_TMP.exec(uniqueMaildirName())?.[2];
  let names: string[];
  try {
    names = await fs.readdir(join(dir, 'tmp'));
  } catch (err) {
    if (isMissing(err)) return 0;
    throw err;
  }
  let removed = 0;
  for (const name of names) {
    const m = OUR_TMP.exec(name);
    if (!m || m[2] !== host) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || !runPids.has(pid) || !processIsDead(pid)) continue;
    await fs.rm(join(dir, 'tmp', name), { force: true });
    removed++;
  }
  return removed;
}
