// One account, one run: recover, connect, list, plan, download new mail (pipelined, streamed) with
// the exactly-once steps for each message, then DELE what the policy says, then QUIT.
//   RETR -> target.prepare (tmp/ or spool, fsync) -> queue; per batch (AccountSession.flush):
//        journal intents (fsync) -> publish (renames, one fsync of new/) -> journal dones
//        -> after the last batch, journal fsync -> DELE -> QUIT
// DELE is only ever sent for UIDs already durably recorded; deletions count only after QUIT's +OK.
import { Pop3Client } from '../client/client.js';
import { Pop3Error, printable } from '../protocol/errors.js';
import { AccountSession, type QueuedDelivery } from './account-session.js';
import { dueForDeletion, joinListing, planRun, type ServerMessage } from './plan.js';
import { receivedHeader } from './received-header.js';
import { accountId, accountPaths, SeenState } from './state.js';
import { loadTarget } from './targets/load.js';
import { DeliveryError, type Target } from './targets/target.js';
import type { AccountConfig, FetchOptions, FetchPolicy, FetchResult, Progress } from './types.js';

/**
 * Default pipelining window: RETRs enough to cover about WINDOW_OCTETS of the announced sizes,
 * between MIN_WINDOW and MAX_WINDOW commands. A RETR is about 12 octets, so even the largest window
 * is a few KB of commands (well inside any server's TCP window, RFC 2449 §6.6), and the client
 * reads replies only as bodies are consumed, so waiting replies stay in the socket buffers.
 */
const WINDOW_OCTETS = 4 * 1024 * 1024;
const MIN_WINDOW = 16;
const MAX_WINDOW = 256;
const MAX_LISTED_FAILURES = 100;
const MAX_WARNINGS = 100;
const PROGRESS_EVERY_MS = 100;

/** A result with nothing done yet: what a run starts from. */
export function emptyResult(account: string): FetchResult {
  return {
    account,
    new: 0,
    delivered: 0,
    skipped: 0,
    deferred: 0,
    deleted: 0,
    bytes: 0,
    errors: 0,
    failures: [],
    warnings: [],
    loginDelay: undefined,
  };
}

export async function fetchAccount(account: AccountConfig, opts: FetchOptions = {}): Promise<FetchResult> {
  const conn = account.connection;
  if (!conn?.auth?.user)
    throw new Pop3Error('fetch: the account needs connection.auth', { code: 'EARGUMENT' });
  if (!account.stateDir) throw new Pop3Error('fetch: the account needs a stateDir', { code: 'EARGUMENT' });
  const now = opts.now ?? Date.now;
  const id = accountId(conn);
  const name = account.name ?? id;
  const policy = account.policy ?? {};
  checkPolicy(policy);
  const target = await loadTarget(account.target, accountPaths(account.stateDir, id));
  const result = emptyResult(name);
  const warn = (w: string) => {
    if (result.warnings.length < MAX_WARNINGS) result.warnings.push(w);
  };

  let session: AccountSession | undefined;
  if (target.keepsState) {
    const opened = await AccountSession.open(account.stateDir, id, target, {
      ...(opts.batch ? { batch: opts.batch } : {}),
    });
    session = opened.session;
    for (const w of opened.report.warnings) warn(w);
  }
  let failure: { error: unknown } | undefined;
  const ctx: RunContext = { target, session, result, warn, now, quitting: undefined };
  try {
    await runSession(account, opts, ctx);
  } catch (error) {
    failure = { error };
  }
  // A QUIT still in flight (nothing was marked deleted) settles while the session compacts, and
  // before the session releases the account's lock; its error, if any, is the run's.
  const quitting = ctx.quitting?.catch((error: unknown) => {
    failure ??= { error };
  });
  if (session) {
    try {
      const report = await session.close(quitting);
      for (const w of report.warnings) warn(w);
    } catch (error) {
      // The run's own error says more; a failed final compaction is redone by the next run.
      failure ??= { error };
    }
  }
  await quitting;
  if (failure) throw failure.error;
  return result;
}

interface RunContext {
  target: Target;
  session: AccountSession | undefined;
  result: FetchResult;
  warn: (w: string) => void;
  now: () => number;
  /** QUIT sent and not yet answered when the session returned (see the end of fetchWith). */
  quitting: Promise<void> | undefined;
}

async function runSession(account: AccountConfig, opts: FetchOptions, ctx: RunContext): Promise<void> {
  const policy = account.policy ?? {};
  // A signal of this run's own, linked to the caller's: whatever listens to it (the client) goes
  // away with the run instead of piling up on a daemon's long-lived signal.
  const run = new AbortController();
  const parents = [account.connection.signal, opts.signal].filter((s): s is AbortSignal => s !== undefined);
  const onAbort = (e: Event) => run.abort((e.target as AbortSignal).reason);
  for (const p of parents) {
    if (p.aborted) run.abort(p.reason);
    else p.addEventListener('abort', onAbort, { once: true });
  }
  try {
    await fetchWith(account, opts, ctx, policy, run.signal);
  } finally {
    // An abort still reaches a QUIT in flight.
    const detach = () => {
      for (const p of parents) p.removeEventListener('abort', onAbort);
    };
    if (ctx.quitting) ctx.quitting = ctx.quitting.finally(detach);
    else detach();
  }
}

async function fetchWith(
  account: AccountConfig,
  opts: FetchOptions,
  ctx: RunContext,
  policy: FetchPolicy,
  signal: AbortSignal,
): Promise<void> {
  const { session, result, warn, now } = ctx;
  const client = await Pop3Client.connect({ ...account.connection, signal });
  try {
    result.loginDelay = client.capabilities.loginDelay;
    const messages = await listMessages(client);
    const state = session?.state;
    if (state) {
      // Forget UIDs gone from the server, so the state stays as small as the maildrop.
      const present = new Set(messages.map((m) => m.uid));
      state.retainOnly(present);
    }
    const plan = planRun(messages, state ?? new SeenState(), policy, now());
    result.new = plan.newCount;
    result.skipped = plan.skipped;
    result.deferred = plan.deferred;
    if (plan.duplicates.length > 0) {
      warn(
        `server lists ${plan.duplicates.length} UID(s) more than once (e.g. ${printable(plan.duplicates[0]!, 70)}); ` +
          'each is fetched once and never deleted',
      );
    }
    const toDelete: number[] = [...plan.deleteSeen, ...plan.deleteOversized].map((m) => m.n);
    const duplicated = new Set(plan.duplicates);

    const progress: Progress = {
      messages: 0,
      bytes: 0,
      totalMessages: plan.fetch.length,
      totalBytes: plan.fetch.reduce((s, m) => s + m.octets, 0),
    };
    let lastReport = 0;
    const report = (force: boolean) => {
      if (!opts.onProgress) return;
      const t = Date.now();
      if (!force && t - lastReport < PROGRESS_EVERY_MS) return;
      lastReport = t;
      opts.onProgress({ ...progress });
    };
    report(true);

    const byN = new Map(plan.fetch.map((m) => [m.n, m]));
    const window = Math.max(1, account.window ?? defaultWindow(plan.fetch));
    const onBytes = (n: number) => {
      progress.bytes += n;
      result.bytes += n;
      report(false);
    };
    const deliveredOne = (msg: ServerMessage, at: number) => {
      result.delivered++;
      progress.messages++;
      if (!duplicated.has(msg.uid) && dueForDeletion(policy, at, now())) toDelete.push(msg.n);
    };
    // Messages queued in the session, by UID, until a flush says they are delivered.
    const queued = new Map<string, ServerMessage>();
    const counted = (delivered: readonly QueuedDelivery[]) => {
      for (const d of delivered) {
        deliveredOne(queued.get(d.uid)!, d.at);
        queued.delete(d.uid);
      }
      if (delivered.length > 0) report(true);
    };
    try {
      for await (const got of client.retrieveMany(
        plan.fetch.map((m) => m.n),
        { window },
      )) {
        const msg = byN.get(got.n)!;
        const at = now();
        const delivery = {
          uid: msg.uid,
          at,
          onBytes,
          ...(account.receivedHeader
            ? { head: receivedHeader(account.connection.host, msg.uid, new Date(at)) }
            : {}),
        };
        try {
          const prepared = await ctx.target.prepare(got.body, delivery);
          if (session) {
            queued.set(msg.uid, msg);
            counted(await session.add({ uid: msg.uid, at, prepared, bytes: msg.octets }));
          } else {
            await prepared.commit();
            await prepared.cleanup();
            deliveredOne(msg, at);
            report(true);
          }
        } catch (err) {
          // A broken connection, an abort or a failing disk ends the run; a message the target
          // refused (MDA exit status, size limit) does not.
          queued.delete(msg.uid);
          if (client.closed || !(err instanceof DeliveryError || isSizeLimit(err))) throw err;
          result.errors++;
          if (result.failures.length < MAX_LISTED_FAILURES) {
            result.failures.push({ uid: msg.uid, error: printable(err.message, 300) });
          }
        }
      }
      if (session) {
        counted(await session.flush());
        // Every done durable before any DELE below.
        if (toDelete.length > 0) await session.sync();
      }
    } catch (err) {
      // Messages already written whole still count: publish them before the run ends.
      if (session && session.queued > 0) await session.flush().catch(() => {});
      throw err;
    }

    // Pipelined DELEs: each for a UID already durably delivered and recorded (or oversized-delete).
    const dele = await Promise.allSettled(toDelete.map((n) => client.dele(n)));
    const marked = dele.filter((r) => r.status === 'fulfilled').length;
    const refused = dele.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (refused) {
      if (client.closed) throw refused.reason;
      warn(`server refused ${dele.length - marked} DELE command(s): ${errorText(refused.reason)}`);
    }
    if (marked === 0) {
      // Nothing marked for deletion, so QUIT's answer changes nothing here: it travels while
      // fetchAccount compacts the session (a round trip saved), and is awaited there.
      ctx.quitting = client.quit().catch((err: unknown) => {
        if (!(err instanceof Pop3Error) || err.code !== 'ECLOSED') throw err;
      });
      return;
    }
    try {
      await client.quit();
      result.deleted = marked;
    } catch (err) {
      if (!(err instanceof Pop3Error) || err.code !== 'ECLOSED') throw err;
      if (marked > 0)
        warn('the connection closed before QUIT was answered: deletions will be retried next run');
    }
  } finally {
    if (!client.closed && !ctx.quitting) client.close();
  }
}

/** Enough RETRs in flight to cover about WINDOW_OCTETS of announced sizes (see WINDOW_OCTETS). */
function defaultWindow(fetch: readonly { octets: number }[]): number {
  if (fetch.length === 0) return MIN_WINDOW;
  const mean = fetch.reduce((s, m) => s + m.octets, 0) / fetch.length;
  return Math.min(MAX_WINDOW, Math.max(MIN_WINDOW, Math.ceil(WINDOW_OCTETS / Math.max(1, mean))));
}

/**
 * UIDL and LIST joined. Without UIDL there is no identity to fetch exactly once by. Both are asked
 * at once: with PIPELINING they share a round trip (the client sends LIST after UIDL's reply
 * otherwise); a LIST whose UIDL failed is left unread.
 */
async function listMessages(client: Pop3Client): Promise<ServerMessage[]> {
  const uidlAsked = client.uidl();
  const listAsked = client.list();
  listAsked.catch(() => {}); // awaited below, unless UIDL fails first
  let uidl: { n: number; uid: string }[];
  try {
    uidl = await uidlAsked;
  } catch (err) {
    if (err instanceof Pop3Error && err.code === 'ESERVER') {
      throw new Pop3Error('the server does not support UIDL, which fetch needs to know which mail is new', {
        code: 'ESERVER',
        command: 'UIDL',
        ...(err.response === undefined ? {} : { response: err.response }),
        cause: err,
      });
    }
    throw err;
  }
  return joinListing(uidl, await listAsked);
}

function checkPolicy(p: FetchPolicy): void {
  const bad = (what: string) => new Pop3Error(`fetch policy: ${what}`, { code: 'EARGUMENT' });
  if (p.deleteAfterDays !== undefined && !(Number.isFinite(p.deleteAfterDays) && p.deleteAfterDays >= 0)) {
    throw bad('deleteAfterDays must be a number >= 0');
  }
  if (p.maxSize !== undefined && !(Number.isSafeInteger(p.maxSize) && p.maxSize >= 0)) {
    throw bad('maxSize must be a whole number of octets >= 0');
  }
  if (p.limit !== undefined && !(Number.isSafeInteger(p.limit) && p.limit >= 0)) {
    throw bad('limit must be a whole number >= 0');
  }
  if (p.oversized !== undefined && p.oversized !== 'skip' && p.oversized !== 'delete') {
    throw bad("oversized must be 'skip' or 'delete'");
  }
}

/** A message refused for its size (a delivery or client limit) while the connection lives on. */
function isSizeLimit(err: unknown): err is Pop3Error {
  return err instanceof Pop3Error && err.code === 'ELIMIT';
}

function errorText(err: unknown): string {
  return printable(err instanceof Error ? err.message : String(err), 200);
}
