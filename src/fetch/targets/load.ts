// createTarget (index.ts) for the fetcher's own use: imports only the module of the kind the
// account names, so a Maildir run does not load (and compile) the mbox, MDA and stdout targets.
// Start-up of `pop3 fetch` is dominated by module loading; each file skipped is CPU saved.
import type { AccountPaths } from '../state.js';
import type { TargetConfig } from '../types.js';
import type { Target } from './target.js';

export async function loadTarget(config: TargetConfig, paths: AccountPaths): Promise<Target> {
  switch (config.kind) {
    case 'maildir':
      return (await import('./maildir.js')).maildirTarget(config.path, { lineEnds: config.lineEnds ?? 'lf' });
    case 'mbox':
      return (await import('./mbox.js')).mboxTarget(config.path, paths.spool);
    case 'mda':
      return (await import('./mda.js')).mdaTarget(config.command, paths.spool, {
        lineEnds: config.lineEnds ?? 'lf',
        ...(config.timeoutMs === undefined ? {} : { timeoutMs: config.timeoutMs }),
        env: { POP3KIT_ACCOUNT: paths.account },
      });
    case 'stdout':
      return (await import('./stdout.js')).stdoutTarget(config);
  }
}
