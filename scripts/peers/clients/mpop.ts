// mpop (https://marlam.de/mpop/) downloading a whole mailbox into a Maildir. mpop stores messages
// with LF line ends (CRLF from the wire becomes LF; a lone CR stays) and, unless told otherwise,
// prepends its own `Received:` header (see stripMpopReceived).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ClientRunOptions, inWorkDir, requireCaFile } from './client-options.js';
import { type ChildResult, isolatedEnv, rcQuote, runChild } from './run-child.js';

export interface MpopOptions extends ClientRunOptions {
  /** Maildir to deliver into; tmp/, new/ and cur/ are created if missing. */
  maildir: string;
  /** mpop's `auth` setting: 'user', 'plain', 'scram-sha-256', ... or 'on' (mpop picks). Default 'user'. */
  auth?: string;
  /** mpop's `received_header`. Default true (mpop's own default). */
  receivedHeader?: boolean;
  /** mpop's `only_new`. Default false: every message is processed, even if an earlier keep run saw it. */
  onlyNew?: boolean;
  /** mpop's `pipelining` (auto|on|off). Default auto. */
  pipelining?: 'auto' | 'on' | 'off';
}

export function mpopConfig(opts: MpopOptions, workDir: string): string {
  const lines = [
    'account pop3kit',
    `host ${rcQuote(opts.host)}`,
    `port ${opts.port}`,
    `user ${rcQuote(opts.user)}`,
    `password ${rcQuote(opts.pass)}`,
    `auth ${rcQuote(opts.auth ?? 'user')}`,
    ...(opts.tls === 'none'
      ? ['tls off']
      : [
          'tls on',
          `tls_starttls ${opts.tls === 'starttls' ? 'on' : 'off'}`,
          `tls_trust_file ${rcQuote(requireCaFile(opts))}`,
          ...(opts.servername ? [`tls_host_override ${rcQuote(opts.servername)}`] : []),
        ]),
    `pipelining ${opts.pipelining ?? 'auto'}`,
    // mpop's per-operation network timeout; the whole run is bounded by timeoutMs.
    `timeout ${Math.min(60, Math.max(1, Math.ceil(opts.timeoutMs / 1000)))}`,
    `uidls_file ${rcQuote(join(workDir, 'uidls'))}`,
    `delivery maildir ${rcQuote(opts.maildir)}`,
    `keep ${opts.keep ? 'on' : 'off'}`,
    `only_new ${opts.onlyNew ? 'on' : 'off'}`,
    `received_header ${opts.receivedHeader === false ? 'off' : 'on'}`,
    'account default : pop3kit',
    '',
  ];
  return lines.join('\n');
}

/** Download the whole mailbox with mpop. Exit 0: every message delivered (and, without keep, deleted). */
export function runMpop(opts: MpopOptions): Promise<ChildResult> {
  return inWorkDir(opts.workDir, async (dir) => {
    for (const sub of ['tmp', 'new', 'cur']) await mkdir(join(opts.maildir, sub), { recursive: true });
    const rc = join(dir, 'mpoprc');
    // mpop refuses a config holding a password unless only its owner can read it.
    await writeFile(rc, mpopConfig(opts, dir), { mode: 0o600 });
    return runChild('mpop', ['-C', rc, '-q', 'pop3kit'], {
      timeoutMs: opts.timeoutMs,
      env: isolatedEnv(dir),
    });
  });
}

/**
 * mpop's Received header, as it prepends it: `Received: from <host> (...)` and tab-indented
 * continuation lines naming `(mpop-<version>)`, LF line ends. Returns the rest of the message, or
 * null when the message does not start with exactly that.
 */
export function stripMpopReceived(stored: Buffer): Buffer | null {
  const m = /^Received: from [^\r\n]*\n(?:\t[^\r\n]*\n)+/.exec(stored.subarray(0, 1024).toString('latin1'));
  if (!m?.[0].includes('(mpop-')) return null;
  return stored.subarray(m[0].length);
}
