// What one run does, decided from the server's listing, the seen state and the policy (pure).
//  - UIDs are the identity (message numbers are per session). A UID listed twice by a broken
//    server is downloaded once (its first number) and never deleted by any policy: we cannot
//    know the copies are the same message, and deletion must never lose undelivered mail.
//  - Already-seen messages are deleted when the policy says so (--delete, or deleteAfterDays
//    counted from first delivery); this also finishes deletions a killed run did not commit.
//  - New messages over maxSize are skipped (asked again next run) or deleted unread.
import type { SeenState } from './state.js';
import type { FetchPolicy } from './types.js';

export interface ServerMessage {
  n: number;
  uid: string;
  octets: number;
}

export interface FetchPlan {
  /** New messages to download, in server order. */
  fetch: ServerMessage[];
  /** Seen messages to delete without downloading. */
  deleteSeen: ServerMessage[];
  /** New messages over maxSize to delete unread (oversized: 'delete'). */
  deleteOversized: ServerMessage[];
  /** UIDs not seen before (each counted once). */
  newCount: number;
  /** New messages over maxSize left on the server. */
  skipped: number;
  /** New messages left for a later run by the limit. */
  deferred: number;
  /** UIDs the server listed more than once. */
  duplicates: string[];
  /** Every UID on the server. */
  present: Set<string>;
}

const DAY_MS = 86_400_000;

/** Join UIDL and LIST by message number (a number missing from LIST is dropped: size unknown). */
export function joinListing(
  uidl: readonly { n: number; uid: string }[],
  list: readonly { n: number; octets: number }[],
): ServerMessage[] {
  const sizes = new Map(list.map((m) => [m.n, m.octets]));
  const out: ServerMessage[] = [];
  for (const { n, uid } of uidl) {
    const octets = sizes.get(n);
    if (octets !== undefined) out.push({ n, uid, octets });
  }
  return out.sort((a, b) => a.n - b.n);
}

/** Whether a message first delivered at `firstSeen` is due for deletion under the policy. */
export function dueForDeletion(policy: FetchPolicy, firstSeen: number, now: number): boolean {
  if (policy.delete) return true;
  if (policy.deleteAfterDays === undefined) return false;
  return now - firstSeen >= policy.deleteAfterDays * DAY_MS;
}

export function planRun(
  messages: readonly ServerMessage[],
  state: SeenState,
  policy: FetchPolicy,
  now: number,
): FetchPlan {
  const byUid = new Map<string, ServerMessage[]>();
  for (const m of messages) {
    const group = byUid.get(m.uid);
    if (group) group.push(m);
    else byUid.set(m.uid, [m]);
  }
  const plan: FetchPlan = {
    fetch: [],
    deleteSeen: [],
    deleteOversized: [],
    newCount: 0,
    skipped: 0,
    deferred: 0,
    duplicates: [],
    present: new Set(byUid.keys()),
  };
  const limit = policy.limit ?? Number.POSITIVE_INFINITY;
  for (const [uid, group] of byUid) {
    const first = group[0]!;
    const unique = group.length === 1;
    if (!unique) plan.duplicates.push(uid);
    const seenAt = state.firstSeen(uid);
    if (seenAt !== undefined) {
      if (unique && dueForDeletion(policy, seenAt, now)) plan.deleteSeen.push(first);
      continue;
    }
    plan.newCount++;
    if (policy.maxSize !== undefined && first.octets > policy.maxSize) {
      if (policy.oversized === 'delete' && unique) plan.deleteOversized.push(first);
      else plan.skipped++;
      continue;
    }
    if (plan.fetch.length < limit) plan.fetch.push(first);
    else plan.deferred++;
  }
  return plan;
}
