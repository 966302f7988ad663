// Several accounts at once, a bounded number at a time. One account's failure is its own
// outcome; the others carry on.
import { fetchAccount } from './fetch-account.js';
import { accountId } from './state.js';
import type { AccountConfig, FetchOptions, FetchResult, Progress } from './types.js';

export type AccountOutcome =
  | { account: string; ok: true; result: FetchResult }
  | { account: string; ok: false; error: unknown };

export interface FetchAllOptions extends Omit<FetchOptions, 'onProgress'> {
  /** Accounts fetched at the same time (default 4). */
  concurrency?: number;
  onProgress?: (account: string, p: Progress) => void;
  /** Called as each account finishes, in finishing order. */
  onOutcome?: (outcome: AccountOutcome) => void;
}

export function accountName(a: AccountConfig): string {
  return a.name ?? accountId(a.connection);
}

/** Fetch every account; resolves with one outcome per account, in the order given. */
export async function fetchAll(
  accounts: readonly AccountConfig[],
  opts: FetchAllOptions = {},
): Promise<AccountOutcome[]> {
  const outcomes: AccountOutcome[] = new Array(accounts.length);
  const limit = Math.max(1, Math.min(opts.concurrency ?? 4, accounts.length));
  let next = 0;
  const worker = async () => {
    while (next < accounts.length) {
      const i = next++;
      const account = accounts[i]!;
      const name = accountName(account);
      let outcome: AccountOutcome;
      try {
        const result = await fetchAccount(account, {
          ...(opts.signal ? { signal: opts.signal } : {}),
          ...(opts.now ? { now: opts.now } : {}),
          ...(opts.onProgress ? { onProgress: (p: Progress) => opts.onProgress?.(name, p) } : {}),
        });
        outcome = { account: name, ok: true, result };
      } catch (error) {
        outcome = { account: name, ok: false, error };
      }
      outcomes[i] = outcome;
      opts.onOutcome?.(outcome);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return outcomes;
}
