// The fetcher: new mail from POP3 accounts into a Maildir, an mbox, an MDA or stdout, exactly once
// (see docs in fetch-account.ts, account-session.ts and targets/*.ts for the protocol).

export { fetchAccount } from './fetch-account.js';
export { type AccountOutcome, accountName, type FetchAllOptions, fetchAll } from './fetch-all.js';
export { type PollOptions, pollLoop } from './poll.js';
export { type AccountPaths, accountId, accountPaths, loadState, SeenState } from './state.js';
export type {
  AccountConfig,
  FetchFailure,
  FetchOptions,
  FetchPolicy,
  FetchResult,
  Progress,
  TargetConfig,
} from './types.js';
