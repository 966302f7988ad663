// Daemon mode: fetch every account again and again until the signal fires. An account is polled
// at most every intervalMs, and never sooner after its last session than the server's LOGIN-DELAY
// (RFC 2449 §6.5, counted from the end of the previous session, which is after its login). A
// temporary refusal ([LOGIN-DELAY], [IN-USE], [SYS/TEMP]) doubles that account's wait, up to a cap.
import { fetchAccount } from './fetch-account.js';
import { type AccountOutcome, accountName } from './fetch-all.js';
import type { AccountConfig, FetchOptions, FetchResult, Progress } from './types.js';

export interface PollOptions {
  /** Accounts fetched at the same time (default 4). */
  concurrency?: number;
  /** Called after every poll of every account. */
  onOutcome?: (outcome: AccountOutcome) => void;
  onProgress?: (account: string, p: Progress) => void;
  now?: () => number;
  /** Longest wait after temporary refusals (default 1 hour). */
  maxBackoffMs?: number;
  /** What runs one account (default fetchAccount). */
  fetch?: (account: AccountConfig, opts: FetchOptions) => Promise<FetchResult>;
}

const DEFAULT_MAX_BACKOFF_MS = 3_600_000;

/** Resolves once `signal` fired and every account's current poll has ended. */
export async function pollLoop(
  accounts: readonly AccountConfig[],
  intervalMs: number,
  signal: AbortSignal,
  opts: PollOptions = {},
): Promise<void> {
  if (!(Number.isFinite(intervalMs) && intervalMs >= 0)) throw new RangeError('intervalMs must be >= 0');
  const slots = new Slots(Math.max(1, opts.concurrency ?? 4));
  const fetch = opts.fetch ?? fetchAccount;
  const maxBackoff = opts.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;

  const loop = async (account: AccountConfig) => {
    const name = accountName(account);
    let loginDelayMs = 0;
    let backoffMs = 0;
    while (!signal.aborted) {
      if (!(await slots.acquire(signal))) break;
      const started = Date.now();
      let outcome: AccountOutcome;
      try {
        const result = await fetch(account, {
          signal,
          ...(opts.now ? { now: opts.now } : {}),
          ...(opts.onProgress ? { onProgress: (p: Progress) => opts.onProgress?.(name, p) } : {}),
        });
        outcome = { account: name, ok: true, result };
        loginDelayMs = (result.loginDelay ?? 0) * 1000;
        backoffMs = 0;
      } catch (error) {
        outcome = { account: name, ok: false, error };
        if (isTemporaryRefusal(error)) {
          backoffMs = Math.min(maxBackoff, Math.max(backoffMs * 2, intervalMs, loginDelayMs, 1000));
        }
      } finally {
        slots.release();
      }
      const ended = Date.now();
      opts.onOutcome?.(outcome);
      const nextAt = Math.max(started + intervalMs, ended + loginDelayMs, ended + backoffMs);
      await sleep(nextAt - Date.now(), signal);
    }
  };
  await Promise.all(accounts.map(loop));
}

function isTemporaryRefusal(err: unknown): boolean {
  const rc = (err as { responseCode?: unknown } | null)?.responseCode;
  return typeof rc === 'string' && ['LOGIN-DELAY', 'IN-USE', 'SYS/TEMP'].includes(rc.toUpperCase());
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** A counting semaphore whose waits end (false) when the signal fires. */
class Slots {
  private waiters: (() => void)[] = [];
  constructor(private free: number) {}

  acquire(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      };
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== grant);
        resolve(false);
      };
      this.waiters.push(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.free++;
  }
}
