// fetchmail, delivering each message through an MDA that writes it into the Maildir with fsync
// (maildir-mda.c compiled once per harness run; a shell script where no C compiler exists).
import { execFile } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { resetWorkDir } from '../lib/fsutil.js';
import { verifyMaildir } from '../lib/verify.js';
import { type Contender, isolatedEnv } from './types.js';

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));

/** Builds the MDA into `dir`; returns its command prefix and what it is. */
export async function buildMda(dir: string): Promise<{ path: string; kind: 'c' | 'sh' }> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'maildir-mda');
  try {
    await run('cc', ['-O2', '-o', path, join(HERE, 'maildir-mda.c')], { timeout: 60_000 });
    return { path, kind: 'c' };
  } catch {
    // Four processes per message instead of one: slower, same durability.
    await writeFile(
      path,
      '#!/bin/sh\nset -e\nf="$1/tmp/$(date +%s.%N).$$.bench"\ncat > "$f"\nsync "$f"\nmv "$f" "$1/new/"\n',
    );
    await chmod(path, 0o755);
    return { path, kind: 'sh' };
  }
}

export function fetchmailContender(mdaPath: string): Contender {
  return {
    name: 'fetchmail',
    durability: 'MDA: fsync file, rename into new/ (one MDA process per message)',
    async prepare(ctx) {
      await resetWorkDir(ctx.workDir);
      const { endpoint: e } = ctx;
      const rc = join(ctx.workDir, 'fetchmailrc');
      const tls = e.tls
        ? `ssl sslcertck sslcertfile "${e.caFile}" sslcommonname "${e.servername}"`
        : 'sslproto ""'; // no opportunistic STLS on the cleartext port
      await writeFile(
        rc,
        [
          'set no syslog',
          'set invisible', // no Received: header, so the delivered bytes are the server's
          `poll ${e.host} protocol pop3 port ${e.port} auth password`,
          `  user "${ctx.user}" password "${ctx.pass}" is "${userInfo().username}" here`,
          `  options keep fetchall no rewrite ${tls}`,
          `  mda "${mdaPath} ${ctx.maildir}"`,
          '',
        ].join('\n'),
        { mode: 0o600 },
      );
      return {
        argv: [
          'fetchmail',
          '-f',
          rc,
          '--idfile',
          join(ctx.workDir, 'fetchids'),
          '--pidfile',
          join(ctx.workDir, 'fetchmail.pid'),
          '--nodetach',
          '--nosyslog',
          '--silent',
        ],
        env: isolatedEnv(ctx.workDir, { FETCHMAILHOME: ctx.workDir }),
      };
    },
    verify: (ctx) => verifyMaildir(ctx.maildir, ctx.expected, 'lf'),
  };
}
