import type { ParsedCommand } from '../command-line.js';
import type { Session } from '../session.js';
import { checkArgs } from './syntax.js';

/**
 * UTF8 (RFC 6856 §2), when enabled: valid only in AUTHORIZATION (the state table refuses it after
 * login). User names and passwords are accepted as UTF-8 in any case; messages are sent as stored.
 */
export function utf8(session: Session, cmd: ParsedCommand): void {
  if (!session.host.options.capabilities.utf8) {
    session.badCommand('unknown command');
    return;
  }
  if (!checkArgs(session, cmd, 0, 0)) return;
  session.utf8 = true;
  session.ok('UTF8 enabled');
}
