// Python's poplib in a loop (contenders/poplib_fetch.py), writing a Maildir with fsync.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resetWorkDir } from '../lib/fsutil.js';
import { PYTHON } from '../lib/measure.js';
import { verifyMaildir } from '../lib/verify.js';
import { type Contender, isolatedEnv } from './types.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'poplib_fetch.py');

export const poplib: Contender = {
  name: 'poplib',
  durability: 'fsync file, rename into new/ (no directory fsync)',
  async prepare(ctx) {
    await resetWorkDir(ctx.workDir);
    const { endpoint: e } = ctx;
    const args = {
      host: e.host,
      port: e.port,
      tls: e.tls,
      caFile: e.caFile,
      user: ctx.user,
      maildir: ctx.maildir,
      timeout: Math.ceil(ctx.timeoutMs / 1000),
    };
    return {
      argv: [PYTHON, SCRIPT, JSON.stringify(args)],
      env: isolatedEnv(ctx.workDir, { POP3_BENCH_PASS: ctx.pass }),
    };
  },
  verify: (ctx) => verifyMaildir(ctx.maildir, ctx.expected, 'lf'),
};
