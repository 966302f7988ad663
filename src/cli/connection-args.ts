// Where to connect and as whom: a POP URL, --host/--port/--user/--tls/--auth, or an account
// from the config file. Precedence: flags, then the URL, then the account, then defaults.

import type { TlsMode } from '../client/options.js';
import { printable } from '../protocol/errors.js';
import type { AccountConfig, Config } from './config.js';
import type { ConnectFlags } from './connection-options.js';
import { configError, usageError } from './exit-codes.js';
import { looksLikeUrl, parsePopUrl, parsePort } from './pop-url.js';
import type { TlsArgs } from './tls-args.js';

export interface Target {
  /** The account's name, or host[:port] when there is no account: for messages. */
  label: string;
  host: string;
  port: number;
  tls: TlsMode;
  user?: string;
  mechanism?: string;
  insecureAuth: boolean;
  timeoutMs?: number;
  tlsArgs: TlsArgs;
  secrets: {
    passwordFile?: string;
    passwordCommand?: string;
    tokenFile?: string;
    tokenCommand?: string;
    configPasswordFile?: string;
    configPasswordCommand?: string;
    configTokenFile?: string;
    configTokenCommand?: string;
    netrc: boolean;
  };
  account?: AccountConfig;
}

const TLS_MODES: readonly TlsMode[] = ['implicit', 'starttls', 'none'];

export function parseTlsMode(text: string): TlsMode {
  const mode = text.toLowerCase();
  if ((TLS_MODES as readonly string[]).includes(mode)) return mode as TlsMode;
  throw usageError(`--tls must be implicit, starttls or none, not "${printable(text, 20)}"`);
}

/** Split positional arguments into the URL (if any) and the rest, in order. */
export function splitUrl(args: readonly (string | undefined)[]): { url?: string; rest: string[] } {
  const rest: string[] = [];
  let url: string | undefined;
  for (const a of args) {
    if (a === undefined) continue;
    if (looksLikeUrl(a)) {
      if (url) throw usageError('more than one URL given');
      url = a;
    } else rest.push(a);
  }
  return url === undefined ? { rest } : { url, rest };
}

/** The account to use: --account, else (without URL or --host) the config's default, else its only one. */
export function chooseAccount(flags: ConnectFlags, url: string | undefined, config: Config) {
  if (flags.account) {
    const account = config.accounts.get(flags.account);
    if (!account) {
      const where = config.path ? `in ${config.path}` : '(no config file found)';
      throw configError(`no account "${printable(flags.account, 40)}" ${where}`);
    }
    return account;
  }
  if (url || flags.host) return undefined;
  if (config.default) return config.accounts.get(config.default);
  if (config.accounts.size === 1) return [...config.accounts.values()][0];
  return undefined;
}

/** Work out the connection target from flags, URL and config. */
export function resolveTarget(flags: ConnectFlags, url: string | undefined, config: Config): Target {
  const account = chooseAccount(flags, url, config);
  const fromAccountUrl = account?.url ? parsePopUrl(account.url) : undefined;
  const fromUrl = url ? parsePopUrl(url) : undefined;
  const host = flags.host ?? fromUrl?.host ?? account?.host ?? fromAccountUrl?.host;
  if (!host) {
    throw usageError(
      'no server given: pass a URL (pop3s://user@host), --host, or --account NAME (see pop3 help config)',
    );
  }
  if (/[\r\n\0\s/]/.test(host)) throw usageError('bad host name');
  const explicitPort = flags.port ?? fromUrl?.port ?? account?.port ?? fromAccountUrl?.port;
  const port = typeof explicitPort === 'string' ? parsePort(explicitPort) : explicitPort;
  const tlsText = flags.tls ?? account?.tls;
  let tls: TlsMode;
  if (flags.tls) tls = parseTlsMode(flags.tls);
  else if (fromUrl) tls = fromUrl.tls ?? 'starttls';
  else if (tlsText) tls = parseTlsMode(tlsText);
  else if (fromAccountUrl) tls = fromAccountUrl.tls ?? 'starttls';
  else tls = port === 110 ? 'starttls' : 'implicit';
  const user = flags.user ?? fromUrl?.user ?? account?.user ?? fromAccountUrl?.user;
  if (user !== undefined && /[\r\n\0]/.test(user)) throw usageError('the user name contains CR, LF or NUL');
  const mechanism = flags.auth ?? fromUrl?.mechanism ?? account?.auth ?? fromAccountUrl?.mechanism;
  if (mechanism !== undefined && !/^[A-Za-z0-9_-]{1,20}$/.test(mechanism)) {
    throw usageError(`bad --auth mechanism "${printable(mechanism, 30)}"`);
  }
  const timeoutText = flags.timeout ?? account?.timeout;
  let timeoutMs: number | undefined;
  if (timeoutText !== undefined) {
    const seconds = Number(timeoutText);
    if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400) {
      throw usageError('--timeout must be a number of seconds (0 < t <= 86400)');
    }
    timeoutMs = Math.round(seconds * 1000);
  }
  const tlsArgs: TlsArgs = {};
  const caFile = flags.caFile ?? account?.ca_file;
  const fingerprint = flags.fingerprint ?? account?.fingerprint;
  const tlsMin = flags.tlsMin ?? account?.tls_min;
  if (caFile) tlsArgs.caFile = caFile;
  if (fingerprint) tlsArgs.fingerprint = fingerprint;
  if (tlsMin) tlsArgs.tlsMin = tlsMin;
  if (flags.insecureTls || account?.insecure_tls) tlsArgs.insecureTls = true;
  if (tls === 'none' && (fingerprint || caFile)) {
    throw usageError('--fingerprint and --ca-file need TLS, but --tls none was chosen');
  }
  const target: Target = {
    label: account?.name ?? `${host}${port ? `:${port}` : ''}`,
    host,
    port: port ?? (tls === 'implicit' ? 995 : 110),
    tls,
    insecureAuth: flags.insecureAuth ?? account?.insecure_auth ?? false,
    tlsArgs,
    secrets: {
      netrc: flags.netrc !== false,
      ...defined({
        passwordFile: flags.passwordFile,
        passwordCommand: flags.passwordCommand,
        tokenFile: flags.tokenFile,
        tokenCommand: flags.tokenCommand,
        configPasswordFile: account?.password_file,
        configPasswordCommand: account?.password_command,
        configTokenFile: account?.token_file,
        configTokenCommand: account?.token_command,
      }),
    },
  };
  if (user !== undefined) target.user = user;
  if (mechanism !== undefined) target.mechanism = mechanism.toUpperCase();
  if (timeoutMs !== undefined) target.timeoutMs = timeoutMs;
  if (account) target.account = account;
  return target;
}

function defined<T extends Record<string, unknown>>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}
