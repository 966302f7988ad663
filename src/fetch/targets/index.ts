// Build the delivery target an account's config names.
import type { AccountPaths } from '../state.js';
import type { TargetConfig } from '../types.js';
import { maildirTarget } from './maildir.js';
import { mboxTarget } from './mbox.js';
import { mdaTarget } from './mda.js';
import { stdoutTarget } from './stdout.js';
import type { Target } from './target.js';

export type { DeliveryContext, PreparedDelivery, Target } from './target.js';
export { DeliveryError } from './target.js';

export function createTarget(config: TargetConfig, paths: AccountPaths): Target {
  switch (config.kind) {
    case 'maildir':
      return maildirTarget(config.path, { lineEnds: config.lineEnds ?? 'lf' });
    case 'mbox':
      return mboxTarget(config.path, paths.spool);
    case 'mda':
      return mdaTarget(config.command, paths.spool, {
        lineEnds: config.lineEnds ?? 'lf',
        ...(config.timeoutMs === undefined ? {} : { timeoutMs: config.timeoutMs }),
        env: { POP3KIT_ACCOUNT: paths.account },
      });
    case 'stdout':
      return stdoutTarget(config);
  }
}
