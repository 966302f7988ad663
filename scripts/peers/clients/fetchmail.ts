// fetchmail downloading a whole mailbox through an MDA (save-message.sh) that writes each message to
// its own file. `no stripcr` keeps the wire form (CRLF line ends, lone CRs) exactly: by default
// fetchmail removes every CR before an MDA. fetchmail prepends its own `Received:` header
// (see stripFetchmailReceived).
import { mkdir, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ClientRunOptions, inWorkDir, requireCaFile } from './client-options.js';
import { type ChildResult, isolatedEnv, rcQuote, runChild } from './run-child.js';

export interface FetchmailOptions extends ClientRunOptions {
  /** Folder that receives one file per message (created if missing). */
  outDir: string;
  /** Pass -v (protocol trace, passwords masked by fetchmail) for debugging. */
  verbose?: boolean;
}

const SAVE_MESSAGE = fileURLToPath(new URL('./save-message.sh', import.meta.url));

/** An argument for the MDA command line, which fetchmail hands to sh after expanding %-escapes. */
function shellWord(value: string): string {
  if (/['%\r\n\0]/.test(value)) throw new TypeError(`path not usable in an MDA command: ${value}`);
  return `'${value}'`;
}

export function fetchmailConfig(opts: FetchmailOptions): string {
  // sslproto without `ssl` makes fetchmail require STLS (and fail if the server lacks it).
  const proto = opts.tls === 'implicit' ? 'ssl sslproto tls1.2+' : 'sslproto tls1.2+';
  const tls =
    opts.tls === 'none'
      ? ['  sslproto ""'] // fetchmail's way to say: no TLS, not even opportunistic STLS
      : [
          `  ${proto} sslcertck sslcertfile ${rcQuote(requireCaFile(opts))}`,
          ...(opts.servername ? [`  sslcommonname ${rcQuote(opts.servername)}`] : []),
        ];
  const timeout = Math.min(60, Math.max(1, Math.ceil(opts.timeoutMs / 1000)));
  return [
    'set no syslog',
    `poll ${rcQuote(opts.host)} port ${opts.port} proto pop3 auth password timeout ${timeout}`,
    `  user ${rcQuote(opts.user)} password ${rcQuote(opts.pass)} is ${rcQuote(userInfo().username)} here`,
    ...tls,
    `  ${opts.keep ? 'keep' : 'nokeep'} fetchall no stripcr`,
    `  mda ${rcQuote(`/bin/sh ${shellWord(SAVE_MESSAGE)} ${shellWord(opts.outDir)}`)}`,
    '',
  ].join('\n');
}

/**
 * Download the whole mailbox with fetchmail. Exit code 0 means mail was fetched, 1 that there was
 * none; anything else is an error (see fetchmail(1), EXIT CODES).
 */
export function runFetchmail(opts: FetchmailOptions): Promise<ChildResult> {
  return inWorkDir(opts.workDir, async (dir) => {
    await mkdir(opts.outDir, { recursive: true });
    const rc = join(dir, 'fetchmailrc');
    // fetchmail refuses an rc file that others can read.
    await writeFile(rc, fetchmailConfig(opts), { mode: 0o600 });
    const args = ['--nodetach', '--nosyslog', '-f', rc, '-i', join(dir, 'fetchids')];
    if (opts.verbose) args.push('-v');
    return runChild('fetchmail', args, {
      timeoutMs: opts.timeoutMs,
      // FETCHMAILHOME holds its lock and state; needed as root, where ~ is shared with everything else.
      env: isolatedEnv(dir, { FETCHMAILHOME: dir }),
    });
  });
}

/**
 * fetchmail's Received header as it prepends it (with `no stripcr`, CRLF line ends):
 * `Received: from <host> [...]` then tab-indented lines naming `(fetchmail-<version>)`.
 * Returns the rest of the message, or null when it does not start with exactly that.
 */
export function stripFetchmailReceived(stored: Buffer): Buffer | null {
  const head = stored.subarray(0, 1024).toString('latin1');
  const m = /^Received: from [^\r\n]*\r\n(?:\t[^\r\n]*\r\n)+/.exec(head);
  if (!m?.[0].includes('(fetchmail-')) return null;
  return stored.subarray(m[0].length);
}
