// Our command line: `pop3 fetch` (the built bin users run, dist/bin/pop3.js) into a Maildir, keep mode.
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resetWorkDir } from '../lib/fsutil.js';
import { verifyMaildir } from '../lib/verify.js';
import { type Contender, isolatedEnv } from './types.js';

export const CLI = join(dirname(dirname(dirname(fileURLToPath(import.meta.url)))), 'dist', 'bin', 'pop3.js');

export const pop3Fetch: Contender = {
  name: 'pop3-fetch',
  durability: 'fsync file, rename into new/, fsync new/, journal + state fsynced',
  async prepare(ctx) {
    await resetWorkDir(ctx.workDir);
    const passFile = join(ctx.workDir, 'password');
    await writeFile(passFile, `${ctx.pass}\n`, { mode: 0o600 });
    const { endpoint: e } = ctx;
    const url = `${e.tls ? 'pop3s' : 'pop3'}://${ctx.user}@${e.host}:${e.port}`;
    const tlsArgs = e.tls ? ['--ca-file', e.caFile] : ['--tls', 'none', '--insecure-auth'];
    return {
      argv: [
        process.execPath,
        CLI,
        'fetch',
        url,
        '--maildir',
        ctx.maildir,
        '--state-dir',
        join(ctx.workDir, 'state'),
        '--password-file',
        passFile,
        '--auth',
        'USER',
        '--keep',
        '--no-progress',
        '--no-netrc',
        '--timeout',
        String(Math.ceil(ctx.timeoutMs / 1000)),
        ...tlsArgs,
      ],
      env: isolatedEnv(ctx.workDir),
    };
  },
  verify: (ctx) => verifyMaildir(ctx.maildir, ctx.expected, 'lf'),
};
