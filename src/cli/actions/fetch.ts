import { join, resolve } from 'node:path';
// Straight from the modules (not the fetch/index.js barrel): the daemon's poll loop is imported
// only with --daemon, one module fewer to load for a single run.
import { fetchAll } from '../../fetch/fetch-all.js';
import type {
  AccountOutcome,
  AccountConfig as FetchAccount,
  FetchPolicy,
  FetchResult,
  TargetConfig,
} from '../../fetch/index.js';
import { parseCount } from '../arguments.js';
import { type AccountConfig, expandPath, homeDir, loadConfig, statePath } from '../config.js';
import { resolveTarget, splitUrl, type Target } from '../connection-args.js';
import type { ConnectFlags } from '../connection-options.js';
import { CliError, describeFailure, EXIT, type ExitCode, usageError } from '../exit-codes.js';
import { humanSize, parseSize, printJson } from '../output.js';
import { createProgress } from '../progress.js';
import { clientOptions, resolveAuth } from '../session.js';
import { onSignal } from '../signals.js';
import { Tracer } from '../trace.js';

export interface FetchFlags extends Omit<ConnectFlags, 'account'> {
  account?: string[];
  maildir?: string;
  mbox?: string;
  mda?: string;
  stdout?: boolean;
  delete?: boolean;
  keep?: boolean;
  deleteAfterDays?: string;
  maxSize?: string;
  oversized?: string;
  limit?: string;
  receivedHeader?: boolean;
  stateDir?: string;
  daemon?: string;
  concurrency?: string;
  progress?: boolean;
}

function targetFor(flags: FetchFlags, account: AccountConfig | undefined): TargetConfig {
  const chosen = [flags.maildir, flags.mbox, flags.mda, flags.stdout].filter(
    (v) => v !== undefined && v !== false,
  );
  if (chosen.length > 1) throw usageError('choose one target: --maildir, --mbox, --mda or --stdout');
  if (flags.maildir) return { kind: 'maildir', path: resolve(expandPath(flags.maildir)) };
  if (flags.mbox) return { kind: 'mbox', path: resolve(expandPath(flags.mbox)) };
  if (flags.mda) return { kind: 'mda', command: flags.mda };
  if (flags.stdout) return { kind: 'stdout', format: 'mboxrd' };
  const named = [account?.maildir, account?.mbox, account?.mda].filter((v) => v !== undefined);
  if (named.length > 1) throw usageError(`account ${account?.name}: set only one of maildir, mbox, mda`);
  if (account?.maildir) return { kind: 'maildir', path: account.maildir };
  if (account?.mbox) return { kind: 'mbox', path: account.mbox };
  if (account?.mda) return { kind: 'mda', command: account.mda };
  return { kind: 'maildir', path: join(homeDir(), 'Maildir') };
}

function policyFor(flags: FetchFlags, account: AccountConfig | undefined): FetchPolicy {
  const policy: FetchPolicy = {};
  if (flags.delete && flags.keep) throw usageError('--delete and --keep contradict each other');
  const del = flags.delete ? true : flags.keep ? false : (account?.delete ?? false);
  if (del) policy.delete = true;
  const days = flags.deleteAfterDays ?? account?.delete_after_days;
  if (days !== undefined) {
    policy.deleteAfterDays =
      typeof days === 'number' ? days : parseCount(days, '--delete-after-days', 100_000);
    if (policy.delete) throw usageError('--delete deletes at once; --delete-after-days is for keep mode');
  }
  const max = flags.maxSize ?? account?.max_size;
  if (max !== undefined) {
    const size = parseSize(max);
    if (size === undefined) throw usageError('--max-size must be a size such as 10M, 512K or 1048576');
    policy.maxSize = size;
  }
  const action = flags.oversized ?? account?.max_size_action;
  if (action !== undefined) {
    if (action !== 'skip' && action !== 'delete') throw usageError('--oversized must be skip or delete');
    policy.oversized = action;
  }
  const limit = flags.limit ?? account?.limit;
  if (limit !== undefined) policy.limit = typeof limit === 'number' ? limit : parseCount(limit, '--limit');
  return policy;
}

/** Which accounts this run fetches: a URL/--host, the named --account(s), or every configured one. */
async function chooseTargets(flags: FetchFlags, url: string | undefined): Promise<Target[]> {
  const config = await loadConfig(flags.config);
  const base: ConnectFlags = { ...flags, account: undefined };
  if (url || flags.host) {
    if ((flags.account?.length ?? 0) > 1)
      throw usageError('with a URL or --host, give at most one --account');
    return [
      resolveTarget({ ...base, ...(flags.account?.[0] ? { account: flags.account[0] } : {}) }, url, config),
    ];
  }
  const names = flags.account?.length ? flags.account : [...config.accounts.keys()];
  if (names.length === 0) {
    throw usageError(
      'nothing to fetch: give a URL, --host, or add [accounts.NAME] tables to the config file',
    );
  }
  return [...new Set(names)].map((name) => resolveTarget({ ...base, account: name }, undefined, config));
}

function summaryLine(r: FetchResult, seconds: number, where: string): string {
  const parts = [`${r.new} new`, `${r.delivered} delivered`];
  if (r.skipped) parts.push(`${r.skipped} skipped (too big)`);
  if (r.deferred) parts.push(`${r.deferred} left for later (--limit)`);
  if (r.deleted) parts.push(`${r.deleted} deleted on the server`);
  if (r.errors) parts.push(`${r.errors} failed`);
  return `${r.account}: ${parts.join(', ')}; ${humanSize(r.bytes)} in ${seconds.toFixed(1)} s${r.delivered ? ` -> ${where}` : ''}`;
}

function describeTarget(t: TargetConfig): string {
  switch (t.kind) {
    case 'maildir':
      return t.path;
    case 'mbox':
      return t.path;
    case 'mda':
      return `MDA ${typeof t.command === 'string' ? t.command : t.command.join(' ')}`;
    case 'stdout':
      return 'stdout';
  }
}

/** 0 if every account did everything; its own code when there is one account that failed; else 1. */
function exitCodeFor(outcomes: readonly AccountOutcome[]): ExitCode {
  const failed = outcomes.filter((o) => !o.ok);
  const partial = outcomes.some((o) => o.ok && (o.result.errors > 0 || o.result.failures.length > 0));
  if (failed.length === 0) return partial ? EXIT.INCOMPLETE : EXIT.OK;
  if (failed.length === outcomes.length && outcomes.length === 1) {
    return describeFailure((failed[0] as { error: unknown }).error).exitCode;
  }
  return EXIT.INCOMPLETE;
}

function outcomeJson(o: AccountOutcome): object {
  if (o.ok) return { ok: true, ...o.result };
  const f = describeFailure(o.error);
  return {
    account: o.account,
    ok: false,
    error: { message: f.message, code: f.code ?? null, exitCode: f.exitCode },
  };
}

/** Build the fetcher's account configs: secrets resolved (and prompted for) once, before any connection. */
async function buildAccounts(
  targets: Target[],
  flags: FetchFlags,
): Promise<{ accounts: FetchAccount[]; where: Map<string, string> }> {
  const accounts: FetchAccount[] = [];
  const where = new Map<string, string>();
  const stateDir = resolve(expandPath(flags.stateDir ?? statePath('fetch')));
  for (const target of targets) {
    const tracer =
      flags.trace || flags.traceBody
        ? new Tracer({
            write: (s) => process.stderr.write(s),
            ...(targets.length > 1 ? { label: `[${target.label}] ` } : {}),
          })
        : undefined;
    if (target.tls === 'none' && !target.insecureAuth) {
      throw new CliError(
        `${target.label}: refusing to send a password without TLS: use --tls implicit or starttls, or --insecure-auth`,
        EXIT.TLS,
      );
    }
    const { auth } = await resolveAuth(target);
    const { options } = await clientOptions(target, tracer);
    const dest = targetFor(flags, target.account);
    const account: FetchAccount = {
      name: target.account?.name ?? `${auth.user}@${target.host}`,
      connection: { ...options, auth },
      target: dest,
      policy: policyFor(flags, target.account),
      stateDir: target.account?.state_dir ?? stateDir,
      receivedHeader: flags.receivedHeader ?? target.account?.received_header ?? false,
    };
    accounts.push(account);
    where.set(account.name!, describeTarget(dest));
  }
  return { accounts, where };
}

export async function run(url: string | undefined, flags: FetchFlags): Promise<void> {
  const { url: u } = splitUrl([url]);
  const interval = flags.daemon === undefined ? undefined : parseCount(flags.daemon, '--daemon', 86_400 * 7);
  const concurrency =
    flags.concurrency === undefined ? 4 : Math.max(1, parseCount(flags.concurrency, '--concurrency', 64));
  const targets = await chooseTargets(flags, u);
  const { accounts, where } = await buildAccounts(targets, flags);
  // Every account's secret is resolved now. The MDA (and whatever it starts) inherits our
  // environment: it must not inherit the password or token too.
  delete process.env.POP3_PASSWORD;
  delete process.env.POP3_TOKEN;
  const showBars =
    flags.progress !== false && !flags.trace && !flags.traceBody && !flags.json && flags.stdout !== true;
  const progress = await createProgress(showBars);
  const started = new Map<string, number>();
  const report = (o: AccountOutcome) => {
    progress.done(o.account);
    if (flags.json) {
      if (interval !== undefined) process.stdout.write(`${JSON.stringify(outcomeJson(o))}\n`);
      return;
    }
    const seconds = (Date.now() - (started.get(o.account) ?? Date.now())) / 1000;
    if (o.ok) {
      progress.log(summaryLine(o.result, seconds, where.get(o.account) ?? ''));
      for (const w of o.result.warnings) progress.log(`${o.account}: warning: ${w}`);
      for (const f of o.result.failures) progress.log(`${o.account}: could not deliver ${f.uid}: ${f.error}`);
    } else {
      progress.log(`${o.account}: error: ${describeFailure(o.error).message}`);
    }
  };
  const onProgress = (account: string, p: Parameters<typeof progress.update>[1]) => {
    if (!started.has(account)) started.set(account, Date.now());
    progress.update(account, p);
  };
  for (const a of accounts) started.set(a.name!, Date.now());

  if (interval !== undefined) {
    const controller = new AbortController();
    const release = onSignal(() => {
      progress.log('pop3: stopping after the current polls (Ctrl-C again to stop now)');
      controller.abort();
    });
    try {
      const { pollLoop } = await import('../../fetch/poll.js');
      await pollLoop(accounts, interval * 1000, controller.signal, {
        concurrency,
        onProgress,
        onOutcome: (o) => {
          report(o);
          started.set(o.account, Date.now());
        },
      });
    } finally {
      release();
      progress.stop();
    }
    return;
  }
  const controller = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  const release = onSignal((signal) => {
    stoppedBy = signal;
    controller.abort();
  });
  let outcomes: AccountOutcome[];
  try {
    outcomes = await fetchAll(accounts, {
      concurrency,
      onProgress,
      onOutcome: report,
      signal: controller.signal,
    });
  } finally {
    release();
    progress.stop();
  }
  if (controller.signal.aborted) {
    // As the default handler (signals.ts): 143 for SIGTERM, 130 for Ctrl-C.
    throw stoppedBy === 'SIGTERM'
      ? new CliError('terminated', EXIT.TERMINATED)
      : new CliError('interrupted', EXIT.INTERRUPTED);
  }
  if (flags.json) printJson({ accounts: outcomes.map(outcomeJson) });
  const code = exitCodeFor(outcomes);
  if (code !== EXIT.OK) throw new CliError(fetchFailureMessage(outcomes), code);
}

function fetchFailureMessage(outcomes: readonly AccountOutcome[]): string {
  const failed = outcomes.filter((o) => !o.ok).length;
  const partial = outcomes.filter((o) => o.ok && o.result.errors > 0).length;
  const bits = [];
  if (failed) bits.push(`${failed} of ${outcomes.length} account(s) failed`);
  if (partial) bits.push(`${partial} account(s) had messages that could not be delivered`);
  return bits.join('; ');
}
