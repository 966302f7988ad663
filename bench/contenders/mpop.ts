// mpop (the reference client): an mpoprc in the contender's folder, Maildir delivery, keep mode,
// its UIDL file wiped before every run.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resetWorkDir } from '../lib/fsutil.js';
import { verifyMaildir } from '../lib/verify.js';
import { type Contender, isolatedEnv } from './types.js';

export const mpop: Contender = {
  name: 'mpop',
  durability: 'fsync file, link into new/ (no directory fsync)',
  async prepare(ctx) {
    await resetWorkDir(ctx.workDir);
    const { endpoint: e } = ctx;
    const rc = join(ctx.workDir, 'mpoprc');
    const tls = e.tls ? ['tls on', 'tls_starttls off', `tls_trust_file ${e.caFile}`] : ['tls off'];
    await writeFile(
      rc,
      [
        'account bench',
        `host ${e.host}`,
        `port ${e.port}`,
        ...tls,
        'auth user',
        `user ${ctx.user}`,
        `password ${ctx.pass}`,
        `delivery maildir ${ctx.maildir}`,
        'keep on',
        'received_header off',
        `uidls_file ${join(ctx.workDir, 'uidls')}`,
        'account default : bench',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    return { argv: ['mpop', '-C', rc, '-q'], env: isolatedEnv(ctx.workDir) };
  },
  verify: (ctx) => verifyMaildir(ctx.maildir, ctx.expected, 'lf'),
};
