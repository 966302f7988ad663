// Replay a journal into the seen-UID state. `done` records count; an intent left without `done`
// or `failed` (the run was killed, or the commit failed in an unclear way) is resolved from the
// target itself: Maildir and mbox can be inspected, a pipe (MDA, stdout) cannot, so its message
// counts as not delivered and will be delivered again (at-least-once), with a warning.
import { hostname } from 'node:os';
import type { IntentTarget, JournalRecord } from './journal.js';
import type { SeenState } from './state.js';
import { recoverMaildirIntent } from './targets/maildir.js';

export interface ReplayReport {
  /** UIDs recorded as seen from `done` records and from resolved intents. */
  recorded: number;
  /** Intents found delivered by looking at the target (the kill fell between publish and `done`). */
  recoveredDelivered: number;
  /** Intents found not delivered (they will be fetched again). */
  recoveredNotDelivered: number;
  /** Pids of the fetch runs in this journal (their leftover tmp/ files may be cleaned). */
  runPids: Set<number>;
  /** Maildirs that intents wrote into. */
  maildirs: Set<string>;
  /** Spool files named by intents. */
  spools: Set<string>;
  warnings: string[];
}

export async function replayJournal(
  records: readonly JournalRecord[],
  state: SeenState,
): Promise<ReplayReport> {
  const report: ReplayReport = {
    recorded: 0,
    recoveredDelivered: 0,
    recoveredNotDelivered: 0,
    runPids: new Set(),
    maildirs: new Set(),
    spools: new Set(),
    warnings: [],
  };
  const pending = new Map<string, { at: number; target: IntentTarget }>();
  for (const r of records) {
    switch (r.op) {
      case 'run':
        // A pid means something only on its own host (a state folder may be shared).
        if (r.host === hostname()) report.runPids.add(r.pid);
        break;
      case 'intent':
        pending.set(r.uid, { at: r.at, target: r.target });
        if (r.target.kind === 'maildir') report.maildirs.add(r.target.dir);
        if (r.target.kind === 'mbox') report.spools.add(r.target.spool);
        break;
      case 'done':
        pending.delete(r.uid);
        state.add(r.uid, r.at);
        report.recorded++;
        break;
      case 'failed':
        pending.delete(r.uid);
        break;
    }
  }
  for (const [uid, { at, target }] of pending) {
    let delivered = false;
    if (target.kind === 'maildir') {
      delivered = await recoverMaildirIntent(target);
    } else if (target.kind === 'mbox') {
      // Imported here: only a journal left with an mbox intent needs the mbox target's code.
      const { recoverMboxIntent } = await import('./targets/mbox.js');
      const r = await recoverMboxIntent(target, uid);
      delivered = r.delivered;
      if (r.warning) report.warnings.push(r.warning);
    } else {
      report.warnings.push(
        `message ${uid} may have been delivered already (a run stopped while the MDA or stream had it); ` +
          'it will be delivered again',
      );
    }
    if (delivered) {
      state.add(uid, at);
      report.recorded++;
      report.recoveredDelivered++;
    } else {
      report.recoveredNotDelivered++;
    }
  }
  return report;
}
